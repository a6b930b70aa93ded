// Imports on the real servers: CSV, Parquet and MovieLens into PostgreSQL and MinIO (a schema
// and a bucket of the test's own, removed afterwards), a second import that changes nothing, a
// rerun after a crash; and `recsys import csv` as a process with RECSYS_MODE=services.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as arrow from 'apache-arrow';
import { runImport } from '../../src/batch/import.js';
import { csvSource } from '../../src/batch/import-csv.js';
import { importMovieLens } from '../../src/batch/import-movielens.js';
import { parquetSource } from '../../src/batch/import-parquet.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { openStores } from '../../src/stores/index.js';
import {
  archived,
  column,
  eventLines,
  snapshot,
  T0,
  writeLines,
  writeParquet,
} from '../batch/import-support.js';
import { repoRoot, syntheticMovieLens, tempDir } from '../helpers.js';
import { FaultyObjects } from '../speed/faults.js';
import { uid } from '../stores/support/wait.js';
import { type ArchiveServers, openArchiveServers } from './archive-stores.js';
import { removeBucket } from './buckets.js';
import { servicesEnv } from './serving-stores.js';

const run = promisify(execFile);

describe('imports on PostgreSQL and MinIO', () => {
  const tmp = tempDir();
  const ml = syntheticMovieLens({ users: 50, items: 70 });
  let servers: ArchiveServers;
  before(async () => {
    servers = await openArchiveServers();
  });
  after(async () => {
    await servers?.cleanup();
    tmp.cleanup();
    ml.cleanup();
  });

  it('imports CSV, Parquet and MovieLens; importing each again changes nothing', async () => {
    const csv = writeLines(path.join(tmp.dir, 'events.csv'), eventLines(200, 4));
    const pq = await writeParquet(
      path.join(tmp.dir, 'events.parquet'),
      new arrow.Table({
        user_id: column(['p1', 'p2'], new arrow.Utf8()),
        item_id: column(['q1', 'q2'], new arrow.Utf8()),
        ts: column([T0, T0 + 1], new arrow.TimestampMillisecond('UTC')),
      }),
    );
    const imported = [
      await runImport(servers, csvSource(csv)),
      await runImport(servers, parquetSource(pq)),
      await importMovieLens(servers, ml.dir),
    ];
    assert.deepEqual(
      imported.map((r) => [r.format, r.rows, r.already_imported]),
      [
        ['csv', 200, false],
        ['parquet', 2, false],
        ['movielens', ml.ratings, false],
      ],
    );
    assert.equal((await archived(servers.objects)).length, 200 + 2 + ml.ratings);
    const { rows } = await servers.db.query<{ title: string }>(`SELECT title FROM items WHERE item_id = '1'`);
    assert.equal(rows[0]!.title, ml.catalog[0]!.title);

    const before = await snapshot(servers);
    const again = [
      await runImport(servers, csvSource(csv)),
      await runImport(servers, parquetSource(pq)),
      await importMovieLens(servers, ml.dir),
    ];
    assert.deepEqual(
      again.map((r) => r.already_imported),
      [true, true, true],
    );
    assert.deepEqual(await snapshot(servers), before);
  });

  it('a rerun after a crash in the middle of the uploads ends like one clean import', async () => {
    const csv = writeLines(
      path.join(tmp.dir, 'crash.csv'),
      eventLines(300, 6).map((l, i) => (i ? `x${l}` : l)),
    );
    const faulty = new FaultyObjects(servers.objects);
    faulty.failNext('put', 'before', 4);
    await assert.rejects(
      runImport({ db: servers.db, objects: faulty }, csvSource(csv)),
      /injected fault before put/,
    );
    const r = await runImport(servers, csvSource(csv));
    assert.deepEqual([r.rows, r.parts, r.already_imported], [300, 6, false]);
    const mine = (await archived(servers.objects)).filter((e) => e.user_id.startsWith('xu'));
    assert.equal(mine.length, 300);
    assert.equal(new Set(mine.map((e) => e.event_id)).size, 300);
    assert.deepEqual(
      (await servers.objects.list('imports/')).filter((k) => k.endsWith('.pending.json')),
      [],
    );
  });

  it('recsys import csv with RECSYS_MODE=services writes to the configured servers', async () => {
    const bucket = uid('import-cli-').toLowerCase();
    const user = uid('import-cli-user-');
    const items = [uid('import-cli-item-'), uid('import-cli-item-')];
    const csv = writeLines(path.join(tmp.dir, 'cli.csv'), [
      'user_id,item_id,type,ts',
      `${user},${items[0]},view,2024-03-01T10:00:00Z`,
      `${user},${items[1]},click,2024-03-02T10:00:00Z`,
    ]);
    const env = { ...process.env, ...servicesEnv({ S3_BUCKET: bucket, RECSYS_LOG_LEVEL: 'warn' }) };
    const stores = await openStores(loadConfig({ env }), { logger: silentLogger });
    try {
      const { stdout } = await run(
        process.execPath,
        [path.join(repoRoot, 'bin/recsys.js'), 'import', 'csv', csv, '--json'],
        {
          env,
        },
      );
      const out = JSON.parse(stdout);
      assert.deepEqual([out.rows, out.parts, out.new_users, out.already_imported], [2, 2, 1, false]);
      assert.equal((await archived(stores.objects)).filter((e) => e.user_id === user).length, 2);
      const { rows } = await stores.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM users WHERE user_id = $1',
        [user],
      );
      assert.equal(rows[0]!.n, 1);
      const second = await run(
        process.execPath,
        [path.join(repoRoot, 'bin/recsys.js'), 'import', 'csv', csv, '--json'],
        { env },
      );
      assert.equal(JSON.parse(second.stdout).already_imported, true);
    } finally {
      for (const key of await stores.objects.list()) await stores.objects.delete(key);
      // The public schema is shared: what this test added goes (the last ids, so idx stays dense).
      await stores.db.query('DELETE FROM users WHERE user_id = $1', [user]);
      await stores.db.query('DELETE FROM items WHERE item_id = ANY($1)', [items]);
      await stores.close();
      await removeBucket(bucket);
    }
  });
});
