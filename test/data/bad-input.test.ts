// Bad input: every malformed file must fail with a DataError that names the file and the
// 1-based line (or Parquet row), so the CLI can print one clear line and exit non-zero.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as arrow from 'apache-arrow';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';
import { DataError } from '../../src/data/errors.js';
import { type InteractionFormat, loadInteractions, loadItemsMovieLens } from '../../src/data/loaders.js';
import { tempDir } from '../helpers.js';

let tmp: { dir: string; cleanup: () => void };
before(() => {
  tmp = tempDir('recsys-bad-');
});
after(() => tmp.cleanup());

function write(name: string, content: string | Uint8Array): string {
  const file = path.join(tmp.dir, name);
  writeFileSync(file, content);
  return file;
}

interface Expect {
  line?: number;
  row?: number;
  match: RegExp;
}

async function expectDataError(promise: Promise<unknown>, file: string, want: Expect): Promise<DataError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DataError, `expected a DataError, got ${String(caught)}`);
  assert.equal(caught.file, file);
  assert.equal(caught.line, want.line);
  assert.equal(caught.row, want.row);
  assert.match(caught.message, want.match);
  const where =
    want.line !== undefined
      ? `${file}:${want.line}: `
      : want.row !== undefined
        ? `${file}: row ${want.row}: `
        : `${file}: `;
  assert.ok(
    caught.message.startsWith(where),
    `message ${JSON.stringify(caught.message)} should start with ${where}`,
  );
  return caught;
}

async function expectLoadError(name: string, content: string, want: Expect, format?: InteractionFormat) {
  const file = write(name, content);
  return expectDataError(loadInteractions(file, format), file, want);
}

describe('text files: the error names file and line', () => {
  test('the message reads like ratings.csv:17: expected 3+ columns, got 2', async () => {
    const lines = ['userId,movieId,rating,timestamp'];
    for (let k = 2; k < 17; k++) lines.push(`1,${k},4,1260759144`);
    lines.push('1,99');
    const err = await expectLoadError('ratings.csv', `${lines.join('\n')}\n`, {
      line: 17,
      match: /expected 3\+ columns, got 2$/,
    });
    assert.equal(err.message, `${err.file}:17: expected 3+ columns, got 2`);
    assert.equal(err.detail, 'expected 3+ columns, got 2');
  });

  test('u.data: too few and too many columns', async () => {
    await expectLoadError('few.data', '1\t2\t3\t4\n5\t6\t7\t8\n9\t10\n', {
      line: 3,
      match: /expected 3 or 4 columns.*got 2/,
    });
    await expectLoadError('many.data', '1\t2\t3\t4\t5\n', { line: 1, match: /got 5/ });
    await expectLoadError('spaces.data', '1 2 3 4\n', { line: 1, match: /got 1/ });
  });

  test('ratings.dat: wrong column count', async () => {
    await expectLoadError('ratings.dat', '1::2::3::4\n1::2\n', {
      line: 2,
      match: /expected 3 or 4 columns.*got 2/,
    });
  });

  test('non-numeric, NaN, Infinity and out-of-float32 ratings', async () => {
    for (const [name, bad] of [
      ['abc.data', 'abc'],
      ['nan.data', 'NaN'],
      ['inf.data', 'Infinity'],
      ['ninf.data', '-Infinity'],
      ['huge.data', '1e999'],
      ['f32.data', '4e38'],
      ['hex.data', '0x10'],
      ['empty-rating.data', ''],
    ] as const) {
      await expectLoadError(name, `1\t2\t3\t4\n1\t2\t${bad}\t4\n`, {
        line: 2,
        match: /rating is not a finite number/,
      });
    }
  });

  test('CSV value column named in the message', async () => {
    await expectLoadError('w.csv', 'user,item,weight\na,b,1\na,b,heavy\n', {
      line: 3,
      match: /weight is not a finite number: "heavy"/,
    });
  });

  test('bad timestamps', async () => {
    await expectLoadError('ts.data', '1\t2\t3\tyesterday\n', {
      line: 1,
      match: /timestamp is not valid: "yesterday"/,
    });
    await expectLoadError('ts.csv', 'user,item,ts\na,b,2020-13-45T99:00:00Z\n', {
      line: 2,
      match: /timestamp is not valid.*ISO-8601/,
    });
  });

  test('empty ids', async () => {
    await expectLoadError('eu.csv', 'user,item\n,b\n', { line: 2, match: /empty user id/ });
    await expectLoadError('ei.data', '1\t\t3\t4\n', { line: 1, match: /empty item id/ });
  });

  test('CSV header without a user or item column', async () => {
    await expectLoadError('nouser.csv', 'customer,item\nx,y\n', {
      line: 1,
      match: /no user column.*"customer"/,
    });
    await expectLoadError('noitem.csv', 'user,thing,rating\nx,y,1\n', { line: 1, match: /no item column/ });
  });

  test('unterminated quote', async () => {
    await expectLoadError('q.csv', 'user,item\n"a,b\n', { line: 2, match: /unterminated quoted field/ });
  });

  test('line numbers count blank lines and CRLF lines', async () => {
    await expectLoadError('blank.csv', '\r\n\r\nuser,item,rating\r\nu,i,1\r\n\r\nu,i,x\r\n', {
      line: 6,
      match: /rating is not a finite number: "x"/,
    });
  });

  test('line numbers stay right past the 4 MiB read chunks', async () => {
    const n = 300_000;
    const body: string[] = [];
    for (let k = 0; k < n; k++) body.push(`${k % 1000}\t${k % 777}\t${(k % 5) + 1}\t${881250949 + k}`);
    body.push('1\t2\tbroken\t881250949');
    await expectLoadError('big.data', `${body.join('\n')}\n`, { line: n + 1, match: /"broken"/ });
  });

  test('empty, whitespace-only and header-only files', async () => {
    await expectLoadError('empty.data', '', { match: /empty file/ });
    await expectLoadError('empty.csv', '', { match: /empty file/ });
    await expectLoadError('blank.data', '\n  \n\n', { match: /empty file/ });
    await expectLoadError('header.csv', 'user,item,rating\n', { match: /no data rows after the header/ });
    await expectLoadError('empty-noext', '', { match: /empty file/ });
    await expectLoadError('empty-ml', '', { match: /empty file/ }, 'movielens');
  });

  test('missing file and directory', async () => {
    const missing = path.join(tmp.dir, 'nope', 'u.data');
    await expectDataError(loadInteractions(missing), missing, { match: /file not found/ });
    const dir = path.join(tmp.dir, 'adir.csv');
    mkdirSync(dir);
    await expectDataError(loadInteractions(dir), dir, { match: /not a regular file/ });
  });
});

