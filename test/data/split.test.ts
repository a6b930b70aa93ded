// Splits: deterministic for a seed, disjoint and complete; the time split holds out each
// user's latest interactions; holdout files count ids unknown to training.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { IdMap } from '../../src/data/ids.js';
import { loadInteractions } from '../../src/data/loaders.js';
import { type Coo, cooFromTable } from '../../src/data/matrix.js';
import { loadHoldout, randomSplit, type Split, selectCoo, timeSplit } from '../../src/data/split.js';
import { ml100kDir } from '../helpers.js';

function assertPartition(split: Split, n: number): void {
  const seen = new Uint8Array(n);
  for (const side of [split.train, split.test]) {
    for (let j = 0; j < side.length; j++) {
      if (j > 0) assert.ok(side[j]! > side[j - 1]!, 'ascending');
      assert.equal(seen[side[j]!], 0, 'disjoint');
      seen[side[j]!] = 1;
    }
  }
  assert.equal(split.train.length + split.test.length, n, 'complete');
}

function coo(rows: number[], ts: number[] | null): Coo {
  return {
    userIds: new IdMap(),
    itemIds: new IdMap(),
    rows: new Int32Array(rows),
    cols: new Int32Array(rows.length),
    values: new Float32Array(rows.length).fill(1),
    ts: ts ? new Float64Array(ts) : null,
  };
}

describe('randomSplit', () => {
  test('exact size, disjoint and complete, deterministic per seed', () => {
    const data = coo(
      Array.from({ length: 1001 }, (_, k) => k % 13),
      null,
    );
    const a = randomSplit(data, 0.2, 42);
    assertPartition(a, 1001);
    assert.equal(a.test.length, 200);
    const b = randomSplit(data, 0.2, 42);
    assert.deepEqual([...a.test], [...b.test]);
    assert.deepEqual([...a.train], [...b.train]);
    const c = randomSplit(data, 0.2, 43);
    assert.notDeepEqual([...a.test], [...c.test]);
    assert.equal(randomSplit(data, 0, 1).test.length, 0);
    assert.throws(() => randomSplit(data, 1, 1), RangeError);
    assert.throws(() => randomSplit(data, -0.1, 1), RangeError);
    assert.throws(() => randomSplit(data, Number.NaN, 1), RangeError);
  });

  test('ml-100k: 20% test, spread over the whole file', async () => {
    const data = cooFromTable(await loadInteractions(path.join(ml100kDir, 'u.data')));
    const s = randomSplit(data, 0.2, 7);
    assertPartition(s, 100000);
    assert.equal(s.test.length, 20000);
    // Each tenth of the file gets about a fifth of its entries into test.
    for (let d = 0; d < 10; d++) {
      const inDecile = s.test.filter((k) => Math.floor(k / 10000) === d).length;
      assert.ok(inDecile > 1800 && inDecile < 2200, `decile ${d}: ${inDecile}`);
    }
    const test = selectCoo(data, s.test);
    assert.equal(test.rows.length, 20000);
    assert.equal(test.userIds, data.userIds);
    assert.equal(test.rows[10], data.rows[s.test[10]!]);
    assert.equal(test.values[10], data.values[s.test[10]!]);
    assert.equal(test.ts![10], data.ts![s.test[10]!]);
  });
});

describe('timeSplit', () => {
  test("hand example: each user's latest go to test, singletons stay, ties keep order, NaN is oldest", () => {
    //                 user: 0  0  0  0  0  1  2  2  2  2
    const data = coo([0, 0, 0, 0, 0, 1, 2, 2, 2, 2], [5, 1, 3, 2, 4, 9, 7, 7, Number.NaN, 7]);
    const s = timeSplit(data, 0.4);
    assertPartition(s, 10);
    // user 0: round(2) latest → ts 5 (entry 0) and 4 (entry 4); user 1: single, stays;
    // user 2: round(1.6) = 2 latest of [7, 7, NaN, 7] → the last two 7s in input order.
    assert.deepEqual([...s.test], [0, 4, 7, 9]);
    assert.deepEqual(timeSplit(data, 0.4), s, 'deterministic');
  });

  test('never empties a user, and needs timestamps', () => {
    const data = coo([0, 0, 1], [1, 2, 3]);
    assert.deepEqual([...timeSplit(data, 0.9).test], [1]);
    assert.throws(() => timeSplit(coo([0], null), 0.2), /needs timestamps/);
  });

  test('ml-100k: per user, every test rating is no older than every train rating', async () => {
    const data = cooFromTable(await loadInteractions(path.join(ml100kDir, 'u.data')));
    const s = timeSplit(data, 0.2);
    assertPartition(s, 100000);
    const maxTrain = new Float64Array(943).fill(Number.NEGATIVE_INFINITY);
    const minTest = new Float64Array(943).fill(Number.POSITIVE_INFINITY);
    const trainCount = new Int32Array(943);
    for (const k of s.train) {
      maxTrain[data.rows[k]!] = Math.max(maxTrain[data.rows[k]!]!, data.ts![k]!);
      trainCount[data.rows[k]!]!++;
    }
    for (const k of s.test) minTest[data.rows[k]!] = Math.min(minTest[data.rows[k]!]!, data.ts![k]!);
    for (let u = 0; u < 943; u++) {
      assert.ok(trainCount[u]! >= 1);
      assert.ok(maxTrain[u]! <= minTest[u]!, `user ${u}`);
    }
    assert.ok(Math.abs(s.test.length - 20000) < 943, `${s.test.length} test entries`);
  });
});

describe('holdout', () => {
  test('u1.test against u1.base: unknown items dropped and counted', async () => {
    const trainTable = await loadInteractions(path.join(ml100kDir, 'u1.base'));
    const train = cooFromTable(trainTable);
    const testTable = await loadInteractions(path.join(ml100kDir, 'u1.test'));
    // Reference counts, straight from the strings.
    const items = testTable.getChild('item')!;
    const users = testTable.getChild('user')!;
    let unknownRows = 0;
    const unknownItems = new Set<string>();
    const unknownUsers = new Set<string>();
    for (let k = 0; k < testTable.numRows; k++) {
      const ui = !train.userIds.has(users.get(k));
      const ii = !train.itemIds.has(items.get(k));
      if (ui) unknownUsers.add(users.get(k));
      if (ii) unknownItems.add(items.get(k));
      if (ui || ii) unknownRows++;
    }
    assert.ok(unknownRows > 0, 'u1.test has items never rated in u1.base');

    const sizeBefore = train.itemIds.size;
    const { test: held, dropped } = await loadHoldout(path.join(ml100kDir, 'u1.test'), train);
    assert.deepEqual(dropped, {
      rows: unknownRows,
      unknownUsers: unknownUsers.size,
      unknownItems: unknownItems.size,
    });
    assert.equal(held.rows.length, 20000 - unknownRows);
    assert.equal(train.itemIds.size, sizeBefore, 'training maps unchanged');
    assert.equal(held.itemIds, train.itemIds);
    assert.ok(held.cols.every((c) => c >= 0 && c < sizeBefore));
  });
});
