/**
 * The analytics report as JSON (src/analytics/report.ts): GET /v1/admin/metrics for operators
 * (API key), and the same at GET /dashboard/metrics.json, open like /metrics, for the built-in
 * dashboard page. Both read the rollups as of the last pass (`rolled_up_at`).
 */
import { analyticsReport, parseWindow, WindowError } from '../../analytics/index.js';
import type { Serving } from '../context.js';
import { HttpError } from '../errors.js';
import type { HttpKit, RequestContext } from '../http.js';

export function analyticsRoutes(kit: HttpKit, s: Serving): void {
  const report = async (ctx: RequestContext) => {
    const q = ctx.query();
    let window: ReturnType<typeof parseWindow>;
    try {
      window = parseWindow({ from: q.get('from'), to: q.get('to'), granularity: q.get('granularity') });
    } catch (err) {
      if (err instanceof WindowError) throw new HttpError(400, 'invalid_window', err.message);
      throw err;
    }
    ctx.json(200, await analyticsReport(s.stores.db, window));
  };
  kit.get('/v1/admin/metrics', { name: 'GET /v1/admin/metrics', access: 'key' }, report);
  kit.get('/dashboard/metrics.json', { name: 'GET /dashboard/metrics.json', access: 'open' }, report);
}
