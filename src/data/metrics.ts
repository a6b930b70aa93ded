/**
 * Evaluation metrics.
 *
 * Rating prediction (explicit data): RMSE and MAE over (prediction, truth) pairs.
 *
 * Ranking (implicit data), defined exactly as the `implicit` library's
 * `ranking_metrics_at_k` so numbers are comparable with it. Inputs: per user, the top-K
 * recommended item indices (row-major Int32Array, best first, −1 padding when fewer than K
 * items could be recommended; the caller excludes training items, as implicit does) and
 * the held-out test items T_u (CSR rows). Only users with |T_u| ≥ 1 are evaluated; with
 * U that set, hits_u(i) = 1 when the item at rank i (0-based) is in T_u:
 *
 *   precision@K = Σ_u Σ_i hits_u(i) / Σ_u min(K, |T_u|)        (pooled, as implicit's
 *                 "precision": a user with 2 test items is not penalised for the other K−2 slots)
 *   recall@K    = (1/|U|) Σ_u Σ_i hits_u(i) / |T_u|             (implicit has no recall;
 *                 this is the usual per-user mean)
 *   MAP@K       = (1/|U|) Σ_u [Σ_i hits_u(i) · P_u(i)] / min(K, |T_u|), P_u(i) = (hits in
 *                 ranks 0..i) / (i + 1)
 *   NDCG@K      = (1/|U|) Σ_u [Σ_i hits_u(i) / log2(i + 2)] / IDCG_u,
 *                 IDCG_u = Σ_{i < min(K, |T_u|)} 1 / log2(i + 2)
 *   coverage    = distinct items recommended (≥ 0) / catalog size
 *
 * An item repeated within one user's list counts as a hit once (implicit's lists never
 * repeat, so this only guards malformed input).
 */

type Numbers = ArrayLike<number>;

function checkPairs(pred: Numbers, truth: Numbers): void {
  if (pred.length !== truth.length) {
    throw new RangeError(`predictions and truths differ in length (${pred.length} vs ${truth.length})`);
  }
}

/** sqrt(mean((pred − truth)²)); NaN for no pairs. */
export function rmse(pred: Numbers, truth: Numbers): number {
  checkPairs(pred, truth);
  let s = 0;
  for (let i = 0; i < pred.length; i++) {
    const d = pred[i]! - truth[i]!;
    s += d * d;
  }
  return pred.length === 0 ? Number.NaN : Math.sqrt(s / pred.length);
}

/** mean(|pred − truth|); NaN for no pairs. */
export function mae(pred: Numbers, truth: Numbers): number {
  checkPairs(pred, truth);
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += Math.abs(pred[i]! - truth[i]!);
  return pred.length === 0 ? Number.NaN : s / pred.length;
}

/** Held-out items per user as CSR rows (values are not used). */
export interface TestItems {
  indptr: Int32Array;
  indices: Int32Array;
}

export interface RankingOptions {
  /** Row width of `recs` (default k); lets @10 be computed from top-20 lists. */
  stride?: number;
  /** User index of each row of `recs` (default: row r is user r). Evaluated users missing
   * from `recs` score zero hits. */
  users?: Int32Array;
}

export interface RankingMetrics {
  precision: number;
  recall: number;
  map: number;
  ndcg: number;
  /** Number of users evaluated (users with ≥ 1 test item). */
  users: number;
}

