/**
 * Precompute top-N for every user of a model into `batch_recommendations` (replacing the
 * previous model's rows in one transaction), scoring on the compute pool.
 */
import type { ComputePool } from '../compute/pool.js';
import type { LoadedModel } from '../model/active.js';
import type { Stores } from '../stores/index.js';

export async function precomputeRecommendations(
  stores: Pick<Stores, 'db'>,
  { model, scorer }: LoadedModel,
  n: number,
  pool?: ComputePool,
): Promise<number> {
  const nUsers = model.userIds.length;
  const top = await scorer.topK(model.userQueries(), n, (u) => model.seen(u), pool);
  const explicit = model.meta.params.mode === 'explicit';
  const rows = function* () {
    for (let u = 0; u < nUsers; u++) {
      const ids: string[] = [];
      const scores: number[] = [];
      for (let r = 0; r < n; r++) {
        const i = top.indices[u * n + r];
        if (i < 0) break;
        ids.push(model.itemIds[i]);
        // Explicit models answer with predicted ratings, implicit ones with raw scores.
        scores.push(explicit ? model.predict(u, i) : top.scores[u * n + r]);
      }
      yield [model.userIds[u], model.meta.version, ids, scores];
    }
  };
  return stores.db.transaction(async (tx) => {
    await tx.query('DELETE FROM batch_recommendations');
    return tx.copyRows('batch_recommendations', ['user_id', 'model_version', 'item_ids', 'scores'], rows());
  });
}