describe('Parquet: the error names file (and row)', () => {
  function parquet(name: string, table: arrow.Table): string {
    return write(name, writeParquet(WasmTable.fromIPCStream(arrow.tableToIPC(table, 'stream'))));
  }

  test('not Parquet at all', async () => {
    const file = write('junk.parquet', 'user,item\n1,2\n');
    await expectDataError(loadInteractions(file), file, { match: /not a readable Parquet file/ });
    const empty = write('empty.parquet', '');
    await expectDataError(loadInteractions(empty), empty, { match: /empty file/ });
  });

  test('missing id column', async () => {
    const file = parquet(
      'noitem.parquet',
      new arrow.Table({ user_id: arrow.vectorFromArray(['a'], new arrow.Utf8()) }),
    );
    await expectDataError(loadInteractions(file), file, { match: /no item column.*"user_id"/ });
  });

  test('null id and NaN value give the row', async () => {
    const nullUser = parquet(
      'nulluser.parquet',
      new arrow.Table({
        user_id: arrow.vectorFromArray(['a', null, 'c'], new arrow.Utf8()),
        item_id: arrow.vectorFromArray(['x', 'y', 'z'], new arrow.Utf8()),
      }),
    );
    await expectDataError(loadInteractions(nullUser), nullUser, { row: 2, match: /null user_id/ });
    const nanValue = parquet(
      'nan.parquet',
      new arrow.Table({
        user_id: arrow.vectorFromArray(['a', 'b', 'c'], new arrow.Utf8()),
        item_id: arrow.vectorFromArray(['x', 'y', 'z'], new arrow.Utf8()),
        value: arrow.makeVector(new Float64Array([1, 2, Number.NaN])),
      }),
    );
    await expectDataError(loadInteractions(nanValue), nanValue, {
      row: 3,
      match: /value is not a finite number/,
    });
  });

  test('unsupported column type', async () => {
    const file = parquet(
      'boolvalue.parquet',
      new arrow.Table({
        user_id: arrow.vectorFromArray(['a'], new arrow.Utf8()),
        item_id: arrow.vectorFromArray(['x'], new arrow.Utf8()),
        rating: arrow.vectorFromArray([true], new arrow.Bool()),
      }),
    );
    await expectDataError(loadInteractions(file), file, { match: /column "rating" has type Bool/ });
  });
});

describe('u.item', () => {
  test('wrong field count, bad genre flag, bad date', async () => {
    const flags = '|0'.repeat(19);
    const good = `1|Toy Story (1995)|01-Jan-1995||http://x${flags}`;
    let file = write('a.item', `${good}\n2|Short|01-Jan-1995\n`);
    await expectDataError(loadItemsMovieLens(file), file, {
      line: 2,
      match: /expected 24 '\|'-separated fields, got 3/,
    });
    file = write('b.item', `${good}\n2|Bad flag|01-Jan-1995||http://x${'|0'.repeat(18)}|2\n`);
    await expectDataError(loadItemsMovieLens(file), file, { line: 2, match: /genre flag Western is "2"/ });
    file = write('c.item', `2|Bad date|1995/01/01||http://x${flags}\n`);
    await expectDataError(loadItemsMovieLens(file), file, { line: 1, match: /release date "1995\/01\/01"/ });
    file = write('d.item', '');
    await expectDataError(loadItemsMovieLens(file), file, { match: /empty file/ });
  });
});
