// The batch layer as real processes on the real PostgreSQL and MinIO (a fresh database and
// bucket): `recsys batch run` end to end, its lock across processes (a second run is refused
// naming the first), kill -9 at each phase (all or nothing: the active model and its answers
// stay, or the new ones are complete; the next start marks the killed run failed), and two
// `recsys scheduler` processes on one database running each slot once.
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importMovieLens } from '../../src/batch/import-movielens.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { activeVersion } from '../../src/model/registry.js';
import { openStores, type Stores } from '../../src/stores/index.js';
import { openPostgres } from '../../src/stores/relational/postgres.js';
import { syntheticMovieLens } from '../helpers.js';
import { uid, waitFor } from '../stores/support/wait.js';
import { removeBucket } from './buckets.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';
import { servicesEnv } from './serving-stores.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const children = new Set<ChildProcessByStdio<null, Readable, Readable>>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

interface Proc {
  child: ChildProcessByStdio<null, Readable, Readable>;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function recsys(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

describe('batch layer as real processes (services)', () => {
  const id = uid().toLowerCase();
  const dbName = `batch_${id}`;
  const bucket = `batch-${id}`;
  const ml = syntheticMovieLens({ users: 1500, items: 1200, meanPerUser: 60 });
  const dbUrl = new URL(servers.databaseUrl);
  dbUrl.pathname = `/${dbName}`;
  const env = servicesEnv({
    DATABASE_URL: dbUrl.toString(),
    S3_BUCKET: bucket,
    RECSYS_TRAIN_WINDOW_DAYS: 'all',
    RECSYS_ALS_ITERATIONS: '8',
    RECSYS_LOG_LEVEL: 'warn',
  });
  let stores: Stores;
  const batchRun = (extra: Record<string, string> = {}) =>
    recsys(['batch', 'run', '--json'], { ...env, ...extra });
  const answersOf = async (version: string | null) => {
    const { rows } = await stores.db.query<{ n: number; digest: string | null }>(
      `SELECT count(*)::int AS n, md5(string_agg(user_id || ':' || array_to_string(item_ids, ','), ';' ORDER BY user_id)) AS digest
         FROM batch_recommendations WHERE model_version = $1`,
      [version],
    );
    return rows[0]!;
  };

  before(async () => {
    const server = await openPostgres({
      url: servers.databaseUrl,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    });
    await server.query(`CREATE DATABASE ${dbName}`);
    await server.close();
    stores = await openStores(loadConfig({ env }), { logger: silentLogger });
    await importMovieLens(stores, ml.dir);
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await stores?.close();
    await removeBucket(bucket).catch(() => {});
    const server = await openPostgres({
      url: servers.databaseUrl,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    });
    await server.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await server.close();
    ml.cleanup();
  });

  it('recsys batch run publishes a model and its answers for every user; a second process is refused while it runs', async () => {
    const first = batchRun();
    await waitFor(
      async () => (await stores.db.query(`SELECT 1 FROM batch_runs WHERE status = 'running'`)).rowCount > 0,
      'the first run to be running',
    );
    const { rows } = await stores.db.query<{ run_id: string }>(
      `SELECT run_id FROM batch_runs WHERE status = 'running'`,
    );
    const second = batchRun();
    const refused = await second.exited;
    assert.equal(refused.code, 3, second.stderr());
    assert.match(second.stderr(), new RegExp(`a batch run is already in progress \\(${rows[0]!.run_id}\\)`));
    const done = await first.exited;
    assert.equal(done.code, 0, first.stderr().slice(-2000));
    const o = JSON.parse(first.stdout().trim());
    assert.equal(o.status, 'succeeded');
    assert.equal(await activeVersion(stores), o.model_version);
    assert.equal((await answersOf(o.model_version)).n, ml.users);
  });

  it('kill -9 in any phase: the served model and answers stay whole (old or new), and the next start fails the run', async () => {
    const hit = new Set<string>();
    for (const target of ['read', 'train', 'evaluate', 'refit', 'save', 'precompute', 'activate']) {
      const version = await activeVersion(stores);
      const answers = await answersOf(version);
      const p = batchRun();
      let gone = false;
      void p.exited.then(() => {
        gone = true;
      });
      let phase: string | null = null;
      for (;;) {
        const r = await stores.db.query<{ phase: string | null }>(
          `SELECT phase FROM batch_runs WHERE status = 'running' LIMIT 1`,
        );
        phase = r.rows[0]?.phase ?? null;
        if (phase === target || gone) break;
        await new Promise((res) => setTimeout(res, 2));
      }
      p.child.kill('SIGKILL');
      const end = await p.exited;
      if (end.signal !== 'SIGKILL') continue; // finished before the phase was seen: nothing to check
      // Where it really died (it may have moved on between the look and the signal).
      const open = await stores.db.query<{ run_id: string; phase: string }>(
        `SELECT run_id, phase FROM batch_runs WHERE status = 'running'`,
      );
      const killedId = open.rows[0]!.run_id;
      phase = open.rows[0]!.phase;
      hit.add(phase);
      const now = await activeVersion(stores);
      if (now === version) {
        assert.deepEqual(await answersOf(now), answers, `killed in ${phase}: the old answers are untouched`);
      } else {
        assert.equal(phase, 'activate', `the active model changed after a kill in ${phase}`);
        assert.equal((await answersOf(now)).n, ml.users, 'the new model came with all its answers');
      }
      const next = batchRun({ RECSYS_TRAIN_WINDOW_DAYS: '1' }); // fails at once (no data), after the check
      await next.exited;
      const killed = await stores.db.query<{ status: string; error: string }>(
        'SELECT status, error FROM batch_runs WHERE run_id = $1',
        [killedId],
      );
      assert.deepEqual(
        { ...killed.rows[0] },
        { status: 'failed', error: `interrupted: its process ended during ${phase}` },
      );
    }
    for (const must of ['read', 'train', 'precompute']) assert.ok(hit.has(must), `killed in ${[...hit]}`);
  });

  it('two recsys scheduler processes on one database run each slot once', async () => {
    const schedEnv = {
      ...env,
      RECSYS_BATCH_SCHEDULE: '*/4 * * * * *',
      RECSYS_ALS_ITERATIONS: '2',
      RECSYS_BATCH_RETRY_DELAY_MS: '500',
    };
    const earlier = (await stores.db.query(`SELECT 1 FROM batch_runs WHERE scheduled_for IS NOT NULL`))
      .rowCount;
    const a = recsys(['scheduler'], schedEnv);
    const b = recsys(['scheduler'], schedEnv);
    const slots = async () =>
      (
        await stores.db.query<{ slot: Date; status: string }>(
          `SELECT scheduled_for AS slot, status FROM batch_runs WHERE scheduled_for IS NOT NULL ORDER BY created_at`,
        )
      ).rows;
    try {
      await waitFor(
        async () =>
          (await slots()).filter((r) => r.status === 'succeeded' || r.status === 'rejected').length >= 3,
        'three scheduled slots done',
        90_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; scheduler logs: ${a.stderr().slice(-3000)}`);
    } finally {
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
    }
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    assert.deepEqual([ea.code, eb.code], [0, 0], a.stderr().slice(-1000) + b.stderr().slice(-1000));
    const ran = (await slots()).slice(earlier).filter((r) => r.status !== 'failed');
    const names = ran.map((r) => r.slot.toISOString());
    assert.equal(new Set(names).size, names.length, `a slot ran twice: ${names}`);
    assert.match(a.stdout(), /scheduler: "\*\/4 \* \* \* \* \*" \(UTC\); next run /);
  });
});
