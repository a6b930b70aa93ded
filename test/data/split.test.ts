// Splits: deterministic for a seed, disjoint and complete; the time split holds out each
// user's latest interactions; holdout files count ids unknown to training.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IdMap } from '../../src/data/ids.js';
import { loadInteractions } from '../../src/data/loaders.js';
import { type Coo, cooFromTable } from '../../src/data/matrix.js';
import { loadHoldout, randomSplit, type Split, selectCoo, timeSplit } from '../../src/data/split.js';
import { syntheticMovieLens } from '../helpers.js';

let ml: ReturnType<typeof syntheticMovieLens>;
before(() => {
  ml = syntheticMovieLens();
});
after(() => ml.cleanup());

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

  test('MovieLens u.data: 20% test, spread over the whole file', async () => {
    const data = cooFromTable(await loadInteractions(path.join(ml.dir, 'u.data')));
    const n = ml.ratings;
    const s = randomSplit(data, 0.2, 7);
    assertPartition(s, n);
    assert.equal(s.test.length, Math.round(0.2 * n));
    // Each tenth of the file gets about a fifth of its entries into test (±15%, over 3 sd).
    for (let d = 0; d < 10; d++) {
      const inDecile = s.test.filter((k) => Math.floor((k * 10) / n) === d).length;
      assert.ok(Math.abs(inDecile - n / 50) < 0.15 * (n / 50), `decile ${d}: ${inDecile}`);
    }
    const test = selectCoo(data, s.test);
    assert.equal(test.rows.length, s.test.length);
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

  test('MovieLens u.data: per user, every test rating is no older than every train rating', async () => {
    const data = cooFromTable(await loadInteractions(path.join(ml.dir, 'u.data')));
    const s = timeSplit(data, 0.2);
    assertPartition(s, ml.ratings);
    const maxTrain = new Float64Array(ml.users).fill(Number.NEGATIVE_INFINITY);
    const minTest = new Float64Array(ml.users).fill(Number.POSITIVE_INFINITY);
    const trainCount = new Int32Array(ml.users);
    for (const k of s.train) {
      maxTrain[data.rows[k]!] = Math.max(maxTrain[data.rows[k]!]!, data.ts![k]!);
      trainCount[data.rows[k]!]!++;
    }
    for (const k of s.test) minTest[data.rows[k]!] = Math.min(minTest[data.rows[k]!]!, data.ts![k]!);
    for (let u = 0; u < ml.users; u++) {
      assert.ok(trainCount[u]! >= 1);
      assert.ok(maxTrain[u]! <= minTest[u]!, `user ${u}`);
    }
    assert.ok(Math.abs(s.test.length - 0.2 * ml.ratings) < ml.users, `${s.test.length} test entries`);
  });
});

describe('holdout', () => {
  test('u1.test against u1.base: unknown users and items dropped and counted', async () => {
    const trainTable = await loadInteractions(path.join(ml.dir, 'u1.base'));
    const train = cooFromTable(trainTable);
    // u1.test, plus ratings by a user and of items that u1.base never saw.
    const file = path.join(ml.dir, 'u1-and-new.test');
    const extra = [
      '9001\t1\t4\t893286638',
      '1\t9001\t3\t893286638',
      '1\t9002\t2\t893286638',
      '9001\t9001\t5\t893286638',
    ];
    writeFileSync(file, `${readFileSync(path.join(ml.dir, 'u1.test'), 'utf8')}${extra.join('\n')}\n`);
    const testTable = await loadInteractions(file);
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
    assert.ok(unknownRows >= extra.length);
    assert.ok(unknownUsers.has('9001') && unknownItems.has('9002'));

    const sizeBefore = train.itemIds.size;
    const { test: held, dropped } = await loadHoldout(file, train);
    assert.deepEqual(dropped, {
      rows: unknownRows,
      unknownUsers: unknownUsers.size,
      unknownItems: unknownItems.size,
    });
    assert.equal(held.rows.length, ml.folds[0]!.test + extra.length - unknownRows);
    assert.equal(train.itemIds.size, sizeBefore, 'training maps unchanged');
    assert.equal(held.itemIds, train.itemIds);
    assert.ok(held.cols.every((c) => c >= 0 && c < sizeBefore));
  });
});
