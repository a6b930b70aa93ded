/**
 * The `wasm` backend: AssemblyScript kernels with v128 SIMD (assembly/), built by
 * `npm run build:wasm` into assembly/build/recsys.wasm.
 *
 * The module imports its memory: every instance (one per thread and arena) runs against the
 * arena's shared WebAssembly.Memory, so the kernels read factor matrices and CSR arrays in
 * place and get byte offsets (a view's byteOffset) instead of copies. The module has no
 * data segments and never allocates, so instantiating it again in another thread writes
 * nothing to the shared memory. Each instance takes its scratch space from the arena
 * (wasmScratchBytes(factors) bytes, allocated on first use).
 *
 * This wrapper validates every length, row range and index before calling in, so a kernel
 * never reads or writes outside the views it was given.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARENA_RESERVED, type Arena } from './arena.js';
import type { Csr, ExplicitStepArgs, ImplicitStepArgs, Kernels, TopKArgs } from './kernels.js';
import { checkExplicitStep, checkGramian, checkImplicitStep, checkTopK } from './validate.js';

/** Exports of assembly/index.ts (pointers are byte offsets into the arena memory). */
export interface WasmExports {
  abiVersion(): number;
  heapBase(): number;
  scratchBytes(factors: number): number;
  setTopKBlock(queriesPerBlock: number): void;
  topKQueryBlock(factors: number): number;
  gramian(
    y: number,
    nRows: number,
    f: number,
    reg: number,
    out: number,
    scratch: number,
    scratchBytes: number,
  ): number;
  explicitHalfStep(
    indptr: number,
    indices: number,
    values: number,
    rowStart: number,
    rowEnd: number,
    other: number,
    otherBias: number,
    out: number,
    outBias: number,
    f: number,
    rowReg: number,
    biasReg: number,
    globalMean: number,
    useBias: number,
    scratch: number,
    scratchBytes: number,
  ): number;
  implicitHalfStep(
    indptr: number,
    indices: number,
    values: number,
    rowStart: number,
    rowEnd: number,
    other: number,
    gram: number,
    out: number,
    f: number,
    cgSteps: number,
    scratch: number,
    scratchBytes: number,
  ): number;
  topK(
    queries: number,
    nQueries: number,
    items: number,
    nItems: number,
    f: number,
    k: number,
    exIndptr: number,
    exIndices: number,
    outIndices: number,
    outScores: number,
    scratch: number,
    scratchBytes: number,
  ): number;
}

const ABI_VERSION = 1;
/** Largest factor count the module's size arithmetic (i32) supports. */
export const WASM_MAX_FACTORS = 8192;
const ERR_SCRATCH = -1;
const ERR_NOT_PD = 1;
const WASM_FILE = 'assembly/build/recsys.wasm';

/*
 * Big calls are split into chunks of about this many multiply-adds. V8 first runs wasm in
 * baseline (Liftoff) code and swaps in optimised code only between calls (there is no
 * on-stack replacement for wasm), so one huge first call would run ~2-3× slower throughout.
 */
const CHUNK_MACS = 1 << 25;

/** Arena bytes one wasm kernel instance takes for scratch with `factors` factors. */
export function wasmScratchBytes(factors: number): number {
  // Mirrors scratchBytes() in assembly/index.ts (checked by the tests), rounded to 4 KiB.
  const f = Math.max(1, Math.floor(factors));
  const S = Math.ceil((f + 2) / 8) * 8;
  const dense = Math.max(S * S * 8 + 64 * S * 4 + S * 8, 3 * Math.ceil(f / 4) * 4 * 4);
  const qb = Math.min(Math.max(Math.floor(8192 / f) & ~7, 8), 256);
  const topK = 128 + qb * f * 4 + qb * 4 + qb * 16 + 8192 * 4;
  return Math.ceil((64 + Math.max(dense, topK)) / 4096) * 4096;
}

/**
 * The repository root: the nearest folder above this file (src/compute/ or
 * dist/src/compute/) holding package.json and assembly/, whether built or not.
 */
function repoRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'assembly'))) return dir;
    if (path.dirname(dir) === dir)
      throw new Error(`wasm backend: no package.json with assembly/ above ${here}`);
  }
}

/** Path of the compiled module: `override` (the configured RECSYS_WASM) or the build's. */
export function wasmPath(override?: string | null): string {
  return override ?? path.join(repoRoot(), WASM_FILE);
}

// Compiled once per thread (module state is per worker thread) and reused by every instance.
let compiled: { file: string; module: Promise<WebAssembly.Module> } | null = null;

