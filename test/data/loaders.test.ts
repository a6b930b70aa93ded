// Loaders: every supported format on small temp files, format detection, Parquet through
// parquet-wasm, and a synthetic MovieLens folder (the real one: test/movielens/).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as arrow from 'apache-arrow';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';
import { loadInteractions, loadItemsMovieLens, resolveFormat } from '../../src/data/loaders.js';
import { syntheticMovieLens, tempDir } from '../helpers.js';

interface Row {
  user: string;
  item: string;
  value: number;
  ts: number | null;
}

function rows(table: arrow.Table): Row[] {
  const u = table.getChild('user')!;
  const i = table.getChild('item')!;
  const v = table.getChild('value')!;
  const t = table.getChild('ts')!;
  const out: Row[] = [];
  for (let k = 0; k < table.numRows; k++)
    out.push({ user: u.get(k), item: i.get(k), value: v.get(k), ts: t.get(k) });
  return out;
}

function writeParquetFile(file: string, table: arrow.Table): void {
  writeFileSync(file, writeParquet(WasmTable.fromIPCStream(arrow.tableToIPC(table, 'stream'))));
}

let tmp: { dir: string; cleanup: () => void };
let ml: ReturnType<typeof syntheticMovieLens>;
const at = (name: string) => path.join(tmp.dir, name);
const write = (name: string, text: string) => {
  writeFileSync(at(name), text);
  return at(name);
};

before(() => {
  tmp = tempDir('recsys-loaders-');
  ml = syntheticMovieLens();
});
after(() => {
  tmp.cleanup();
  ml.cleanup();
});

describe('schema', () => {
  test('every loader returns user/item Utf8 (dictionary), value Float32, ts Timestamp ms nullable', async () => {
    const t = await loadInteractions(write('u.data', '1\t10\t4\t881250949\n'));
    const f = Object.fromEntries(t.schema.fields.map((x) => [x.name, x]));
    assert.deepEqual(Object.keys(f), ['user', 'item', 'value', 'ts']);
    assert.ok(arrow.DataType.isDictionary(f.user!.type) && arrow.DataType.isUtf8(f.user!.type.dictionary));
    assert.ok(arrow.DataType.isDictionary(f.item!.type) && arrow.DataType.isUtf8(f.item!.type.dictionary));
    assert.ok(arrow.DataType.isFloat(f.value!.type) && f.value!.type.precision === arrow.Precision.SINGLE);
    assert.ok(arrow.DataType.isTimestamp(f.ts!.type) && f.ts!.type.unit === arrow.TimeUnit.MILLISECOND);
    assert.equal(f.ts!.nullable, true);
  });
});

describe('MovieLens text formats', () => {
  test('u.data: tab, unix seconds → ms', async () => {
    const t = await loadInteractions(write('u.data', '196\t242\t3\t881250949\n186\t302\t3\t891717742\n'));
    assert.deepEqual(rows(t), [
      { user: '196', item: '242', value: 3, ts: 881250949000 },
      { user: '186', item: '302', value: 3, ts: 891717742000 },
    ]);
  });

  test('ratings.dat: "::" separated, CRLF and no final newline', async () => {
    const t = await loadInteractions(write('ratings.dat', '1::1193::5::978300760\r\n1::661::3::978302109'));
    assert.deepEqual(rows(t), [
      { user: '1', item: '1193', value: 5, ts: 978300760000 },
      { user: '1', item: '661', value: 3, ts: 978302109000 },
    ]);
  });

  test('ratings.csv: header userId,movieId,rating,timestamp, half stars', async () => {
    const file = write(
      'ratings.csv',
      'userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n',
    );
    assert.equal(await resolveFormat(file, 'movielens'), 'csv');
    const t = await loadInteractions(file, 'movielens');
    assert.deepEqual(rows(t), [
      { user: '1', item: '31', value: 2.5, ts: 1260759144000 },
      { user: '1', item: '1029', value: 3, ts: 1260759179000 },
    ]);
  });

  test('blank lines are skipped and a 3-column line has no timestamp', async () => {
    const t = await loadInteractions(write('three.data', '\n1\t2\t5\n\n3\t4\t1\t100\n  \n'));
    assert.deepEqual(rows(t), [
      { user: '1', item: '2', value: 5, ts: null },
      { user: '3', item: '4', value: 1, ts: 100000 },
    ]);
  });
});

