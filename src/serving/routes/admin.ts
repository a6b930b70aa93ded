/**
 * Operator endpoints (API key): list the registry's models, activate one (this process
 * switches at once; the others follow the registry's pub/sub announcement), start a batch run
 * when the process was given a way to (deps.batch, else 501) and show the run history.
 *
 * One batch run at a time across every process (the run's lock, src/model/runs.ts): a start
 * while one runs is refused (409 with that run's id) instead of queued; an accepted one
 * answers 202 with its id at once, and GET /v1/admin/runs/:id follows it.
 * Activation waits a bounded time for this process to load the model: the registry already
 * says which model is active, so a slow load answers 202 and finishes in the background.
 */
import { activateModel, listModels, ModelNotFoundError } from '../../model/registry.js';
import { getRun, listRuns, RunInProgressError } from '../../model/runs.js';
import { withTimeout } from '../../stores/timeout.js';
import type { Serving } from '../context.js';
import { HttpError } from '../errors.js';
import type { HttpKit } from '../http.js';

/** How many store-call bounds a model load may take: several object reads plus building the scorer. */
const ACTIVATE_WAIT_FACTOR = 10;

class LoadPending extends Error {}

export function adminRoutes(kit: HttpKit, s: Serving): void {
  kit.post('/v1/admin/train', { name: 'POST /v1/admin/train', access: 'key' }, async (ctx) => {
    if (!s.batch)
      throw new HttpError(
        501,
        'not_implemented',
        'this process cannot start batch runs: use `recsys batch run` or the scheduler',
      );
    try {
      const { runId } = await s.batch.start();
      ctx.json(202, { run_id: runId, status: 'queued', href: `/v1/admin/runs/${runId}` });
    } catch (err) {
      if (err instanceof RunInProgressError)
        throw new HttpError(409, 'run_in_progress', err.message, { run_id: err.runId });
      throw err;
    }
  });

  kit.get('/v1/admin/runs', { name: 'GET /v1/admin/runs', access: 'key' }, async (ctx) => {
    const raw = ctx.query().get('limit');
    const limit = raw === null ? 50 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new HttpError(400, 'invalid_limit', 'limit must be an integer from 1 to 1000');
    ctx.json(200, { runs: await listRuns(s.stores.db, limit) });
  });

  kit.get('/v1/admin/runs/:id', { name: 'GET /v1/admin/runs/:id', access: 'key', params: 1 }, async (ctx) => {
    const run = await getRun(s.stores.db, ctx.params[0]);
    if (!run) throw new HttpError(404, 'unknown_run', `no batch run with id '${ctx.params[0]}'`);
    ctx.json(200, run);
  });

  kit.get('/v1/admin/models', { name: 'GET /v1/admin/models', access: 'key' }, async (ctx) => {
    const models = await listModels(s.stores);
    ctx.json(200, { serving: s.view()?.version ?? null, models });
  });

  kit.post(
    '/v1/admin/models/:version/activate',
    { name: 'POST /v1/admin/models/:version/activate', access: 'key', params: 1 },
    async (ctx) => {
      const version = ctx.params[0];
      try {
        await activateModel({ ...s.stores, objects: s.raw.objects }, version);
      } catch (err) {
        if (err instanceof ModelNotFoundError) throw new HttpError(404, 'unknown_model', err.message);
        throw err;
      }
      const waitMs = ACTIVATE_WAIT_FACTOR * s.config.storeTimeoutMs;
      try {
        // The load goes on after the wait (and a late failure is left to the model's poll).
        await withTimeout(s.models.reload(), waitMs, () => new LoadPending());
      } catch (err) {
        if (!(err instanceof LoadPending)) throw err;
        ctx.json(202, { version, status: 'activating', serving: s.view()?.version ?? null });
        return;
      }
      ctx.json(200, { version, status: 'active', serving: s.view()?.version ?? null });
    },
  );
}
