// The Spark engine on the real PostgreSQL and MinIO: a batch run whose training is the PySpark
// job (deploy/spark/) on local[2], reading the archive over s3a, against a run of the built-in
// engine on the same data. Needs `bash scripts/spark.sh` (pyspark, the s3a jars; Java 17+).
//
// The data: 600 users in 6 taste groups of 30 items, 30 events each over the last three days,
// a few events stored twice, 40 days-old events of other users (outside the 30-day window)
// and the newest events still in rt_user_interactions (not archived yet). Both engines must
// see the same users and items (the job's window, dedupe and weights are the run's), the
// Spark-trained model is the one published and its precomputed answers are the ones served,
// and its holdout NDCG@10 is within 0.05 (absolute) of the built-in engine's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeArchive } from '../../src/batch/archive.js';
import { type RunOutcome, startBatchRun } from '../../src/batch/pipeline.js';
import { batchDeps } from '../../src/cli/batch-deps.js';
import { ComputePool } from '../../src/compute/pool.js';
import { loadConfig } from '../../src/config/index.js';
import type { InteractionEvent } from '../../src/events/index.js';
import { silentLogger } from '../../src/logger.js';
import { ActiveModel } from '../../src/model/active.js';
import { activeVersion, loadModel } from '../../src/model/registry.js';
import { startServer } from '../../src/serving/server.js';
import { openTableBus } from '../../src/stores/bus/table-bus.js';
import { openMemoryCache } from '../../src/stores/cache/memory.js';
import { assembleStores, migrate } from '../../src/stores/index.js';
import { openMinioObjects } from '../../src/stores/objects/minio.js';
import type { ObjectStore } from '../../src/stores/objects/port.js';
import { openPostgres } from '../../src/stores/relational/postgres.js';
import { uid, waitFor } from '../stores/support/wait.js';
import { removeBucket } from './buckets.js';
import { dropDatabase } from './cleanup.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';
import { servicesEnv } from './serving-stores.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const HOUR = 3_600_000;

/** pid, parent pid, state and command line of every process, from /proc. */
function processes(): Array<{ pid: number; ppid: number; state: string; args: string }> {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // stat: "pid (comm) state ppid …"; comm may hold spaces or parentheses, so split after the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      out.push({ pid: Number(name), ppid: Number(ppid), state: state!, args });
    } catch {} // gone meanwhile
  }
  return out;
}

/** Every process under `root`. */
function descendants(root: number): Array<{ pid: number; args: string }> {
  const all = processes();
  const found = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all)
      if (found.has(p.ppid) && !found.has(p.pid)) {
        found.add(p.pid);
        grew = true;
      }
  }
  return all.filter((p) => p.pid !== root && found.has(p.pid));
}

/** Whether `pid` runs (a zombie waiting for its parent to reap it has ended). */
function running(pid: number): boolean {
  return processes().some((p) => p.pid === pid && p.state !== 'Z');
}
const NDCG_TOLERANCE = 0.05;

type PostgresStore = Awaited<ReturnType<typeof openPostgres>>;