describe('generic CSV', () => {
  test('user_id,item_id without value or ts: weight 1.0, ts null', async () => {
    const t = await loadInteractions(write('events.csv', 'item_id,user_id\nA,u1\nB,u2\n'));
    assert.deepEqual(rows(t), [
      { user: 'u1', item: 'A', value: 1, ts: null },
      { user: 'u2', item: 'B', value: 1, ts: null },
    ]);
  });

  test('timestamps as epoch seconds, epoch ms, ISO (zoned, unzoned = UTC, date only) and empty', async () => {
    const csv = [
      'user,item,weight,ts,extra',
      'a,x,2,1600000000,z',
      'a,y,1,1600000000123,z',
      'b,x,0.5,2020-09-13T12:26:40Z,z',
      'b,y,1,2020-09-13T14:26:40+02:00,z',
      'c,x,1,2020-09-13 12:26:40,z',
      'c,y,1,2020-09-13,z',
      'd,x,1,,z',
      'd,y,1',
    ].join('\n');
    const ts = rows(await loadInteractions(write('ts.csv', csv))).map((r) => r.ts);
    assert.deepEqual(ts, [
      1600000000000,
      1600000000123,
      1600000000000,
      1600000000000,
      1600000000000,
      Date.UTC(2020, 8, 13),
      null,
      null,
    ]);
  });

  test('quoted fields, spaces around fields, BOM, any header case', async () => {
    const csv = '\uFEFFUserId, "Item ID" ,Rating\n"user, one","it""em",4\n  u2 , i2 , 3.5 \n';
    assert.deepEqual(rows(await loadInteractions(write('q.csv', csv))), [
      { user: 'user, one', item: 'it"em', value: 4, ts: null },
      { user: 'u2', item: 'i2', value: 3.5, ts: null },
    ]);
  });

  test('tab- and semicolon-separated files with a header', async () => {
    const tsv = await loadInteractions(write('r.tsv', 'user\titem\trating\nu\ti\t2\n'));
    assert.deepEqual(rows(tsv), [{ user: 'u', item: 'i', value: 2, ts: null }]);
    const semi = await loadInteractions(write('r2.csv', 'user;item;rating\nu;i;2\n'), 'csv');
    assert.equal(semi.numRows, 1);
  });

  test('a header-less numeric CSV is read positionally as user,item,value,ts', async () => {
    const t = await loadInteractions(write('plain.csv', '1,2,3.5,100\n4,5,1,200\n'));
    assert.deepEqual(rows(t), [
      { user: '1', item: '2', value: 3.5, ts: 100000 },
      { user: '4', item: '5', value: 1, ts: 200000 },
    ]);
  });

  test('ids keep their text (leading zeros, UTF-8), dictionary in first-appearance order', async () => {
    const t = await loadInteractions(write('ids.csv', 'user,item\n007,café\n7,café\n007,naïve\n'));
    assert.deepEqual(
      rows(t).map((r) => [r.user, r.item]),
      [
        ['007', 'café'],
        ['7', 'café'],
        ['007', 'naïve'],
      ],
    );
    const dict = t.getChild('user')!.data[0]!.dictionary!;
    assert.deepEqual([...dict], ['007', '7']);
  });

  test('rows spanning the 4 MiB read chunk boundary parse correctly', async () => {
    const lines = ['user,item,rating,timestamp'];
    const n = 250_000; // ~6 MB with long ids
    for (let k = 0; k < n; k++)
      lines.push(`user-with-a-long-name-${k % 997},item-${k % 1009},${(k % 5) + 1},${1e9 + k}`);
    const t = await loadInteractions(write('big.csv', `${lines.join('\n')}\n`));
    assert.equal(t.numRows, n);
    const u = t.getChild('user')!;
    const v = t.getChild('value')!;
    const ts = t.getChild('ts')!;
    for (const k of [0, 1, 123_456, 174_000, n - 1]) {
      assert.equal(u.get(k), `user-with-a-long-name-${k % 997}`);
      assert.equal(v.get(k), (k % 5) + 1);
      assert.equal(ts.get(k), (1e9 + k) * 1000);
    }
  });
});

describe('format detection', () => {
  test('by name, then by content', async () => {
    const tab = '1\t2\t3\t4\n';
    assert.equal(await resolveFormat(write('u.data', tab)), 'movielens-tab');
    assert.equal(await resolveFormat(write('u1.base', tab)), 'movielens-tab');
    assert.equal(await resolveFormat(write('u1.test', tab)), 'movielens-tab');
    assert.equal(await resolveFormat(write('ratings.dat', '1::2::3::4\n')), 'movielens-dat');
    assert.equal(await resolveFormat(write('x.csv', 'user,item\n')), 'csv');
    assert.equal(await resolveFormat(write('x.parquet', 'PAR1')), 'parquet');
    assert.equal(await resolveFormat(write('noext', tab)), 'movielens-tab');
    assert.equal(await resolveFormat(write('noext2', '1::2::3::4\n')), 'movielens-dat');
    assert.equal(await resolveFormat(write('noext3', 'user,item\n')), 'csv');
    assert.equal(await resolveFormat(write('mystery.bin', 'PAR1....')), 'parquet');
    assert.equal(await resolveFormat(write('other.txt', '1::2::3::4\n'), 'movielens'), 'movielens-dat');
    assert.equal(await resolveFormat(write('other2.txt', tab), 'movielens'), 'movielens-tab');
  });
});

