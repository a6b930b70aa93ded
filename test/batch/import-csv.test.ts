// `recsys import csv` as a library call on the embedded stores (PGlite, a local folder): every
// row through the event contract into day partitions under deterministic keys, a second import
// a no-op, bad rows refused by line with nothing written, a rerun after a crash ending where one
// clean import ends.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { contentEventName, InvalidRowsError, runImport } from '../../src/batch/import.js';
import { csvSource } from '../../src/batch/import-csv.js';
import { stableUuid } from '../../src/batch/import-rows.js';
import { DataError } from '../../src/data/errors.js';
import { FaultyObjects } from '../speed/faults.js';
import { embeddedStoresForSuite } from '../stores/support/pglite-dir.js';
import { archived, DAY, eventLines, snapshot, T0, writeLines } from './import-support.js';

describe('CSV import (embedded stores)', () => {
  const suite = embeddedStoresForSuite();
  const file = (name: string, lines: readonly string[]) => writeLines(path.join(suite.dir, name), lines);

  it('imports every row into its day partition under keys named by the file', async () => {
    const csv = file('events.csv', eventLines(120, 3));
    const r = await runImport(suite.stores, csvSource(csv));
    assert.equal(r.rows, 120);
    assert.equal(r.users, 30);
    assert.equal(r.skipped_rows, 0);
    assert.equal(r.already_imported, false);
    assert.deepEqual([r.days, r.parts, r.first_day, r.last_day], [3, 3, '2024-03-01', '2024-03-03']);
    const keys = await suite.stores.objects.list('archive/');
    assert.deepEqual(
      keys,
      ['01', '02', '03'].map(
        (d) => `archive/interactions/dt=2024-03-${d}/import-${r.sha256.slice(0, 16)}-0.parquet`,
      ),
    );
    assert.deepEqual(await suite.stores.objects.list('imports/'), [r.marker]);
    const rows = await archived(suite.stores.objects);
    assert.equal(rows.length, 120);
    // Row 6 of the file (line 7): u5,i35,dismiss,,<ts as ISO-8601>.
    const t = T0 + Math.floor((5 * 3 * DAY) / 120);
    const want = {
      user: 'u5',
      item: 'i35',
      type: 'dismiss' as const,
      value: null,
      ts: t,
      hasTs: true,
      line: 7,
    };
    const row = rows.find((e) => e.user_id === 'u5' && e.item_id === 'i35' && e.ts === t)!;
    assert.deepEqual(
      { ...row, key: undefined },
      {
        key: undefined,
        event_id: stableUuid(contentEventName(want, r.sha256)),
        user_id: 'u5',
        item_id: 'i35',
        type: 'dismiss',
        value: null,
        ts: t,
      },
    );
    const rating = rows.find((e) => e.type === 'rating')!;
    assert.ok([1, 2, 3, 4, 5].includes(rating.value!));
    const users = await suite.stores.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM users WHERE user_id LIKE 'u%'`,
    );
    assert.equal(users.rows[0]!.n, 30);
  });

  it('a second import of the same file changes nothing', async () => {
    const csv = file('events.csv', eventLines(120, 3));
    const before = await snapshot(suite.stores);
    const r = await runImport(suite.stores, csvSource(csv));
    assert.equal(r.already_imported, true);
    assert.equal(r.rows, 120);
    assert.deepEqual([r.new_users, r.new_items], [0, 0]);
    assert.deepEqual(await snapshot(suite.stores), before);
    // The same bytes under another name are the same import.
    const copy = file('copy.csv', eventLines(120, 3));
    assert.equal((await runImport(suite.stores, csvSource(copy))).already_imported, true);
    assert.deepEqual(await snapshot(suite.stores), before);
  });

  it('refuses a file with bad rows, naming each line and reason, and writes nothing', async () => {
    const csv = file('bad.csv', [
      'user_id,item_id,type,value,ts',
      'v1,w1,view,,2024-03-01T10:00:00Z',
      'v1,w2,like,,2024-03-01T10:00:00Z',
      'v2,,view,,',
      'v3,w3,rating,high,',
      'v4,w4,view,,2024-02-30T10:00:00Z',
      'v5,w5,view,1e39,',
      `${'x'.repeat(129)},w6,view,,`,
      'v6,w6,view',
      '"v7,w7,view,,',
      'v8,w8,click,,1709290800000',
    ]);
    const before = await snapshot(suite.stores);
    await assert.rejects(runImport(suite.stores, csvSource(csv)), (err: Error) => {
      assert.ok(err instanceof InvalidRowsError);
      assert.equal(err.count, 8);
      assert.deepEqual(
        err.first.map((e) => e.line),
        [3, 4, 5, 6, 7, 8, 9, 10],
      );
      for (const [line, reason] of [
        [3, /type: must be one of view, click/],
        [4, /item_id: must NOT have fewer than 1 characters/],
        [5, /value: must be number/],
        [6, /ts: must match format "date-time"/],
        [7, /value: must be <= 3\.4028234663852886e\+38/],
        [8, /user_id: must NOT have more than 128 characters/],
        [9, /expected 5 fields as the header has, got 3/],
        [10, /unterminated quoted field/],
      ] as const)
        assert.match(err.message, new RegExp(`bad\\.csv:${line}: ${reason.source}`));
      assert.match(err.message, /8 invalid rows, nothing imported/);
      return true;
    });
    assert.deepEqual(await snapshot(suite.stores), before);
  });

  it('with skipInvalid imports the valid rows and reports the others', async () => {
    const csv = file('some-bad.csv', [
      'user_id,item_id,type,value,ts',
      'v1,w1,view,,2024-03-01T10:00:00Z',
      'v1,w2,like,,2024-03-01T10:00:00Z',
      'v8,w8,click,,1709290800000',
    ]);
    const r = await runImport(suite.stores, csvSource(csv), { skipInvalid: true });
    assert.deepEqual([r.rows, r.skipped_rows, r.users], [2, 1, 2]);
    assert.equal(r.refused.length, 1);
    assert.match(r.refused[0]!, /some-bad\.csv:3: type: must be one of/);
    assert.deepEqual(
      (await archived(suite.stores.objects))
        .filter((e) => e.user_id.startsWith('v'))
        .map((e) => e.item_id)
        .sort(),
      ['w1', 'w8'],
    );
  });

  it('fills what a row leaves out: the type from its value or --type, the time from the import, an id from the line', async () => {
    const csv = file('defaults.csv', [
      'event_id,user,item,value,ts,note',
      'AAAAAAAA-0000-4000-8000-000000000001,d1,e1,,,x',
      ',d1,e2,3.5,,y',
    ]);
    const t0 = Date.now();
    const r = await runImport(suite.stores, csvSource(csv));
    const t1 = Date.now();
    assert.deepEqual(r.ignored_columns, ['note']);
    const rows = (await archived(suite.stores.objects)).filter((e) => e.user_id === 'd1');
    assert.deepEqual(rows.map((e) => [e.item_id, e.type, e.value]).sort(), [
      ['e1', 'view', null],
      ['e2', 'rating', 3.5],
    ]);
    for (const e of rows) assert.ok(e.ts >= t0 && e.ts <= t1, `ts ${e.ts} is the import's time`);
    assert.equal(rows.find((e) => e.item_id === 'e1')!.event_id, 'aaaaaaaa-0000-4000-8000-000000000001');
    const e2 = rows.find((e) => e.item_id === 'e2')!;
    assert.equal(e2.event_id, stableUuid(`row\0${r.sha256}\0${3}`));

    const typed = file('typed.csv', ['user_id,item_id,value', 'd2,e1,', 'd2,e2,2']);
    await runImport(suite.stores, csvSource(typed, { type: 'purchase' }));
    assert.deepEqual(
      (await archived(suite.stores.objects))
        .filter((e) => e.user_id === 'd2')
        .map((e) => e.type)
        .sort(),
      ['purchase', 'purchase'],
    );
  });

  it('reads the catalog from --items: titles and categories, an empty cell keeping what is there', async () => {
    const events = file('catalog-events.csv', ['user_id,item_id', 'c1,k1', 'c1,k2']);
    const items = file('items.csv', ['item_id,title,category', 'k1,"Kettle, steel",kitchen', 'k3,Knife,']);
    const r = await runImport(suite.stores, csvSource(events, { items }));
    assert.deepEqual([r.files, r.items, r.new_items], [2, 3, 3]);
    const again = file('items-2.csv', ['item_id,title,category', 'k1,,cooking', 'k3,Knife,kitchen']);
    const second = await runImport(suite.stores, csvSource(events, { items: again }));
    assert.equal(second.already_imported, true);
    const { rows } = await suite.stores.db.query<{
      item_id: string;
      title: string | null;
      category: string | null;
    }>(`SELECT item_id, title, category FROM items WHERE item_id LIKE 'k%' ORDER BY item_id`);
    assert.deepEqual(
      rows.map((x) => ({ ...x })),
      [
        { item_id: 'k1', title: 'Kettle, steel', category: 'cooking' },
        { item_id: 'k2', title: null, category: null },
        { item_id: 'k3', title: 'Knife', category: 'kitchen' },
      ],
    );
  });

  it('fails on a header without a user or item column, and on an empty file, naming the file', async () => {
    const noUser = file('no-user.csv', ['person,item_id', 'a,b']);
    await assert.rejects(runImport(suite.stores, csvSource(noUser)), (err: Error) => {
      assert.ok(err instanceof DataError);
      assert.match(err.message, /no-user\.csv:1: no user column .*"person", "item_id"/);
      return true;
    });
    const empty = file('empty.csv', []);
    await assert.rejects(runImport(suite.stores, csvSource(empty)), /empty\.csv: empty file/);
  });

  it('reads numeric times as seconds with tsUnit s; importing a file again with other options replaces it', async () => {
    const seconds = Math.floor(T0 / 1000);
    const csv = file('seconds.csv', ['user_id,item_id,ts', `s1,t1,${seconds}`, `s1,t2,${seconds + 86_400}`]);
    const asMs = await runImport(suite.stores, csvSource(csv));
    assert.equal(asMs.first_day, '1970-01-20');
    assert.match(asMs.warnings[0]!, /--ts-unit s/);
    const asSeconds = await runImport(suite.stores, csvSource(csv, { tsUnit: 's' }));
    assert.equal(asSeconds.already_imported, false);
    assert.deepEqual([asSeconds.first_day, asSeconds.last_day], ['2024-03-01', '2024-03-02']);
    const rows = (await archived(suite.stores.objects)).filter((e) => e.user_id === 's1');
    assert.deepEqual(rows.map((e) => e.ts).sort(), [T0, T0 + DAY]);
    assert.equal((await suite.stores.objects.list('archive/interactions/dt=1970')).length, 0);
    assert.equal((await runImport(suite.stores, csvSource(csv, { tsUnit: 's' }))).already_imported, true);
  });

  it('a rerun after a crash overwrites the same parts, keeps the first run’s time, and ends like one clean import', async () => {
    const csv = file('crash.csv', [...eventLines(90, 3), 'n1,m1,view,,', 'n1,m2,view,,']);
    const faulty = new FaultyObjects(suite.stores.objects);
    faulty.failNext('put', 'after', 3); // the pending record, the first part, then the second dies
    await assert.rejects(
      runImport({ db: suite.stores.db, objects: faulty }, csvSource(csv)),
      /injected fault after put/,
    );
    const pending = (await suite.stores.objects.list('imports/')).find((k) => k.endsWith('.pending.json'));
    assert.ok(pending, 'the pending record stays');
    const { now } = JSON.parse((await suite.stores.objects.get(pending)).toString()) as { now: number };
    const r = await runImport(suite.stores, csvSource(csv));
    assert.equal(r.already_imported, false);
    assert.equal(r.rows, 92);
    const parts = (await suite.stores.objects.list('archive/')).filter((k) =>
      k.includes(r.sha256.slice(0, 16)),
    );
    assert.equal(parts.length, 4); // three days of events, and the import's day for the rows without a time
    const rows = (await archived(suite.stores.objects)).filter((e) => parts.includes(e.key));
    assert.equal(rows.length, 92);
    assert.equal(new Set(rows.map((e) => e.event_id)).size, 92);
    assert.deepEqual(
      rows.filter((e) => e.user_id === 'n1').map((e) => e.ts),
      [now, now],
    );
    assert.equal(
      (await suite.stores.objects.list('imports/')).filter((k) => k.endsWith('.pending.json')).length,
      0,
    );
    assert.equal((await runImport(suite.stores, csvSource(csv))).already_imported, true);
  });
});