/** A deterministic stream of numbers in [0, 1). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function events(now: number): { archived: InteractionEvent[]; recent: InteractionEvent[] } {
  const rand = rng(7);
  const all: InteractionEvent[] = [];
  let n = 0;
  const id = () => `00000000-0000-4000-8000-${(n++).toString(16).padStart(12, '0')}`;
  const types = ['view', 'view', 'view', 'click', 'click', 'purchase'] as const;
  for (let u = 0; u < 600; u++) {
    const group = u % 6;
    for (let e = 0; e < 30; e++) {
      const item = rand() < 0.85 ? group * 30 + Math.floor(rand() * 30) : Math.floor(rand() * 180);
      all.push({
        event_id: id(),
        user_id: `user-${u}`,
        item_id: `item-${item}`,
        type: types[Math.floor(rand() * types.length)]!,
        value: null,
        ts: now - Math.floor(rand() * 72 * HOUR),
      });
    }
  }
  // Outside the window: users and items no run may see.
  for (let k = 0; k < 300; k++)
    all.push({
      event_id: id(),
      user_id: `old-${k}`,
      item_id: `old-item-${k % 50}`,
      type: 'purchase',
      value: null,
      ts: now - 40 * 24 * HOUR,
    });
  all.sort((a, b) => a.ts - b.ts);
  const cut = now - 2 * HOUR; // the last two hours are not archived yet
  const archived = all.filter((e) => e.ts < cut);
  // Stored twice: the same events again in another part.
  archived.push(...archived.filter((_, k) => k % 50 === 0));
  return { archived, recent: all.filter((e) => e.ts >= cut) };
}

describe('Spark batch engine (real PostgreSQL, MinIO, Spark local[2])', () => {
  const id = uid().toLowerCase();
  const bucket = `spark-${id}`;
  const env = servicesEnv({
    S3_BUCKET: bucket,
    RECSYS_TRAIN_MODE: 'implicit',
    RECSYS_TRAIN_WINDOW_DAYS: '30',
    RECSYS_ALS_FACTORS: '16',
    RECSYS_ALS_ITERATIONS: '8',
    RECSYS_TOP_N: '20',
    SPARK_MASTER: 'local[2]',
    RECSYS_SPARK_CONF: 'spark.driver.memory=1g',
  });
  const config = loadConfig({ env });
  const schemas: string[] = [];
  const dbs: PostgresStore[] = [];
  let admin: PostgresStore;
  let objects: ObjectStore;
  let pool: ComputePool;
  const now = Date.now();
  const data = events(now);

  const openSchema = async (): Promise<PostgresStore> => {
    const schema = uid('spark_').toLowerCase();
    await admin.query(`CREATE SCHEMA ${schema}`);
    schemas.push(schema);
    const db = await openPostgres({
      url: servers.databaseUrl,
      schema,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    });
    dbs.push(db);
    await migrate(db);
    for (const e of data.recent)
      await db.query(
        'INSERT INTO rt_user_interactions (event_id, user_id, item_id, type, value, ts) VALUES ($1, $2, $3, $4, $5, to_timestamp($6::float8 / 1000))',
        [e.event_id, e.user_id, e.item_id, e.type, e.value, e.ts],
      );
    return db;
  };
  const run = async (
    db: PostgresStore,
    engine: 'builtin' | 'spark',
    recommend = false,
  ): Promise<RunOutcome> => {
    const deps = batchDeps(
      { ...config, batch: { ...config.batch, engine, spark: { ...config.batch.spark, recommend } } },
      { db, objects, cache: openMemoryCache() },
      { pool, backend: 'native' },
      silentLogger,
    );
    return (await startBatchRun(deps, { trigger: 'cli' })).done;
  };

  before(async () => {
    admin = await openPostgres({
      url: servers.databaseUrl,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    });
    objects = await openMinioObjects({ ...servers.s3, bucket, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    pool = new ComputePool(2);
    await writeArchive(objects, data.archived.slice(0, 9000));
    await writeArchive(objects, data.archived.slice(9000));
  });
  after(async () => {
    await pool?.destroy();
    for (const db of dbs) await db.close();
    for (const s of schemas) await admin?.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => {});
    await admin?.close();
    await objects?.close();
    await removeBucket(bucket).catch(() => {});
  });

  let spark: RunOutcome;
  let builtin: RunOutcome;
  let sparkDb: PostgresStore;

  it('a run trains with Spark, publishes the Spark-trained model and precomputes its answers', {
    timeout: 900_000,
  }, async () => {
    sparkDb = await openSchema();
    spark = await run(sparkDb, 'spark');
    assert.equal(spark.status, 'succeeded', spark.error);
    assert.deepEqual(Object.keys(spark.phases), [
      'read',
      'train',
      'evaluate',
      'refit',
      'save',
      'precompute',
      'activate',
    ]);
    assert.equal(spark.metrics.engine, 'spark');
    const job = spark.metrics.spark as Record<string, Record<string, unknown>>;
    assert.equal(job.master, 'local[2]');
    // The job saw the users and items of the run's own read: same window, dedupe, weights,
    // the rows not archived yet included, the old ones left out.
    assert.equal(job.full!.users, 600);
    assert.equal(job.full!.items, 180);
    assert.equal(job.full_missing, undefined);
    assert.equal(job.candidate_missing, undefined);
    const data = spark.metrics.data as Record<string, number>;
    assert.ok(data.recent > 0 && data.duplicates > 0, JSON.stringify(data));
    // Its driver logs are kept beside the run; its factor Parquet and export are gone.
    for (const slice of ['candidate', 'full']) {
      assert.equal(job[slice]!.log, `runs/${spark.run_id}/spark-${slice}.log`);
      assert.match((await objects.get(`runs/${spark.run_id}/spark-${slice}.log`)).toString(), /"done"/);
    }
    assert.deepEqual(
      (await objects.list(`models/${spark.model_version}/`)).filter((k) => k.includes('/spark/')),
      [],
    );
  });

  it("the answers served are the Spark-trained model's top-N", async () => {
    const version = await activeVersion({ db: sparkDb });
    assert.equal(version, spark.model_version);
    const model = await loadModel({ db: sparkDb, objects }, version!);
    assert.equal(model.meta.params.useBias, false); // Spark's ALS: no biases
    assert.equal(model.userIds.length, 600);
    const { rows } = await sparkDb.query<{ user_id: string; item_ids: string[] }>(
      'SELECT user_id, item_ids FROM batch_recommendations WHERE model_version = $1 ORDER BY user_id',
      [version],
    );
    assert.equal(rows.length, 600);
    const f = model.factors;
    for (const r of rows.filter((_: unknown, k: number) => k % 60 === 0)) {
      const u = model.userIdx(r.user_id)!;
      const seen = new Set(model.seen(u));
      const scores = model.itemIds.map((_, i) => {
        let s = 0;
        for (let c = 0; c < f; c++) s += model.userFactors[u * f + c]! * model.itemFactors[i * f + c]!;
        return { i, s };
      });
      const top = scores
        .filter(({ i }) => !seen.has(i))
        .sort((a, b) => b.s - a.s)
        .slice(0, 5)
        .map(({ i }) => model.itemIds[i]);
      assert.deepEqual(r.item_ids.slice(0, 5), top, `user ${r.user_id}`);
    }
  });

  it('GET /v1/recommendations serves those lists, under the Spark-trained version', async () => {
    // A server on the Spark run's stores, as `recsys serve` would be: it cannot tell the engine.
    const stores = assembleStores({
      db: sparkDb,
      objects,
      cache: openMemoryCache(),
      bus: openTableBus({ db: sparkDb, partitions: 1, logger: silentLogger }),
    });
    const models = new ActiveModel(stores, { backend: 'js', pollMs: 60_000 });
    await models.start();
    const server = await startServer(
      { config, stores, models, logger: silentLogger, backend: 'js' },
      { port: 0, host: '127.0.0.1' },
    );
    try {
      const { rows } = await sparkDb.query<{ user_id: string; item_ids: string[] }>(
        'SELECT user_id, item_ids FROM batch_recommendations WHERE model_version = $1 ORDER BY user_id LIMIT 20',
        [spark.model_version],
      );
      assert.equal(rows.length, 20);
      for (const r of rows) {
        const res = await fetch(`http://127.0.0.1:${server.port}/v1/recommendations/${r.user_id}?k=10`);
        const body = (await res.json()) as {
          model_version: string;
          source: string;
          items: Array<{ item_id: string }>;
        };
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.equal(body.model_version, spark.model_version);
        assert.equal(body.source, 'batch');
        assert.deepEqual(
          body.items.map((i) => i.item_id),
          r.item_ids.slice(0, 10),
          `user ${r.user_id}`,
        );
      }
    } finally {
      await server.close();
      await models.stop();
      await stores.bus.close();
    }
  });

  it(`its holdout NDCG@10 is within ${NDCG_TOLERANCE} of the built-in engine's on the same data`, {
    timeout: 300_000,
  }, async () => {
    builtin = await run(await openSchema(), 'builtin');
    assert.equal(builtin.status, 'succeeded', builtin.error);
    const gate = (o: RunOutcome) =>
      o.metrics.gate as { holdout_from: string; candidate: Record<string, number> };
    assert.equal(gate(spark).holdout_from, gate(builtin).holdout_from);
    assert.equal(gate(spark).candidate.test_interactions, gate(builtin).candidate.test_interactions);
    const a = gate(spark).candidate.ndcg_at_10!;
    const b = gate(builtin).candidate.ndcg_at_10!;
    console.log(`holdout ndcg@10: spark ${a}, built-in ${b}`);
    assert.ok(b > 0.1, `built-in ndcg ${b}`); // the taste groups were learnt
    assert.ok(Math.abs(a - b) <= NDCG_TOLERANCE, `spark ${a} vs built-in ${b}`);
  });

  it("with RECSYS_SPARK_RECOMMEND the lists are Spark's recommendForAllUsers, training items left out", {
    timeout: 300_000,
  }, async () => {
    const db = await openSchema();
    const out = await run(db, 'spark', true);
    assert.equal(out.status, 'succeeded', out.error);
    const refit = out.metrics.refit as { lists?: string; lists_users?: number };
    assert.equal(refit.lists, 'spark');
    assert.equal(refit.lists_users, 600);
    const job = (out.metrics.spark as { full: { seconds: Record<string, number> } }).full;
    assert.ok(job.seconds.recommend! > 0, JSON.stringify(job));
    const model = await loadModel({ db, objects }, out.model_version!);
    const { rows } = await db.query<{ user_id: string; item_ids: string[]; scores: number[] }>(
      'SELECT user_id, item_ids, scores FROM batch_recommendations WHERE model_version = $1',
      [out.model_version],
    );
    assert.equal(rows.length, 600);
    const f = model.factors;
    const dot = (u: number, i: number) => {
      let s = 0;
      for (let c = 0; c < f; c++) s += model.userFactors[u * f + c]! * model.itemFactors[i * f + c]!;
      return s;
    };
    for (const r of rows) {
      const u = model.userIdx(r.user_id)!;
      const seen = new Set(model.seen(u));
      const listed = r.item_ids.map((id) => model.itemIds.indexOf(id));
      assert.equal(listed.length, 20, `user ${r.user_id}: ${listed.length} items`);
      assert.ok(
        listed.every((i) => i >= 0 && !seen.has(i)),
        `user ${r.user_id} is offered a training item`,
      );
      for (let k = 0; k < listed.length; k++) {
        // Spark's score is the same x·y (its float arithmetic, ours here).
        assert.ok(Math.abs(r.scores[k]! - dot(u, listed[k]!)) < 1e-3, `user ${r.user_id} item ${k}`);
        if (k > 0) assert.ok(r.scores[k]! <= r.scores[k - 1]! + 1e-6, `user ${r.user_id}: not best first`);
      }
      // And they are the best unseen items: none left out scores above the list's last.
      const best = model.itemIds
        .map((_, i) => i)
        .filter((i) => !seen.has(i) && !listed.includes(i))
        .reduce((m, i) => Math.max(m, dot(u, i)), Number.NEGATIVE_INFINITY);
      assert.ok(best <= r.scores[listed.length - 1]! + 1e-3, `user ${r.user_id}: ${best} left out`);
    }
  });

  it('a run killed with -9 mid-job takes its Spark job down with it', { timeout: 300_000 }, async () => {
    const dbName = `spark_kill_${id}`;
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = new URL(servers.databaseUrl);
    url.pathname = `/${dbName}`;
    const run = spawn(process.execPath, [cli, 'batch', 'run', '--engine', 'spark', '--json'], {
      env: { ...process.env, ...env, DATABASE_URL: url.toString() },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    try {
      // The job's Python driver runs under spark-submit's JVM, under the run's process.
      let tree: Array<{ pid: number; args: string }> = [];
      await waitFor(
        async () => {
          tree = descendants(run.pid!);
          return tree.some((p) => /python/.test(p.args) && p.args.includes('train_als.py'));
        },
        'the Spark job running',
        180_000,
      );
      run.kill('SIGKILL');
      await waitFor(
        async () => tree.every((p) => !running(p.pid)),
        `the job's processes gone (${tree.map((p) => p.args.slice(0, 60)).join(' | ')})`,
        60_000,
      );
    } finally {
      run.kill('SIGKILL');
      await dropDatabase(admin, dbName);
    }
  });
});
