// The trainer against real kernels on the real pool: the penalised fixed point of a
// hand-computable set, recovery of a planted low-rank set, determinism across thread counts,
// agreement of trained factors across backends, save/load round trip.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from '../../src/compute/backends.js';
import { ComputePool } from '../../src/compute/pool.js';
import { IdMap } from '../../src/data/ids.js';
import { plantedLowRank } from '../../src/data/synthetic.js';
import { evaluateRanking, evaluateRatings } from '../../src/model/evaluate.js';
import { fitAls } from '../../src/model/fit.js';
import { AlsModel } from '../../src/model/model.js';
import { DEFAULT_PARAMS } from '../../src/model/params.js';
import { tempDir } from '../helpers.js';

const planted = plantedLowRank({ users: 300, items: 200, rank: 4, perUser: 40, noise: 0.1, seed: 7 });
const explicit = { ...DEFAULT_PARAMS.explicit, factors: 8, iterations: 8, lambda: 0.02 };

/** RMSE of the model against the noiseless truth on pairs nobody rated. */
function truthRmse(model: AlsModel, samples = 2000): number {
  let s = 0;
  for (let n = 0; n < samples; n++) {
    const u = (n * 7919) % 300;
    const i = (n * 104729) % 200;
    const err = model.predict(u, i) - planted.truth(u, i);
    s += err * err;
  }
  return Math.sqrt(s / samples);
}

