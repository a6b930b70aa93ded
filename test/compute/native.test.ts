// Tests of the native (Rust, napi-rs) kernels themselves: each kernel against direct float64
// math on small random inputs, at every SIMD level the CPU offers; views into a
// SharedArrayBuffer (and a shared WebAssembly.Memory) at odd offsets; argument validation.
// The cross-backend parity suite lives in contract.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Arena } from '../../src/compute/arena.js';
import {
  createNativeKernels,
  loadNativeAddon,
  type NativeAddon,
  NativeNotBuiltError,
  nativeAddonPath,
} from '../../src/compute/native.js';
import { Rng } from '../../src/compute/random.js';
import { rowPenalties } from '../../src/model/penalty.js';
import {
  cgRef,
  excludedOf,
  explicitSystem,
  gramRef,
  heap,
  implicitSolve,
  itemScores,
  normals,
  randomCsr,
  spdSolve,
  topKRef,
} from './support.js';

let addon: NativeAddon | null = null;
let notBuilt = '';
try {
  addon = loadNativeAddon();
} catch (err) {
  notBuilt = (err as Error).message;
}
const N = () => addon as NativeAddon;

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, relTol: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(1e-3, norm(expected));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= relTol * scale,
      `${what}[${i}]: got ${actual[i]}, want ${expected[i]} (|want| = ${scale})`,
    );
  }
}

/** The SIMD levels to test: the detected one and every lower one down to the portable code. */
function levels(): string[] {
  if (!addon) return ['auto'];
  const all = ['avx512', 'avx2', 'scalar'];
  return all.slice(all.indexOf(addon.setSimdLevel('auto')));
}

function atLevel(level: string, fn: () => void) {
  N().setSimdLevel(level);
  try {
    fn();
  } finally {
    N().setSimdLevel('auto');
  }
}

