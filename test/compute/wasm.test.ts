// The `wasm` backend (assembly/ → assembly/build/recsys.wasm) against direct math, the js
// reference, and across worker threads sharing one wasm memory.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ARENA_RESERVED, Arena } from '../../src/compute/arena.js';
import { createJsKernels } from '../../src/compute/js.js';
import type { Csr, Kernels } from '../../src/compute/kernels.js';
import { Rng } from '../../src/compute/random.js';
import {
  createWasmKernels,
  instantiateWasm,
  WASM_MAX_FACTORS,
  type WasmKernels,
  wasmPath,
  wasmScratchBytes,
} from '../../src/compute/wasm.js';
import { rowPenalties } from '../../src/model/penalty.js';
import { repoRoot } from '../helpers.js';
import {
  excludedOf,
  explicitSystem,
  gramRef,
  implicitSolve,
  itemScores,
  randomCsr,
  topKRef,
} from './support.js';

const built = existsSync(wasmPath());

function wasmArena(bytes = 32 << 20): Arena {
  return Arena.create(bytes, { wasm: true });
}

/** Random CSR in the arena: row lengths in [1, maxLen] (every 5th row empty), values in [1, 1+vmax). */
function arenaCsr(arena: Arena, rng: Rng, nRows: number, nCols: number, maxLen: number, vmax = 4): Csr {
  const value = () => 1 + rng.next() * vmax;
  return randomCsr(rng, { rows: nRows, cols: nCols, maxLen, emptyEvery: 5, value, alloc: arena });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

// A missing build fails here rather than skipping: CI always builds every backend.
describe('wasm kernels', () => {
  it('is built', () => assert.ok(built, `${wasmPath()} missing: run \`npm run build:wasm\``));

  it('instantiates against a shared wasm arena without writing to it', async () => {
    const arena = wasmArena(1 << 16);
    const bytes = new Uint8Array(arena.buffer);
    const rng = new Rng(3);
    for (let i = 32; i < bytes.length; i += 97) bytes[i] = rng.int(256);
    const before = bytes.slice();
    const a = await instantiateWasm(arena);
    const b = await instantiateWasm(arena);
    assert.ok(a.heapBase() <= ARENA_RESERVED && b.heapBase() <= ARENA_RESERVED);
    assert.deepEqual(bytes, before, 'instantiation changed the shared memory');
    assert.equal(arena.used, ARENA_RESERVED, 'instantiation allocated from the arena');
  });

  it('needs a wasm arena and views of it', async () => {
    await assert.rejects(createWasmKernels(Arena.create(1 << 16)), /wasm arena/);
    const arena = wasmArena(1 << 20);
    const other = wasmArena(1 << 20);
    const k = await createWasmKernels(arena);
    const y = arena.f32(8);
    assert.throws(() => k.gramian(new Float32Array(8), 2, 4, 0, arena.f32(16)), /not a view of this arena/);
    assert.throws(() => k.gramian(other.f32(8), 2, 4, 0, arena.f32(16)), /not a view of this arena/);
    assert.throws(() => k.gramian(y, 3, 4, 0, arena.f32(16)), /needs at least 12/);
    assert.throws(() => k.gramian(y, 2, 4, 0, arena.f32(15)), /needs at least 16/);
  });

  it('reports the scratch it needs', async () => {
    const arena = wasmArena(1 << 16);
    const ex = await instantiateWasm(arena);
    for (let f = 1; f <= 600; f++) assert.ok(wasmScratchBytes(f) >= ex.scratchBytes(f), `factors ${f}`);
    for (const f of [1000, 1024, 4095, 4096, WASM_MAX_FACTORS]) {
      assert.ok(wasmScratchBytes(f) >= ex.scratchBytes(f) && ex.scratchBytes(f) > 0, `factors ${f}`);
    }
  });

  it('gramian = YᵀY + reg·I', async () => {
    const arena = wasmArena();
    const k = await createWasmKernels(arena);
    const rng = new Rng(11);
    for (const [n, f] of [
      [0, 4],
      [1, 1],
      [5, 7],
      [130, 16],
      [70, 65],
    ]) {
      const y = rng.fillNormal(arena.f32(n * f), 1);
      const out = arena.f32(f * f);
      k.gramian(y, n, f, 0.25, out);
      const want = gramRef(y, n, f, 0.25);
      assert.ok(maxAbsDiff(out, want) <= 1e-5 * (1 + maxAbs(want)), `n=${n} f=${f}`);
    }
  });

  for (const useBias of [false, true]) {
    it(`explicitHalfStep satisfies the normal equations (useBias=${useBias})`, async () => {
      const arena = wasmArena();
      const k = await createWasmKernels(arena);
      const js = createJsKernels();
      const rng = new Rng(useBias ? 21 : 22);
      for (const f of [1, 3, 7, 16, 65]) {
        const nRows = 24;
        const nOther = 150;
        const csr = arenaCsr(arena, rng, nRows, nOther, 140, 4);
        const other = rng.fillNormal(arena.f32(nOther * f), 0.5);
        const otherBias = useBias ? rng.fillNormal(arena.f32(nOther), 0.3) : arena.f32(nOther);
        const out = rng.fillNormal(arena.f32(nRows * f), 1); // garbage: must be overwritten
        const outBias = arena.f32(nRows).fill(9);
        const lambda = 0.05;
        const mu = 2.5;
        const rowStart = 1;
        const rowEnd = nRows - 1;
        const before = out.slice();
        const args = {
          csr,
          rowStart,
          rowEnd,
          other,
          otherBias,
          factors: f,
          rowReg: rowPenalties(csr.indptr, lambda, 1, arena),
          biasReg: 1,
          globalMean: mu,
          useBias,
        };
        k.explicitHalfStep({ ...args, out, outBias });
        const jsOut = before.slice();
        const jsBias = new Float32Array(nRows).fill(9);
        js.explicitHalfStep({ ...args, out: jsOut, outBias: jsBias });
        const n = useBias ? f + 1 : f;
        for (let u = 0; u < nRows; u++) {
          const row = out.subarray(u * f, u * f + f);
          if (u < rowStart || u >= rowEnd) {
            assert.deepEqual(
              row,
              before.subarray(u * f, u * f + f),
              `row ${u} outside the range was written`,
            );
            assert.equal(outBias[u], 9);
            continue;
          }
          const s = csr.indptr[u];
          const e = csr.indptr[u + 1];
          if (s === e) {
            assert.ok(row.every((v) => v === 0) && outBias[u] === 0, `empty row ${u} not zeroed`);
            continue;
          }
          const z = Float64Array.from({ length: n }, (_, c) => (c < f ? row[c] : outBias[u]));
          // Residual of (Σ φφᵀ + λ·n_u·I) z = Σ t φ.
          const sys = explicitSystem(csr, u, other, otherBias, f, lambda * (e - s), 1, mu, useBias);
          const rhs = sys.b;
          const res = new Float64Array(n);
          for (let r = 0; r < n; r++) {
            res[r] = -rhs[r];
            for (let c = 0; c < n; c++) res[r] += sys.a[r * n + c] * z[c];
          }
          assert.ok(maxAbs(res) <= 2e-4 * (1 + maxAbs(rhs)), `f=${f} row ${u}: residual ${maxAbs(res)}`);
          if (!useBias) assert.equal(outBias[u], 0);
        }
        assert.ok(maxAbsDiff(out, jsOut) <= 1e-4 * (1 + maxAbs(jsOut)), `f=${f}: differs from js`);
        assert.ok(maxAbsDiff(outBias, jsBias) <= 1e-4 * (1 + maxAbs(jsBias)), `f=${f}: bias differs from js`);
      }
    });
  }

  it('explicitHalfStep throws on a singular system', async () => {
    const arena = wasmArena(1 << 20);
    const k = await createWasmKernels(arena);
    const csr = {
      indptr: arena.copyOf(Int32Array.from([0, 1])),
      indices: arena.copyOf(Int32Array.from([0])),
      values: arena.copyOf(Float32Array.from([3])),
    };
    const other = arena.copyOf(Float32Array.from([1, 2, 3]));
    const args = {
      csr,
      rowStart: 0,
      rowEnd: 1,
      other,
      otherBias: arena.f32(1),
      out: arena.f32(3),
      outBias: arena.f32(1),
    };
    assert.throws(
      () =>
        k.explicitHalfStep({
          ...args,
          factors: 3,
          rowReg: arena.f32(1),
          biasReg: 1,
          globalMean: 0,
          useBias: false,
        }),
      /not positive definite/,
    );
  });

  it('implicitHalfStep: many CG steps solve the system exactly; 3 steps match js', async () => {
    const arena = wasmArena();
    const k = await createWasmKernels(arena);
    const js = createJsKernels();
    const rng = new Rng(31);
    for (const f of [1, 5, 7, 16, 65]) {
      const nRows = 30;
      const nOther = 120;
      const csr = arenaCsr(arena, rng, nRows, nOther, 90, 20);
      const other = rng.fillNormal(arena.f32(nOther * f), 0.3);
      const lambda = 0.1;
      const gram = arena.f32(f * f);
      k.gramian(other, nOther, f, lambda, gram);
      const start = rng.fillNormal(new Float32Array(nRows * f), 0.1);

      // Exact: cgSteps ≥ f (plus slack for f32 rounding) reaches the solution.
      const out = arena.copyOf(start);
      k.implicitHalfStep({
        csr,
        rowStart: 0,
        rowEnd: nRows,
        other,
        gram,
        out,
        factors: f,
        cgSteps: 2 * f + 10,
      });
      for (let u = 0; u < nRows; u++) {
        const b = implicitSolve(csr, u, other, gram, f);
        const got = out.subarray(u * f, u * f + f);
        assert.ok(maxAbsDiff(got, b) <= 2e-3 * (1 + maxAbs(b)), `f=${f} row ${u}: ${maxAbsDiff(got, b)}`);
      }

      // Three warm-started steps over a sub-range, against the reference.
      const w = arena.copyOf(start);
      const ref = start.slice();
      const args = { csr, rowStart: 3, rowEnd: nRows - 2, other, gram, factors: f, cgSteps: 3 };
      k.implicitHalfStep({ ...args, out: w });
      js.implicitHalfStep({ ...args, out: ref });
      assert.ok(
        maxAbsDiff(w, ref) <= 1e-4 * (1 + maxAbs(ref)),
        `f=${f}: differs from js by ${maxAbsDiff(w, ref)}`,
      );
      assert.deepEqual(w.subarray(0, 3 * f), start.subarray(0, 3 * f));
      assert.deepEqual(w.subarray((nRows - 2) * f), start.subarray((nRows - 2) * f));
    }
  });

  it('validates CSR arguments', async () => {
    const arena = wasmArena(1 << 20);
    const k = await createWasmKernels(arena);
    const f = 2;
    const mk = (indptr: number[], indices: number[]) => ({
      indptr: arena.copyOf(Int32Array.from(indptr)),
      indices: arena.copyOf(Int32Array.from(indices)),
      values: arena.copyOf(Float32Array.from(indices.map(() => 2))),
    });
    const base = {
      rowStart: 0,
      rowEnd: 2,
      other: arena.f32(3 * f),
      gram: arena.f32(f * f),
      out: arena.f32(2 * f),
      factors: f,
      cgSteps: 3,
    };
    assert.throws(() => k.implicitHalfStep({ ...base, csr: mk([0, 1, 2], [0, 3]) }), /outside \[0, 3\)/);
    assert.throws(() => k.implicitHalfStep({ ...base, csr: mk([0, 2, 1], [0, 1]) }), /decreases/);
    assert.throws(() => k.implicitHalfStep({ ...base, csr: mk([0, 1, 5], [0, 1]) }), /exceeds/);
    assert.throws(
      () => k.implicitHalfStep({ ...base, rowEnd: 3, csr: mk([0, 1, 2], [0, 1]) }),
      /csr.indptr has 3/,
    );
    assert.throws(
      () => k.implicitHalfStep({ ...base, rowStart: 2, rowEnd: 1, csr: mk([0, 1, 2], [0, 1]) }),
      /rowEnd/,
    );
    assert.throws(
      () => k.implicitHalfStep({ ...base, out: arena.f32(3), csr: mk([0, 1, 2], [0, 1]) }),
      /out has 3/,
    );
    k.implicitHalfStep({ ...base, csr: mk([0, 1, 2], [0, 2]) });
  });

  describe('topK', () => {
    /** Brute force in f64 (scores rounded to f32), ties by lower index. */
    function bruteForce(
      q: Float32Array,
      nQ: number,
      items: Float32Array,
      nI: number,
      f: number,
      k: number,
      exIndptr: Int32Array | null,
      exIndices: Int32Array | null,
    ): { idx: Int32Array; score: Float32Array; exact: Float64Array[] } {
      const idx = new Int32Array(nQ * k).fill(-1);
      const score = new Float32Array(nQ * k).fill(Number.NEGATIVE_INFINITY);
      const exact: Float64Array[] = [];
      for (let u = 0; u < nQ; u++) {
        const all = itemScores(q, u, items, nI, f).map(Math.fround);
        exact.push(all);
        topKRef(all, k, excludedOf(exIndptr, exIndices, u)).forEach(([sc, i], j) => {
          idx[u * k + j] = i;
          score[u * k + j] = sc;
        });
      }
      return { idx, score, exact };
    }

    interface Case {
      nQ: number;
      nI: number;
      f: number;
      k: number;
      ints?: boolean; // small integer entries: exact scores, many ties
      exclude?: 'none' | 'random' | 'huge';
    }

    async function runCase(kern: Kernels, arena: Arena, rng: Rng, c: Case): Promise<void> {
      const { nQ, nI, f, k } = c;
      const fill = (a: Float32Array) => {
        for (let i = 0; i < a.length; i++) a[i] = c.ints ? rng.int(5) - 2 : rng.normal();
        return a;
      };
      const q = fill(arena.f32(nQ * f));
      const items = fill(arena.f32(nI * f));
      let exIndptr: Int32Array | null = null;
      let exIndices: Int32Array | null = null;
      if (c.exclude && c.exclude !== 'none') {
        const ip = [0];
        const ix: number[] = [];
        for (let u = 0; u < nQ; u++) {
          let list: number[];
          if (c.exclude === 'random') {
            const n = rng.int(Math.min(nI, 40) + 1);
            list = Array.from({ length: n }, () => rng.int(nI + 6) - 3); // duplicates, some out of range
          } else {
            // The query's best items (so a missed exclusion shows), shuffled, with duplicates.
            const n = u % 3 === 0 ? Math.floor(nI * 0.7) : u % 3 === 1 ? rng.int(nI) : 5;
            const s = new Float64Array(nI);
            for (let i = 0; i < nI; i++) for (let d = 0; d < f; d++) s[i] += q[u * f + d] * items[i * f + d];
            const best = Array.from({ length: nI }, (_, i) => i).sort((a, b) => s[b] - s[a] || a - b);
            list = best.slice(0, n);
            for (let j = 0; j < n / 10; j++) list.push(list[rng.int(n)]);
            for (let j = list.length - 1; j > 0; j--) {
              const r = rng.int(j + 1);
              [list[j], list[r]] = [list[r], list[j]];
            }
          }
          if (u % 4 === 0) list.sort((a, b) => a - b); // some already sorted
          ix.push(...list);
          ip.push(ix.length);
        }
        exIndptr = arena.copyOf(Int32Array.from(ip));
        exIndices = arena.copyOf(Int32Array.from(ix));
      }
      const outIndices = arena.i32(nQ * k).fill(7);
      const outScores = arena.f32(nQ * k).fill(7);
      kern.topK({
        queries: q,
        nQueries: nQ,
        items,
        nItems: nI,
        factors: f,
        k,
        excludeIndptr: exIndptr,
        excludeIndices: exIndices,
        outIndices,
        outScores,
      });
      const want = bruteForce(q, nQ, items, nI, f, k, exIndptr, exIndices);
      const label = JSON.stringify(c);
      if (c.ints) {
        assert.deepEqual(outIndices, want.idx, label);
        assert.deepEqual(outScores, want.score, label);
        return;
      }
      // Random reals: f32 sums in another order may swap near-ties; compare by true score.
      for (let u = 0; u < nQ; u++) {
        const seen = new Set<number>();
        for (let j = 0; j < k; j++) {
          const got = outIndices[u * k + j];
          const exp = want.idx[u * k + j];
          if (exp === -1) {
            assert.equal(got, -1, label);
            assert.equal(outScores[u * k + j], Number.NEGATIVE_INFINITY, label);
            continue;
          }
          assert.ok(got >= 0 && got < nI && !seen.has(got), `${label}: query ${u} slot ${j} index ${got}`);
          seen.add(got);
          const tol = 1e-5 * (1 + Math.abs(want.score[u * k + j]));
          assert.ok(
            Math.abs(want.exact[u][got] - want.score[u * k + j]) <= tol,
            `${label}: query ${u} slot ${j}`,
          );
          assert.ok(Math.abs(outScores[u * k + j] - want.exact[u][got]) <= tol, `${label}: score of ${got}`);
        }
      }
    }

    it('matches brute force with exact ties, exclusions and short candidate lists', async () => {
      const arena = wasmArena(64 << 20);
      const kern = await createWasmKernels(arena);
      const rng = new Rng(41);
      const cases: Case[] = [
        { nQ: 13, nI: 103, f: 7, k: 5, ints: true },
        { nQ: 13, nI: 103, f: 7, k: 5, ints: true, exclude: 'random' },
        { nQ: 9, nI: 50, f: 65, k: 60, ints: true, exclude: 'random' }, // k > candidates
        { nQ: 17, nI: 31, f: 3, k: 1, ints: true, exclude: 'random' },
        { nQ: 1, nI: 1, f: 1, k: 3, ints: true },
        { nQ: 300, nI: 257, f: 4, k: 10, ints: true, exclude: 'random' }, // several query blocks
        { nQ: 33, nI: 1000, f: 64, k: 10, exclude: 'random' },
        { nQ: 21, nI: 999, f: 65, k: 12 },
        { nQ: 12, nI: 20000, f: 3, k: 8, exclude: 'huge' }, // exclusion lists beyond the sort buffer
        { nQ: 5, nI: 0, f: 8, k: 4 },
      ];
      for (const c of cases) await runCase(kern, arena, rng, c);
    });

    it('agrees with the js backend', async () => {
      const arena = wasmArena();
      const kern = await createWasmKernels(arena);
      const js = createJsKernels();
      const rng = new Rng(43);
      const nQ = 40;
      const nI = 500;
      const f = 24;
      const k = 10;
      const q = rng.fillNormal(arena.f32(nQ * f), 1);
      const items = rng.fillNormal(arena.f32(nI * f), 1);
      const excludeIndptr = arena.copyOf(Int32Array.from({ length: nQ + 1 }, (_, i) => 3 * i));
      const excludeIndices = arena.copyOf(Int32Array.from({ length: 3 * nQ }, () => rng.int(nI)));
      const base = {
        queries: q,
        nQueries: nQ,
        items,
        nItems: nI,
        factors: f,
        k,
        excludeIndptr,
        excludeIndices,
      };
      const a = { outIndices: arena.i32(nQ * k), outScores: arena.f32(nQ * k) };
      const b = { outIndices: new Int32Array(nQ * k), outScores: new Float32Array(nQ * k) };
      kern.topK({ ...base, ...a });
      js.topK({ ...base, ...b });
      assert.deepEqual(a.outIndices, b.outIndices);
      assert.ok(maxAbsDiff(a.outScores, b.outScores) <= 1e-4);
    });

    it('no-ops and validation', async () => {
      const arena = wasmArena(1 << 20);
      const kern = await createWasmKernels(arena);
      const base = {
        queries: arena.f32(8),
        nQueries: 2,
        items: arena.f32(12),
        nItems: 3,
        factors: 4,
        k: 2,
        excludeIndptr: null,
        excludeIndices: null,
        outIndices: arena.i32(4),
        outScores: arena.f32(4),
      };
      kern.topK({ ...base, k: 0 });
      kern.topK({ ...base, nQueries: 0 });
      assert.throws(() => kern.topK({ ...base, nItems: 4 }), /items has 12/);
      assert.throws(() => kern.topK({ ...base, k: 3 }), /outIndices has 4/);
      assert.throws(
        () =>
          kern.topK({
            ...base,
            excludeIndptr: arena.copyOf(Int32Array.from([0, 2, 1])),
            excludeIndices: arena.i32(2),
          }),
        /decreases/,
      );
      assert.throws(
        () =>
          kern.topK({
            ...base,
            excludeIndptr: arena.copyOf(Int32Array.from([0, 1, 3])),
            excludeIndices: arena.i32(2),
          }),
        /exceeds/,
      );
      assert.throws(
        () => kern.topK({ ...base, excludeIndptr: arena.i32(3), excludeIndices: null }),
        /together/,
      );
      kern.topK(base);
      assert.deepEqual([...base.outIndices], [0, 1, 0, 1]); // all-zero scores: ties → lower index
    });
  });

  it('two worker threads share one memory and compute disjoint row ranges', async () => {
    const arena = wasmArena(64 << 20);
    const main = (await createWasmKernels(arena)) as WasmKernels;
    const rng = new Rng(51);
    const f = 33;
    const nRows = 400;
    const nOther = 300;
    const csr = arenaCsr(arena, rng, nRows, nOther, 60, 10);
    const other = rng.fillNormal(arena.f32(nOther * f), 0.2);
    const gram = arena.f32(f * f);
    main.gramian(other, nOther, f, 0.1, gram);
    const start = rng.fillNormal(new Float32Array(nRows * f), 0.1);
    const expected = arena.copyOf(start);
    main.implicitHalfStep({
      csr,
      rowStart: 0,
      rowEnd: nRows,
      other,
      gram,
      out: expected,
      factors: f,
      cgSteps: 3,
    });
    const k = 7;
    const expIdx = arena.i32(nRows * k);
    const expScores = arena.f32(nRows * k);
    const topArgs = {
      queries: expected,
      nQueries: nRows,
      items: other,
      nItems: nOther,
      factors: f,
      k,
      excludeIndptr: csr.indptr,
      excludeIndices: csr.indices,
    };
    main.topK({ ...topArgs, outIndices: expIdx, outScores: expScores });

    const out = arena.copyOf(start);
    const outIdx = arena.i32(nRows * k);
    const outScores = arena.f32(nRows * k);
    const ref = (v: Float32Array | Int32Array) => [v.byteOffset, v.length];
    const shared = {
      handle: arena.handle,
      arenaUrl: pathToFileURL(path.join(repoRoot, 'dist/src/compute/arena.js')).href,
      wasmUrl: pathToFileURL(path.join(repoRoot, 'dist/src/compute/wasm.js')).href,
      f,
      k,
      nOther,
      views: {
        indptr: ref(csr.indptr),
        indices: ref(csr.indices),
        values: ref(csr.values),
        other: ref(other),
        gram: ref(gram),
        out: ref(out),
        expected: ref(expected),
        exIndptr: ref(csr.indptr),
        outIdx: ref(outIdx),
        outScores: ref(outScores),
      },
    };
    const code = `
      const { parentPort, workerData: w } = require('node:worker_threads');
      (async () => {
        const { Arena } = await import(w.arenaUrl);
        const { createWasmKernels } = await import(w.wasmUrl);
        const arena = Arena.attach(w.handle);
        const k = await createWasmKernels(arena);
        const f32 = ([o, n]) => new Float32Array(arena.buffer, o, n);
        const i32 = ([o, n]) => new Int32Array(arena.buffer, o, n);
        const v = w.views;
        const csr = { indptr: i32(v.indptr), indices: i32(v.indices), values: f32(v.values) };
        for (let rep = 0; rep < 3; rep++) {
          const out = f32(v.out);
          if (rep > 0) out.subarray(w.rowStart * w.f, w.rowEnd * w.f).set(w.start);
          k.implicitHalfStep({ csr, rowStart: w.rowStart, rowEnd: w.rowEnd, other: f32(v.other), gram: f32(v.gram), out, factors: w.f, cgSteps: 3 });
        }
        const q0 = w.rowStart, q1 = w.rowEnd;
        k.topK({
          queries: f32(v.expected).subarray(q0 * w.f, q1 * w.f), nQueries: q1 - q0,
          items: f32(v.other), nItems: w.nOther, factors: w.f, k: w.k,
          excludeIndptr: i32(v.exIndptr).subarray(q0, q1 + 1), excludeIndices: csr.indices,
          outIndices: i32(v.outIdx).subarray(q0 * w.k, q1 * w.k), outScores: f32(v.outScores).subarray(q0 * w.k, q1 * w.k),
        });
        parentPort.postMessage({ ok: true, scratchFrom: arena.used });
      })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
    `;
    const run = (rowStart: number, rowEnd: number) =>
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(code, {
          eval: true,
          workerData: { ...shared, rowStart, rowEnd, start: start.subarray(rowStart * f, rowEnd * f) },
        });
        worker.once('message', (m: { ok?: boolean; error?: string }) => {
          void worker.terminate();
          if (m.error) reject(new Error(m.error));
          else resolve();
        });
        worker.once('error', reject);
      });
    await Promise.all([run(0, 170), run(170, nRows)]);
    assert.deepEqual(out, expected, 'implicitHalfStep rows differ between threads and the main thread');
    assert.deepEqual(outIdx, expIdx, 'topK indices differ');
    assert.deepEqual(outScores, expScores, 'topK scores differ');
    // The main thread's instance still works after the workers instantiated theirs.
    const again = arena.copyOf(start);
    main.implicitHalfStep({
      csr,
      rowStart: 0,
      rowEnd: nRows,
      other,
      gram,
      out: again,
      factors: f,
      cgSteps: 3,
    });
    assert.deepEqual(again, expected);
  });
});