/** All ranking metrics at K in one pass (see the file comment for the definitions). */
export function rankingMetricsAtK(
  recs: Int32Array,
  test: TestItems,
  k: number,
  opts: RankingOptions = {},
): RankingMetrics {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  const stride = opts.stride ?? k;
  if (stride < k) throw new RangeError(`stride ${stride} is smaller than k ${k}`);
  if (recs.length % stride !== 0)
    throw new RangeError(`recs length ${recs.length} is not a multiple of ${stride}`);
  const nRows = recs.length / stride;
  const nUsers = test.indptr.length - 1;

  // Row of recs for each user (−1: no recommendations for that user).
  let rowOf: Int32Array | null = null;
  if (opts.users) {
    if (opts.users.length !== nRows)
      throw new RangeError(`users has ${opts.users.length} entries, recs has ${nRows} rows`);
    rowOf = new Int32Array(nUsers).fill(-1);
    for (let r = 0; r < nRows; r++) {
      const u = opts.users[r]!;
      if (u >= 0 && u < nUsers) rowOf[u] = r;
    }
  } else if (nRows !== nUsers) {
    throw new RangeError(`recs has ${nRows} rows but the test set has ${nUsers} users (pass opts.users)`);
  }

  // Discount 1/log2(i + 2) and its prefix sums (the ideal DCG for min(K, |T_u|) hits).
  const cg = new Float64Array(k);
  const cgSum = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    cg[i] = 1 / Math.log2(i + 2);
    cgSum[i] = (i > 0 ? cgSum[i - 1]! : 0) + cg[i]!;
  }

  // Membership by stamping: mark[item] = user + 1 while that user is evaluated.
  let nItems = 0;
  for (let p = 0; p < test.indices.length; p++) if (test.indices[p]! >= nItems) nItems = test.indices[p]! + 1;
  const mark = new Int32Array(nItems);

  let relevant = 0;
  let prDiv = 0;
  let recallSum = 0;
  let apSum = 0;
  let ndcgSum = 0;
  let evaluated = 0;
  for (let u = 0; u < nUsers; u++) {
    const a = test.indptr[u]!;
    const b = test.indptr[u + 1]!;
    if (a === b) continue;
    const stamp = u + 1;
    let nTest = 0;
    for (let p = a; p < b; p++) {
      const item = test.indices[p]!;
      if (mark[item] !== stamp) {
        mark[item] = stamp;
        nTest++;
      }
    }
    const row = rowOf ? rowOf[u]! : u;
    const cap = Math.min(k, nTest);
    let hit = 0;
    let ap = 0;
    let dcg = 0;
    if (row >= 0) {
      const off = row * stride;
      for (let i = 0; i < k; i++) {
        const item = recs[off + i]!;
        if (item >= 0 && item < nItems && mark[item] === stamp) {
          mark[item] = 0; // count once
          hit++;
          ap += hit / (i + 1);
          dcg += cg[i]!;
        }
      }
    }
    relevant += hit;
    prDiv += cap;
    recallSum += hit / nTest;
    apSum += ap / cap;
    ndcgSum += dcg / cgSum[cap - 1]!;
    evaluated++;
  }
  if (evaluated === 0)
    return { precision: Number.NaN, recall: Number.NaN, map: Number.NaN, ndcg: Number.NaN, users: 0 };
  return {
    precision: relevant / prDiv,
    recall: recallSum / evaluated,
    map: apSum / evaluated,
    ndcg: ndcgSum / evaluated,
    users: evaluated,
  };
}

export function precisionAtK(recs: Int32Array, test: TestItems, k: number, opts?: RankingOptions): number {
  return rankingMetricsAtK(recs, test, k, opts).precision;
}

export function recallAtK(recs: Int32Array, test: TestItems, k: number, opts?: RankingOptions): number {
  return rankingMetricsAtK(recs, test, k, opts).recall;
}

export function ndcgAtK(recs: Int32Array, test: TestItems, k: number, opts?: RankingOptions): number {
  return rankingMetricsAtK(recs, test, k, opts).ndcg;
}

export function mapAtK(recs: Int32Array, test: TestItems, k: number, opts?: RankingOptions): number {
  return rankingMetricsAtK(recs, test, k, opts).map;
}

/** Distinct recommended item indices (−1 padding ignored) / catalog size. */
export function catalogCoverage(recs: Int32Array, nItems: number): number {
  if (nItems <= 0) return Number.NaN;
  const seen = new Uint8Array(nItems);
  let distinct = 0;
  for (let p = 0; p < recs.length; p++) {
    const item = recs[p]!;
    if (item >= 0 && item < nItems && seen[item] === 0) {
      seen[item] = 1;
      distinct++;
    }
  }
  return distinct / nItems;
}