function checkTopK(
  queries: Float32Array,
  nQ: number,
  items: Float32Array,
  nItems: number,
  f: number,
  k: number,
  exPtr: Int32Array | null,
  exIdx: Int32Array | null,
  oi: Int32Array,
  os: Float32Array,
  exactTies: boolean,
) {
  for (let q = 0; q < nQ; q++) {
    const ex = excludedOf(exPtr, exIdx, q);
    const want = topKRef(itemScores(queries, q, items, nItems, f), k, ex);
    for (let r = 0; r < k; r++) {
      const gi = oi[q * k + r];
      const gs = os[q * k + r];
      if (r >= want.length) {
        assert.equal(gi, -1, `q${q} slot ${r}: padding index`);
        assert.equal(gs, Number.NEGATIVE_INFINITY, `q${q} slot ${r}: padding score`);
        continue;
      }
      const [ws, wi] = want[r];
      assert.ok(!ex.has(gi), `q${q}: excluded item ${gi} returned`);
      assert.ok(
        Math.abs(gs - ws) <= 1e-4 * Math.max(1, Math.abs(ws)),
        `q${q} slot ${r}: score ${gs} vs ${ws}`,
      );
      if (exactTies) assert.equal(gi, wi, `q${q} slot ${r}: index`);
      else if (gi !== wi) {
        // Only acceptable when float32 rounding makes the two candidates indistinguishable.
        const other = want.find(([, i]) => i === gi);
        assert.ok(
          other && Math.abs(other[0] - ws) < 1e-4 * Math.max(1, Math.abs(ws)),
          `q${q} slot ${r}: index ${gi} vs ${wi}`,
        );
      }
      if (r > 0) assert.ok(os[q * k + r - 1] >= gs, `q${q}: scores not descending at ${r}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------

// A missing build fails here rather than skipping: CI always builds every backend.
describe('native kernels', () => {
  it('is built', () => assert.ok(addon, `native addon unavailable: ${notBuilt}`));

  it('reports its SIMD level and can fall back to scalar', () => {
    const detected = N().setSimdLevel('auto');
    assert.match(detected, /^(avx512|avx2|scalar)$/);
    assert.equal(N().simdLevel(), detected);
    assert.equal(N().setSimdLevel('scalar'), 'scalar');
    assert.equal(N().setSimdLevel('auto'), detected);
    assert.throws(() => N().setSimdLevel('sse9'), /unknown SIMD level/);
    if (detected !== 'avx512') assert.throws(() => N().setSimdLevel('avx512'), /does not support/);
  });

  for (const level of levels()) {
    describe(`SIMD level ${level}`, () => {
      it('gramian equals YᵀY + reg·I', () =>
        atLevel(level, () => {
          const rng = new Rng(11);
          for (const f of [1, 5, 8, 16, 33, 64, 67]) {
            for (const n of [0, 3, 1500]) {
              const y = normals(rng, n * f, 1);
              const out = new Float32Array(f * f).fill(Number.NaN);
              N().gramian(y, n, f, 0.25, out);
              assertClose(out, gramRef(y, n, f, 0.25), 2e-6, `gram f=${f} n=${n}`);
              for (let a = 0; a < f; a++)
                for (let b = 0; b < a; b++) assert.equal(out[a * f + b], out[b * f + a], 'symmetric');
            }
          }
        }));

      for (const useBias of [true, false]) {
        it(`explicit half-step satisfies the normal equations (bias=${useBias})`, () =>
          atLevel(level, () => {
            const rng = new Rng(useBias ? 21 : 22);
            // (f, regExponent, biasReg): Zhou's weighted-λ, a damped exponent, a plain λ.
            for (const [f, regExponent, biasReg] of [
              [1, 1, 1],
              [5, 0.6, 0.1],
              [8, 1, 1],
              [64, 0.6, 0.1],
              [67, 0, 0],
            ]) {
              const nRows = 40;
              const nCols = 900;
              // maxLen 700 makes some rows longer than the kernel's 512-item gather chunk.
              const csr = randomCsr(rng, {
                rows: nRows,
                cols: nCols,
                maxLen: 700,
                skew: 3,
                value: () => 1 + rng.int(5),
              });
              const other = normals(rng, nCols * f, 0.3);
              const otherBias = normals(rng, nCols, useBias ? 0.2 : 0);
              const out = new Float32Array(nRows * f).fill(99);
              const outBias = new Float32Array(nRows).fill(99);
              const [mu, rs, re] = [3.1, 2, 37];
              const rowReg = rowPenalties(csr.indptr, 0.05, regExponent, heap);
              N().explicitHalfStep(
                csr.indptr,
                csr.indices,
                csr.values,
                rs,
                re,
                other,
                otherBias,
                out,
                outBias,
                f,
                rowReg,
                biasReg,
                mu,
                useBias,
              );
              for (let u = 0; u < nRows; u++) {
                const xu = out.subarray(u * f, u * f + f);
                if (u < rs || u >= re) {
                  assert.ok(
                    xu.every((v) => v === 99) && outBias[u] === 99,
                    `row ${u} outside the range is untouched`,
                  );
                  continue;
                }
                const { a, b, d, n } = explicitSystem(
                  csr,
                  u,
                  other,
                  otherBias,
                  f,
                  rowReg[u],
                  biasReg,
                  mu,
                  useBias,
                );
                if (n === 0) {
                  assert.ok(xu.every((v) => v === 0) && outBias[u] === 0, `empty row ${u} is zero`);
                  continue;
                }
                const z = [...xu, ...(useBias ? [outBias[u]] : [])];
                if (!useBias) assert.equal(outBias[u], 0);
                // Residual of the normal equations, relative to the size of its terms.
                const res = new Float64Array(d);
                let anorm = 0;
                for (let r = 0; r < d; r++) {
                  let s = -b[r];
                  for (let c = 0; c < d; c++) {
                    s += a[r * d + c] * z[c];
                    anorm += a[r * d + c] ** 2;
                  }
                  res[r] = s;
                }
                const scale = Math.sqrt(anorm) * norm(z) + norm(b);
                assert.ok(
                  norm(res) <= 1e-5 * scale,
                  `row ${u} f=${f}: residual ${norm(res)} vs scale ${scale}`,
                );
                assertClose(z, spdSolve(a, b, d), 1e-4, `row ${u} f=${f} solution`);
              }
            }
          }));
      }

      it('explicit half-step reports a singular system instead of writing garbage', () =>
        atLevel(level, () => {
          const f = 4;
          const csr = { indptr: Int32Array.of(0, 1), indices: Int32Array.of(0), values: Float32Array.of(3) };
          const other = Float32Array.of(1, 0, 0, 0);
          assert.throws(
            () =>
              N().explicitHalfStep(
                csr.indptr,
                csr.indices,
                csr.values,
                0,
                1,
                other,
                new Float32Array(1),
                new Float32Array(f),
                new Float32Array(1),
                f,
                new Float32Array(1),
                1,
                0,
                false,
              ),
            /not positive definite/,
          );
        }));

      it('implicit half-step: many CG steps reach the exact solve', () =>
        atLevel(level, () => {
          const rng = new Rng(31);
          for (const f of [1, 3, 8, 13, 32, 64]) {
            const nRows = 30;
            const nCols = 200;
            const lambda = 0.1;
            // Confidences 1 + α·r, plus some non-positive ones (preference 0, as in `implicit`).
            const csr = randomCsr(rng, {
              ...{ rows: nRows, cols: nCols, maxLen: 60, skew: 3 },
              value: () => (rng.next() < 0.1 ? -(1 + 3 * rng.next()) : 1 + 20 * rng.next()),
            });
            const y = normals(rng, nCols * f, 0.3);
            const gram = new Float32Array(f * f);
            N().gramian(y, nCols, f, lambda, gram);
            const out = normals(rng, nRows * f, 0.05);
            N().implicitHalfStep(csr.indptr, csr.indices, csr.values, 0, nRows, y, gram, out, f, 300);
            for (let u = 0; u < nRows; u++) {
              const want = implicitSolve(csr, u, y, gram, f);
              assertClose(out.subarray(u * f, u * f + f), want, 2e-3, `cg row ${u} f=${f}`);
            }
          }
        }));

      it('implicit half-step: 3 CG steps follow implicit’s _least_squares_cg; empty rows become zero', () =>
        atLevel(level, () => {
          const rng = new Rng(32);
          for (const f of [5, 16, 64, 70]) {
            const nRows = 50;
            const nCols = 300;
            const csr = randomCsr(rng, {
              ...{ rows: nRows, cols: nCols, maxLen: 120, skew: 3, emptyEvery: 5 },
              value: () => 1 + 40 * rng.next(),
            });
            const y = normals(rng, nCols * f, 0.2);
            const gram = new Float32Array(f * f);
            N().gramian(y, nCols, f, 0.05, gram);
            const start = normals(rng, nRows * f, 0.1);
            const out = Float32Array.from(start);
            const [rs, re] = [3, 47];
            N().implicitHalfStep(csr.indptr, csr.indices, csr.values, rs, re, y, gram, out, f, 3);
            for (let u = 0; u < nRows; u++) {
              const got = out.subarray(u * f, u * f + f);
              if (u < rs || u >= re) {
                assert.deepEqual(
                  got,
                  start.subarray(u * f, u * f + f),
                  `row ${u} outside the range is untouched`,
                );
                continue;
              }
              const want = cgRef(csr, u, y, gram, start.subarray(u * f, u * f + f), f, 3);
              if (csr.indptr[u] === csr.indptr[u + 1])
                assert.ok(
                  got.every((v) => v === 0),
                  `empty row ${u} is zero`,
                );
              assertClose(got, want, 2e-3, `cg3 row ${u} f=${f}`);
            }
          }
        }));

      it('topK matches brute force, with exclusions, on both the direct and the tiled path', () =>
        atLevel(level, () => {
          const rng = new Rng(41);
          for (const [f, nItems, k, nQ] of [
            [8, 300, 10, 1],
            [7, 301, 10, 5],
            [64, 2000, 10, 6],
            [65, 1031, 50, 13],
            [3, 17, 20, 8], // k > candidates
            [16, 5, 8, 2], // k > nItems, direct path
            [1, 100, 1, 20],
            [32, 5000, 25, 37], // several packed blocks, a partial group of 12
          ]) {
            const queries = normals(rng, nQ * f, 1);
            const items = normals(rng, nItems * f, 1);
            const exPtr = new Int32Array(nQ + 1);
            const ex: number[] = [];
            for (let q = 0; q < nQ; q++) {
              const n = q % 3 === 0 ? 0 : rng.int(Math.min(nItems, 30));
              // Unsorted, with duplicates and the query's likely best items.
              for (let e = 0; e < n; e++) ex.push(rng.int(nItems));
              if (q % 3 === 1) ex.push(ex[ex.length - 1] ?? 0);
              exPtr[q + 1] = ex.length;
            }
            const exIdx = Int32Array.from(ex);
            const oi = new Int32Array(nQ * k).fill(-7);
            const os = new Float32Array(nQ * k);
            N().topK(queries, nQ, items, nItems, f, k, exPtr, exIdx, oi, os);
            checkTopK(queries, nQ, items, nItems, f, k, exPtr, exIdx, oi, os, false);
            // And with no exclusions at all.
            N().topK(queries, nQ, items, nItems, f, k, null, null, oi, os);
            checkTopK(queries, nQ, items, nItems, f, k, null, null, oi, os, false);
          }
        }));

      it('topK breaks ties by the lower index and pads with -1 / -Infinity', () =>
        atLevel(level, () => {
          // Small integers: every dot product is exact in float32, so ties are real ties.
          const rng = new Rng(42);
          const f = 12;
          const nItems = 203;
          const items = new Float32Array(nItems * f);
          for (let i = 0; i < nItems; i++)
            for (let c = 0; c < f; c++)
              items[i * f + c] = i > 3 && i % 7 === 3 ? items[3 * f + c] : rng.int(5) - 2;
          for (const nQ of [2, 9, 29]) {
            const queries = new Float32Array(nQ * f);
            for (let j = 0; j < queries.length; j++) queries[j] = rng.int(3) - 1;
            for (const k of [1, 10, 40, 250]) {
              const oi = new Int32Array(nQ * k);
              const os = new Float32Array(nQ * k);
              N().topK(queries, nQ, items, nItems, f, k, null, null, oi, os);
              checkTopK(queries, nQ, items, nItems, f, k, null, null, oi, os, true);
            }
            // Exclude everything but three items for query 0.
            const all = Array.from({ length: nItems }, (_, i) => i).filter(
              (i) => i !== 5 && i !== 100 && i !== 202,
            );
            const exPtr = new Int32Array(nQ + 1).fill(all.length);
            exPtr[0] = 0;
            const oi = new Int32Array(nQ * 5);
            const os = new Float32Array(nQ * 5);
            N().topK(queries, nQ, items, nItems, f, 5, exPtr, Int32Array.from(all), oi, os);
            checkTopK(queries, nQ, items, nItems, f, 5, exPtr, Int32Array.from(all), oi, os, true);
            assert.deepEqual(Array.from(oi.subarray(3, 5)), [-1, -1]);
          }
        }));

      it('topK never returns the zero padding of a partial item panel, even when every score is negative', () =>
        atLevel(level, () => {
          const f = 5;
          for (const nItems of [1, 17, 35]) {
            const items = new Float32Array(nItems * f).fill(1);
            for (const nQ of [1, 7, 30]) {
              const queries = new Float32Array(nQ * f).fill(-1);
              const k = 3;
              const oi = new Int32Array(nQ * k);
              const os = new Float32Array(nQ * k);
              N().topK(queries, nQ, items, nItems, f, k, null, null, oi, os);
              checkTopK(queries, nQ, items, nItems, f, k, null, null, oi, os, true);
            }
          }
        }));

      it('topK with k = 0 or no items writes only padding', () =>
        atLevel(level, () => {
          const q = Float32Array.of(1, 2);
          N().topK(q, 1, new Float32Array(0), 0, 2, 0, null, null, new Int32Array(0), new Float32Array(0));
          const oi = new Int32Array(3).fill(9);
          const os = new Float32Array(3);
          N().topK(q, 1, new Float32Array(0), 0, 2, 3, null, null, oi, os);
          assert.deepEqual(Array.from(oi), [-1, -1, -1]);
          assert.deepEqual(Array.from(os), [
            Number.NEGATIVE_INFINITY,
            Number.NEGATIVE_INFINITY,
            Number.NEGATIVE_INFINITY,
          ]);
        }));
    });
  }

  // -------------------------------------------------------------------------------------------
  describe('shared memory views at non-zero offsets', () => {
    const SENTINEL = 0x5a5a5a5a;

    /** Copies of `arrays` placed in one SharedArrayBuffer at staggered, unaligned-to-16 offsets,
     * with guard words filled with a sentinel around each. */
    function inShared<T extends Array<Float32Array | Int32Array>>(
      arrays: T,
      buffer?: SharedArrayBuffer,
    ): { views: T; guards: Int32Array } {
      const words = arrays.reduce((s, a) => s + a.length + 3, 7);
      const sab = buffer ?? new SharedArrayBuffer(words * 4 + 64);
      const guards = new Int32Array(sab);
      guards.fill(SENTINEL);
      let at = 1; // word offset: byteOffset 4, 4 + ..., never 0 and rarely 16-aligned
      const views = arrays.map((a) => {
        const v =
          a instanceof Float32Array
            ? new Float32Array(sab, at * 4, a.length)
            : new Int32Array(sab, at * 4, a.length);
        v.set(a);
        at += a.length + 3;
        return v;
      }) as T;
      return { views, guards };
    }

    /** Every word of the buffer outside the given views still holds the sentinel. */
    function assertGuards(guards: Int32Array, views: Array<Float32Array | Int32Array>) {
      const inside = new Uint8Array(guards.length);
      for (const v of views) inside.fill(1, v.byteOffset / 4, v.byteOffset / 4 + v.length);
      for (let w = 0; w < guards.length; w++)
        if (!inside[w]) assert.equal(guards[w], SENTINEL, `guard word ${w} overwritten`);
    }

    it('gramian, explicit, implicit and topK give bit-identical results on SAB views', () => {
      const rng = new Rng(51);
      const f = 13;
      const nRows = 20;
      const nCols = 60;
      const csr = randomCsr(rng, {
        rows: nRows,
        cols: nCols,
        maxLen: 30,
        skew: 3,
        value: () => 1 + rng.int(5),
      });
      const other = normals(rng, nCols * f, 0.3);
      const otherBias = normals(rng, nCols, 0.1);

      // gramian
      const gPlain = new Float32Array(f * f);
      N().gramian(other, nCols, f, 0.1, gPlain);
      {
        const { views, guards } = inShared([other, new Float32Array(f * f)]);
        N().gramian(views[0], nCols, f, 0.1, views[1]);
        assert.deepEqual(views[1], gPlain);
        assert.deepEqual(views[0], other);
        assertGuards(guards, views);
      }

      // explicit, rows 3..17
      const outP = new Float32Array(nRows * f).fill(7);
      const biasP = new Float32Array(nRows).fill(7);
      N().explicitHalfStep(
        csr.indptr,
        csr.indices,
        csr.values,
        3,
        17,
        other,
        otherBias,
        outP,
        biasP,
        f,
        rowPenalties(csr.indptr, 0.05, 0.6, heap),
        0.1,
        3,
        true,
      );
      {
        const { views, guards } = inShared([
          csr.indptr,
          csr.indices,
          csr.values,
          other,
          otherBias,
          new Float32Array(nRows * f).fill(7),
          new Float32Array(nRows).fill(7),
          rowPenalties(csr.indptr, 0.05, 0.6, heap),
        ]);
        const [ip, ix, vals, oth, ob, out, ob2, rho] = views as [
          Int32Array,
          Int32Array,
          Float32Array,
          Float32Array,
          Float32Array,
          Float32Array,
          Float32Array,
          Float32Array,
        ];
        N().explicitHalfStep(ip, ix, vals, 3, 17, oth, ob, out, ob2, f, rho, 0.1, 3, true);
        assert.deepEqual(out, outP);
        assert.deepEqual(ob2, biasP);
        assertGuards(guards, views);
      }

      // implicit, rows 1..19, warm start
      const start = normals(rng, nRows * f, 0.1);
      const impP = Float32Array.from(start);
      N().implicitHalfStep(csr.indptr, csr.indices, csr.values, 1, 19, other, gPlain, impP, f, 3);
      {
        const { views, guards } = inShared([
          csr.indptr,
          csr.indices,
          csr.values,
          other,
          gPlain,
          Float32Array.from(start),
        ]);
        const [ip, ix, vals, oth, g, out] = views as [
          Int32Array,
          Int32Array,
          Float32Array,
          Float32Array,
          Float32Array,
          Float32Array,
        ];
        N().implicitHalfStep(ip, ix, vals, 1, 19, oth, g, out, f, 3);
        assert.deepEqual(out, impP);
        assertGuards(guards, views);
      }

      // topK on both paths, with exclusions
      for (const nQ of [3, 11]) {
        const k = 7;
        const queries = normals(rng, nQ * f, 1);
        const exPtr = new Int32Array(nQ + 1);
        const ex: number[] = [];
        for (let q = 0; q < nQ; q++) {
          for (let e = 0; e < q; e++) ex.push(rng.int(nCols));
          exPtr[q + 1] = ex.length;
        }
        const exIdx = Int32Array.from(ex);
        const oiP = new Int32Array(nQ * k);
        const osP = new Float32Array(nQ * k);
        N().topK(queries, nQ, other, nCols, f, k, exPtr, exIdx, oiP, osP);
        checkTopK(queries, nQ, other, nCols, f, k, exPtr, exIdx, oiP, osP, false);
        const { views, guards } = inShared([
          queries,
          other,
          exPtr,
          exIdx,
          new Int32Array(nQ * k),
          new Float32Array(nQ * k),
        ]);
        const [qv, iv, ep, ei, oi, os] = views as [
          Float32Array,
          Float32Array,
          Int32Array,
          Int32Array,
          Int32Array,
          Float32Array,
        ];
        N().topK(qv, nQ, iv, nCols, f, k, ep, ei, oi, os);
        assert.deepEqual(oi, oiP);
        assert.deepEqual(os, osP);
        assertGuards(guards, views);
      }
    });

    it('works on arena views, including a shared WebAssembly.Memory arena, through createNativeKernels', async () => {
      const kernels = await createNativeKernels();
      assert.equal(kernels.name, 'native');
      for (const wasm of [false, true]) {
        const arena = Arena.create(1 << 20, { wasm });
        const rng = new Rng(52);
        const f = 16;
        const nCols = 100;
        const nRows = 12;
        const c = randomCsr(rng, {
          rows: nRows,
          cols: nCols,
          maxLen: 20,
          skew: 3,
          value: () => 2 + rng.next(),
        });
        const csr = {
          indptr: arena.copyOf(c.indptr),
          indices: arena.copyOf(c.indices),
          values: arena.copyOf(c.values),
        };
        const y = arena.copyOf(normals(rng, nCols * f, 0.3));
        const gram = arena.f32(f * f);
        kernels.gramian(y, nCols, f, 0.1, gram);
        assertClose(gram, gramRef(y, nCols, f, 0.1), 2e-6, 'arena gram');
        const start = normals(rng, nRows * f, 0.1);
        const out = arena.copyOf(start);
        kernels.implicitHalfStep({
          csr,
          rowStart: 0,
          rowEnd: nRows,
          other: y,
          gram,
          out,
          factors: f,
          cgSteps: 3,
        });
        for (let u = 0; u < nRows; u++)
          assertClose(
            out.subarray(u * f, u * f + f),
            cgRef(csr, u, y, gram, start.subarray(u * f, u * f + f), f, 3),
            2e-3,
            `arena cg ${u}`,
          );
        const xo = arena.f32(nRows * f);
        const bo = arena.f32(nRows);
        const ob = arena.f32(nCols);
        kernels.explicitHalfStep({
          csr,
          rowStart: 0,
          rowEnd: nRows,
          other: y,
          otherBias: ob,
          out: xo,
          outBias: bo,
          factors: f,
          rowReg: arena.copyOf(rowPenalties(csr.indptr, 0.1, 1, heap)),
          biasReg: 1,
          globalMean: 2,
          useBias: false,
        });
        for (let u = 0; u < nRows; u++) {
          const { a, b, d, n } = explicitSystem(
            csr,
            u,
            y,
            ob,
            f,
            0.1 * (csr.indptr[u + 1] - csr.indptr[u]),
            1,
            2,
            false,
          );
          assertClose(
            xo.subarray(u * f, u * f + f),
            n ? spdSolve(a, b, d) : new Float64Array(f),
            1e-4,
            `arena explicit ${u}`,
          );
        }
        const queries = arena.copyOf(normals(rng, 8 * f, 1));
        const oi = arena.i32(8 * 5);
        const os = arena.f32(8 * 5);
        kernels.topK({
          queries,
          nQueries: 8,
          items: y,
          nItems: nCols,
          factors: f,
          k: 5,
          excludeIndptr: csr.indptr.subarray(0, 9),
          excludeIndices: csr.indices,
          outIndices: oi,
          outScores: os,
        });
        checkTopK(queries, 8, y, nCols, f, 5, csr.indptr.subarray(0, 9), csr.indices, oi, os, false);
      }
    });
  });

  it('worker threads share one SharedArrayBuffer and write disjoint row ranges concurrently', async () => {
    const rng = new Rng(61);
    const f = 24;
    const nRows = 400;
    const nCols = 300;
    const csr = randomCsr(rng, {
      rows: nRows,
      cols: nCols,
      maxLen: 80,
      skew: 3,
      value: () => 1 + 10 * rng.next(),
    });
    const y = normals(rng, nCols * f, 0.2);
    const gram = new Float32Array(f * f);
    N().gramian(y, nCols, f, 0.1, gram);
    const start = normals(rng, nRows * f, 0.1);
    const want = Float32Array.from(start);
    N().implicitHalfStep(csr.indptr, csr.indices, csr.values, 0, nRows, y, gram, want, f, 3);

    // One SAB holding every array; the output view starts at a non-zero offset.
    const parts = [csr.indptr, csr.indices, csr.values, y, gram, start];
    const sab = new SharedArrayBuffer(parts.reduce((s, a) => s + a.byteLength + 16, 16));
    let at = 8;
    const refs = parts.map((a) => {
      const ref = { offset: at, length: a.length, int: a instanceof Int32Array };
      (ref.int ? new Int32Array(sab, at, a.length) : new Float32Array(sab, at, a.length)).set(a);
      at += a.byteLength + 12;
      return ref;
    });
    const code = `
      const { parentPort, workerData: w } = require('node:worker_threads');
      const n = require(w.addon);
      const v = w.refs.map((r) => (r.int ? new Int32Array(w.sab, r.offset, r.length) : new Float32Array(w.sab, r.offset, r.length)));
      for (let rep = 0; rep < 3; rep++) n.implicitHalfStep(v[0], v[1], v[2], w.rowStart, w.rowEnd, v[3], v[4], v[5], w.f, 0);
      n.implicitHalfStep(v[0], v[1], v[2], w.rowStart, w.rowEnd, v[3], v[4], v[5], w.f, 3);
      parentPort.postMessage('done');`;
    const bounds = [0, 97, 230, 231, nRows];
    await Promise.all(
      bounds.slice(1).map(
        (rowEnd, i) =>
          new Promise((resolve, reject) => {
            const worker = new Worker(code, {
              eval: true,
              workerData: { sab, refs, addon: nativeAddonPath(), rowStart: bounds[i], rowEnd, f },
            });
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    // cgSteps = 0 leaves non-empty rows as they were, so only the final call changes them.
    assert.deepEqual(new Float32Array(sab, refs[5].offset, refs[5].length), want);
  });

  // -------------------------------------------------------------------------------------------
  describe('argument validation', () => {
    const f = 4;
    const csr = {
      indptr: Int32Array.of(0, 2, 3),
      indices: Int32Array.of(0, 2, 1),
      values: Float32Array.of(1, 2, 3),
    };
    const other = new Float32Array(3 * f).fill(0.5);
    const gram = new Float32Array(f * f);
    const implicitCall = (over: Partial<Record<string, unknown>> = {}) => {
      const a = {
        indptr: csr.indptr,
        indices: csr.indices,
        values: csr.values,
        rowStart: 0,
        rowEnd: 2,
        other,
        gram,
        out: new Float32Array(2 * f),
        factors: f,
        cgSteps: 3,
        ...over,
      };
      return () =>
        (N().implicitHalfStep as (...args: unknown[]) => void)(
          a.indptr,
          a.indices,
          a.values,
          a.rowStart,
          a.rowEnd,
          a.other,
          a.gram,
          a.out,
          a.factors,
          a.cgSteps,
        );
    };

    it('rejects bad CSR ranges and indices with a clear message', () => {
      assert.throws(implicitCall({ rowEnd: 3 }), /indptr has length 3, needs at least 4/);
      assert.throws(implicitCall({ rowStart: 2, rowEnd: 1 }), /rowStart \(2\) must not exceed rowEnd \(1\)/);
      assert.throws(implicitCall({ rowStart: -1 }), /rowStart must be an integer/);
      assert.throws(implicitCall({ rowEnd: 1.5 }), /rowEnd must be an integer/);
      assert.throws(implicitCall({ indptr: Int32Array.of(0, 2, 1) }), /indptr must be non-decreasing/);
      assert.throws(implicitCall({ indptr: Int32Array.of(-1, 2, 3) }), /indptr\[0\] is negative/);
      assert.throws(implicitCall({ indptr: Int32Array.of(0, 2, 9) }), /exceeds the entries available/);
      assert.throws(
        implicitCall({ indices: Int32Array.of(0, 3, 1) }),
        /indices\[1\] = 3 is out of range \[0, 3\)/,
      );
      assert.throws(implicitCall({ indices: Int32Array.of(0, -2, 1) }), /indices\[1\] = -2 is out of range/);
      assert.throws(implicitCall({ values: Float32Array.of(1, 2) }), /exceeds the entries available/);
      assert.throws(implicitCall({ out: new Float32Array(2 * f - 1) }), /out has length 7, needs at least 8/);
      assert.throws(implicitCall({ gram: new Float32Array(f * f - 1) }), /gram has length 15/);
      assert.throws(implicitCall({ factors: 0 }), /factors must be an integer in \[1, 4096\]/);
      assert.throws(implicitCall({ cgSteps: Number.NaN }), /cgSteps must be an integer/);
      // A row range past the end of a shorter `other` is caught through the index check.
      assert.throws(implicitCall({ other: new Float32Array(2 * f) }), /out of range \[0, 2\)/);
      // The process is still alive and the kernel still works.
      implicitCall()();
    });

    it('rejects wrong array types', () => {
      assert.throws(implicitCall({ indptr: Float32Array.of(0, 2, 3) }), /indptr must be a Int32Array/);
      assert.throws(implicitCall({ values: Float64Array.of(1, 2, 3) }), /values must be a Float32Array/);
      assert.throws(implicitCall({ other: [0.5, 0.5] }), /other must be a Float32Array/);
      assert.throws(implicitCall({ out: null }), /out must be a Float32Array/);
    });

    it('rejects outputs that alias inputs', () => {
      const buf = new Float32Array(64);
      assert.throws(
        implicitCall({ other: buf.subarray(0, 3 * f), out: buf.subarray(4, 4 + 2 * f) }),
        /out overlaps other/,
      );
      assert.throws(() => N().gramian(buf, 4, 4, 0, buf.subarray(8, 24)), /out overlaps y/);
      // Adjacent but disjoint is fine.
      N().gramian(buf.subarray(0, 16), 4, 4, 0, buf.subarray(16, 32));
    });

    it('validates explicit and topK arguments', () => {
      const explicitCall = (over: Partial<Record<string, unknown>> = {}) => {
        const a = {
          ...{ otherBias: new Float32Array(3), out: new Float32Array(2 * f), outBias: new Float32Array(2) },
          ...{ rowReg: Float32Array.of(0.1, 0.1), biasReg: 1, useBias: true, ...over },
        };
        return () =>
          (N().explicitHalfStep as (...args: unknown[]) => void)(
            ...[csr.indptr, csr.indices, csr.values, 0, 2, other, a.otherBias, a.out, a.outBias, f],
            ...[a.rowReg, a.biasReg, 0, a.useBias],
          );
      };
      assert.throws(
        explicitCall({ otherBias: new Float32Array(2) }),
        /out of range \[0, 2\) \(rows of other and entries of otherBias\)/,
      );
      explicitCall({ otherBias: new Float32Array(2), useBias: false })();
      assert.throws(explicitCall({ outBias: new Float32Array(1) }), /outBias has length 1, needs at least 2/);
      assert.throws(explicitCall({ rowReg: Float32Array.of(0.1) }), /rowReg has length 1, needs at least 2/);
      assert.throws(explicitCall({ rowReg: Float32Array.of(0.1, -1) }), /rowReg\[1\] must be finite and ≥ 0/);
      assert.throws(explicitCall({ rowReg: Float32Array.of(Number.NaN, 1) }), /rowReg\[0\] must be finite/);
      assert.throws(explicitCall({ biasReg: -0.5 }), /biasReg must be finite and ≥ 0/);
      assert.throws(explicitCall({ rowReg: new Float64Array(2) }), /rowReg must be a Float32Array/);
      const buf = new Float32Array(16);
      assert.throws(
        explicitCall({ rowReg: buf.subarray(0, 2), out: buf.subarray(1, 9) }),
        /out overlaps rowReg/,
      );
      explicitCall({ biasReg: 0 })();
      const q = new Float32Array(2 * f);
      const oi = new Int32Array(2 * 3);
      const os = new Float32Array(2 * 3);
      assert.throws(
        () => N().topK(q, 3, other, 3, f, 3, null, null, oi, os),
        /queries has length 8, needs at least 12/,
      );
      assert.throws(
        () => N().topK(q, 2, other, 4, f, 3, null, null, oi, os),
        /items has length 12, needs at least 16/,
      );
      assert.throws(
        () => N().topK(q, 2, other, 3, f, 4, null, null, oi, os),
        /outIndices has length 6, needs at least 8/,
      );
      assert.throws(
        () => N().topK(q, 2, other, 3, f, 3, Int32Array.of(0, 0, 0), null, oi, os),
        /both be given or both be null/,
      );
      assert.throws(
        () => N().topK(q, 2, other, 3, f, 3, Int32Array.of(0, 0), new Int32Array(0), oi, os),
        /excludeIndptr has length 2, needs at least 3/,
      );
      assert.throws(
        () => N().topK(q, 2, other, 3, f, 3, Int32Array.of(0, 2, 1), Int32Array.of(0, 1), oi, os),
        /non-decreasing/,
      );
      assert.throws(
        () => N().topK(q, 2, other, 3, f, 3, Int32Array.of(0, 1, 5), Int32Array.of(0, 1), oi, os),
        /exceeds excludeIndices length 2/,
      );
      // Out-of-range exclusion entries are legal and simply match nothing.
      N().topK(q, 2, other, 3, f, 3, Int32Array.of(0, 2, 2), Int32Array.of(-5, 99), oi, os);
      assert.deepEqual(Array.from(oi.subarray(0, 3)), [0, 1, 2]);
    });
  });
});

describe('native backend loader', () => {
  it('says how to build the addon when it is missing', () => {
    assert.throws(
      () => nativeAddonPath('/nonexistent/recsys-native.node'),
      (err: Error) =>
        err instanceof NativeNotBuiltError && /not built.*npm run build:native/.test(err.message),
    );
  });
});
