// The baselines a trained model must beat, and the margins to report: the global and
// item-mean predictions for ratings, the most popular unseen items for ranking. Inputs are
// indexed with the training set's id maps (a holdout from src/data/split.ts).
import { toCsr } from '../../src/data/matrix.js';
import { type RankingMetrics, rankingMetricsAtK, rmse } from '../../src/data/metrics.js';

interface Pairs {
  rows: Int32Array;
  cols: Int32Array;
  values: Float32Array;
}

/** RMSE of predicting the training mean, and of predicting each item's training mean. */
export function meanBaselines(
  train: Pairs,
  test: Pairs,
  nItems: number,
): { global: number; itemMean: number } {
  const sum = new Float64Array(nItems);
  const count = new Float64Array(nItems);
  let total = 0;
  for (let e = 0; e < train.cols.length; e++) {
    sum[train.cols[e]!]! += train.values[e]!;
    count[train.cols[e]!]!++;
    total += train.values[e]!;
  }
  const mean = total / train.cols.length;
  const byItem = Float64Array.from(test.cols, (i) => (count[i]! > 0 ? sum[i]! / count[i]! : mean));
  return {
    global: rmse(new Float64Array(test.cols.length).fill(mean), test.values),
    itemMean: rmse(byItem, test.values),
  };
}

/** Ranking metrics at k of recommending every user the most-rated training items they have not rated. */
export function popularityRanking(
  train: Pairs,
  test: Pairs,
  nUsers: number,
  nItems: number,
  k: number,
): RankingMetrics {
  const count = new Float64Array(nItems);
  for (const i of train.cols) count[i]!++;
  const byCount = Array.from({ length: nItems }, (_, i) => i).sort((a, b) => count[b]! - count[a]! || a - b);
  const seen = toCsr(nUsers, train.rows, train.cols, train.values, { duplicates: 'sum', nCols: nItems });
  const recs = new Int32Array(nUsers * k).fill(-1);
  for (let u = 0; u < nUsers; u++) {
    const mine = new Set(seen.indices.subarray(seen.indptr[u]!, seen.indptr[u + 1]!));
    let n = 0;
    for (let j = 0; j < nItems && n < k; j++) if (!mine.has(byCount[j]!)) recs[u * k + n++] = byCount[j]!;
  }
  const held = toCsr(nUsers, test.rows, test.cols, test.values, { duplicates: 'sum', nCols: nItems });
  return rankingMetricsAtK(recs, held, k);
}