describe('ALS trainer', () => {
  let pool1: ComputePool;
  let pool2: ComputePool;
  before(() => {
    pool1 = new ComputePool(1);
    pool2 = new ComputePool(2);
  });
  after(async () => {
    await pool1.destroy();
    await pool2.destroy();
  });

  /*
   * A complete 4 × 3 matrix R = 3 + u vᵀ of rank one around its mean (Σu = 0, so μ = 3).
   * With one factor, no biases and ρ_u = λ·3^p for every user (3 ratings each), ρ_i = λ·4^p
   * for every item (4 ratings each), ALS's only non-zero fixed point is x = a·û, y = b·v̂
   * with ρ_u·a² = ρ_i·b² and a·b = σ − √(ρ_u·ρ_i), σ = |u|·|v|: the penalty shrinks the
   * singular value by √(ρ_u·ρ_i). Without the penalty a·b = σ (an exact fit) and the balance
   * between a and b is arbitrary, so both checks below fail.
   */
  for (const backend of BACKENDS) {
    it(`${backend}: explicit ALS reaches the hand-computed penalised fixed point`, async () => {
      const u = [1, -1, 2, -2];
      const v = [1, 2, 2];
      const rows: number[] = [];
      const cols: number[] = [];
      const values: number[] = [];
      for (let a = 0; a < u.length; a++)
        for (let b = 0; b < v.length; b++) {
          rows.push(a);
          cols.push(b);
          values.push(3 + u[a] * v[b]);
        }
      const ids = (prefix: string, n: number) => {
        const m = new IdMap();
        for (let i = 0; i < n; i++) m.add(`${prefix}${i}`);
        return m;
      };
      const data = {
        ...{ userIds: ids('u', u.length), itemIds: ids('i', v.length) },
        ...{ rows: Int32Array.from(rows), cols: Int32Array.from(cols), values: Float32Array.from(values) },
      };
      const params = {
        ...explicit,
        ...{ factors: 1, iterations: 40, lambda: 1, regExponent: 0.6, useBias: false },
      };
      const { model } = await fitAls(data, params, { backend, pool: pool1 });
      const norm = (w: number[]) => Math.sqrt(w.reduce((t, x) => t + x * x, 0));
      const sigma = norm(u) * norm(v);
      const rhoU = params.lambda * v.length ** params.regExponent;
      const rhoI = params.lambda * u.length ** params.regExponent;
      const ab = sigma - Math.sqrt(rhoU * rhoI);
      assert.ok(ab > 1 && ab < 0.9 * sigma, 'the case shrinks clearly but not to zero');
      // Every predicted deviation is the data's, shrunk by ab/σ (≈ 0.78 here).
      for (let a = 0; a < u.length; a++)
        for (let b = 0; b < v.length; b++) {
          const got = model.userFactors[a] * model.itemFactors[b];
          const want = (ab / sigma) * u[a] * v[b];
          assert.ok(
            Math.abs(got - want) < 1e-3,
            `x${a}·y${b} = ${got}, want ${want} (unpenalised ${u[a] * v[b]})`,
          );
        }
      // And the penalty balances the two sides: |x|² = ab·√(ρ_i/ρ_u), |y|² = ab·√(ρ_u/ρ_i).
      const x2 = model.userFactors.reduce((t, x) => t + x * x, 0);
      const y2 = model.itemFactors.reduce((t, y) => t + y * y, 0);
      assert.ok(Math.abs(x2 - ab * Math.sqrt(rhoI / rhoU)) < 1e-3, `|x|² = ${x2}`);
      assert.ok(Math.abs(y2 - ab * Math.sqrt(rhoU / rhoI)) < 1e-3, `|y|² = ${y2}`);
    });
  }

  it('trains the same explicit factors on every backend (same data, params and seed)', async () => {
    const small = plantedLowRank({ users: 120, items: 90, rank: 3, perUser: 20, noise: 0.1, seed: 11 });
    const params = { ...explicit, factors: 6, iterations: 5, lambda: 0.05 };
    const fits = await Promise.all(
      BACKENDS.map(async (backend) => ({
        backend,
        model: (await fitAls(small, params, { backend, pool: pool2 })).model,
      })),
    );
    // Measured differences are ~5e-6 (float32 rounding in other orders); a wrong penalty or
    // bias term on one backend moves factors by orders of magnitude more.
    const ref = fits.find((x) => x.backend === 'js')!.model;
    const maxAbs = (w: Float32Array) => w.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    for (const { backend, model } of fits) {
      for (const key of ['userFactors', 'itemFactors', 'userBias', 'itemBias'] as const) {
        const got = model[key];
        const want = ref[key];
        let diff = 0;
        for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(got[i] - want[i]));
        assert.ok(diff <= 1e-4 * Math.max(1, maxAbs(want)), `${backend} ${key} differs from js by ${diff}`);
      }
    }
  });

  for (const backend of BACKENDS) {
    it(`${backend}: recovers a planted rank-4 matrix to near the noise level`, async () => {
      const { model } = await fitAls(planted, explicit, { backend, pool: pool2 });
      const train = evaluateRatings(model, planted);
      assert.ok(train.rmse! < 0.15, `training RMSE ${train.rmse} should approach the noise (0.1)`);
      const unseen = truthRmse(model);
      assert.ok(unseen < 0.2, `RMSE on unrated pairs ${unseen}`);
    });
  }

  it('gives identical factors for 1 and 2 threads with the same seed', async () => {
    const a = await fitAls(planted, explicit, { backend: 'native', pool: pool1 });
    const b = await fitAls(planted, explicit, { backend: 'native', pool: pool2 });
    assert.deepEqual(a.model.itemFactors, b.model.itemFactors);
    assert.deepEqual(a.model.userBias, b.model.userBias);
    const c = await fitAls(planted, { ...explicit, seed: 8 }, { backend: 'native', pool: pool2 });
    assert.notDeepEqual(a.model.itemFactors, c.model.itemFactors);
  });

  it('implicit mode ranks held-out items of a planted set far above chance', async () => {
    // Treat high ratings as implicit positives; hold out every 5th positive.
    const rows: number[] = [];
    const cols: number[] = [];
    const testRows: number[] = [];
    const testCols: number[] = [];
    let n = 0;
    for (let e = 0; e < planted.rows.length; e++) {
      if (planted.values[e] < 3.3) continue;
      const [rs, cs] = n++ % 5 === 0 ? [testRows, testCols] : [rows, cols];
      rs.push(planted.rows[e]);
      cs.push(planted.cols[e]);
    }
    const data = {
      ...planted,
      rows: Int32Array.from(rows),
      cols: Int32Array.from(cols),
      values: new Float32Array(rows.length).fill(1),
    };
    const params = { ...DEFAULT_PARAMS.implicit, factors: 8, iterations: 10, lambda: 0.1, alpha: 10 };
    const { model } = await fitAls(data, params, { backend: 'native', pool: pool2 });
    const test = {
      rows: Int32Array.from(testRows),
      cols: Int32Array.from(testCols),
      values: new Float32Array(testRows.length).fill(1),
    };
    const m = await evaluateRanking(model, test, 10, 'native', pool2);
    // Random ranking would give precision ≈ test items per user / unseen items ≈ 0.03.
    assert.ok(m.precision_at_k! > 0.1, `precision@10 ${m.precision_at_k}`);
    assert.ok(m.coverage! > 0 && m.coverage! <= 1);
  });

  it('saves and loads a model that predicts the same', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { model } = await fitAls(planted, explicit, { backend: 'js', pool: pool2 });
      const out = path.join(dir, 'model');
      await model.save(out);
      const loaded = await AlsModel.load(out);
      assert.equal(loaded.meta.version, model.meta.version);
      assert.deepEqual(loaded.userIds, model.userIds);
      for (const [u, i] of [
        [0, 0],
        [17, 33],
        [299, 199],
      ])
        assert.equal(loaded.predict(u, i), model.predict(u, i));
      assert.deepEqual(loaded.seen(5), model.seen(5));
      // Saving over an existing model replaces it; nothing temporary is left beside it.
      await model.save(out);
      assert.deepEqual(readdirSync(dir), ['model']);
    } finally {
      cleanup();
    }
  });

  it('a failed save leaves no partial folder', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { model } = await fitAls(planted, { ...explicit, iterations: 1 }, { backend: 'js', pool: pool1 });
      const blocker = path.join(dir, 'file');
      writeFileSync(blocker, 'x');
      await assert.rejects(model.save(path.join(blocker, 'model')));
      assert.deepEqual(readdirSync(dir), ['file']);
      assert.equal(existsSync(path.join(blocker, 'model')), false);
    } finally {
      cleanup();
    }
  });
});
