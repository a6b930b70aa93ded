// Test helpers shared by the kernel suites (contract, native, wasm): random CSR inputs and
// float64 reference math every backend is checked against. Nothing here calls a backend.
import assert from 'node:assert/strict';
import type { Csr } from '../../src/compute/kernels.js';
import type { Rng } from '../../src/compute/random.js';
import type { Alloc } from '../../src/data/matrix.js';

/** Plain (non-shared) arrays; an Arena is the other Alloc (the wasm backend needs one). */
export const heap: Alloc = { i32: (n) => new Int32Array(n), f32: (n) => new Float32Array(n) };

export interface RandomCsrOptions {
  rows: number;
  cols: number;
  /** Longest row; a non-empty row has min(cols, 1 + ⌊maxLen·u^skew⌋) entries, u uniform in [0, 1). */
  maxLen: number;
  /** Exponent of u: 1 gives lengths uniform in [1, maxLen], 3 a power-law-ish spread of short rows. */
  skew?: number;
  /** Row r is empty when r % emptyEvery === emptyEvery − 1 (the zero-interaction path). */
  emptyEvery?: number;
  /** The value of each entry, drawn in order. */
  value: () => number;
  /** Where the arrays live (default: plain typed arrays). */
  alloc?: Alloc;
}

/** Random CSR: distinct columns per row, in the order drawn (not sorted). */
export function randomCsr(rng: Rng, o: RandomCsrOptions): Csr {
  const { rows, cols, maxLen, skew = 1, emptyEvery = 4, value, alloc = heap } = o;
  const indptr = alloc.i32(rows + 1);
  indptr[0] = 0;
  const idx: number[] = [];
  const vals: number[] = [];
  for (let r = 0; r < rows; r++) {
    if (r % emptyEvery !== emptyEvery - 1) {
      const len = Math.min(cols, 1 + Math.floor(maxLen * rng.next() ** skew));
      const picked = new Set<number>();
      while (picked.size < len) picked.add(rng.int(cols));
      for (const c of picked) {
        idx.push(c);
        vals.push(value());
      }
    }
    indptr[r + 1] = idx.length;
  }
  const indices = alloc.i32(idx.length);
  indices.set(idx);
  const values = alloc.f32(vals.length);
  values.set(vals);
  return { indptr, indices, values };
}

/** A vector of n normal draws with standard deviation `scale`. */
export function normals(rng: Rng, n: number, scale: number, alloc: Alloc = heap): Float32Array {
  return rng.fillNormal(alloc.f32(n), scale);
}

// ---------------------------------------------------------------------------------------------
// float64 reference math

/** Solve the SPD system a·x = b (n×n row-major) by Cholesky in float64; a and b are copied. */
export function spdSolve(a0: ArrayLike<number>, b0: ArrayLike<number>, n: number): Float64Array {
  const a = Float64Array.from(a0);
  const x = Float64Array.from(b0);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= a[j * n + k] ** 2;
    assert.ok(d > 0, 'reference matrix is SPD');
    a[j * n + j] = Math.sqrt(d);
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / a[j * n + j];
    }
  }
  for (let i = 0; i < n; i++) {
    let s = x[i];
    for (let k = 0; k < i; k++) s -= a[i * n + k] * x[k];
    x[i] = s / a[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < n; k++) s -= a[k * n + i] * x[k];
    x[i] = s / a[i * n + i];
  }
  return x;
}

/** YᵀY + reg·I over the first n rows of y (f columns). */
export function gramRef(y: ArrayLike<number>, n: number, f: number, reg: number): Float64Array {
  const want = new Float64Array(f * f);
  for (let r = 0; r < n; r++)
    for (let a = 0; a < f; a++) for (let b = 0; b < f; b++) want[a * f + b] += y[r * f + a] * y[r * f + b];
  for (let a = 0; a < f; a++) want[a * f + a] += reg;
  return want;
}

/**
 * The explicit normal equations of row u (kernels.ts, ExplicitStepArgs): A = Σ φφᵀ +
 * ρ·diag(1, …, 1, biasReg), b = Σ tφ, of size d = f (+1 with a bias); n is the row's entry count.
 */
export function explicitSystem(
  csr: Csr,
  u: number,
  other: ArrayLike<number>,
  otherBias: ArrayLike<number>,
  f: number,
  rho: number,
  biasReg: number,
  mu: number,
  useBias: boolean,
) {
  const d = useBias ? f + 1 : f;
  const a = new Float64Array(d * d);
  const b = new Float64Array(d);
  const s = csr.indptr[u];
  const e = csr.indptr[u + 1];
  const phi = new Float64Array(d);
  for (let j = s; j < e; j++) {
    const i = csr.indices[j];
    for (let c = 0; c < f; c++) phi[c] = other[i * f + c];
    if (useBias) phi[f] = 1;
    const t = csr.values[j] - mu - (useBias ? otherBias[i] : 0);
    for (let r = 0; r < d; r++) {
      b[r] += t * phi[r];
      for (let c = 0; c < d; c++) a[r * d + c] += phi[r] * phi[c];
    }
  }
  for (let r = 0; r < f; r++) a[r * d + r] += rho;
  if (useBias) a[f * d + f] += rho * biasReg;
  return { a, b, d, n: e - s };
}

