/**
 * The `js` backend: a plain TypeScript reference for every kernel. It is the ground truth
 * the native and wasm backends are checked against, so it favours clarity (float64
 * accumulation, no blocking) over speed. Arguments are checked first with the native addon's
 * rules (validate.ts), so a bad call throws instead of reading past an array.
 */
import type { ExplicitStepArgs, ImplicitStepArgs, Kernels, TopKArgs } from './kernels.js';
import { checkExplicitStep, checkGramian, checkImplicitStep, checkTopK } from './validate.js';

/** In-place Cholesky solve of the SPD system a·x = b (a is n×n row-major, overwritten). */
export function choleskySolve(a: Float64Array, b: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) throw new Error(`cholesky: matrix not positive definite at column ${j}`);
    const ljj = Math.sqrt(d);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / ljj;
    }
  }
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= a[i * n + k] * b[k];
    b[i] = s / a[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= a[k * n + i] * b[k];
    b[i] = s / a[i * n + i];
  }
}

function gramian(y: Float32Array, nRows: number, f: number, reg: number, out: Float32Array): void {
  checkGramian(y, nRows, f, reg, out);
  const acc = new Float64Array(f * f);
  for (let r = 0; r < nRows; r++) {
    const o = r * f;
    for (let a = 0; a < f; a++) {
      const ya = y[o + a];
      for (let b = 0; b < f; b++) acc[a * f + b] += ya * y[o + b];
    }
  }
  for (let a = 0; a < f; a++) acc[a * f + a] += reg;
  out.set(acc);
}

function explicitHalfStep(p: ExplicitStepArgs): void {
  checkExplicitStep(p);
  const { csr, other, otherBias, out, outBias, factors: f, rowReg, biasReg, globalMean, useBias } = p;
  const n = useBias ? f + 1 : f;
  const a = new Float64Array(n * n);
  const b = new Float64Array(n);
  const phi = new Float64Array(n);
  for (let u = p.rowStart; u < p.rowEnd; u++) {
    const start = csr.indptr[u];
    const end = csr.indptr[u + 1];
    if (end === start) {
      out.fill(0, u * f, u * f + f);
      outBias[u] = 0;
      continue;
    }
    a.fill(0);
    b.fill(0);
    for (let e = start; e < end; e++) {
      const i = csr.indices[e];
      for (let c = 0; c < f; c++) phi[c] = other[i * f + c];
      if (useBias) phi[f] = 1;
      const t = csr.values[e] - globalMean - (useBias ? otherBias[i] : 0);
      for (let r = 0; r < n; r++) {
        b[r] += t * phi[r];
        for (let c = 0; c < n; c++) a[r * n + c] += phi[r] * phi[c];
      }
    }
    const reg = rowReg[u];
    for (let r = 0; r < f; r++) a[r * n + r] += reg;
    if (useBias) a[f * n + f] += reg * biasReg;
    choleskySolve(a, b, n);
    for (let c = 0; c < f; c++) out[u * f + c] = b[c];
    outBias[u] = useBias ? b[f] : 0;
  }
}

