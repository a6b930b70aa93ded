// One kernel contract, run against every backend (implicit-style mixin): each backend must
// match direct float64 math and the js reference within float32 tolerance.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Arena } from '../../src/compute/arena.js';
import { BACKENDS, loadKernels } from '../../src/compute/backends.js';
import type { BackendName, Kernels } from '../../src/compute/kernels.js';
import { Rng } from '../../src/compute/random.js';
import { rowPenalties } from '../../src/model/penalty.js';
import {
  explicitSystem,
  gramRef,
  implicitSolve,
  itemScores,
  randomCsr,
  spdSolve,
  topKRef,
} from './support.js';

const TOL = 2e-3;

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const scale = Math.max(1, Math.abs(expected[i]));
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol * scale,
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

async function setup(backend: BackendName) {
  const arena = Arena.create(64 << 20, { wasm: backend === 'wasm' });
  return { arena, k: await loadKernels(backend, arena), js: await loadKernels('js', arena) };
}

function kernelContract(backend: BackendName) {
  describe(`kernels: ${backend}`, () => {
    it('gramian equals YᵀY + reg·I', async () => {
      const { arena, k } = await setup(backend);
      const rng = new Rng(1);
      for (const f of [1, 7, 16, 65]) {
        const n = 37;
        const y = rng.fillNormal(arena.f32(n * f), 1);
        const out = arena.f32(f * f);
        k.gramian(y, n, f, 0.5, out);
        const want = gramRef(y, n, f, 0.5);
        close(out, want, TOL, `gramian f=${f}`);
      }
    });

    for (const useBias of [true, false]) {
      it(`explicit half-step solves the regularised normal equations (bias=${useBias})`, async () => {
        const { arena, k } = await setup(backend);
        const rng = new Rng(2);
        for (const f of [3, 8, 64]) {
          const nRows = 30;
          const nCols = 50;
          const csr = randomCsr(rng, {
            ...{ rows: nRows, cols: nCols, maxLen: 29, emptyEvery: 3, alloc: arena },
            value: () => 1 + rng.int(5),
          });
          const other = rng.fillNormal(arena.f32(nCols * f), 0.3);
          const otherBias = rng.fillNormal(arena.f32(nCols), useBias ? 0.2 : 0);
          const out = arena.f32(nRows * f).fill(99);
          const outBias = arena.f32(nRows).fill(99);
          const lambda = 0.3;
          const [regExponent, biasReg] = f === 8 ? [1, 1] : [0.6, 0.1];
          const mu = 3.5;
          k.explicitHalfStep({
            csr,
            rowStart: 2,
            rowEnd: nRows,
            other,
            otherBias,
            out,
            outBias,
            factors: f,
            rowReg: rowPenalties(csr.indptr, lambda, regExponent, arena),
            biasReg,
            globalMean: mu,
            useBias,
          });
          // Rows outside the range are untouched.
          assert.equal(out[0], 99);
          assert.equal(outBias[1], 99);
          for (let u = 2; u < nRows; u++) {
            const s = csr.indptr[u];
            const e = csr.indptr[u + 1];
            const rho = lambda * (e - s) ** regExponent;
            const sys = explicitSystem(csr, u, other, otherBias, f, rho, biasReg, mu, useBias);
            const b = e > s ? spdSolve(sys.a, sys.b, sys.d) : new Float64Array(sys.d);
            close(out.subarray(u * f, u * f + f), b.subarray(0, f), TOL, `x[${u}] f=${f}`);
            assert.ok(Math.abs(outBias[u] - (useBias && e > s ? b[f] : 0)) < TOL, `b[${u}]`);
          }
        }
      });
    }

    it('implicit half-step: many CG steps reach the exact solve; 3 steps match js; negative values are preference 0', async () => {
      const { arena, k, js } = await setup(backend);
      const rng = new Rng(3);
      for (const f of [5, 32]) {
        const nRows = 24;
        const nCols = 40;
        const lambda = 0.1;
        const csr = randomCsr(rng, {
          ...{ rows: nRows, cols: nCols, maxLen: 19, emptyEvery: 3, alloc: arena },
          // A quarter negative: preference 0 with confidence |c| (a dismiss), as `implicit` reads it.
          value: () => (rng.next() < 0.25 ? -1 : 1) * (1 + 10 * rng.next()),
        });
        const y = rng.fillNormal(arena.f32(nCols * f), 0.3);
        const gram = arena.f32(f * f);
        js.gramian(y, nCols, f, lambda, gram);
        const start = rng.fillNormal(new Float32Array(nRows * f), 0.01);
        const exact = arena.f32(nRows * f);
        exact.set(start);
        k.implicitHalfStep({
          csr,
          rowStart: 0,
          rowEnd: nRows,
          other: y,
          gram,
          out: exact,
          factors: f,
          cgSteps: 200,
        });
        for (let u = 0; u < nRows; u++) {
          // (YᵀY + λI + Σ (c−1) y yᵀ) x = Σ c y
          const b = implicitSolve(csr, u, y, gram, f);
          close(exact.subarray(u * f, u * f + f), b, 1e-2, `cg x[${u}] f=${f}`);
        }
        const mine = arena.f32(nRows * f);
        const ref = arena.f32(nRows * f);
        mine.set(start);
        ref.set(start);
        k.implicitHalfStep({
          csr,
          rowStart: 0,
          rowEnd: nRows,
          other: y,
          gram,
          out: mine,
          factors: f,
          cgSteps: 3,
        });
        js.implicitHalfStep({
          csr,
          rowStart: 0,
          rowEnd: nRows,
          other: y,
          gram,
          out: ref,
          factors: f,
          cgSteps: 3,
        });
        close(mine, ref, 1e-2, `cg3 f=${f}`);
      }
    });

    it('topK returns the best items in order, honours exclusions, pads with -1', async () => {
      const { arena, k } = await setup(backend);
      const rng = new Rng(4);
      for (const [f, nItems, kk] of [
        [7, 300, 10],
        [64, 2000, 10],
        [65, 129, 50],
        [16, 5, 8],
      ]) {
        const nQ = 21;
        const queries = rng.fillNormal(arena.f32(nQ * f), 1);
        const items = rng.fillNormal(arena.f32(nItems * f), 1);
        const ptr = arena.i32(nQ + 1);
        const ex: number[] = [];
        for (let q = 0; q < nQ; q++) {
          const n = q % 4 === 0 ? 0 : rng.int(Math.min(nItems, 40));
          for (let e = 0; e < n; e++) ex.push(rng.int(nItems));
          ptr[q + 1] = ex.length;
        }
        const exIdx = arena.i32(Math.max(1, ex.length));
        exIdx.set(ex);
        const oi = arena.i32(nQ * kk);
        const os = arena.f32(nQ * kk);
        k.topK({
          queries,
          nQueries: nQ,
          items,
          nItems,
          factors: f,
          k: kk,
          excludeIndptr: ptr,
          excludeIndices: exIdx,
          outIndices: oi,
          outScores: os,
        });
        for (let q = 0; q < nQ; q++) {
          const skip = new Set(ex.slice(ptr[q], ptr[q + 1]));
          const all = topKRef(itemScores(queries, q, items, nItems, f), nItems, skip);
          for (let r = 0; r < kk; r++) {
            const got = oi[q * kk + r];
            if (r >= all.length) {
              assert.equal(got, -1, `q${q} slot ${r} padded`);
              assert.equal(os[q * kk + r], Number.NEGATIVE_INFINITY);
              continue;
            }
            assert.ok(!skip.has(got), `q${q}: excluded item ${got} returned`);
            assert.ok(
              Math.abs(os[q * kk + r] - all[r][0]) < 1e-3 * Math.max(1, Math.abs(all[r][0])),
              `q${q} score ${r}`,
            );
            // Indices agree unless two scores are within float noise of each other.
            if (got !== all[r][1]) assert.ok(Math.abs(all[r][0] - (all[r + 1]?.[0] ?? all[r - 1][0])) < 1e-3);
          }
        }
      }
    });

    it('topK without an exclusion list scores every item', async () => {
      const { arena, k } = await setup(backend);
      const rng = new Rng(5);
      const f = 8;
      const items = rng.fillNormal(arena.f32(100 * f), 1);
      const q = arena.f32(f);
      q.set(items.subarray(42 * f, 43 * f)); // item 42 is (almost surely) its own best match
      const oi = arena.i32(3);
      const os = arena.f32(3);
      k.topK({
        queries: q,
        nQueries: 1,
        items,
        nItems: 100,
        factors: f,
        k: 3,
        excludeIndptr: null,
        excludeIndices: null,
        outIndices: oi,
        outScores: os,
      });
      assert.ok(os[0] >= os[1] && os[1] >= os[2]);
      assert.ok(oi.every((i) => i >= 0 && i < 100));
    });
  });
}

