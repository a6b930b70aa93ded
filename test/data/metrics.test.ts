// Metrics on hand-computed examples (definitions as implicit's ranking_metrics_at_k).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  catalogCoverage,
  mae,
  mapAtK,
  ndcgAtK,
  precisionAtK,
  rankingMetricsAtK,
  recallAtK,
  rmse,
} from '../../src/data/metrics.js';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} ≉ ${b}`);

describe('rating metrics', () => {
  test('rmse and mae', () => {
    const pred = new Float32Array([1, 2, 3]);
    const truth = [2, 2, 5];
    close(rmse(pred, truth), Math.sqrt(5 / 3));
    close(mae(pred, truth), 1);
    close(rmse([4], [4]), 0);
    assert.ok(Number.isNaN(rmse([], [])));
    assert.ok(Number.isNaN(mae([], [])));
    assert.throws(() => rmse([1], [1, 2]), RangeError);
  });
});

describe('ranking metrics', () => {
  // Three users, K = 3. Held-out items: user 0 {1, 5}, user 1 {3}, user 2 none.
  const test_ = { indptr: new Int32Array([0, 2, 3, 3]), indices: new Int32Array([1, 5, 3]) };
  // biome-ignore format: one line per user (row of the top-K matrix)
  const recs = new Int32Array([
    5, 2, 1, // user 0: hits at ranks 0 and 2
    0, -1, -1, // user 1: no hit, padded
    4, 4, 4, // user 2: not evaluated (no test items)
  ]);
  // user 0: AP = (1/1 + 2/3) / min(3, 2); DCG = 1 + 1/log2(4); IDCG = 1 + 1/log2(3)
  const ap0 = (1 + 2 / 3) / 2;
  const ndcg0 = (1 + 0.5) / (1 + 1 / Math.log2(3));

  test('precision, recall, MAP, NDCG by hand', () => {
    close(precisionAtK(recs, test_, 3), 2 / 3); // (2 + 0) / (min(3,2) + min(3,1))
    close(recallAtK(recs, test_, 3), (1 + 0) / 2);
    close(mapAtK(recs, test_, 3), ap0 / 2);
    close(ndcgAtK(recs, test_, 3), ndcg0 / 2);
    assert.equal(rankingMetricsAtK(recs, test_, 3).users, 2);
  });

  test('K smaller than the list (stride), and a user-row mapping', () => {
    // @1 from the top-3 lists: user 0 hits at rank 0, user 1 misses.
    const m = rankingMetricsAtK(recs, test_, 1, { stride: 3 });
    close(m.precision, 1 / 2);
    close(m.recall, (1 / 2 + 0) / 2);
    close(m.map, (1 + 0) / 2);
    close(m.ndcg, (1 + 0) / 2);
    // Only user 0's list is given (as row 0): user 1 still counts, with zero hits.
    const only0 = rankingMetricsAtK(new Int32Array([5, 2, 1]), test_, 3, { users: new Int32Array([0]) });
    close(only0.precision, 2 / 3);
    close(only0.map, ap0 / 2);
    assert.throws(() => rankingMetricsAtK(new Int32Array([5, 2, 1]), test_, 3), RangeError);
  });

  test('perfect and empty cases; a repeated item counts once', () => {
    const t = { indptr: new Int32Array([0, 3]), indices: new Int32Array([7, 8, 9]) };
    const perfect = rankingMetricsAtK(new Int32Array([9, 7, 8]), t, 3);
    assert.deepEqual(perfect, { precision: 1, recall: 1, map: 1, ndcg: 1, users: 1 });
    const repeated = rankingMetricsAtK(new Int32Array([7, 7, 7]), t, 3);
    close(repeated.precision, 1 / 3);
    close(repeated.map, 1 / 3);
    // More test items than K: precision and MAP divide by K, recall by |T|.
    const wide = rankingMetricsAtK(new Int32Array([7, 0]), t, 2);
    close(wide.precision, 1 / 2);
    close(wide.recall, 1 / 3);
    close(wide.map, 1 / 2);
    close(wide.ndcg, 1 / (1 + 1 / Math.log2(3)));
    const none = rankingMetricsAtK(
      new Int32Array([1]),
      { indptr: new Int32Array([0, 0]), indices: new Int32Array() },
      1,
    );
    assert.equal(none.users, 0);
    assert.ok(Number.isNaN(none.precision));
  });

  test('catalog coverage', () => {
    close(catalogCoverage(recs, 10), 5 / 10); // {5, 2, 1, 0, 4}
    close(catalogCoverage(new Int32Array([-1, -1]), 4), 0);
    close(catalogCoverage(new Int32Array([0, 1, 2, 3, 3]), 4), 1);
  });
});