function compileModule(file: string): Promise<WebAssembly.Module> {
  if (compiled?.file !== file) {
    const module = (async () => {
      if (!existsSync(file))
        throw new Error(`wasm kernels not built: ${file} is missing; run \`npm run build:wasm\``);
      return WebAssembly.compile(readFileSync(file));
    })();
    module.catch(() => {
      if (compiled?.module === module) compiled = null; // let a later call retry (e.g. after building)
    });
    compiled = { file, module };
  }
  return compiled.module;
}

/** Instantiate the module (at `file`, default the build's) against `arena`'s shared memory. */
export async function instantiateWasm(arena: Arena, file = wasmPath()): Promise<WasmExports> {
  const memory = arena.memory;
  if (!memory) {
    throw new Error('wasm backend needs a wasm arena: create it with Arena.create(bytes, { wasm: true })');
  }
  if (memory.buffer.byteLength !== arena.buffer.byteLength) {
    throw new Error('wasm backend: arena buffer and wasm memory differ in size (was the memory grown?)');
  }
  const module = await compileModule(file);
  const instance = await WebAssembly.instantiate(module, {
    env: {
      memory,
      abort(msg: number, file: number, line: number, column: number): never {
        throw new Error(`wasm kernel aborted at ${line}:${column} (message ptr ${msg}, file ptr ${file})`);
      },
    },
  });
  const exports = instance.exports as unknown as WasmExports;
  if (exports.abiVersion() !== ABI_VERSION) {
    throw new Error(`wasm kernels ABI ${exports.abiVersion()} ≠ ${ABI_VERSION}; run \`npm run build:wasm\``);
  }
  if (exports.heapBase() > ARENA_RESERVED) {
    throw new Error(
      `wasm module static data ends at ${exports.heapBase()}, past the arena's reserved ${ARENA_RESERVED} bytes`,
    );
  }
  return exports;
}

type View = Float32Array | Int32Array;

function fail(msg: string): never {
  throw new RangeError(`wasm kernels: ${msg}`);
}

function checkInt(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(v) || v < min || v > max)
    fail(`${name} must be an integer in [${min}, ${max}], got ${v}`);
}

/**
 * Call fn(r0, r1) over consecutive sub-ranges of [rowStart, rowEnd) of about CHUNK_MACS
 * work each, a row costing perRow + perEntry·entries.
 */
function forRowChunks(
  indptr: Int32Array,
  rowStart: number,
  rowEnd: number,
  perEntry: number,
  perRow: number,
  fn: (r0: number, r1: number) => void,
): void {
  let r0 = rowStart;
  while (r0 < rowEnd) {
    let r1 = r0 + 1;
    let work = perRow + perEntry * (indptr[r1] - indptr[r0]);
    while (r1 < rowEnd) {
      const next = perRow + perEntry * (indptr[r1 + 1] - indptr[r1]);
      if (work + next > CHUNK_MACS) break;
      work += next;
      r1++;
    }
    fn(r0, r1);
    r0 = r1;
  }
}

/** Kernels over one arena, with validation; exposed for tests and benchmarks. */
export class WasmKernels implements Kernels {
  readonly name = 'wasm' as const;
  private scratch = 0;
  private scratchSize = 0;

  constructor(
    readonly arena: Arena,
    readonly exports: WasmExports,
  ) {}

  /** Byte offset of `view` in the arena, after checking it lives there and has ≥ minLength elements. */
  private ptr(name: string, view: View, minLength: number, type: 'f32' | 'i32'): number {
    const ok = type === 'f32' ? view instanceof Float32Array : view instanceof Int32Array;
    if (!ok) fail(`${name} must be a ${type === 'f32' ? 'Float32Array' : 'Int32Array'}`);
    const buf = view.buffer;
    const memory = this.arena.memory as WebAssembly.Memory;
    if (buf.byteLength !== memory.buffer.byteLength) {
      fail(
        `${name} is not a view of this arena's wasm memory (buffer of ${buf.byteLength} bytes, memory of ${memory.buffer.byteLength})`,
      );
    }
    if (buf !== this.arena.buffer && buf !== memory.buffer) {
      fail(`${name} is not a view of this arena's wasm memory (a different buffer of the same size)`);
    }
    if (view.length < minLength) fail(`${name} has ${view.length} elements, needs at least ${minLength}`);
    return view.byteOffset;
  }

