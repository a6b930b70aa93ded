/**
 * Synthetic interaction sets for tests and benchmarks (nothing here is downloaded):
 * - plantedLowRank: ratings = U·Vᵀ + noise, so a trainer must recover RMSE ≈ noise;
 * - powerLawImplicit: implicit counts whose item popularity follows a Zipf law, the shape
 *   of real catalogs (MovieLens 20M size: ~140K users × 27K items × 20M interactions).
 * A whole MovieLens-format folder (u.data, u.item, u1..u5 splits) with planted structure is
 * written by writeSyntheticMovieLens in synthetic-movielens.ts.
 */
import { Rng } from '../compute/random.js';
import { IdMap } from './ids.js';

export interface SyntheticSet {
  userIds: IdMap;
  itemIds: IdMap;
  rows: Int32Array;
  cols: Int32Array;
  values: Float32Array;
}

function idMap(prefix: string, n: number): IdMap {
  const m = new IdMap();
  for (let i = 0; i < n; i++) m.add(`${prefix}${i}`);
  return m;
}

/** Each user rates `perUser` distinct random items; value = 3 + U_u·V_i + N(0, noise²). */
export function plantedLowRank(opts: {
  users: number;
  items: number;
  rank: number;
  perUser: number;
  noise: number;
  seed: number;
}): SyntheticSet & { truth: (u: number, i: number) => number } {
  const rng = new Rng(opts.seed);
  const { users, items, rank } = opts;
  const scale = 1 / Math.sqrt(rank);
  const u = rng.fillNormal(new Float32Array(users * rank), scale);
  const v = rng.fillNormal(new Float32Array(items * rank), 1);
  const truth = (a: number, b: number) => {
    let s = 3;
    for (let c = 0; c < rank; c++) s += u[a * rank + c] * v[b * rank + c];
    return s;
  };
  const nnz = users * opts.perUser;
  const rows = new Int32Array(nnz);
  const cols = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  const picked = new Set<number>();
  let e = 0;
  for (let a = 0; a < users; a++) {
    picked.clear();
    while (picked.size < opts.perUser) picked.add(rng.int(items));
    for (const b of picked) {
      rows[e] = a;
      cols[e] = b;
      values[e] = truth(a, b) + rng.normal() * opts.noise;
      e++;
    }
  }
  return { userIds: idMap('u', users), itemIds: idMap('i', items), rows, cols, values, truth };
}

/**
 * `nnz` interactions over users × items; item i is drawn with probability ∝ 1/(i+1)^exponent
 * (inverse-CDF over a precomputed table), users uniformly; value = 1 + small count.
 */
export function powerLawImplicit(opts: {
  users: number;
  items: number;
  nnz: number;
  exponent?: number;
  seed: number;
  /** Where the arrays go (e.g. a training arena, so the trainer can recycle them). */
  alloc?: { i32(n: number): Int32Array; f32(n: number): Float32Array };
}): SyntheticSet {
  const rng = new Rng(opts.seed);
  const a = opts.exponent ?? 0.8;
  const cdf = new Float64Array(opts.items);
  let total = 0;
  for (let i = 0; i < opts.items; i++) {
    total += 1 / (i + 1) ** a;
    cdf[i] = total;
  }
  const alloc = opts.alloc ?? {
    i32: (n: number) => new Int32Array(n),
    f32: (n: number) => new Float32Array(n),
  };
  const rows = alloc.i32(opts.nnz);
  const cols = alloc.i32(opts.nnz);
  const values = alloc.f32(opts.nnz);
  for (let e = 0; e < opts.nnz; e++) {
    const x = rng.next() * total;
    let lo = 0;
    let hi = opts.items - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    rows[e] = rng.int(opts.users);
    cols[e] = lo;
    values[e] = 1 + rng.int(3);
  }
  return { userIds: idMap('u', opts.users), itemIds: idMap('i', opts.items), rows, cols, values };
}
