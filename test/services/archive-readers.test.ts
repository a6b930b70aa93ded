// The archive opens as it is in real readers: the Archiver writes parts to MinIO from rows in
// PostgreSQL, the parts are copied byte for byte into a folder, and a Python program reads them
// with pyarrow and DuckDB (test/services/read_archive.py, in the virtualenv that
// scripts/python-readers.sh makes). A missing virtualenv fails the test, it never skips.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ARCHIVE_PREFIX, dayOf } from '../../src/data/archive-format.js';
import { silentLogger } from '../../src/logger.js';
import { Archiver } from '../../src/speed/archiver.js';
import { repoRoot, tempDir } from '../helpers.js';
import { event, insertRows } from '../speed/archiver-contract.js';
import { type ArchiveServers, openArchiveServers } from './archive-stores.js';

const run = promisify(execFile);

const venv =
  process.env.RECSYS_PYREADERS ??
  path.join(process.env.RECSYS_SERVICES_DIR ?? path.join(repoRoot, '.services'), 'pyreaders');
const python = path.join(venv, 'bin', 'python');

interface ReadersOutput {
  files: number;
  pyarrow: {
    version: string;
    schemas: [string, string, boolean][][];
    rows: unknown[][];
    dataset_rows: number;
  };
  duckdb: { version: string; types: Record<string, string>; rows: unknown[][] };
}

describe('the archive in pyarrow and DuckDB', () => {
  let s: ArchiveServers;
  const tmp = tempDir('recsys-readers-');
  before(async () => {
    s = await openArchiveServers();
  });
  after(async () => {
    await s?.cleanup();
    tmp.cleanup();
  });

  test('files written by the Archiver open as they are, with the schema of DESIGN.md §4', async () => {
    assert.ok(
      existsSync(python),
      `no Python readers at ${venv}: run \`bash scripts/python-readers.sh\` (pyarrow and DuckDB in a virtualenv) first`,
    );
    const now = Date.parse('2026-03-10T12:00:00.000Z');
    const events = [
      event(Date.parse('2026-03-07T23:59:59.999Z'), { value: null, user_id: 'ünïcode ✓ "user"' }),
      event(Date.parse('2026-03-08T00:00:00.000Z'), { value: -2.5, type: 'dismiss' }),
      event(Date.parse('2026-03-08T00:00:00.001Z'), { value: 4.5, type: 'rating' }),
      event(Date.parse('2026-02-28T13:14:15.123Z'), { value: Math.fround(0.1), type: 'purchase' }),
      ...Array.from({ length: 40 }, (_, i) => event(now - 3 * 86_400_000 - i * 3_600_000)),
    ];
    await insertRows(s.db, events);
    const result = await new Archiver({
      db: s.db,
      objects: s.objects,
      logger: silentLogger,
      retentionHours: 48,
      rowsPerFile: 16,
    }).runOnce(new Date(now));
    assert.equal(result.rows, events.length);

    const keys = await s.objects.list(ARCHIVE_PREFIX);
    for (const key of keys) {
      const file = path.join(tmp.dir, ...key.split('/'));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, await s.objects.get(key));
    }
    const { stdout } = await run(python, [path.join(repoRoot, 'test/services/read_archive.py'), tmp.dir], {
      maxBuffer: 64 << 20,
    });
    const out = JSON.parse(stdout) as ReadersOutput;
    assert.equal(out.files, keys.length);

    assert.deepEqual(out.pyarrow.schemas, [
      [
        ['event_id', 'string', false],
        ['user_id', 'string', false],
        ['item_id', 'string', false],
        ['type', 'string', false],
        ['value', 'float', true],
        ['ts', 'timestamp[ms, tz=UTC]', false],
      ],
    ]);
    const want = events
      .map((e) => [e.event_id, e.user_id, e.item_id, e.type, e.value, e.ts, dayOf(e.ts)])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    assert.deepEqual(out.pyarrow.rows, want);
    assert.equal(out.pyarrow.dataset_rows, events.length);

    assert.deepEqual(out.duckdb.types, {
      event_id: 'VARCHAR',
      user_id: 'VARCHAR',
      item_id: 'VARCHAR',
      type: 'VARCHAR',
      value: 'FLOAT',
      ts: 'TIMESTAMP WITH TIME ZONE',
      dt: 'DATE',
    });
    assert.deepEqual(out.duckdb.rows, want);
  });
});
