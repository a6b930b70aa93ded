// IdMap, table → COO, and COO → CSR / transpose against a naive reference, including
// duplicate (row, col) entries and arena (shared memory) allocation.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as arrow from 'apache-arrow';
import { Arena } from '../../src/compute/arena.js';
import { Rng } from '../../src/compute/random.js';
import { IdMap } from '../../src/data/ids.js';
import { loadInteractions } from '../../src/data/loaders.js';
import {
  type Csr,
  cooFromTable,
  cooFromTableKnown,
  cooToCsrPair,
  toCsr,
  transposeCsr,
} from '../../src/data/matrix.js';
import { syntheticMovieLens } from '../helpers.js';

let ml: ReturnType<typeof syntheticMovieLens>;
before(() => {
  ml = syntheticMovieLens();
});
after(() => ml.cleanup());

describe('IdMap', () => {
  test('dense indices in insertion order, reverse lookup, JSON round trip', () => {
    const m = new IdMap();
    assert.equal(m.add('b'), 0);
    assert.equal(m.add('a'), 1);
    assert.equal(m.add('b'), 0);
    assert.equal(m.size, 2);
    assert.equal(m.get('a'), 1);
    assert.equal(m.get('zz'), undefined);
    assert.equal(m.has('zz'), false);
    assert.equal(m.size, 2, 'get/has do not add');
    assert.equal(m.id(1), 'a');
    assert.throws(() => m.id(2), RangeError);
    assert.throws(() => m.id(-1), RangeError);
    assert.deepEqual(m.toJSON(), ['b', 'a']);
    assert.equal(JSON.stringify(m), '["b","a"]');
    const back = IdMap.fromJSON(JSON.parse(JSON.stringify(m)));
    assert.deepEqual(back.ids(), ['b', 'a']);
    assert.equal(back.get('a'), 1);
    assert.throws(() => IdMap.fromJSON(['x', 'x']), /duplicate/);
    assert.throws(() => IdMap.fromJSON(['x', 3]), /not a string/);
  });
});

describe('cooFromTable', () => {
  test('MovieLens u1.base: indices map back to the table ids', async () => {
    const table = await loadInteractions(path.join(ml.dir, 'u1.base'));
    const coo = cooFromTable(table);
    const users = table.getChild('user')!;
    const items = table.getChild('item')!;
    const values = table.getChild('value')!;
    const ts = table.getChild('ts')!;
    assert.equal(coo.rows.length, ml.folds[0]!.base);
    assert.equal(coo.userIds.size, ml.users);
    assert.equal(coo.itemIds.size, new Set(items.toArray()).size);
    for (let k = 0; k < coo.rows.length; k += 97) {
      assert.equal(coo.userIds.id(coo.rows[k]!), users.get(k));
      assert.equal(coo.itemIds.id(coo.cols[k]!), items.get(k));
      assert.equal(coo.values[k], values.get(k));
      assert.equal(coo.ts![k], ts.get(k));
    }
    assert.equal(coo.userIds.id(0), '1', 'first appearance order');
  });

  test('plain Utf8 / integer id columns, no value (1.0), timestamps all null → ts null', () => {
    const table = new arrow.Table({
      user: arrow.vectorFromArray(['u2', 'u1', 'u2'], new arrow.Utf8()),
      item: arrow.makeVector(new Int32Array([7, 7, 9])),
      ts: arrow.vectorFromArray([null, null, null], new arrow.TimestampMillisecond()),
    });
    const coo = cooFromTable(table);
    assert.deepEqual([...coo.rows], [0, 1, 0]);
    assert.deepEqual([...coo.cols], [0, 0, 1]);
    assert.deepEqual(coo.userIds.toJSON(), ['u2', 'u1']);
    assert.deepEqual(coo.itemIds.toJSON(), ['7', '9']);
    assert.deepEqual([...coo.values], [1, 1, 1]);
    assert.equal(coo.ts, null);
  });

  test('multi-batch dictionary table, shared maps across tables', async () => {
    const a = await loadInteractions(path.join(ml.dir, 'u1.base'));
    const b = await loadInteractions(path.join(ml.dir, 'u1.test'));
    const both = a.concat(b);
    assert.equal(both.batches.length, 2);
    const coo = cooFromTable(both);
    assert.equal(coo.rows.length, ml.ratings);
    assert.equal(coo.userIds.size, ml.users);
    assert.equal(coo.itemIds.size, ml.ratedItems);
    const userIds = new IdMap();
    const itemIds = new IdMap();
    const ca = cooFromTable(a, { userIds, itemIds });
    const cb = cooFromTable(b, { userIds, itemIds });
    assert.equal(ca.userIds, cb.userIds);
    assert.equal(userIds.size, ml.users);
    assert.equal(itemIds.size, ml.ratedItems);
    assert.equal(cb.userIds.id(cb.rows[5]!), b.getChild('user')!.get(5));
  });

  test('cooFromTableKnown drops and counts unknown users and items without growing the maps', () => {
    const userIds = IdMap.from(['a', 'b']);
    const itemIds = IdMap.from(['x']);
    const table = new arrow.Table({
      user: arrow.vectorFromArray(['a', 'c', 'b', 'c', 'd'], new arrow.Utf8()),
      item: arrow.vectorFromArray(['x', 'x', 'y', 'z', 'x'], new arrow.Utf8()),
      value: arrow.makeVector(new Float32Array([1, 2, 3, 4, 5])),
      ts: arrow.vectorFromArray([10, 20, 30, 40, 50], new arrow.TimestampMillisecond()),
    });
    const { coo, dropped } = cooFromTableKnown(table, userIds, itemIds);
    assert.deepEqual(dropped, { rows: 4, unknownUsers: 2, unknownItems: 2 });
    assert.deepEqual([...coo.rows], [0]);
    assert.deepEqual([...coo.values], [1]);
    assert.deepEqual([...coo.ts!], [10]);
    assert.equal(userIds.size, 2);
    assert.equal(itemIds.size, 1);
  });
});