for (const backend of BACKENDS) kernelContract(backend as BackendName);

// ---------------------------------------------------------------------------------------------
// Bad arguments: every backend rejects the same calls, before any work, with a message naming the
// offending argument. Each case overrides one argument of a well-formed call; the regexes accept
// the wording of every backend where they differ (native/js: "has length 3", wasm: "has 3
// elements"). A backend listed in `unchecked` does not check that rule: its case is skipped, and
// the test name says so. Backend-specific checks (wasm's "not a view of this arena", native's
// SIMD levels) stay in wasm.test.ts and native.test.ts.

type KernelName = 'gramian' | 'explicitHalfStep' | 'implicitHalfStep' | 'topK';
type Args = Record<string, unknown>;

const F = 4; // factors of the well-formed calls

/** Well-formed arguments of each kernel, every array a fresh view into `arena`. */
function goodArgs(arena: Arena, kernel: KernelName): Args {
  const csr = {
    indptr: arena.copyOf(Int32Array.of(0, 2, 3)),
    indices: arena.copyOf(Int32Array.of(0, 2, 1)),
    values: arena.copyOf(Float32Array.of(1, 2, 3)),
  };
  const other = arena.f32(3 * F).fill(0.5);
  switch (kernel) {
    case 'gramian':
      return { y: arena.f32(2 * F).fill(1), nRows: 2, factors: F, reg: 0.1, out: arena.f32(F * F) };
    case 'explicitHalfStep':
      return {
        ...{ csr, rowStart: 0, rowEnd: 2, other, otherBias: arena.f32(3) },
        ...{ out: arena.f32(2 * F), outBias: arena.f32(2), factors: F, rowReg: arena.f32(2).fill(0.1) },
        ...{ biasReg: 1, globalMean: 0, useBias: true },
      };
    case 'implicitHalfStep': {
      const gram = arena.f32(F * F);
      for (let a = 0; a < F; a++) gram[a * F + a] = 1;
      return { csr, rowStart: 0, rowEnd: 2, other, gram, out: arena.f32(2 * F), factors: F, cgSteps: 3 };
    }
    case 'topK':
      return {
        ...{ queries: arena.f32(2 * F).fill(1), nQueries: 2, items: other, nItems: 3, factors: F, k: 3 },
        ...{ excludeIndptr: null, excludeIndices: null, outIndices: arena.i32(6), outScores: arena.f32(6) },
      };
  }
}