/**
 * The implicit system of row u that CG converges to: (gram + Σ (c−1)·y yᵀ) x = Σ p·c·y, with
 * c = |value| and preference p = 1 for a positive value, 0 otherwise (as `implicit`).
 */
export function implicitSystem(
  csr: Csr,
  u: number,
  y: ArrayLike<number>,
  gram: ArrayLike<number>,
  f: number,
) {
  const a = Float64Array.from(gram);
  const b = new Float64Array(f);
  for (let j = csr.indptr[u]; j < csr.indptr[u + 1]; j++) {
    const i = csr.indices[j];
    const v = csr.values[j];
    const c = Math.abs(v);
    for (let r = 0; r < f; r++) {
      if (v > 0) b[r] += c * y[i * f + r];
      for (let s = 0; s < f; s++) a[r * f + s] += (c - 1) * y[i * f + r] * y[i * f + s];
    }
  }
  return { a, b };
}

/** The exact implicit solution of row u (zero for an empty row). */
export function implicitSolve(
  csr: Csr,
  u: number,
  y: ArrayLike<number>,
  gram: ArrayLike<number>,
  f: number,
): Float64Array {
  if (csr.indptr[u] === csr.indptr[u + 1]) return new Float64Array(f);
  const { a, b } = implicitSystem(csr, u, y, gram, f);
  return spdSolve(a, b, f);
}

/** implicit's _least_squares_cg in float64, for one row, `steps` steps from x0. */
export function cgRef(
  csr: Csr,
  u: number,
  y: ArrayLike<number>,
  gram: ArrayLike<number>,
  x0: ArrayLike<number>,
  f: number,
  steps: number,
): Float64Array {
  const x = Float64Array.from(x0);
  const s = csr.indptr[u];
  const e = csr.indptr[u + 1];
  if (s === e) return new Float64Array(f);
  const dotRow = (i: number, v: Float64Array) => {
    let t = 0;
    for (let c = 0; c < f; c++) t += y[i * f + c] * v[c];
    return t;
  };
  const gv = (v: Float64Array) => {
    const o = new Float64Array(f);
    for (let a = 0; a < f; a++) for (let b = 0; b < f; b++) o[a] += gram[a * f + b] * v[b];
    return o;
  };
  const r = gv(x).map((v) => -v);
  for (let j = s; j < e; j++) {
    const i = csr.indices[j];
    let c = csr.values[j];
    let pref = c;
    if (!(c > 0)) {
      pref = 0;
      c = -c;
    }
    const w = pref - (c - 1) * dotRow(i, x);
    for (let k = 0; k < f; k++) r[k] += w * y[i * f + k];
  }
  const p = Float64Array.from(r);
  let rsold = r.reduce((t, v) => t + v * v, 0);
  if (rsold < 1e-20) return x;
  for (let it = 0; it < steps; it++) {
    const ap = gv(p);
    for (let j = s; j < e; j++) {
      const i = csr.indices[j];
      const w = (Math.abs(csr.values[j]) - 1) * dotRow(i, p);
      for (let k = 0; k < f; k++) ap[k] += w * y[i * f + k];
    }
    const alpha = rsold / p.reduce((t, v, k) => t + v * ap[k], 0);
    for (let k = 0; k < f; k++) {
      x[k] += alpha * p[k];
      r[k] -= alpha * ap[k];
    }
    const rsnew = r.reduce((t, v) => t + v * v, 0);
    if (rsnew < 1e-20) break;
    for (let k = 0; k < f; k++) p[k] = r[k] + (rsnew / rsold) * p[k];
    rsold = rsnew;
  }
  return x;
}

/** Dot products of query q with each of the nItems items, in float64. */
export function itemScores(
  queries: ArrayLike<number>,
  q: number,
  items: ArrayLike<number>,
  nItems: number,
  f: number,
): Float64Array {
  const out = new Float64Array(nItems);
  for (let i = 0; i < nItems; i++) {
    let s = 0;
    for (let c = 0; c < f; c++) s += queries[q * f + c] * items[i * f + c];
    out[i] = s;
  }
  return out;
}

/** The k best of `scores` outside `exclude`: [score, index] best first, ties by the lower index. */
export function topKRef(scores: ArrayLike<number>, k: number, exclude: Set<number>): Array<[number, number]> {
  const all: Array<[number, number]> = [];
  for (let i = 0; i < scores.length; i++) if (!exclude.has(i)) all.push([scores[i], i]);
  all.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return all.slice(0, k);
}

/** The exclusion list of query q (empty without one). */
export function excludedOf(exPtr: Int32Array | null, exIdx: Int32Array | null, q: number): Set<number> {
  return new Set(exPtr && exIdx ? Array.from(exIdx.subarray(exPtr[q], exPtr[q + 1])) : []);
}
