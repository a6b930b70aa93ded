/**
 * Per-row penalties for explicit ALS: ρ_u = λ·n_u^p. p = 1 is Zhou et al.'s weighted-λ;
 * a smaller p regularises heavy rows relatively less (better on MovieLens, see params.ts).
 * Computed once per training direction so the kernels stay free of pow().
 */
import type { Alloc } from '../data/matrix.js';

export function rowPenalties(
  indptr: Int32Array,
  lambda: number,
  exponent: number,
  alloc: Alloc,
): Float32Array {
  const n = indptr.length - 1;
  const out = alloc.f32(n);
  for (let u = 0; u < n; u++) out[u] = lambda * (indptr[u + 1] - indptr[u]) ** exponent;
  return out;
}
