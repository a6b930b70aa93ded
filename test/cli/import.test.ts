// `recsys import` as an operator runs it: a real process on a temp data dir (embedded stores),
// one JSON line with --json, a summary without, a second import that changes nothing, and a bad
// file refused by line with exit code 1 and nothing written.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot, syntheticMovieLens, tempDir } from '../helpers.js';
import { freshPgliteDir } from '../stores/support/pglite-dir.js';

const run = promisify(execFile);
const bin = path.join(repoRoot, 'bin/recsys.js');

describe('recsys import (embedded)', () => {
  const tmp = tempDir();
  const data = path.join(tmp.dir, 'data');
  const ml = syntheticMovieLens({ users: 40, items: 60 });
  before(() => freshPgliteDir(data));
  after(() => {
    tmp.cleanup();
    ml.cleanup();
  });

  async function recsys(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, 'import', ...args, '--data-dir', data], {
        env: { ...process.env, RECSYS_MODE: 'embedded', RECSYS_LOG_LEVEL: 'warn' },
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }
  const objects = () =>
    (readdirSync(path.join(data, 'objects'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.parquet') || f.endsWith('.json'))
      .sort();

  it('imports a CSV with --items and prints one JSON line; a second import changes nothing', async () => {
    const csv = path.join(tmp.dir, 'events.csv');
    writeFileSync(
      csv,
      'user_id,item_id,type,value,ts\nc1,k1,view,,2024-03-01T10:00:00Z\nc2,k2,rating,4,1709337600000\n',
    );
    const items = path.join(tmp.dir, 'items.csv');
    writeFileSync(items, 'item_id,title,category\nk1,Kettle,kitchen\n');
    const r = await recsys('csv', csv, '--items', items, '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(
      [
        out.format,
        out.files,
        out.rows,
        out.skipped_rows,
        out.users,
        out.items,
        out.parts,
        out.already_imported,
      ],
      ['csv', 2, 2, 0, 2, 2, 2, false],
    );
    const written = objects();
    assert.equal(written.length, 3); // two day parts and the marker
    const again = await recsys('csv', csv, '--items', items, '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).already_imported, true);
    assert.deepEqual(objects(), written);
  });

  it('refuses a CSV with a bad row, naming the line, with exit code 1 and nothing written', async () => {
    const before = objects();
    const bad = path.join(tmp.dir, 'bad.csv');
    writeFileSync(bad, 'user_id,item_id,type\nb1,k1,view\nb1,k2,like\n');
    const r = await recsys('csv', bad);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.csv: 1 invalid row, nothing imported/);
    assert.match(r.stderr, /bad\.csv:3: type: must be one of/);
    assert.deepEqual(objects(), before);
    const skipped = await recsys('csv', bad, '--skip-invalid');
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.match(skipped.stdout, /imported 1 row from 1 file/);
    assert.match(skipped.stdout, /skipped: .*bad\.csv:3: type/);
  });

  it('imports a MovieLens folder with a summary', async () => {
    const r = await recsys('movielens', ml.dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`imported ${ml.ratings} rows from 2 files`));
    assert.match(r.stdout, new RegExp(`users +${ml.users} \\(${ml.users} new\\)`));
    const again = await recsys('movielens', ml.dir);
    assert.match(again.stdout, /already imported .*nothing changed/);
  });

  it('rejects an unknown --type and a missing file', async () => {
    const r1 = await recsys('csv', 'x.csv', '--type', 'like');
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, /--type <type>' argument 'like' is invalid/);
    const r2 = await recsys('parquet', path.join(tmp.dir, 'nope.parquet'));
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /nope\.parquet: file not found/);
  });
});