describe('Parquet (parquet-wasm)', () => {
  test('archive schema: event_id,user_id,item_id,type,value (nullable),ts', async () => {
    const file = at('events.parquet');
    writeParquetFile(
      file,
      new arrow.Table({
        event_id: arrow.vectorFromArray(['e1', 'e2', 'e3'], new arrow.Utf8()),
        user_id: arrow.vectorFromArray(['alice', 'bob', 'alice'], new arrow.Utf8()),
        item_id: arrow.vectorFromArray(['sku-1', 'sku-2', 'sku-2'], new arrow.Utf8()),
        type: arrow.vectorFromArray(['view', 'purchase', 'rating'], new arrow.Utf8()),
        value: arrow.vectorFromArray([null, 3, 4.5], new arrow.Float32()),
        ts: arrow.vectorFromArray(
          [1700000000000, 1700000001000, null],
          new arrow.TimestampMillisecond('UTC'),
        ),
      }),
    );
    assert.deepEqual(rows(await loadInteractions(file)), [
      { user: 'alice', item: 'sku-1', value: 1, ts: 1700000000000 },
      { user: 'bob', item: 'sku-2', value: 3, ts: 1700000001000 },
      { user: 'alice', item: 'sku-2', value: 4.5, ts: null },
    ]);
  });

  test('integer ids, float64 rating, int64 epoch-seconds timestamp, explicit format', async () => {
    const file = at('ints.bin');
    writeParquetFile(
      file,
      new arrow.Table({
        userId: arrow.makeVector(new Int32Array([1, 2])),
        movieId: arrow.makeVector(new BigInt64Array([10n, 20n])),
        rating: arrow.makeVector(new Float64Array([4, 2.5])),
        timestamp: arrow.makeVector(new BigInt64Array([978300760n, 978302109n])),
      }),
    );
    assert.deepEqual(rows(await loadInteractions(file, 'parquet')), [
      { user: '1', item: '10', value: 4, ts: 978300760000 },
      { user: '2', item: '20', value: 2.5, ts: 978302109000 },
    ]);
  });

  test('a loaded table round-trips through Parquet', async () => {
    const original = await loadInteractions(path.join(ml.dir, 'u1.test'));
    const file = at('u1.parquet');
    writeParquetFile(file, original);
    const back = await loadInteractions(file);
    assert.equal(back.numRows, ml.folds[0]!.test);
    assert.deepEqual(rows(back).slice(0, 50), rows(original).slice(0, 50));
    assert.deepEqual(rows(back).at(-1), rows(original).at(-1));
  });
});

describe('MovieLens folder (synthetic)', () => {
  /** The file's first line, as the loader should read it. */
  const firstRow = (name: string): Row => {
    const [user, item, value, ts] = readFileSync(path.join(ml.dir, name), 'utf8').split('\n')[0]!.split('\t');
    return { user: user!, item: item!, value: Number(value), ts: Number(ts) * 1000 };
  };

  test('u1.base: every row, every user, the first row as written', async () => {
    const t = await loadInteractions(path.join(ml.dir, 'u1.base'));
    assert.equal(t.numRows, ml.ratings - ml.folds[0]!.test);
    assert.equal(new Set(t.getChild('user')!.toArray()).size, ml.users);
    assert.deepEqual(rows(t)[0], firstRow('u1.base'));
    assert.equal(firstRow('u1.base').user, '1', 'sorted by user, as MovieLens');
  });

  test('u.data: every row, user and rated item, ratings 1..5', async () => {
    const t = await loadInteractions(path.join(ml.dir, 'u.data'));
    assert.equal(t.numRows, ml.ratings);
    assert.equal(new Set(t.getChild('user')!.toArray()).size, ml.users);
    assert.equal(new Set(t.getChild('item')!.toArray()).size, ml.ratedItems);
    const values = t.getChild('value')!.toArray() as Float32Array;
    assert.ok(values.every((v) => v >= 1 && v <= 5 && Number.isInteger(v)));
    assert.deepEqual(rows(t)[0], firstRow('u.data'));
  });

  test('u.item: titles, genres in u.genre order, ISO release dates, the unknown item', async () => {
    const items = await loadItemsMovieLens(path.join(ml.dir, 'u.item'));
    assert.equal(items.length, ml.items);
    assert.deepEqual(items, ml.catalog);
    assert.match(items[0]!.title, / \(\d{4}\)$/);
    assert.match(items[0]!.attributes.release_date!, /^\d{4}-\d\d-\d\d$/);
    const unknown = items.at(-1)!;
    assert.equal(unknown.category, 'unknown');
    assert.equal(unknown.attributes.release_date, null);
  });

  test('u.item is read as Latin-1', async () => {
    const flags = '|0'.repeat(18);
    const file = at('latin.item');
    writeFileSync(file, Buffer.from(`1|Misérables, Les (1995)|01-Jan-1995||http://x|1${flags}\n`, 'latin1'));
    const [item] = await loadItemsMovieLens(file);
    assert.equal(item!.title, 'Misérables, Les (1995)');
    assert.equal(item!.category, 'unknown');
  });
});
