// `recsys import parquet` as a library call on the embedded stores: the archive schema as recsys
// writes it (ids kept), plain user/item/value/ts tables with the column types pyarrow and Spark
// write (integer ids, dictionary and large strings, float64 values, zone-less µs timestamps,
// epoch-ms integers), read a record batch at a time; bad rows refused by row number.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as arrow from 'apache-arrow';
import { InvalidRowsError, runImport } from '../../src/batch/import.js';
import { csvSource } from '../../src/batch/import-csv.js';
import { parquetSource } from '../../src/batch/import-parquet.js';
import { archiveTableFromColumns } from '../../src/data/archive-format.js';
import { DataError } from '../../src/data/errors.js';
import { embeddedStoresForSuite } from '../stores/support/pglite-dir.js';
import { archived, column, DAY, snapshot, T0, writeLines, writeParquet } from './import-support.js';

describe('Parquet import (embedded stores)', () => {
  const suite = embeddedStoresForSuite();
  const at = (name: string) => path.join(suite.dir, name);

  it('imports an archive part as recsys writes it, keeping its event ids, once', async () => {
    const ids = Array.from(
      { length: 40 },
      (_, i) => `0000000${i % 10}-aaaa-4bbb-8ccc-${String(i).padStart(12, '0')}`,
    );
    const table = archiveTableFromColumns({
      eventId: ids,
      userId: ids.map((_, i) => `a${i % 4}`),
      itemId: ids.map((_, i) => `b${i % 9}`),
      type: ids.map((_, i) => (i % 2 ? 'click' : 'rating')),
      value: ids.map((_, i) => (i % 2 ? null : 1 + (i % 5))),
      ts: ids.map((_, i) => T0 + i * 3_600_000),
    });
    const file = await writeParquet(at('part.parquet'), table);
    const r = await runImport(suite.stores, parquetSource(file));
    assert.deepEqual([r.rows, r.users, r.items, r.days], [40, 4, 9, 2]);
    const rows = (await archived(suite.stores.objects)).filter((e) => e.user_id.startsWith('a'));
    assert.deepEqual(
      rows.map((e) => e.event_id),
      [...ids].sort(),
    );
    const first = rows.find((e) => e.event_id === ids[0])!;
    assert.deepEqual(
      [first.user_id, first.item_id, first.type, first.value, first.ts],
      ['a0', 'b0', 'rating', 1, T0],
    );
    assert.equal(rows.find((e) => e.event_id === ids[1])!.value, null);

    const before = await snapshot(suite.stores);
    assert.equal((await runImport(suite.stores, parquetSource(file))).already_imported, true);
    assert.deepEqual(await snapshot(suite.stores), before);
  });

  it('reads plain tables with the column types pyarrow and Spark write', async () => {
    const n = 6;
    const table = new arrow.Table({
      userId: column([10n, 11n, 12n, 10n, 11n, 12n], new arrow.Int64()),
      movieId: column(
        ['m1', 'm2', 'm1', 'm3', 'm2', 'm1'],
        new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()),
      ),
      rating: column([4, 3.5, 5, 1, 2, 3], new arrow.Float64()),
      timestamp: column(
        Array.from({ length: n }, (_, i) => T0 + i * DAY),
        new arrow.TimestampMicrosecond(),
      ),
      extra: column(['x', 'y', 'z', 'x', 'y', 'z'], new arrow.LargeUtf8()),
    });
    const file = await writeParquet(at('plain.parquet'), table);
    const r = await runImport(suite.stores, parquetSource(file));
    assert.deepEqual([r.rows, r.users, r.items, r.days], [6, 3, 3, 6]);
    assert.deepEqual(r.ignored_columns, ['extra']);
    const rows = (await archived(suite.stores.objects)).filter((e) => e.item_id.startsWith('m'));
    assert.deepEqual(
      rows
        .map((e) => [e.user_id, e.item_id, e.type, e.value, e.ts])
        .sort((a, b) => Number(a[4]) - Number(b[4])),
      [
        ['10', 'm1', 'rating', 4, T0],
        ['11', 'm2', 'rating', 3.5, T0 + DAY],
        ['12', 'm1', 'rating', 5, T0 + 2 * DAY],
        ['10', 'm3', 'rating', 1, T0 + 3 * DAY],
        ['11', 'm2', 'rating', 2, T0 + 4 * DAY],
        ['12', 'm1', 'rating', 3, T0 + 5 * DAY],
      ],
    );
  });

  it('reads integer times as epoch ms (or seconds) and string times as ISO-8601', async () => {
    const ms = await writeParquet(
      at('ms.parquet'),
      new arrow.Table({
        user_id: column(['p1', 'p1'], new arrow.Utf8()),
        item_id: column(['q1', 'q2'], new arrow.Utf8()),
        type: column(['view', 'purchase'], new arrow.Utf8()),
        ts: column([BigInt(T0), BigInt(T0 + DAY)], new arrow.Int64()),
      }),
    );
    const seconds = await writeParquet(
      at('seconds.parquet'),
      new arrow.Table({
        user_id: column(['p2'], new arrow.Utf8()),
        item_id: column(['q1'], new arrow.Utf8()),
        ts: column([T0 / 1000], new arrow.Float64()),
      }),
    );
    const iso = await writeParquet(
      at('iso.parquet'),
      new arrow.Table({
        user_id: column(['p3'], new arrow.Utf8()),
        item_id: column(['q1'], new arrow.Utf8()),
        ts: column(['2024-03-01T01:00:00+01:00'], new arrow.Utf8()),
      }),
    );
    await runImport(suite.stores, parquetSource(ms));
    await runImport(suite.stores, parquetSource(seconds, { tsUnit: 's' }));
    await runImport(suite.stores, parquetSource(iso));
    const rows = (await archived(suite.stores.objects)).filter((e) => e.user_id.startsWith('p'));
    assert.deepEqual(rows.map((e) => [e.user_id, e.item_id, e.type, e.ts]).sort(), [
      ['p1', 'q1', 'view', T0],
      ['p1', 'q2', 'purchase', T0 + DAY],
      ['p2', 'q1', 'view', T0],
      ['p3', 'q1', 'view', T0],
    ]);
  });

  it('gives an event the same id from a CSV file and from its Parquet copy', async () => {
    const csv = writeLines(at('same.csv'), ['user_id,item_id,type,value,ts', `z1,y1,rating,4,${T0}`]);
    const pq = await writeParquet(
      at('same.parquet'),
      new arrow.Table({
        user_id: column(['z1'], new arrow.Utf8()),
        item_id: column(['y1'], new arrow.Utf8()),
        type: column(['rating'], new arrow.Utf8()),
        value: column([4], new arrow.Float32()),
        ts: column([T0], new arrow.TimestampMillisecond('UTC')),
      }),
    );
    await runImport(suite.stores, csvSource(csv));
    await runImport(suite.stores, parquetSource(pq));
    const rows = (await archived(suite.stores.objects)).filter((e) => e.user_id === 'z1');
    assert.equal(rows.length, 2);
    assert.equal(rows[0]!.event_id, rows[1]!.event_id);
  });

  it('refuses bad rows by row number across record batches, writing nothing', async () => {
    const n = 70_000; // more than one record batch
    const users = Array.from({ length: n }, (_, i) => (i === 69_999 ? null : `r${i % 100}`));
    const types = Array.from({ length: n }, (_, i) => (i === 2 ? 'like' : 'view'));
    const file = await writeParquet(
      at('bad.parquet'),
      new arrow.Table({
        user_id: column(users, new arrow.Utf8()),
        item_id: column(
          Array.from({ length: n }, (_, i) => `s${i % 50}`),
          new arrow.Utf8(),
        ),
        type: column(types, new arrow.Utf8()),
        ts: column(
          Array.from({ length: n }, (_, i) => T0 + i),
          new arrow.TimestampMillisecond('UTC'),
        ),
      }),
    );
    const before = await snapshot(suite.stores);
    await assert.rejects(runImport(suite.stores, parquetSource(file)), (err: Error) => {
      assert.ok(err instanceof InvalidRowsError);
      assert.deepEqual(
        err.first.map((e) => e.row),
        [3, 70_000],
      );
      assert.match(err.message, /bad\.parquet: row 3: type: must be one of view/);
      assert.match(err.message, /bad\.parquet: row 70000: must have required property 'user_id'/);
      return true;
    });
    assert.deepEqual(await snapshot(suite.stores), before);
    const r = await runImport(suite.stores, parquetSource(file), { skipInvalid: true });
    assert.deepEqual([r.rows, r.skipped_rows], [n - 2, 2]);
  });

  it('fails on columns it cannot read and on a file that is not Parquet, naming the file', async () => {
    const textValue = await writeParquet(
      at('text-value.parquet'),
      new arrow.Table({
        user_id: column(['x'], new arrow.Utf8()),
        item_id: column(['y'], new arrow.Utf8()),
        value: column(['five'], new arrow.Utf8()),
      }),
    );
    await assert.rejects(runImport(suite.stores, parquetSource(textValue)), (err: Error) => {
      assert.ok(err instanceof DataError);
      assert.match(
        err.message,
        /text-value\.parquet: column "value" has type Utf8; expected integers or floats/,
      );
      return true;
    });
    const noItem = await writeParquet(
      at('no-item.parquet'),
      new arrow.Table({ user_id: column(['x'], new arrow.Utf8()), thing: column(['y'], new arrow.Utf8()) }),
    );
    await assert.rejects(runImport(suite.stores, parquetSource(noItem)), /no-item\.parquet: no item column/);
    const notParquet = at('not.parquet');
    writeFileSync(notParquet, 'user_id,item_id\n1,2\n');
    await assert.rejects(
      runImport(suite.stores, parquetSource(notParquet)),
      /not\.parquet: not a readable Parquet file/,
    );
  });
});
