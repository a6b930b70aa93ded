/**
 * Operator endpoints (API key): list the registry's models, activate one (this process
 * switches at once; the others follow the registry's pub/sub announcement), and start a
 * training run when the process was given a way to train (deps.train), else 501.
 *
 * One training run at a time per process: a run holds the compute pool and a model's worth
 * of memory, so a second request while one runs is refused (409) instead of queued.
 * Activation waits a bounded time for this process to load the model: the registry already
 * says which model is active, so a slow load answers 202 and finishes in the background.
 */
import { activateModel, listModels, ModelNotFoundError } from '../../model/registry.js';
import { withTimeout } from '../../stores/timeout.js';
import type { Serving } from '../context.js';
import { HttpError } from '../errors.js';
import type { HttpKit } from '../http.js';

/** How many store-call bounds a model load may take: several object reads plus building the scorer. */
const ACTIVATE_WAIT_FACTOR = 10;

class LoadPending extends Error {}

export function adminRoutes(kit: HttpKit, s: Serving): void {
  let training = false;

  kit.post('/v1/admin/train', { name: 'POST /v1/admin/train', access: 'key' }, async (ctx) => {
    if (!s.train)
      throw new HttpError(
        501,
        'not_implemented',
        'this process cannot train: run `recsys train`, or the batch scheduler, to publish a model',
      );
    if (training) throw new HttpError(409, 'training_in_progress', 'a training run is already in progress');
    training = true;
    try {
      const { version } = await s.train();
      ctx.json(200, { version });
    } finally {
      training = false;
    }
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
