// The data layer on the real MovieLens 100K (opt-in: RECSYS_ML100K_DIR, see dataset.ts):
// loaders, id maps and CSR, splits and holdouts against the set's known shape.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { IdMap } from '../../src/data/ids.js';
import { loadInteractions, loadItemsMovieLens } from '../../src/data/loaders.js';
import { cooFromTable, cooToCsrPair } from '../../src/data/matrix.js';
import { loadHoldout, randomSplit, timeSplit } from '../../src/data/split.js';
import { ml100kDir } from './dataset.js';

const dir = ml100kDir();
const file = (name: string) => path.join(dir, name);

describe('MovieLens 100K loaders', () => {
  test('u1.base: 80000 rows, 943 users, first row', async () => {
    const t = await loadInteractions(file('u1.base'));
    assert.equal(t.numRows, 80000);
    assert.equal(new Set(t.getChild('user')!.toArray()).size, 943);
    const first = ['user', 'item', 'value', 'ts'].map((c) => t.getChild(c)!.get(0));
    assert.deepEqual(first, ['1', '1', 5, 874965758000]);
  });

  test('u.data: 100000 rows, 943 users, 1682 items, ratings 1..5', async () => {
    const t = await loadInteractions(file('u.data'));
    assert.equal(t.numRows, 100000);
    assert.equal(new Set(t.getChild('user')!.toArray()).size, 943);
    assert.equal(new Set(t.getChild('item')!.toArray()).size, 1682);
    const values = t.getChild('value')!.toArray() as Float32Array;
    assert.ok(values.every((v) => v >= 1 && v <= 5 && Number.isInteger(v)));
  });

  test('u.item: 1682 items with titles, genres in u.genre order, ISO release dates', async () => {
    const items = await loadItemsMovieLens(file('u.item'));
    assert.equal(items.length, 1682);
    assert.deepEqual(items[0], {
      item_id: '1',
      title: 'Toy Story (1995)',
      category: 'Animation',
      attributes: { genres: ['Animation', "Children's", 'Comedy'], release_date: '1995-01-01' },
    });
    const unknown = items.find((x) => x.item_id === '267')!;
    assert.equal(unknown.category, 'unknown');
    assert.equal(unknown.attributes.release_date, null);
  });
});

describe('MovieLens 100K matrices', () => {
  test('u1.base and u1.test: 943 users, 1650 items in u1.base, 1682 in both', async () => {
    const a = await loadInteractions(file('u1.base'));
    const b = await loadInteractions(file('u1.test'));
    const coo = cooFromTable(a);
    assert.equal(coo.rows.length, 80000);
    assert.equal(coo.userIds.size, 943);
    assert.equal(coo.itemIds.size, 1650);
    const userIds = new IdMap();
    const itemIds = new IdMap();
    cooFromTable(a, { userIds, itemIds });
    cooFromTable(b, { userIds, itemIds });
    assert.equal(userIds.size, 943);
    assert.equal(itemIds.size, 1682);
  });

  test('u.data as CSR both ways: 943 × 1682, no duplicate (user, item)', async () => {
    const coo = cooFromTable(await loadInteractions(file('u.data')));
    const { userItems, itemUsers } = cooToCsrPair(coo, { duplicates: 'last' });
    assert.equal(userItems.indptr.length, 944);
    assert.equal(itemUsers.indptr.length, 1683);
    assert.equal(userItems.indices.length, 100000);
    assert.equal(itemUsers.indices.length, 100000);
  });
});

describe('MovieLens 100K splits', () => {
  test('random: 20000 test ratings; time: about 20000, and no user emptied', async () => {
    const data = cooFromTable(await loadInteractions(file('u.data')));
    assert.equal(randomSplit(data, 0.2, 7).test.length, 20000);
    const s = timeSplit(data, 0.2);
    assert.ok(Math.abs(s.test.length - 20000) < 943, `${s.test.length} test entries`);
    const trainCount = new Int32Array(943);
    for (const k of s.train) trainCount[data.rows[k]!]!++;
    assert.ok(trainCount.every((n) => n >= 1));
  });

  test('u1.test against u1.base: items never rated in u1.base are dropped and counted', async () => {
    const train = cooFromTable(await loadInteractions(file('u1.base')));
    const { test: held, dropped } = await loadHoldout(file('u1.test'), train);
    assert.equal(dropped.unknownUsers, 0);
    assert.equal(dropped.unknownItems, 1682 - 1650);
    assert.ok(dropped.rows >= dropped.unknownItems);
    assert.equal(held.rows.length, 20000 - dropped.rows);
  });
});