function call(k: Kernels, kernel: KernelName, a: Args): void {
  if (kernel === 'gramian') {
    k.gramian(
      a.y as Float32Array,
      a.nRows as number,
      a.factors as number,
      a.reg as number,
      a.out as Float32Array,
    );
  } else (k[kernel] as (args: unknown) => void)(a);
}

interface BadCall {
  kernel: KernelName;
  what: string;
  /** Overrides of the well-formed call (csr fields are merged into its csr). */
  over: (arena: Arena) => Args;
  throws: RegExp;
  unchecked?: BackendName[];
}

const i32 = (arena: Arena, ...v: number[]) => arena.copyOf(Int32Array.from(v));
const f32 = (arena: Arena, ...v: number[]) => arena.copyOf(Float32Array.from(v));
/** Two views of one arena array, [a0, a1) and [b0, b1) (overlapping when the ranges do). */
const overlapping = (arena: Arena, a0: number, a1: number, b0: number, b1: number) => {
  const buf = arena.f32(64);
  return [buf.subarray(a0, a1), buf.subarray(b0, b1)];
};
const tooShort = (name: string, has: number, needs: number) =>
  new RegExp(`\\b${name} has (length )?${has}\\b.*needs at least ${needs}\\b`);
const notInt = (name: string) => new RegExp(`\\b${name} must be an integer`);
const csrCases = (kernel: KernelName): BadCall[] => [
  { kernel, what: 'negative rowStart', over: () => ({ rowStart: -1 }), throws: notInt('rowStart') },
  { kernel, what: 'fractional rowEnd', over: () => ({ rowEnd: 1.5 }), throws: notInt('rowEnd') },
  {
    kernel,
    what: 'rowStart past rowEnd',
    over: () => ({ rowStart: 2, rowEnd: 1 }),
    throws: /rowStart \(2\) must not exceed rowEnd \(1\)|rowEnd must be an integer in \[2,/,
  },
  {
    kernel,
    what: 'indptr shorter than rowEnd + 1',
    over: () => ({ rowEnd: 3 }),
    throws: tooShort('indptr', 3, 4),
  },
  {
    kernel,
    what: 'decreasing indptr',
    over: (a) => ({ indptr: i32(a, 0, 2, 1) }),
    throws: /indptr (must be non-decreasing|decreases)/,
  },
  {
    kernel,
    what: 'negative indptr',
    over: (a) => ({ indptr: i32(a, -1, 2, 3) }),
    throws: /indptr\[0\].*negative/,
  },
  {
    kernel,
    what: 'indptr past the entries',
    over: (a) => ({ indptr: i32(a, 0, 2, 9) }),
    throws: /indptr\[2\] = 9 exceeds.*indices/,
  },
  {
    kernel,
    what: 'values shorter than the entries',
    over: (a) => ({ values: f32(a, 1, 2) }),
    throws: /indptr\[2\] = 3 exceeds.*values/,
  },
  {
    kernel,
    what: 'column index past the other side',
    over: (a) => ({ indices: i32(a, 0, 3, 1) }),
    throws: /indices\[1\] = 3 is (out of range|outside) \[0, 3\)/,
  },
  {
    kernel,
    what: 'negative column index',
    over: (a) => ({ indices: i32(a, 0, -2, 1) }),
    throws: /indices\[1\] = -2 is (out of range|outside) \[0, 3\)/,
  },
  {
    kernel,
    what: 'other with fewer rows than the indices need',
    over: (a) => ({ other: a.f32(2 * F) }),
    throws: /indices\[1\] = 2 is (out of range|outside) \[0, 2\)/,
  },
  { kernel, what: 'out too short', over: (a) => ({ out: a.f32(2 * F - 1) }), throws: tooShort('out', 7, 8) },
  { kernel, what: 'zero factors', over: () => ({ factors: 0 }), throws: notInt('factors') },
  {
    kernel,
    what: 'indptr of the wrong type',
    over: (a) => ({ indptr: f32(a, 0, 2, 3) }),
    throws: /indptr must be a Int32Array/,
  },
  {
    kernel,
    what: 'values of the wrong type',
    over: () => ({ values: Float64Array.of(1, 2, 3) }),
    throws: /values must be a Float32Array/,
  },
  {
    kernel,
    what: 'other as a plain array',
    over: () => ({ other: new Array(3 * F).fill(0.5) }),
    throws: /other must be a Float32Array/,
  },
  { kernel, what: 'out missing', over: () => ({ out: null }), throws: /\bout must be a Float32Array/ },
];

const BAD_CALLS: BadCall[] = [
  // gramian
  { kernel: 'gramian', what: 'zero factors', over: () => ({ factors: 0 }), throws: notInt('factors') },
  { kernel: 'gramian', what: 'negative nRows', over: () => ({ nRows: -1 }), throws: notInt('nRows') },
  { kernel: 'gramian', what: 'fractional nRows', over: () => ({ nRows: 1.5 }), throws: notInt('nRows') },
  { kernel: 'gramian', what: 'y too short', over: (a) => ({ y: a.f32(7) }), throws: tooShort('y', 7, 8) },
  {
    kernel: 'gramian',
    what: 'out too short',
    over: (a) => ({ out: a.f32(15) }),
    throws: tooShort('out', 15, 16),
  },
  {
    kernel: 'gramian',
    what: 'y of the wrong type',
    over: () => ({ y: new Float64Array(2 * F) }),
    throws: /\by must be a Float32Array/,
  },
  {
    kernel: 'gramian',
    what: 'non-finite reg',
    over: () => ({ reg: Number.NaN }),
    throws: /reg must be finite/,
  },
  {
    kernel: 'gramian',
    what: 'out aliasing y',
    over: (a) => {
      const [y, out] = overlapping(a, 0, 2 * F, 4, 4 + F * F);
      return { y, out };
    },
    throws: /out overlaps y/,
  },
  // explicitHalfStep
  ...csrCases('explicitHalfStep'),
  {
    kernel: 'explicitHalfStep',
    what: 'otherBias shorter than other (with biases)',
    over: (a) => ({ otherBias: a.f32(2) }),
    throws: /otherBias/,
  },
  {
    kernel: 'explicitHalfStep',
    what: 'outBias too short',
    over: (a) => ({ outBias: a.f32(1) }),
    throws: tooShort('outBias', 1, 2),
  },
  {
    kernel: 'explicitHalfStep',
    what: 'rowReg too short',
    over: (a) => ({ rowReg: f32(a, 0.1) }),
    throws: tooShort('rowReg', 1, 2),
  },
  {
    kernel: 'explicitHalfStep',
    what: 'rowReg of the wrong type',
    over: () => ({ rowReg: Float64Array.of(0.1, 0.1) }),
    throws: /rowReg must be a Float32Array/,
  },
  {
    kernel: 'explicitHalfStep',
    what: 'negative rowReg',
    over: (a) => ({ rowReg: f32(a, 0.1, -1) }),
    throws: /rowReg\[1\] must be finite and ≥ 0/,
  },
  {
    kernel: 'explicitHalfStep',
    what: 'NaN rowReg',
    over: (a) => ({ rowReg: f32(a, Number.NaN, 1) }),
    throws: /rowReg\[0\] must be finite/,
  },
  {
    kernel: 'explicitHalfStep',
    what: 'negative biasReg',
    over: () => ({ biasReg: -0.5 }),
    throws: /biasReg must be finite and ≥ 0/,
  },
  {
    kernel: 'explicitHalfStep',
    what: 'non-finite globalMean',
    over: () => ({ globalMean: Number.NaN }),
    throws: /globalMean must be finite/,
  },
  {
    kernel: 'explicitHalfStep',
    what: 'out aliasing rowReg',
    over: (a) => {
      const [rowReg, out] = overlapping(a, 0, 2, 1, 1 + 2 * F);
      rowReg.fill(0.1);
      return { rowReg, out };
    },
    throws: /out overlaps rowReg/,
  },
  {
    kernel: 'explicitHalfStep',
    what: 'out aliasing outBias',
    over: (a) => {
      const [out, outBias] = overlapping(a, 0, 2 * F, 2 * F - 1, 2 * F + 1);
      return { out, outBias };
    },
    throws: /out overlaps outBias/,
  },
  // implicitHalfStep
  ...csrCases('implicitHalfStep'),
  {
    kernel: 'implicitHalfStep',
    what: 'NaN cgSteps',
    over: () => ({ cgSteps: Number.NaN }),
    throws: notInt('cgSteps'),
  },
  {
    kernel: 'implicitHalfStep',
    what: 'negative cgSteps',
    over: () => ({ cgSteps: -1 }),
    throws: notInt('cgSteps'),
  },
  {
    kernel: 'implicitHalfStep',
    what: 'gram too short',
    over: (a) => ({ gram: a.f32(F * F - 1) }),
    throws: tooShort('gram', 15, 16),
  },
  {
    kernel: 'implicitHalfStep',
    what: 'out aliasing other',
    over: (a) => {
      const [other, out] = overlapping(a, 0, 3 * F, 4, 4 + 2 * F);
      return { other, out };
    },
    throws: /out overlaps other/,
  },
  // topK
  { kernel: 'topK', what: 'negative nQueries', over: () => ({ nQueries: -1 }), throws: notInt('nQueries') },
  { kernel: 'topK', what: 'fractional nItems', over: () => ({ nItems: 1.5 }), throws: notInt('nItems') },
  { kernel: 'topK', what: 'negative k', over: () => ({ k: -1 }), throws: notInt('k') },
  { kernel: 'topK', what: 'zero factors', over: () => ({ factors: 0 }), throws: notInt('factors') },
  {
    kernel: 'topK',
    what: 'queries too short',
    over: () => ({ nQueries: 3 }),
    throws: tooShort('queries', 8, 12),
  },
  { kernel: 'topK', what: 'items too short', over: () => ({ nItems: 4 }), throws: tooShort('items', 12, 16) },
  {
    kernel: 'topK',
    what: 'outIndices too short',
    over: () => ({ k: 4 }),
    throws: tooShort('outIndices', 6, 8),
  },
  {
    kernel: 'topK',
    what: 'outScores too short',
    over: (a) => ({ outScores: a.f32(5) }),
    throws: tooShort('outScores', 5, 6),
  },
  {
    kernel: 'topK',
    what: 'outIndices of the wrong type',
    over: (a) => ({ outIndices: a.f32(6) }),
    throws: /outIndices must be a Int32Array/,
  },
  {
    kernel: 'topK',
    what: 'excludeIndptr without excludeIndices',
    over: (a) => ({ excludeIndptr: i32(a, 0, 0, 0) }),
    throws: /excludeIndptr and excludeIndices must (both be given|be given together)/,
  },
  {
    kernel: 'topK',
    what: 'excludeIndptr shorter than nQueries + 1',
    over: (a) => ({ excludeIndptr: i32(a, 0, 0), excludeIndices: a.i32(1) }),
    throws: tooShort('excludeIndptr', 2, 3),
  },
  {
    kernel: 'topK',
    what: 'decreasing excludeIndptr',
    over: (a) => ({ excludeIndptr: i32(a, 0, 2, 1), excludeIndices: i32(a, 0, 1) }),
    throws: /excludeIndptr (must be non-decreasing|decreases)/,
  },
  {
    kernel: 'topK',
    what: 'negative excludeIndptr',
    over: (a) => ({ excludeIndptr: i32(a, -1, 0, 0), excludeIndices: i32(a, 0, 1) }),
    throws: /excludeIndptr\[0\].*negative/,
  },
  {
    kernel: 'topK',
    what: 'excludeIndptr past excludeIndices',
    over: (a) => ({ excludeIndptr: i32(a, 0, 1, 5), excludeIndices: i32(a, 0, 1) }),
    throws: /excludeIndptr\[2\] = 5 exceeds excludeIndices/,
  },
  {
    kernel: 'topK',
    what: 'outScores aliasing queries',
    over: (a) => {
      const [queries, outScores] = overlapping(a, 0, 2 * F, 2 * F - 2, 2 * F + 4);
      return { queries, outScores };
    },
    throws: /outScores overlaps queries/,
  },
];

/** Calls at the edge of the rules that every backend accepts. */
const ACCEPTED_CALLS: Array<{ kernel: KernelName; what: string; over: (arena: Arena) => Args }> = [
  { kernel: 'gramian', what: 'the well-formed call', over: () => ({}) },
  { kernel: 'explicitHalfStep', what: 'the well-formed call', over: () => ({}) },
  { kernel: 'implicitHalfStep', what: 'the well-formed call', over: () => ({}) },
  { kernel: 'topK', what: 'the well-formed call', over: () => ({}) },
  { kernel: 'explicitHalfStep', what: 'biasReg 0', over: () => ({ biasReg: 0 }) },
  {
    kernel: 'explicitHalfStep',
    what: 'a short otherBias without biases',
    over: (a) => ({ otherBias: a.f32(2), useBias: false }),
  },
  { kernel: 'explicitHalfStep', what: 'an empty row range', over: () => ({ rowStart: 1, rowEnd: 1 }) },
  {
    kernel: 'topK',
    what: 'exclusion entries outside the items (they match nothing)',
    over: (a) => ({ excludeIndptr: i32(a, 0, 2, 2), excludeIndices: i32(a, -5, 99) }),
  },
  {
    kernel: 'gramian',
    what: 'out adjacent to y',
    over: (a) => {
      const [y, out] = overlapping(a, 0, 2 * F, 2 * F, 2 * F + F * F);
      return { y, out };
    },
  },
];

/** The well-formed call of `kernel` with `over` applied (indptr, indices, values go into csr). */
function withOverrides(arena: Arena, kernel: KernelName, over: Args): Args {
  const args = { ...goodArgs(arena, kernel) };
  for (const [key, v] of Object.entries(over)) {
    if (key === 'indptr' || key === 'indices' || key === 'values')
      args.csr = { ...(args.csr as Args), [key]: v };
    else args[key] = v;
  }
  return args;
}

function argumentContract(backend: BackendName) {
  describe(`kernels: ${backend}: argument validation`, () => {
    let ctx: Promise<{ arena: Arena; k: Kernels }> | null = null;
    const context = () => {
      ctx ??= (async () => {
        const arena = Arena.create(16 << 20, { wasm: backend === 'wasm' });
        return { arena, k: await loadKernels(backend, arena) };
      })();
      return ctx;
    };
    for (const c of ACCEPTED_CALLS) {
      it(`${c.kernel} accepts ${c.what}`, async () => {
        const { arena, k } = await context();
        call(k, c.kernel, withOverrides(arena, c.kernel, c.over(arena)));
      });
    }
    for (const c of BAD_CALLS) {
      const name = `${c.kernel} rejects ${c.what}`;
      if (c.unchecked?.includes(backend)) {
        it(`${name} — not checked by ${backend}, skipped`, {
          skip: `${backend} does not check this`,
        }, () => {});
        continue;
      }
      it(name, async () => {
        const { arena, k } = await context();
        const args = withOverrides(arena, c.kernel, c.over(arena));
        assert.throws(() => call(k, c.kernel, args), c.throws);
      });
    }
  });
}

for (const backend of BACKENDS) argumentContract(backend as BackendName);
