// ALS kernels: Gramian, explicit half-step (weighted-λ, Cholesky), implicit half-step (CG).
// Semantics mirror src/compute/kernels.ts and the reference src/compute/js.ts.
import { CHUNK_ROWS, cholesky, choleskySolve, gramChunk, mirrorUpper, roundUp } from './dense';
import { axpy, axpy4, dot, dot4, matvec } from './vec';

/** Status words at the start of every scratch area (written on failure). */
export const STATUS_BYTES: usize = 64;
export const ERR_SCRATCH: i32 = -1;
export const ERR_NOT_PD: i32 = 1;

/** Scratch bytes for the dense kernels with `f` factors (after the status header). */
export function denseScratchBytes(f: i32): i32 {
  const S = roundUp(f + 2, 8);
  const explicitBytes = S * S * 8 + CHUNK_ROWS * S * 4 + S * 8;
  const implicitBytes = 3 * roundUp(f, 4) * 4;
  return max(explicitBytes, implicitBytes);
}

/** Copy f floats of a source row into a chunk row. */
// @ts-ignore: decorator
@inline
function copyRow(dst: usize, src: usize, f: i32): void {
  memory.copy(dst, src, <usize>f << 2);
}

/** out (f×f, f32) = YᵀY + reg·I over nRows rows of y. */
export function gramian(y: usize, nRows: i32, f: i32, reg: f64, out: usize, scratch: usize, scratchBytes: i32): i32 {
  if (scratchBytes < <i32>STATUS_BYTES + denseScratchBytes(f)) return ERR_SCRATCH;
  const S = roundUp(f, 8);
  const acc = scratch + STATUS_BYTES;
  const G = acc + <usize>(S * S * 8);
  memory.fill(acc, 0, <usize>(S * S * 8));
  memory.fill(G, 0, <usize>(CHUNK_ROWS * S * 4));
  const rowIn = <usize>f << 2;
  const rowG = <usize>S << 2;
  for (let r0 = 0; r0 < nRows; r0 += CHUNK_ROWS) {
    const R = min(CHUNK_ROWS, nRows - r0);
    let src = y + <usize>r0 * rowIn;
    let dst = G;
    for (let r = 0; r < R; r++) {
      copyRow(dst, src, f);
      src += rowIn;
      dst += rowG;
    }
    gramChunk(G, R, S, f, acc);
  }
  const accRow = <usize>S << 3;
  for (let a = 0; a < f; a++) {
    for (let b = 0; b < f; b++) {
      const v = a <= b ? load<f64>(acc + <usize>a * accRow + (<usize>b << 3)) : load<f64>(acc + <usize>b * accRow + (<usize>a << 3));
      store<f32>(out + ((<usize>a * <usize>f + <usize>b) << 2), <f32>(a == b ? v + reg : v));
    }
  }
  return 0;
}

/**
 * Explicit ALS half-step (weighted-λ, optional biases) for rows [rowStart, rowEnd).
 * Each row's system is built as the Gramian of the rows [φ_i | t_i] (so its last column is
 * the right-hand side Σ t_i φ_i), regularised with ρ_u = rowReg[u] on the diagonal (biasReg·ρ_u for the bias) and solved by an
 * f64 Cholesky. Returns 0, ERR_SCRATCH, or ERR_NOT_PD with (row, column) in the status words.
 */
