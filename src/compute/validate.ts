/**
 * Argument checks for the kernels, with the rules and messages of the native addon
 * (native/src/lib.rs, native/src/view.rs): integer ranges, typed-array types, lengths, CSR
 * structure, penalties, and outputs that must not alias inputs. The `js` backend runs them
 * before any work, so a bad call throws the same kind of error on every backend instead of
 * reading past an array (which JS would silently turn into NaN/undefined).
 *
 * Aliasing is judged by buffer identity and byte ranges: two views of one buffer overlap when
 * their element ranges do. (Two distinct SharedArrayBuffer objects backed by the same memory
 * cannot be told apart from JS; native compares raw pointers and can.)
 */
import type { ExplicitStepArgs, ImplicitStepArgs, TopKArgs } from './kernels.js';

/** Largest accepted `factors` (as native's MAX_FACTORS). */
export const MAX_FACTORS = 4096;
const MAX_INT = 0x7fffffff;
const MAX_CG_STEPS = 1 << 20;

/** A kernel call with a bad argument; `code` matches the native addon's napi status. */
export class KernelArgumentError extends RangeError {
  readonly code = 'InvalidArg';
  constructor(message: string) {
    super(message);
    this.name = 'KernelArgumentError';
  }
}

function invalid(message: string): never {
  throw new KernelArgumentError(message);
}

/** `v` as an integer in [min, max], or an error naming `name`. */
export function intArg(name: string, v: number, min: number, max: number): number {
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max))
    invalid(`${name} must be an integer in [${min}, ${max}], got ${v}`);
  return v;
}

function isTyped(v: unknown, type: 'Float32Array' | 'Int32Array'): boolean {
  // toString rather than instanceof: views made in another realm (a worker) still count.
  return ArrayBuffer.isView(v) && Object.prototype.toString.call(v) === `[object ${type}]`;
}

export function f32Arg(name: string, v: unknown): Float32Array {
  if (!isTyped(v, 'Float32Array')) invalid(`${name} must be a Float32Array`);
  return v as Float32Array;
}

export function i32Arg(name: string, v: unknown): Int32Array {
  if (!isTyped(v, 'Int32Array')) invalid(`${name} must be a Int32Array`);
  return v as Int32Array;
}

function need(name: string, len: number, required: number, what: string): void {
  if (len < required) invalid(`${name} has length ${len}, needs at least ${required} (${what})`);
}

function finite(name: string, v: number): void {
  if (!(typeof v === 'number' && Number.isFinite(v))) invalid(`${name} must be finite, got ${v}`);
}

function finiteNonNegative(name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0)) invalid(`${name} must be finite and ≥ 0, got ${v}`);
}

type View = Float32Array | Int32Array;
/** Elements [start, end) of a named view: a range read or written by a kernel. */
type Span = [name: string, view: View, start: number, end: number];

const whole = (name: string, v: View): Span => [name, v, 0, v.length];

/** Error unless the written span `w` overlaps none of `reads` (empty spans never overlap). */
function noAlias(w: Span, reads: Span[]): void {
  const [wname, wv, ws, we] = w;
  if (ws >= we) return;
  const wlo = wv.byteOffset + ws * wv.BYTES_PER_ELEMENT;
  const whi = wv.byteOffset + we * wv.BYTES_PER_ELEMENT;
  for (const [rname, rv, rs, re] of reads) {
    if (rs >= re || rv.buffer !== wv.buffer) continue;
    const rlo = rv.byteOffset + rs * rv.BYTES_PER_ELEMENT;
    const rhi = rv.byteOffset + re * rv.BYTES_PER_ELEMENT;
    if (wlo < rhi && rlo < whi)
      invalid(`${wname} overlaps ${rname} in memory; outputs must not alias inputs`);
  }
}

/**
 * CSR rows [rowStart, rowEnd): indptr long enough, non-negative and non-decreasing, entries
 * within indices and values, every column index in [0, nCols).
 */
function checkCsr(
  indptr: Int32Array,
  indices: Int32Array,
  values: Float32Array,
  rowStart: number,
  rowEnd: number,
  nCols: number,
  colsWhat: string,
): void {
  if (rowStart > rowEnd) invalid(`rowStart (${rowStart}) must not exceed rowEnd (${rowEnd})`);
  need('indptr', indptr.length, rowEnd + 1, 'rowEnd + 1');
  if (indptr[rowStart] < 0) invalid(`indptr[${rowStart}] is negative (${indptr[rowStart]})`);
  for (let r = rowStart; r < rowEnd; r++) {
    if (indptr[r + 1] < indptr[r])
      invalid(
        `indptr must be non-decreasing: indptr[${r + 1}] = ${indptr[r + 1]} < indptr[${r}] = ${indptr[r]}`,
      );
  }
  const lo = indptr[rowStart];
  const hi = indptr[rowEnd];
  if (hi > indices.length || hi > values.length)
    invalid(
      `indptr[${rowEnd}] = ${hi} exceeds the entries available (indices: ${indices.length}, values: ${values.length})`,
    );
  for (let e = lo; e < hi; e++) {
    const c = indices[e];
    if (c < 0 || c >= nCols) invalid(`indices[${e}] = ${c} is out of range [0, ${nCols}) (${colsWhat})`);
  }
}

export function checkGramian(
  y: unknown,
  nRows: number,
  factors: number,
  reg: number,
  out: unknown,
  maxFactors = MAX_FACTORS,
): void {
  const yv = f32Arg('y', y);
  const ov = f32Arg('out', out);
  const f = intArg('factors', factors, 1, maxFactors);
  const n = intArg('nRows', nRows, 0, MAX_INT);
  finite('reg', reg);
  need('y', yv.length, n * f, 'nRows × factors');
  need('out', ov.length, f * f, 'factors × factors');
  noAlias(['out', ov, 0, f * f], [['y', yv, 0, n * f]]);
}