function implicitHalfStep(p: ImplicitStepArgs): void {
  checkImplicitStep(p);
  const { csr, other: y, gram, out, factors: f, cgSteps } = p;
  const x = new Float64Array(f);
  const r = new Float64Array(f);
  const pv = new Float64Array(f);
  const ap = new Float64Array(f);
  const dotRow = (i: number, v: Float64Array) => {
    let s = 0;
    for (let c = 0; c < f; c++) s += y[i * f + c] * v[c];
    return s;
  };
  const gramTimes = (v: Float64Array, dst: Float64Array) => {
    for (let a = 0; a < f; a++) {
      let s = 0;
      for (let b = 0; b < f; b++) s += gram[a * f + b] * v[b];
      dst[a] = s;
    }
  };
  for (let u = p.rowStart; u < p.rowEnd; u++) {
    const start = csr.indptr[u];
    const end = csr.indptr[u + 1];
    if (end === start) {
      out.fill(0, u * f, u * f + f);
      continue;
    }
    for (let c = 0; c < f; c++) x[c] = out[u * f + c];
    // r = YᵀCu·p − (YᵀCuY + λI)·x, without forming YᵀCuY.
    gramTimes(x, r);
    for (let c = 0; c < f; c++) r[c] = -r[c];
    for (let e = start; e < end; e++) {
      const i = csr.indices[e];
      // c > 0: preference 1 with confidence c; c ≤ 0: preference 0 with confidence |c|
      // (negative feedback such as a dismiss), as the `implicit` library reads its input.
      const conf = csr.values[e];
      const w = Math.max(conf, 0) - (Math.abs(conf) - 1) * dotRow(i, x);
      for (let c = 0; c < f; c++) r[c] += w * y[i * f + c];
    }
    pv.set(r);
    let rsold = 0;
    for (let c = 0; c < f; c++) rsold += r[c] * r[c];
    if (rsold < 1e-20) continue;
    for (let it = 0; it < cgSteps; it++) {
      gramTimes(pv, ap);
      for (let e = start; e < end; e++) {
        const i = csr.indices[e];
        const w = (Math.abs(csr.values[e]) - 1) * dotRow(i, pv);
        for (let c = 0; c < f; c++) ap[c] += w * y[i * f + c];
      }
      let pap = 0;
      for (let c = 0; c < f; c++) pap += pv[c] * ap[c];
      const alpha = rsold / pap;
      let rsnew = 0;
      for (let c = 0; c < f; c++) {
        x[c] += alpha * pv[c];
        r[c] -= alpha * ap[c];
        rsnew += r[c] * r[c];
      }
      if (rsnew < 1e-20) break;
      const beta = rsnew / rsold;
      for (let c = 0; c < f; c++) pv[c] = r[c] + beta * pv[c];
      rsold = rsnew;
    }
    for (let c = 0; c < f; c++) out[u * f + c] = x[c];
  }
}

/** Is candidate (s, i) better than (t, j)? Higher score first, then lower index. */
const better = (s: number, i: number, t: number, j: number) => s > t || (s === t && i < j);

function topK(p: TopKArgs): void {
  checkTopK(p);
  const { queries, items, nItems, factors: f, k, excludeIndptr, excludeIndices } = p;
  const excluded = new Uint8Array(nItems);
  // Min-heap (worst candidate at the root) of at most k (score, index) pairs.
  const hs = new Float64Array(k);
  const hi = new Int32Array(k);
  const siftDown = (size: number, at: number) => {
    for (;;) {
      const l = 2 * at + 1;
      const r = l + 1;
      let w = at;
      if (l < size && better(hs[w], hi[w], hs[l], hi[l])) w = l;
      if (r < size && better(hs[w], hi[w], hs[r], hi[r])) w = r;
      if (w === at) return;
      [hs[w], hs[at]] = [hs[at], hs[w]];
      [hi[w], hi[at]] = [hi[at], hi[w]];
      at = w;
    }
  };
  for (let q = 0; q < p.nQueries; q++) {
    const ex0 = excludeIndptr ? excludeIndptr[q] : 0;
    const ex1 = excludeIndptr ? excludeIndptr[q + 1] : 0;
    for (let e = ex0; e < ex1; e++) excluded[excludeIndices![e]] = 1;
    let size = 0;
    for (let i = 0; i < nItems; i++) {
      if (excluded[i]) continue;
      let s = 0;
      for (let c = 0; c < f; c++) s += queries[q * f + c] * items[i * f + c];
      s = Math.fround(s);
      if (size < k) {
        // Insert and sift up.
        let at = size++;
        hs[at] = s;
        hi[at] = i;
        while (at > 0) {
          const parent = (at - 1) >> 1;
          if (!better(hs[parent], hi[parent], hs[at], hi[at])) break;
          [hs[parent], hs[at]] = [hs[at], hs[parent]];
          [hi[parent], hi[at]] = [hi[at], hi[parent]];
          at = parent;
        }
      } else if (k > 0 && better(s, i, hs[0], hi[0])) {
        hs[0] = s;
        hi[0] = i;
        siftDown(size, 0);
      }
    }
    for (let e = ex0; e < ex1; e++) excluded[excludeIndices![e]] = 0;
    // Pop the heap from worst to best into the output row, back to front.
    const o = q * k;
    for (let slot = k - 1; slot >= size; slot--) {
      p.outIndices[o + slot] = -1;
      p.outScores[o + slot] = Number.NEGATIVE_INFINITY;
    }
    for (let slot = size - 1; slot >= 0; slot--) {
      p.outIndices[o + slot] = hi[0];
      p.outScores[o + slot] = hs[0];
      hs[0] = hs[slot];
      hi[0] = hi[slot];
      siftDown(slot, 0);
    }
  }
}

export function createJsKernels(): Kernels {
  return { name: 'js', gramian, explicitHalfStep, implicitHalfStep, topK };
}
