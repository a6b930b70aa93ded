// Fold-in against trained models: a training user's own interactions, folded in against the
// fixed item factors, give a vector close to the trained one (same half-step math), for
// every backend and both modes; bad input is refused with a clear error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from '../../src/compute/backends.js';
import { ComputePool } from '../../src/compute/pool.js';
import { plantedLowRank } from '../../src/data/synthetic.js';
import { fitAls } from '../../src/model/fit.js';
import { FoldIn } from '../../src/model/fold-in.js';
import type { AlsModel } from '../../src/model/model.js';
import { DEFAULT_PARAMS } from '../../src/model/params.js';

const planted = plantedLowRank({ users: 200, items: 150, rank: 4, perUser: 30, noise: 0.1, seed: 11 });

/** The training entries (item indices, values) of user u. */
function entriesOf(u: number, data: { rows: Int32Array; cols: Int32Array; values: Float32Array }) {
  const items: number[] = [];
  const values: number[] = [];
  for (let e = 0; e < data.rows.length; e++) {
    if (data.rows[e] === u) {
      items.push(data.cols[e]);
      values.push(data.values[e]);
    }
  }
  return { items, values };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let c = 0; c < a.length; c++) {
    ab += a[c] * b[c];
    aa += a[c] * a[c];
    bb += b[c] * b[c];
  }
  return ab / Math.sqrt(aa * bb);
}

/** Indices of the top n items for a query vector (plain dot product over item factors). */
function topItems(model: AlsModel, vector: Float32Array, n: number): number[] {
  const f = model.factors;
  const scores = model.itemIds.map((_, i) => {
    let s = 0;
    for (let c = 0; c < f; c++) s += vector[c] * model.itemFactors[i * f + c];
    return [s, i] as const;
  });
  return scores
    .sort((x, y) => y[0] - x[0])
    .slice(0, n)
    .map(([, i]) => i);
}

describe('fold-in', () => {
  let pool: ComputePool;
  let explicit: AlsModel;
  let implicit: AlsModel;
  let implicitData: { rows: Int32Array; cols: Int32Array; values: Float32Array };
  before(async () => {
    pool = new ComputePool(2);
    explicit = (
      await fitAls(
        planted,
        { ...DEFAULT_PARAMS.explicit, factors: 8, iterations: 10, lambda: 0.05 },
        { backend: 'js', pool },
      )
    ).model;
    const keep = [...planted.values.keys()].filter((e) => planted.values[e] > 3.2);
    implicitData = {
      rows: Int32Array.from(keep, (e) => planted.rows[e]),
      cols: Int32Array.from(keep, (e) => planted.cols[e]),
      values: new Float32Array(keep.length).fill(1),
    };
    implicit = (
      await fitAls(
        { ...planted, ...implicitData },
        { ...DEFAULT_PARAMS.implicit, factors: 8, iterations: 10, lambda: 0.1, alpha: 10 },
        { backend: 'js', pool },
      )
    ).model;
  });
  after(() => pool.destroy());

  for (const backend of BACKENDS) {
    it(`${backend}: explicit fold-in of a training user's ratings matches the trained vector`, async () => {
      const fold = await FoldIn.create(explicit, backend);
      for (const u of [0, 17, 123]) {
        const { items, values } = entriesOf(u, planted);
        const got = fold.solve(items, values);
        assert.equal(got.entries, items.length);
        const trained = explicit.userVector(u);
        assert.ok(cosine(got.vector, trained) > 0.95, `cosine ${cosine(got.vector, trained)} for user ${u}`);
        assert.ok(
          Math.abs(got.bias - explicit.userBias[u]) < 0.2,
          `bias ${got.bias} vs ${explicit.userBias[u]}`,
        );
        const overlap = topItems(explicit, got.vector, 10).filter((i) =>
          topItems(explicit, trained, 10).includes(i),
        );
        assert.ok(overlap.length >= 7, `top-10 overlap ${overlap.length}`);
      }
    });

    it(`${backend}: implicit fold-in (CG from zero) ranks like the trained vector`, async () => {
      const fold = await FoldIn.create(implicit, backend);
      for (const u of [3, 50, 199]) {
        const { items, values } = entriesOf(u, implicitData);
        if (items.length === 0) continue;
        const got = fold.solve(items, values);
        assert.equal(got.bias, 0);
        const trained = implicit.userVector(u);
        assert.ok(cosine(got.vector, trained) > 0.9, `cosine ${cosine(got.vector, trained)} for user ${u}`);
        const overlap = topItems(implicit, got.vector, 10).filter((i) =>
          topItems(implicit, trained, 10).includes(i),
        );
        assert.ok(overlap.length >= 6, `top-10 overlap ${overlap.length}`);
      }
    });
  }

  it('merges repeated items as training does and refuses bad input', async () => {
    const fold = await FoldIn.create(explicit, 'js', { maxEntries: 4 });
    const once = fold.solve([5, 9], [4, 2]);
    const twice = fold.solve([5, 9, 5], [1, 2, 4]); // explicit: the last rating wins
    assert.deepEqual(twice.vector, once.vector);
    assert.equal(
      fold.solve([], []).vector.every((x) => x === 0),
      true,
    );
    assert.throws(() => fold.solve([150], [1]), /item index 150/);
    assert.throws(() => fold.solve([1], [Number.NaN]), /finite/);
    assert.throws(() => fold.solve([1, 2], [1]), /differ in length/);
    assert.throws(() => fold.solve([1, 2, 3, 4, 5], [1, 1, 1, 1, 1]), /exceed the fold-in limit/);
  });
});
