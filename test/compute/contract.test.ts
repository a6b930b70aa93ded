// One kernel contract, run against every backend (implicit-style mixin): each backend must
// match direct float64 math and the js reference within float32 tolerance.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Arena } from '../../src/compute/arena.js';
import { BACKENDS, loadKernels } from '../../src/compute/backends.js';
import type { BackendName } from '../../src/compute/kernels.js';
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

    it('implicit half-step: many CG steps reach the exact solve; 3 steps match js', async () => {
      const { arena, k, js } = await setup(backend);
      const rng = new Rng(3);
      for (const f of [5, 32]) {
        const nRows = 24;
        const nCols = 40;
        const lambda = 0.1;
        const csr = randomCsr(rng, {
          ...{ rows: nRows, cols: nCols, maxLen: 19, emptyEvery: 3, alloc: arena },
          value: () => 1 + 10 * rng.next(),
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
