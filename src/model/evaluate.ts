/**
 * Offline evaluation of a model on held-out interactions (indexed with the model's ids):
 * RMSE/MAE for explicit ratings; precision, recall, NDCG, MAP at K and catalog coverage for
 * implicit feedback, ranking every test user's unseen items with the top-K kernel.
 */
import type { BackendName } from '../compute/kernels.js';
import type { ComputePool } from '../compute/pool.js';
import { toCsr } from '../data/matrix.js';
import { catalogCoverage, mae, rankingMetricsAtK, rmse } from '../data/metrics.js';
import type { AlsModel } from './model.js';
import { Scorer } from './scorer.js';

export interface TestSet {
  rows: Int32Array;
  cols: Int32Array;
  values: Float32Array;
}

export interface Evaluation {
  rmse?: number;
  mae?: number;
  precision_at_k?: number;
  recall_at_k?: number;
  ndcg_at_k?: number;
  map_at_k?: number;
  coverage?: number;
  k?: number;
  test_interactions: number;
  test_users?: number;
}

export function evaluateRatings(model: AlsModel, test: TestSet): Evaluation {
  const pred = new Float64Array(test.rows.length);
  for (let e = 0; e < pred.length; e++) pred[e] = model.predict(test.rows[e], test.cols[e]);
  return { rmse: rmse(pred, test.values), mae: mae(pred, test.values), test_interactions: pred.length };
}

export async function evaluateRanking(
  model: AlsModel,
  test: TestSet,
  k: number,
  backend: BackendName,
  pool?: ComputePool,
): Promise<Evaluation> {
  const nUsers = model.userIds.length;
  const nItems = model.itemIds.length;
  const testItems = toCsr(nUsers, test.rows, test.cols, test.values, { duplicates: 'sum', nCols: nItems });
  const users: number[] = [];
  for (let u = 0; u < nUsers; u++) if (testItems.indptr[u + 1] > testItems.indptr[u]) users.push(u);
  const dims = model.scoringDims;
  const queries = model.userQueries(users);
  const scorer = await Scorer.create(backend, model.scoringItems(), nItems, dims, {
    maxK: k,
    slots: pool?.threads ?? 1,
  });
  const recs = await scorer.topK(queries, k, (r) => model.seen(users[r]), pool);
  const m = rankingMetricsAtK(recs.indices, testItems, k, { users: Int32Array.from(users) });
  return {
    precision_at_k: m.precision,
    recall_at_k: m.recall,
    ndcg_at_k: m.ndcg,
    map_at_k: m.map,
    coverage: catalogCoverage(recs.indices, nItems),
    k,
    test_interactions: test.rows.length,
    test_users: m.users,
  };
}

/**
 * The one naming of model metrics, as `models.metrics`, model.json, `recsys train --json` and
 * the promotion gate read them: rmse, mae, precision_at_<k>, recall_at_<k>, ndcg_at_<k>,
 * map_at_<k>, coverage, test_interactions, test_users. K is part of a ranking metric's name
 * because precision@5 and precision@10 are different metrics; a gate never compares them.
 */
export function modelMetrics(e: Evaluation): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (name: string, v: number | undefined) => {
    if (v !== undefined) out[name] = Math.round(v * 1e6) / 1e6;
  };
  put('rmse', e.rmse);
  put('mae', e.mae);
  put(`precision_at_${e.k}`, e.precision_at_k);
  put(`recall_at_${e.k}`, e.recall_at_k);
  put(`ndcg_at_${e.k}`, e.ndcg_at_k);
  put(`map_at_${e.k}`, e.map_at_k);
  put('coverage', e.coverage);
  put('test_interactions', e.test_interactions);
  put('test_users', e.test_users);
  return out;
}