/** Naive CSR: per row, a map column → merged value, then sorted columns. */
function naiveCsr(
  nRows: number,
  rows: Int32Array,
  cols: Int32Array,
  values: Float32Array,
  dup: 'last' | 'sum',
) {
  const perRow: Map<number, number>[] = Array.from({ length: nRows }, () => new Map());
  for (let k = 0; k < rows.length; k++) {
    const m = perRow[rows[k]!]!;
    const prev = m.get(cols[k]!);
    m.set(cols[k]!, dup === 'sum' && prev !== undefined ? Math.fround(prev + values[k]!) : values[k]!);
  }
  const indptr = [0];
  const indices: number[] = [];
  const vals: number[] = [];
  for (const m of perRow) {
    for (const c of [...m.keys()].sort((x, y) => x - y)) {
      indices.push(c);
      vals.push(m.get(c)!);
    }
    indptr.push(indices.length);
  }
  return { indptr, indices, values: vals };
}

function plain(csr: Csr) {
  return { indptr: [...csr.indptr], indices: [...csr.indices], values: [...csr.values] };
}

function randomCoo(seed: number, nRows: number, nCols: number, nnz: number) {
  const rng = new Rng(seed);
  const rows = new Int32Array(nnz);
  const cols = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  for (let k = 0; k < nnz; k++) {
    rows[k] = rng.int(nRows);
    cols[k] = rng.int(nCols);
    values[k] = 1 + rng.int(5) + rng.int(2) / 2;
  }
  return { rows, cols, values };
}

