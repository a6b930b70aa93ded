/**
 * Operations endpoints, open to all: /healthz (the process answers), /readyz (stores
 * reachable and a model loaded — each probe bounded by the store timeout, bypassing the
 * circuit breakers so the answer reflects the stores now; the circuits' states alongside),
 * /metrics, /openapi.json and /dashboard with the files its page loads (/dashboard/assets/:name).
 */
import { withTimeout } from '../../stores/timeout.js';
import type { Serving } from '../context.js';
import { loadDashboardAssets } from '../dashboard/assets.js';
import { DASHBOARD_HTML } from '../dashboard/page.js';
import { HttpError } from '../errors.js';
import type { HttpKit } from '../http.js';
import { openApiDocument } from '../openapi.js';

export function opsRoutes(kit: HttpKit, s: Serving, version: string): void {
  const openapi = JSON.stringify(openApiDocument(version));

  kit.get('/healthz', { name: 'GET /healthz', access: 'open' }, (ctx) => ctx.send(200, '{"status":"ok"}'));

  kit.get('/readyz', { name: 'GET /readyz', access: 'open' }, async (ctx) => {
    const ms = s.config.storeTimeoutMs;
    const probe = async (op: () => Promise<unknown>) => {
      try {
        await withTimeout(op(), ms, () => new Error(`no answer within ${ms} ms`));
        return 'ok';
      } catch (err) {
        return `unavailable: ${(err as Error).message}`;
      }
    };
    const [db, cache, bus] = await Promise.all([
      probe(() => s.raw.db.query('SELECT 1')),
      probe(() => s.raw.cache.get('recsys:readyz')),
      probe(() => s.raw.bus.ping()),
    ]);
    const view = s.view();
    const checks = { db, cache, bus, model: view ? 'ok' : 'no model loaded' };
    // Ready when what the configuration requires is there; "degraded" when only the rest is missing.
    const ready = s.config.readyRequires.every((c) => checks[c] === 'ok');
    const whole = Object.values(checks).every((c) => c === 'ok');
    const circuits: Record<string, string> = {};
    for (const [label, circuit] of Object.entries(s.circuits)) circuits[label] = circuit.state;
    ctx.json(ready ? 200 : 503, {
      status: ready ? (whole ? 'ready' : 'degraded') : 'not_ready',
      model_version: view?.version ?? null,
      checks,
      circuits,
    });
  });

  kit.get('/metrics', { name: 'GET /metrics', access: 'open' }, async (ctx) => {
    const { body, contentType } = await s.metrics.render();
    ctx.send(200, body, contentType);
  });

  kit.get('/openapi.json', { name: 'GET /openapi.json', access: 'open' }, (ctx) => ctx.send(200, openapi));

  // The page loads nothing from anywhere but this server.
  const pageHeaders = {
    'content-security-policy':
      "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
    'cache-control': 'no-cache',
  };
  kit.get('/dashboard', { name: 'GET /dashboard', access: 'open' }, (ctx) =>
    ctx.send(200, DASHBOARD_HTML, 'text/html; charset=utf-8', pageHeaders),
  );

  const assets = loadDashboardAssets();
  const assetHeaders = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
  kit.get(
    '/dashboard/assets/:name',
    { name: 'GET /dashboard/assets/:name', access: 'open', params: 1 },
    (ctx) => {
      const asset = assets.get(ctx.params[0]);
      if (!asset) throw new HttpError(404, 'not_found', 'no such dashboard asset');
      ctx.send(200, asset.body, asset.contentType, assetHeaders);
    },
  );
}