export function explicitHalfStep(
  indptr: usize,
  indices: usize,
  values: usize,
  rowStart: i32,
  rowEnd: i32,
  other: usize,
  otherBias: usize,
  out: usize,
  outBias: usize,
  f: i32,
  rowReg: usize,
  biasReg: f64,
  globalMean: f64,
  useBias: bool,
  scratch: usize,
  scratchBytes: i32,
): i32 {
  if (scratchBytes < <i32>STATUS_BYTES + denseScratchBytes(f)) return ERR_SCRATCH;
  const n = useBias ? f + 1 : f; // unknowns
  const D = n + 1; // plus the target column
  const S = roundUp(D, 8);
  const acc = scratch + STATUS_BYTES;
  const G = acc + <usize>(S * S * 8);
  const b = G + <usize>(CHUNK_ROWS * S * 4);
  const accRow = <usize>S << 3;
  const rowIn = <usize>f << 2;
  const rowG = <usize>S << 2;
  const accBytes = <usize>(roundUp(D, 4) * S * 8);
  memory.fill(G, 0, <usize>(CHUNK_ROWS * S * 4));
  for (let u = rowStart; u < rowEnd; u++) {
    const start = load<i32>(indptr + (<usize>u << 2));
    const end = load<i32>(indptr + (<usize>u << 2), 4);
    const xo = out + <usize>u * rowIn;
    if (end == start) {
      memory.fill(xo, 0, rowIn);
      store<f32>(outBias + (<usize>u << 2), 0);
      continue;
    }
    memory.fill(acc, 0, accBytes);
    for (let e0 = start; e0 < end; e0 += CHUNK_ROWS) {
      const R = min(CHUNK_ROWS, end - e0);
      let dst = G;
      for (let e = e0; e < e0 + R; e++) {
        const i = load<i32>(indices + (<usize>e << 2));
        copyRow(dst, other + <usize>i * rowIn, f);
        let t = <f64>load<f32>(values + (<usize>e << 2)) - globalMean;
        if (useBias) {
          t -= <f64>load<f32>(otherBias + (<usize>i << 2));
          store<f32>(dst + rowIn, 1);
          store<f32>(dst + rowIn, <f32>t, 4);
        } else {
          store<f32>(dst + rowIn, <f32>t);
        }
        dst += rowG;
      }
      gramChunk(G, R, S, D, acc);
    }
    mirrorUpper(acc, n, S);
    const reg = <f64>load<f32>(rowReg + (<usize>u << 2));
    for (let j = 0; j < n; j++) {
      const p = acc + <usize>j * accRow + (<usize>j << 3);
      store<f64>(p, load<f64>(p) + (j == f ? reg * biasReg : reg));
      store<f64>(b + (<usize>j << 3), load<f64>(acc + <usize>j * accRow + (<usize>n << 3)));
    }
    const bad = cholesky(acc, n, S);
    if (bad >= 0) {
      store<i32>(scratch, u);
      store<i32>(scratch, bad, 4);
      return ERR_NOT_PD;
    }
    choleskySolve(acc, b, n, S);
    for (let c = 0; c < f; c++) store<f32>(xo + (<usize>c << 2), <f32>load<f64>(b + (<usize>c << 3)));
    store<f32>(outBias + (<usize>u << 2), useBias ? <f32>load<f64>(b + (<usize>f << 3)) : 0);
  }
  return 0;
}

/**
 * Implicit ALS half-step: `cgSteps` conjugate-gradient iterations per row on
 * (YᵀY + λI + Yᵀ(C_u − I)Y)·x = YᵀC_u·1, warm-started from and written back to `out`,
 * stopping early when rᵀr < 1e-20 (as the `implicit` library's _solve_cg), in f32.
 * Rows without entries are set to 0 (the exact solution). A confidence c > 0 means preference 1
 * with confidence c; c ≤ 0 means preference 0 with confidence |c| (negative feedback), as in `implicit`.
 */