  private ensureScratch(f: number): void {
    const need = this.exports.scratchBytes(f);
    if (need <= this.scratchSize) return;
    const bytes = Math.max(need, wasmScratchBytes(f));
    try {
      this.scratch = this.arena.allocBytes(bytes);
    } catch (err) {
      throw new Error(
        `wasm kernels need ${bytes} bytes of arena scratch per thread for ${f} factors ` +
          `(size arenas with wasmScratchBytes(factors) per worker): ${(err as Error).message}`,
      );
    }
    this.scratchSize = bytes;
  }

  /** Validate a CSR row range against `nCols` columns; returns the CSR pointers. */
  private csr(csr: Csr, rowStart: number, rowEnd: number, nCols: number): [number, number, number] {
    checkInt('rowStart', rowStart, 0);
    checkInt('rowEnd', rowEnd, rowStart);
    const { indptr, indices, values } = csr;
    const pIndptr = this.ptr('csr.indptr', indptr, rowEnd + 1, 'i32');
    const pIndices = this.ptr('csr.indices', indices, 0, 'i32');
    const pValues = this.ptr('csr.values', values, 0, 'f32');
    const lo = indptr[rowStart];
    if (lo < 0) fail(`csr.indptr[${rowStart}] = ${lo} is negative`);
    for (let r = rowStart; r < rowEnd; r++) {
      if (indptr[r + 1] < indptr[r]) fail(`csr.indptr decreases at row ${r}`);
    }
    const hi = indptr[rowEnd];
    if (hi > indices.length || hi > values.length) {
      fail(`csr.indptr[${rowEnd}] = ${hi} exceeds indices (${indices.length}) or values (${values.length})`);
    }
    for (let e = lo; e < hi; e++) {
      const c = indices[e];
      if (c < 0 || c >= nCols) fail(`csr.indices[${e}] = ${c} is outside [0, ${nCols})`);
    }
    return [pIndptr, pIndices, pValues];
  }

  gramian(y: Float32Array, nRows: number, factors: number, reg: number, out: Float32Array): void {
    checkInt('factors', factors, 1, WASM_MAX_FACTORS);
    checkInt('nRows', nRows, 0);
    const py = this.ptr('y', y, nRows * factors, 'f32');
    const pout = this.ptr('out', out, factors * factors, 'f32');
    checkGramian(y, nRows, factors, reg, out, WASM_MAX_FACTORS);
    this.ensureScratch(factors);
    const rc = this.exports.gramian(py, nRows, factors, reg, pout, this.scratch, this.scratchSize);
    if (rc !== 0) this.failed('gramian', rc);
  }

  explicitHalfStep(a: ExplicitStepArgs): void {
    const f = a.factors;
    checkInt('factors', f, 1, WASM_MAX_FACTORS);
    const nOther = Math.floor(a.other.length / f);
    const [pIndptr, pIndices, pValues] = this.csr(a.csr, a.rowStart, a.rowEnd, nOther);
    const pOther = this.ptr('other', a.other, 0, 'f32');
    const pOtherBias = this.ptr('otherBias', a.otherBias, a.useBias ? nOther : 0, 'f32');
    const pRowReg = this.ptr('rowReg', a.rowReg, a.rowEnd, 'f32');
    const pOut = this.ptr('out', a.out, a.rowEnd * f, 'f32');
    const pOutBias = this.ptr('outBias', a.outBias, a.rowEnd, 'f32');
    checkExplicitStep(a, WASM_MAX_FACTORS);
    this.ensureScratch(f);
    // Cost per row ≈ f²/2 per entry plus f³/3 for the Cholesky factorisation.
    forRowChunks(a.csr.indptr, a.rowStart, a.rowEnd, (f * f) / 2, (f * f * f) / 3, (r0, r1) => {
      const rc = this.exports.explicitHalfStep(
        pIndptr,
        pIndices,
        pValues,
        r0,
        r1,
        pOther,
        pOtherBias,
        pOut,
        pOutBias,
        f,
        pRowReg,
        a.biasReg,
        a.globalMean,
        a.useBias ? 1 : 0,
        this.scratch,
        this.scratchSize,
      );
      if (rc !== 0) this.failed('explicitHalfStep', rc);
    });
  }