export function checkExplicitStep(a: ExplicitStepArgs, maxFactors = MAX_FACTORS): void {
  const csr = a.csr ?? ({} as ExplicitStepArgs['csr']);
  const indptr = i32Arg('indptr', csr.indptr);
  const indices = i32Arg('indices', csr.indices);
  const values = f32Arg('values', csr.values);
  const other = f32Arg('other', a.other);
  const otherBias = f32Arg('otherBias', a.otherBias);
  const out = f32Arg('out', a.out);
  const outBias = f32Arg('outBias', a.outBias);
  const rowReg = f32Arg('rowReg', a.rowReg);
  const f = intArg('factors', a.factors, 1, maxFactors);
  const rs = intArg('rowStart', a.rowStart, 0, MAX_INT - 1);
  const re = intArg('rowEnd', a.rowEnd, 0, MAX_INT - 1);
  finiteNonNegative('biasReg', a.biasReg);
  finite('globalMean', a.globalMean);
  let nOther = Math.floor(other.length / f);
  if (a.useBias) nOther = Math.min(nOther, otherBias.length);
  const what = a.useBias ? 'rows of other and entries of otherBias' : 'rows of other';
  checkCsr(indptr, indices, values, rs, re, nOther, what);
  need('out', out.length, re * f, 'rowEnd × factors');
  need('outBias', outBias.length, re, 'rowEnd');
  need('rowReg', rowReg.length, re, 'rowEnd');
  for (let u = rs; u < re; u++) finiteNonNegative(`rowReg[${u}]`, rowReg[u]);
  const reads: Span[] = [
    whole('indptr', indptr),
    whole('indices', indices),
    whole('values', values),
    whole('other', other),
    whole('otherBias', otherBias),
    whole('rowReg', rowReg),
  ];
  const wOut: Span = ['out', out, rs * f, re * f];
  noAlias(wOut, reads);
  noAlias(['outBias', outBias, rs, re], reads);
  noAlias(wOut, [['outBias', outBias, rs, re]]);
}

export function checkImplicitStep(a: ImplicitStepArgs, maxFactors = MAX_FACTORS): void {
  const csr = a.csr ?? ({} as ImplicitStepArgs['csr']);
  const indptr = i32Arg('indptr', csr.indptr);
  const indices = i32Arg('indices', csr.indices);
  const values = f32Arg('values', csr.values);
  const other = f32Arg('other', a.other);
  const gram = f32Arg('gram', a.gram);
  const out = f32Arg('out', a.out);
  const f = intArg('factors', a.factors, 1, maxFactors);
  const rs = intArg('rowStart', a.rowStart, 0, MAX_INT - 1);
  const re = intArg('rowEnd', a.rowEnd, 0, MAX_INT - 1);
  intArg('cgSteps', a.cgSteps, 0, MAX_CG_STEPS);
  checkCsr(indptr, indices, values, rs, re, Math.floor(other.length / f), 'rows of other');
  need('gram', gram.length, f * f, 'factors × factors');
  need('out', out.length, re * f, 'rowEnd × factors');
  noAlias(
    ['out', out, rs * f, re * f],
    [
      whole('indptr', indptr),
      whole('indices', indices),
      whole('values', values),
      whole('other', other),
      whole('gram', gram),
    ],
  );
}

export function checkTopK(a: TopKArgs, maxFactors = MAX_FACTORS): void {
  const queries = f32Arg('queries', a.queries);
  const items = f32Arg('items', a.items);
  const outIndices = i32Arg('outIndices', a.outIndices);
  const outScores = f32Arg('outScores', a.outScores);
  const f = intArg('factors', a.factors, 1, maxFactors);
  const nq = intArg('nQueries', a.nQueries, 0, MAX_INT);
  const ni = intArg('nItems', a.nItems, 0, MAX_INT);
  const k = intArg('k', a.k, 0, MAX_INT);
  need('queries', queries.length, nq * f, 'nQueries × factors');
  need('items', items.length, ni * f, 'nItems × factors');
  need('outIndices', outIndices.length, nq * k, 'nQueries × k');
  need('outScores', outScores.length, nq * k, 'nQueries × k');
  const reads: Span[] = [whole('queries', queries), whole('items', items)];
  const ipNull = a.excludeIndptr == null;
  const ixNull = a.excludeIndices == null;
  if (ipNull !== ixNull) invalid('excludeIndptr and excludeIndices must both be given or both be null');
  if (!ipNull) {
    const ip = i32Arg('excludeIndptr', a.excludeIndptr);
    const ix = i32Arg('excludeIndices', a.excludeIndices);
    need('excludeIndptr', ip.length, nq + 1, 'nQueries + 1');
    if (ip[0] < 0) invalid(`excludeIndptr[0] is negative (${ip[0]})`);
    for (let q = 0; q < nq; q++)
      if (ip[q + 1] < ip[q])
        invalid(`excludeIndptr must be non-decreasing: excludeIndptr[${q + 1}] < excludeIndptr[${q}]`);
    if (ip[nq] > ix.length)
      invalid(`excludeIndptr[${nq}] = ${ip[nq]} exceeds excludeIndices length ${ix.length}`);
    reads.push(whole('excludeIndptr', ip), whole('excludeIndices', ix));
  }
  const wIdx: Span = ['outIndices', outIndices, 0, nq * k];
  noAlias(wIdx, reads);
  noAlias(['outScores', outScores, 0, nq * k], reads);
  noAlias(wIdx, [['outScores', outScores, 0, nq * k]]);
}