export function implicitHalfStep(
  indptr: usize,
  indices: usize,
  values: usize,
  rowStart: i32,
  rowEnd: i32,
  other: usize,
  gram: usize,
  out: usize,
  f: i32,
  cgSteps: i32,
  scratch: usize,
  scratchBytes: i32,
): i32 {
  if (scratchBytes < <i32>STATUS_BYTES + denseScratchBytes(f)) return ERR_SCRATCH;
  const fb = <usize>roundUp(f, 4) << 2;
  const r = scratch + STATUS_BYTES;
  const p = r + fb;
  const ap = p + fb;
  const row = <usize>f << 2;
  for (let u = rowStart; u < rowEnd; u++) {
    const start = load<i32>(indptr + (<usize>u << 2));
    const end = load<i32>(indptr + (<usize>u << 2), 4);
    const x = out + <usize>u * row;
    if (end == start) {
      memory.fill(x, 0, row);
      continue;
    }
    // r = YᵀC_u·1 − (YᵀC_uY + λI)·x without forming YᵀC_uY.
    matvec(gram, x, r, f);
    negate(r, f);
    accumulate(indices, values, start, end, other, f, x, r, true);
    memory.copy(p, r, row);
    let rsold = dot(r, r, f);
    if (rsold < 1e-20) continue;
    for (let it = 0; it < cgSteps; it++) {
      matvec(gram, p, ap, f);
      accumulate(indices, values, start, end, other, f, p, ap, false);
      const pap = dot(p, ap, f);
      if (!(pap > 0)) break; // converged to f32 precision (or degenerate): stop before 0/0
      const alpha = <f32>(<f64>rsold / <f64>pap);
      axpy(alpha, p, x, f);
      axpy(-alpha, ap, r, f);
      const rsnew = dot(r, r, f);
      if (rsnew < 1e-20) break;
      scaleAdd(p, <f32>(<f64>rsnew / <f64>rsold), r, f);
      rsold = rsnew;
    }
  }
  return 0;
}

/**
 * Over the entries e of one row (item y_e, value c_e: preference p_e = [c_e > 0], confidence |c_e|):
 *   residual: dst += (p_e·|c_e| − (|c_e| − 1)·(y_e·v))·y_e   (r = YᵀC_u·p − Yᵀ(C_u − I)Y·v part)
 *   else:     dst += (|c_e| − 1)·(y_e·v)·y_e                 (Yᵀ(C_u − I)Y·v)
 * four entries at a time so v and dst are loaded once per four item rows.
 */
// @ts-ignore: decorator
@inline
function accumulate(indices: usize, values: usize, start: i32, end: i32, other: usize, f: i32, v: usize, dst: usize, residual: bool): void {
  const row = <usize>f << 2;
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  let e = start;
  for (; e + 4 <= end; e += 4) {
    const ip = indices + (<usize>e << 2);
    const y0 = other + <usize>load<i32>(ip) * row;
    const y1 = other + <usize>load<i32>(ip, 4) * row;
    const y2 = other + <usize>load<i32>(ip, 8) * row;
    const y3 = other + <usize>load<i32>(ip, 12) * row;
    const c = v128.load(values + (<usize>e << 2));
    const d = f32x4.mul(f32x4.sub(f32x4.abs(c), one), dot4(y0, y1, y2, y3, v, f));
    axpy4(residual ? f32x4.sub(f32x4.max(c, zero), d) : d, y0, y1, y2, y3, dst, f);
  }
  for (; e < end; e++) {
    const y = other + <usize>load<i32>(indices + (<usize>e << 2)) * row;
    const c = load<f32>(values + (<usize>e << 2));
    const d = (Mathf.abs(c) - 1) * dot(y, v, f);
    axpy(residual ? max(c, <f32>0) - d : d, y, dst, f);
  }
}

/** v = −v. */
function negate(v: usize, n: i32): void {
  const e4 = <usize>(n & ~3) << 2;
  const e = <usize>n << 2;
  let o: usize = 0;
  while (o < e4) {
    v128.store(v + o, f32x4.neg(v128.load(v + o)));
    o += 16;
  }
  while (o < e) {
    store<f32>(v + o, -load<f32>(v + o));
    o += 4;
  }
}

/** p = r + beta·p. */
function scaleAdd(p: usize, beta: f32, r: usize, n: i32): void {
  const vb = f32x4.splat(beta);
  const e4 = <usize>(n & ~3) << 2;
  const e = <usize>n << 2;
  let o: usize = 0;
  while (o < e4) {
    v128.store(p + o, f32x4.add(v128.load(r + o), f32x4.mul(vb, v128.load(p + o))));
    o += 16;
  }
  while (o < e) {
    store<f32>(p + o, load<f32>(r + o) + beta * load<f32>(p + o));
    o += 4;
  }
}