  implicitHalfStep(a: ImplicitStepArgs): void {
    const f = a.factors;
    checkInt('factors', f, 1, WASM_MAX_FACTORS);
    checkInt('cgSteps', a.cgSteps, 0, 0x7fffffff);
    const nOther = Math.floor(a.other.length / f);
    const [pIndptr, pIndices, pValues] = this.csr(a.csr, a.rowStart, a.rowEnd, nOther);
    const pOther = this.ptr('other', a.other, 0, 'f32');
    const pGram = this.ptr('gram', a.gram, f * f, 'f32');
    const pOut = this.ptr('out', a.out, a.rowEnd * f, 'f32');
    checkImplicitStep(a, WASM_MAX_FACTORS);
    this.ensureScratch(f);
    // Cost per row ≈ (cgSteps + 1)·(2f·entries + f²).
    const perEntry = 2 * f * (a.cgSteps + 1);
    const perRow = f * f * (a.cgSteps + 1);
    forRowChunks(a.csr.indptr, a.rowStart, a.rowEnd, perEntry, perRow, (r0, r1) => {
      const rc = this.exports.implicitHalfStep(
        pIndptr,
        pIndices,
        pValues,
        r0,
        r1,
        pOther,
        pGram,
        pOut,
        f,
        a.cgSteps,
        this.scratch,
        this.scratchSize,
      );
      if (rc !== 0) this.failed('implicitHalfStep', rc);
    });
  }

  topK(a: TopKArgs): void {
    const { nQueries, nItems, factors: f, k } = a;
    checkInt('factors', f, 1, WASM_MAX_FACTORS);
    checkInt('nQueries', nQueries, 0, 0x7fffffff);
    checkInt('nItems', nItems, 0, 0x7fffffff);
    checkInt('k', k, 0, 0x7fffffff);
    const pQueries = this.ptr('queries', a.queries, nQueries * f, 'f32');
    const pItems = this.ptr('items', a.items, nItems * f, 'f32');
    const pOutIdx = this.ptr('outIndices', a.outIndices, nQueries * k, 'i32');
    const pOutScores = this.ptr('outScores', a.outScores, nQueries * k, 'f32');
    let pExIndptr = 0;
    let pExIndices = 0;
    if (a.excludeIndptr || a.excludeIndices) {
      if (!a.excludeIndptr || !a.excludeIndices)
        fail('excludeIndptr and excludeIndices must be given together');
      const ip = a.excludeIndptr;
      pExIndptr = this.ptr('excludeIndptr', ip, nQueries + 1, 'i32');
      pExIndices = this.ptr('excludeIndices', a.excludeIndices, 0, 'i32');
      if (nQueries > 0) {
        if (ip[0] < 0) fail(`excludeIndptr[0] = ${ip[0]} is negative`);
        for (let q = 0; q < nQueries; q++)
          if (ip[q + 1] < ip[q]) fail(`excludeIndptr decreases at query ${q}`);
        if (ip[nQueries] > a.excludeIndices.length) {
          fail(
            `excludeIndptr[${nQueries}] = ${ip[nQueries]} exceeds excludeIndices (${a.excludeIndices.length})`,
          );
        }
      }
    }
    checkTopK(a, WASM_MAX_FACTORS);
    if (nQueries === 0 || k === 0) return;
    this.ensureScratch(f);
    // Whole query blocks per call (items stream once per block), about CHUNK_MACS each.
    const block = this.exports.topKQueryBlock(f);
    const chunk = block * Math.max(1, Math.floor(CHUNK_MACS / Math.max(1, nItems * f * block)));
    for (let q0 = 0; q0 < nQueries; q0 += chunk) {
      const n = Math.min(chunk, nQueries - q0);
      const rc = this.exports.topK(
        pQueries + q0 * f * 4,
        n,
        pItems,
        nItems,
        f,
        k,
        pExIndptr === 0 ? 0 : pExIndptr + q0 * 4,
        pExIndices,
        pOutIdx + q0 * k * 4,
        pOutScores + q0 * k * 4,
        this.scratch,
        this.scratchSize,
      );
      if (rc !== 0) this.failed('topK', rc);
    }
  }

  private failed(kernel: string, rc: number): never {
    if (rc === ERR_NOT_PD) {
      const status = new Int32Array(this.arena.buffer, this.scratch, 2);
      throw new Error(`cholesky: matrix not positive definite at column ${status[1]} (row ${status[0]})`);
    }
    if (rc === ERR_SCRATCH) throw new Error(`wasm ${kernel}: scratch too small (${this.scratchSize} bytes)`);
    throw new Error(`wasm ${kernel} failed with code ${rc}`);
  }
}

/** The wasm kernels for this thread and `arena` (which must be a wasm arena), from `file` (default the build's). */
export async function createWasmKernels(arena: Arena, file = wasmPath()): Promise<Kernels> {
  return new WasmKernels(arena, await instantiateWasm(arena, file));
}
