/**
 * Operator endpoints (API key): list the registry's models, activate one (this process
 * switches at once; the others follow the registry's pub/sub announcement), and start a
 * training run when the process was given a way to train (deps.train), else 501.
 */
import { activateModel, listModels, ModelNotFoundError } from '../../model/registry.js';
import type { Serving } from '../context.js';
import { HttpError } from '../errors.js';
import type { HttpKit } from '../http.js';

export function adminRoutes(kit: HttpKit, s: Serving): void {
  kit.post('/v1/admin/train', { name: 'POST /v1/admin/train', access: 'key' }, async (ctx) => {
    if (!s.train)
      throw new HttpError(
        501,
        'not_implemented',
        'this process cannot train: run `recsys train`, or the batch scheduler, to publish a model',
      );
    const { version } = await s.train();
    ctx.json(200, { version });
  });

  kit.get('/v1/admin/models', { name: 'GET /v1/admin/models', access: 'key' }, async (ctx) => {
    const models = await s.breakers.db.run(() => listModels(s.stores));
    ctx.json(200, { serving: s.view()?.version ?? null, models });
  });

  kit.post(
    '/v1/admin/models/:version/activate',
    { name: 'POST /v1/admin/models/:version/activate', access: 'key', params: 1 },
    async (ctx) => {
      const version = ctx.params[0];
      try {
        await s.breakers.db.run(() => activateModel(s.stores, version));
      } catch (err) {
        if (err instanceof ModelNotFoundError) throw new HttpError(404, 'unknown_model', err.message);
        throw err;
      }
      await s.models.reload();
      ctx.json(200, { version, status: 'active', serving: s.view()?.version ?? null });
    },
  );
}
