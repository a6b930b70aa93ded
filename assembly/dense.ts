// Small dense linear algebra: blocked Gᵀ·G accumulation and an f64 Cholesky solver.
import { axpy64, dot64 } from './vec';

/** Rows of G handled per gramChunk call (keeps the chunk in L1). */
export const CHUNK_ROWS: i32 = 64;

/** ceil(n / m)·m for m a power of two. */
// @ts-ignore: decorator
@inline
export function roundUp(n: i32, m: i32): i32 {
  return (n + m - 1) & ~(m - 1);
}

/**
 * acc += Gᵀ·G over the upper triangle (and the diagonal tiles), f32 products summed in
 * registers over the chunk and added to the f64 accumulator.
 *   G: R rows of stride S floats (S a multiple of 8); columns ≥ D must be finite (zero).
 *   acc: f64, stride S, at least roundUp(D, 4) rows.
 * Every element acc[j][l] with j ≤ l < D is updated; some below-diagonal elements of the
 * diagonal tiles are too (callers ignore the strict lower triangle).
 */
export function gramChunk(G: usize, R: i32, S: i32, D: i32, acc: usize): void {
  const rowBytes = <usize>S << 2;
  const accRow = <usize>S << 3;
  for (let j0 = 0; j0 < D; j0 += 4) {
    for (let l0 = j0 & ~7; l0 < D; l0 += 8) {
      let c00 = f32x4.splat(0);
      let c01 = c00;
      let c10 = c00;
      let c11 = c00;
      let c20 = c00;
      let c21 = c00;
      let c30 = c00;
      let c31 = c00;
      let pa = G + (<usize>j0 << 2);
      let pb = G + (<usize>l0 << 2);
      for (let r = 0; r < R; r++) {
        const b0 = v128.load(pb);
        const b1 = v128.load(pb, 16);
        let a = v128.load32_splat(pa);
        c00 = f32x4.add(c00, f32x4.mul(a, b0));
        c01 = f32x4.add(c01, f32x4.mul(a, b1));
        a = v128.load32_splat(pa, 4);
        c10 = f32x4.add(c10, f32x4.mul(a, b0));
        c11 = f32x4.add(c11, f32x4.mul(a, b1));
        a = v128.load32_splat(pa, 8);
        c20 = f32x4.add(c20, f32x4.mul(a, b0));
        c21 = f32x4.add(c21, f32x4.mul(a, b1));
        a = v128.load32_splat(pa, 12);
        c30 = f32x4.add(c30, f32x4.mul(a, b0));
        c31 = f32x4.add(c31, f32x4.mul(a, b1));
        pa += rowBytes;
        pb += rowBytes;
      }
      let p = acc + <usize>j0 * accRow + (<usize>l0 << 3);
      addTileRow(p, c00, c01);
      p += accRow;
      addTileRow(p, c10, c11);
      p += accRow;
      addTileRow(p, c20, c21);
      p += accRow;
      addTileRow(p, c30, c31);
    }
  }
}

/** p[0..8] (f64) += the 8 f32 lanes of lo, hi. */
// @ts-ignore: decorator
@inline
function addTileRow(p: usize, lo: v128, hi: v128): void {
  v128.store(p, f64x2.add(v128.load(p), f64x2.promote_low_f32x4(lo)));
  v128.store(p, f64x2.add(v128.load(p, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(lo, lo, 2, 3, 0, 1))), 16);
  v128.store(p, f64x2.add(v128.load(p, 32), f64x2.promote_low_f32x4(hi)), 32);
  v128.store(p, f64x2.add(v128.load(p, 48), f64x2.promote_low_f32x4(v128.shuffle<f32>(hi, hi, 2, 3, 0, 1))), 48);
}

/** Copy the upper triangle of the leading n×n block into the lower one (f64, stride S). */
export function mirrorUpper(A: usize, n: i32, S: i32): void {
  const row = <usize>S << 3;
  for (let i = 1; i < n; i++) {
    const ri = A + <usize>i * row;
    for (let j = 0; j < i; j++) store<f64>(ri + (<usize>j << 3), load<f64>(A + <usize>j * row + (<usize>i << 3)));
  }
}

/**
 * In-place Cholesky A = L·Lᵀ of the leading n×n block (f64, row-major, stride S; only the
 * lower triangle is read and written). Returns -1 on success, or the column at which the
 * matrix was found not positive definite.
 */
export function cholesky(A: usize, n: i32, S: i32): i32 {
  const row = <usize>S << 3;
  for (let j = 0; j < n; j++) {
    const rj = A + <usize>j * row;
    const d = load<f64>(rj + (<usize>j << 3)) - dot64(rj, rj, j);
    if (!(d > 0)) return j;
    const l = Math.sqrt(d);
    store<f64>(rj + (<usize>j << 3), l);
    const inv = 1.0 / l;
    for (let i = j + 1; i < n; i++) {
      const ri = A + <usize>i * row;
      const p = ri + (<usize>j << 3);
      store<f64>(p, (load<f64>(p) - dot64(ri, rj, j)) * inv);
    }
  }
  return -1;
}

/** Solve L·Lᵀ·x = b in place (b: n f64) with the factor from cholesky(). */
export function choleskySolve(L: usize, b: usize, n: i32, S: i32): void {
  const row = <usize>S << 3;
  for (let i = 0; i < n; i++) {
    const ri = L + <usize>i * row;
    const p = b + (<usize>i << 3);
    store<f64>(p, (load<f64>(p) - dot64(ri, b, i)) / load<f64>(ri + (<usize>i << 3)));
  }
  for (let i = n - 1; i >= 0; i--) {
    const ri = L + <usize>i * row;
    const p = b + (<usize>i << 3);
    const xi = load<f64>(p) / load<f64>(ri + (<usize>i << 3));
    store<f64>(p, xi);
    axpy64(-xi, ri, b, i);
  }
}
