// `recsys import parquet` reads what other tools write: pyarrow as pandas leaves a table, pyarrow
// with the archive schema, Spark's INT96 timestamps and DuckDB's COPY (written by
// test/services/write_parquet.py in the virtualenv of scripts/python-readers.sh), imported into
// PostgreSQL and MinIO. A missing virtualenv fails the test, it never skips.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runImport } from '../../src/batch/import.js';
import { parquetSource } from '../../src/batch/import-parquet.js';
import { archived } from '../batch/import-support.js';
import { repoRoot, tempDir } from '../helpers.js';
import { type ArchiveServers, openArchiveServers } from './archive-stores.js';

const run = promisify(execFile);
const venv =
  process.env.RECSYS_PYREADERS ??
  path.join(process.env.RECSYS_SERVICES_DIR ?? path.join(repoRoot, '.services'), 'pyreaders');
const python = path.join(venv, 'bin', 'python');

const T0 = Date.parse('2024-03-01T10:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('Parquet files from pyarrow, Spark and DuckDB', () => {
  let s: ArchiveServers;
  const tmp = tempDir('recsys-writers-');
  before(async () => {
    s = await openArchiveServers();
  });
  after(async () => {
    await s?.cleanup();
    tmp.cleanup();
  });

  it('imports each as it is', async () => {
    assert.ok(
      existsSync(python),
      `no Python at ${venv}: run \`bash scripts/python-readers.sh\` (pyarrow and DuckDB in a virtualenv) first`,
    );
    const { stdout } = await run(python, [path.join(repoRoot, 'test/services/write_parquet.py'), tmp.dir]);
    const { files } = JSON.parse(stdout) as { files: string[] };
    const results = [];
    for (const file of files) results.push(await runImport(s, parquetSource(file)));
    assert.deepEqual(
      results.map((r) => [path.basename(r.file), r.rows, r.skipped_rows]),
      [
        ['pandas.parquet', 5, 0],
        ['pyarrow-archive.parquet', 5, 0],
        ['spark-int96.parquet', 5, 0],
        ['duckdb.parquet', 5, 0],
      ],
    );
    const rows = await archived(s.objects);
    const of = (prefix: string) =>
      rows
        .filter((e) => e.user_id.startsWith(prefix))
        .sort((a, b) => a.ts - b.ts)
        .map((e) => [e.user_id, e.item_id, e.type, e.value, e.ts]);
    assert.deepEqual(of('pd-'), [
      ['pd-u0', 'pd-i0', 'rating', 4, T0],
      ['pd-u1', 'pd-i1', 'rating', 3.5, T0 + DAY],
      ['pd-u2', 'pd-i2', 'rating', 5, T0 + 2 * DAY],
      ['pd-u3', 'pd-i3', 'rating', 1, T0 + 3 * DAY],
      ['pd-u4', 'pd-i4', 'rating', 2, T0 + 4 * DAY],
    ]);
    const archiveRows = [
      ['pa-u0', 'pa-i0', 'view', null, T0],
      ['pa-u1', 'pa-i1', 'click', null, T0 + HOUR],
      ['pa-u2', 'pa-i2', 'purchase', 9.5, T0 + 2 * HOUR],
      ['pa-u3', 'pa-i3', 'rating', 4, T0 + 3 * HOUR],
      ['pa-u4', 'pa-i4', 'dismiss', null, T0 + 4 * HOUR],
    ];
    assert.deepEqual(of('pa-'), archiveRows);
    assert.deepEqual(
      rows
        .filter((e) => e.user_id.startsWith('pa-'))
        .map((e) => e.event_id)
        .sort(),
      [0, 1, 2, 3, 4].map((i) => `0b6b3c2e-1f1a-4d6e-9c1b-00000000000${i}`),
    );
    assert.deepEqual(
      of('sp-'),
      archiveRows.map(([, ...rest], i) => [`sp-u${i}`, ...rest]),
    );
    assert.deepEqual(
      of('dk-'),
      [0, 1, 2, 3, 4].map((i) => [`dk-u${i}`, String(i), 'view', null, T0 + i * DAY]),
    );
  });
});
