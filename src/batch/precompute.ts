/**
 * Precompute top-N for every user of a model into `batch_recommendations` under the model's
 * version, scoring on the compute pool. The rows go in beside those of the version being
 * served (one COPY in one transaction: a run killed half-way leaves none), and serving reads
 * a version's rows only once that version is active.
 */
import type { ComputePool } from '../compute/pool.js';
import type { LoadedModel } from '../model/active.js';
import type { AlsModel } from '../model/model.js';
import type { Stores } from '../stores/index.js';
import type { TopLists } from './engine.js';

export async function precomputeRecommendations(
  stores: Pick<Stores, 'db'>,
  { model, scorer }: LoadedModel,
  n: number,
  pool?: ComputePool,
): Promise<number> {
  const top = await scorer.topK(model.userQueries(), n, (u) => model.seen(u), pool);
  // Explicit models answer with predicted ratings, implicit ones with raw scores.
  const explicit = model.meta.params.mode === 'explicit';
  if (explicit)
    top.indices.forEach((i, k) => {
      if (i >= 0) top.scores[k] = model.predict(Math.floor(k / n), i);
    });
  return writeTopLists(stores, model, { n, items: top.indices, scores: top.scores });
}

/** Writes top-N lists (model indexes, -1 past a list's end) as the model's batch_recommendations. */
export async function writeTopLists(
  stores: Pick<Stores, 'db'>,
  model: AlsModel,
  { n, items, scores }: TopLists,
): Promise<number> {
  const { version } = model.meta;
  const rows = function* () {
    for (let u = 0; u < model.userIds.length; u++) {
      const ids: string[] = [];
      const s: number[] = [];
      for (let r = 0; r < n; r++) {
        const i = items[u * n + r]!;
        if (i < 0) break;
        ids.push(model.itemIds[i]!);
        s.push(scores[u * n + r]!);
      }
      yield [model.userIds[u], version, ids, s];
    }
  };
  return stores.db.transaction(async (tx) => {
    // A rerun for the same version (a retried activation) replaces its rows.
    await tx.query('DELETE FROM batch_recommendations WHERE model_version = $1', [version]);
    return tx.copyRows('batch_recommendations', ['user_id', 'model_version', 'item_ids', 'scores'], rows());
  });
}