describe('toCsr / transposeCsr', () => {
  test('hand example: sorted columns, last vs sum for duplicates, empty rows', () => {
    const rows = new Int32Array([2, 0, 2, 0, 2]);
    const cols = new Int32Array([1, 3, 0, 1, 1]);
    const values = new Float32Array([1, 2, 3, 4, 5]);
    const last = toCsr(4, rows, cols, values, { duplicates: 'last' });
    assert.deepEqual(plain(last), { indptr: [0, 2, 2, 4, 4], indices: [1, 3, 0, 1], values: [4, 2, 3, 5] });
    const sum = toCsr(4, rows, cols, values, { duplicates: 'sum' });
    assert.deepEqual(plain(sum), { indptr: [0, 2, 2, 4, 4], indices: [1, 3, 0, 1], values: [4, 2, 3, 6] });
    const t = transposeCsr(sum, 4);
    assert.deepEqual(plain(t), { indptr: [0, 1, 3, 3, 4], indices: [2, 0, 2, 0], values: [3, 4, 6, 2] });
  });

  for (const dup of ['last', 'sum'] as const) {
    test(`random COO with many duplicates (${dup}) matches the naive reference`, () => {
      for (const [seed, nRows, nCols, nnz] of [
        [1, 50, 40, 3000],
        [2, 300, 7, 2000],
        [3, 1, 1, 10],
        [4, 1000, 1000, 500],
        [5, 5, 5, 0],
      ] as const) {
        const { rows, cols, values } = randomCoo(seed, nRows, nCols, nnz);
        const csr = toCsr(nRows, rows, cols, values, { duplicates: dup, nCols });
        const want = naiveCsr(nRows, rows, cols, values, dup);
        assert.deepEqual(plain(csr), want);
        // Transpose against the naive CSR of the swapped COO (already deduplicated).
        const wantT = naiveCsr(
          nCols,
          new Int32Array(csr.indices),
          rowsOf(csr),
          new Float32Array(csr.values),
          'last',
        );
        const t = transposeCsr(csr, nCols);
        assert.deepEqual(plain(t), wantT);
        assert.deepEqual(plain(transposeCsr(t, nRows)), plain(csr), 'transposing twice is the identity');
      }
    });
  }

  test('nCols inferred from the data; out-of-range indices are RangeErrors', () => {
    const csr = toCsr(2, new Int32Array([0, 1]), new Int32Array([5, 2]), new Float32Array([1, 1]), {
      duplicates: 'sum',
    });
    assert.deepEqual([...csr.indices], [5, 2]);
    assert.throws(
      () =>
        toCsr(2, new Int32Array([0, 2]), new Int32Array([0, 0]), new Float32Array([1, 1]), {
          duplicates: 'sum',
        }),
      RangeError,
    );
    assert.throws(
      () =>
        toCsr(2, new Int32Array([0]), new Int32Array([3]), new Float32Array([1]), {
          duplicates: 'sum',
          nCols: 3,
        }),
      RangeError,
    );
    assert.throws(() =>
      toCsr(2, new Int32Array([0]), new Int32Array([0, 1]), new Float32Array([1]), { duplicates: 'sum' }),
    );
    assert.throws(() => transposeCsr(csr, 3), RangeError);
  });

  test('output arrays allocated in a shared Arena', () => {
    const { rows, cols, values } = randomCoo(9, 100, 80, 5000);
    const arena = Arena.create(1 << 20);
    const csr = toCsr(100, rows, cols, values, { duplicates: 'sum', nCols: 80 }, arena);
    const t = transposeCsr(csr, 80, arena);
    for (const a of [csr.indptr, csr.indices, csr.values, t.indptr, t.indices, t.values]) {
      assert.equal(a.buffer, arena.buffer);
      arena.ref(a);
    }
    assert.deepEqual(plain(csr), naiveCsr(100, rows, cols, values, 'sum'));
    assert.ok(csr.indices.length < 5000, 'duplicates were merged into a prefix view');
  });

  test('cooToCsrPair on MovieLens u.data: both directions agree with the ratings', async () => {
    const coo = cooFromTable(await loadInteractions(path.join(ml.dir, 'u.data')));
    const { userItems, itemUsers } = cooToCsrPair(coo, { duplicates: 'last' });
    assert.equal(userItems.indptr.length, ml.users + 1);
    assert.equal(itemUsers.indptr.length, ml.ratedItems + 1);
    assert.equal(userItems.indices.length, ml.ratings, 'u.data has no duplicate (user, item)');
    assert.equal(itemUsers.indices.length, ml.ratings);
    for (let k = 0; k < ml.ratings; k += 101) {
      const u = coo.rows[k]!;
      const i = coo.cols[k]!;
      const p = findIn(userItems, u, i);
      assert.equal(userItems.values[p], coo.values[k]);
      assert.equal(itemUsers.values[findIn(itemUsers, i, u)], coo.values[k]);
    }
  });
});

function rowsOf(csr: Csr): Int32Array {
  const out = new Int32Array(csr.indices.length);
  for (let r = 0; r + 1 < csr.indptr.length; r++) out.fill(r, csr.indptr[r]!, csr.indptr[r + 1]!);
  return out;
}

function findIn(csr: Csr, row: number, col: number): number {
  for (let p = csr.indptr[row]!; p < csr.indptr[row + 1]!; p++) if (csr.indices[p] === col) return p;
  return -1;
}
