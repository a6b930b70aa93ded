/**
 * `npm run bench -- batch`: the batch layer's whole run (issue 11's targets) against the seed
 * design's engine, on one synthetic archive (bench/batch-data.ts) in MinIO.
 *
 *  1. recsys: `node bin/recsys.js batch run --json` in services mode on a database of the bench's
 *     own (recsys_batchbench, dropped, recreated and migrated first) and a bucket of its own
 *     (model artifacts of earlier runs removed first); implicit ALS, k=64, 10 iterations, top-100
 *     for every user. Wall time and peak RSS of the process (bench/proc-peak.ts), its phases from
 *     its JSON line, and a check that batch_recommendations holds a full list for every user.
 *  2. Spark: bench/peers/spark_batch.py, local[2], the same job on the same Parquet files (the
 *     local copy: pyspark ships no s3a connector), the same window, weights, rank, iterations,
 *     λ and α, recommendForAllUsers(100) written by JDBC into a table of the same shape.
 *  3. recsys with the Spark engine: the same `batch run` with `--engine spark` on a fresh database
 *     (SPARK_MASTER=local[2]; scripts/spark.sh installs it), time per phase beside the built-in's.
 * Targets: recsys's whole run ≤ 120 s, peak RSS ≤ 4 GB, Spark's wall time ≥ 5 × recsys's.
 *
 * Knobs (run them with --quick so RESULTS.md keeps the standard run): BENCH_BATCH_RUN=recsys,recsys-spark,spark
 * picks the jobs (default all three; `data` only writes the archive); BENCH_BATCH_DATA=full|quick
 * picks the data size apart from --quick; BENCH_BATCH_KEEP=1 keeps the database;
 * SPARK_DRIVER_MEMORY (default 8g).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_EVENT_WEIGHTS } from '../src/events/types.js';
import { formatEventWeights } from '../src/events/weights.js';
import { silentLogger } from '../src/logger.js';
import { DEFAULT_PARAMS } from '../src/model/params.js';
import { migrate } from '../src/stores/index.js';
import { openMinioObjects } from '../src/stores/objects/minio.js';
import type { RelationalStore } from '../src/stores/relational/port.js';
import { openPostgres } from '../src/stores/relational/postgres.js';
import { type BatchArchive, ensureBatchArchive, FULL_SPEC, QUICK_SPEC } from './batch-data.js';
import { benchData, machine, repoRoot, requireVenv, servicesEnv, table, venvPython } from './lib.js';
import { type Measured, runMeasured } from './proc-peak.js';
import { TYPE_MIX } from './speed-data.js';

const DB_NAME = 'recsys_batchbench';
const SPARK_TABLE = 'spark_batch_recommendations';
const WINDOW_DAYS = 30;
const DAY_MS = 86_400_000;
const FACTORS = 64;
const ITERATIONS = 10;
const TOP_N = 100;
const THREADS = 2;
const TARGET_SECONDS = 120;
const TARGET_RSS = 4 * 2 ** 30;
const TARGET_RATIO = 5;
const RUN_TIMEOUT_MS = 3_600_000;

const log = (msg: string) => process.stderr.write(`bench batch: ${msg}\n`);
const runs = new Set(
  (process.env.BENCH_BATCH_RUN ?? 'recsys,recsys-spark,spark').split(',').map((s) => s.trim()),
);
const implicit = DEFAULT_PARAMS.implicit;

interface Job {
  measured: Measured;
  phases: Record<string, number>;
  rows: number;
  fullLists: number;
}

export async function benchBatch(opts: { quick: boolean }): Promise<string> {
  const small = (process.env.BENCH_BATCH_DATA ?? (opts.quick ? 'quick' : 'full')) === 'quick';
  const spec = small ? QUICK_SPEC : FULL_SPEC;
  const bucket = small ? 'recsys-batchbench-quick' : 'recsys-batchbench';
  const localDir = path.join(benchData, 'batch', small ? 'quick' : 'full');
  const base = servicesEnv();
  const objects = await openMinioObjects({
    endpoint: base.S3_ENDPOINT,
    accessKey: base.S3_ACCESS_KEY,
    secretKey: base.S3_SECRET_KEY,
    bucket,
  });
  const archive = await ensureBatchArchive(spec, objects, localDir, WINDOW_DAYS, log);
  if (!runs.has('recsys') && !runs.has('recsys-spark') && !runs.has('spark')) {
    await objects.close();
    return describeData(archive);
  }
  for (const key of await objects.list('models/')) await objects.delete(key);
  await objects.close();

  const dbUrl = new URL(base.DATABASE_URL);
  dbUrl.pathname = `/${DB_NAME}`;
  const admin = await openPostgres({ url: base.DATABASE_URL, connectTimeoutMs: 5000, logger: silentLogger });
  // Each recsys run starts from an empty database (no active model), so both engines' runs
  // hold out the same latest 10 % and go through the same phases.
  const freshDb = async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DB_NAME}`);
    const db = await openPostgres({ url: dbUrl.toString(), connectTimeoutMs: 5000, logger: silentLogger });
    await migrate(db);
    return db;
  };
  let db = await freshDb();
  try {
    const env = { ...base, DATABASE_URL: dbUrl.toString(), S3_BUCKET: bucket };
    const recsys = runs.has('recsys') ? await runRecsys(db, env, 'builtin') : null;
    let recsysSpark: Job | null = null;
    if (runs.has('recsys-spark')) {
      if (recsys) {
        await db.close();
        db = await freshDb();
      }
      recsysSpark = await runRecsys(db, env, 'spark');
    }
    const spark = runs.has('spark') ? await runSpark(db, dbUrl, localDir) : null;
    return report(archive, recsys, recsysSpark, spark);
  } finally {
    await db.close();
    if (!process.env.BENCH_BATCH_KEEP)
      await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`).catch(() => undefined);
    await admin.close();
  }
}

/** Rows of `tableName` for `version`, and how many hold a full top-N list. */
async function countLists(db: RelationalStore, tableName: string, version: string) {
  const { rows } = await db.query<{ n: string; full: string }>(
    `SELECT count(*) AS n, count(*) FILTER (WHERE cardinality(item_ids) = $2 AND cardinality(scores) = $2) AS full
       FROM ${tableName} WHERE model_version = $1`,
    [version, TOP_N],
  );
  return { rows: Number(rows[0]!.n), fullLists: Number(rows[0]!.full) };
}

async function runRecsys(
  db: RelationalStore,
  env: Record<string, string>,
  engine: 'builtin' | 'spark',
): Promise<Job> {
  log(`recsys batch run --engine ${engine}`);
  const measured = await runMeasured(
    process.execPath,
    [path.join(repoRoot, 'bin/recsys.js'), 'batch', 'run', '--json', '--engine', engine],
    {
      ...env,
      // The Spark engine (scripts/spark.sh installs it): the same cores and driver memory as the peer.
      SPARK_MASTER: `local[${THREADS}]`,
      RECSYS_SPARK_CONF: `spark.driver.memory=${process.env.SPARK_DRIVER_MEMORY ?? '8g'}`,
      RECSYS_MODE: 'services',
      RECSYS_LOG_LEVEL: 'warn',
      RECSYS_TRAIN_MODE: 'implicit',
      RECSYS_TRAIN_WINDOW_DAYS: String(WINDOW_DAYS),
      RECSYS_ALS_FACTORS: String(FACTORS),
      RECSYS_ALS_ITERATIONS: String(ITERATIONS),
      RECSYS_ALS_LAMBDA: String(implicit.lambda),
      RECSYS_ALS_ALPHA: String(implicit.alpha),
      RECSYS_TOP_N: String(TOP_N),
    },
    RUN_TIMEOUT_MS,
  );
  const r = measured.result as { status?: string; model_version?: string; phases?: Record<string, number> };
  if (r.status !== 'succeeded' || !r.model_version)
    throw new Error(`recsys batch run did not succeed: ${JSON.stringify(r)}`);
  return {
    measured,
    phases: r.phases ?? {},
    ...(await countLists(db, 'batch_recommendations', r.model_version)),
  };
}

async function runSpark(db: RelationalStore, dbUrl: URL, localDir: string): Promise<Job> {
  requireVenv();
  const jarDir = path.join(repoRoot, 'bench/.jars');
  const jars = existsSync(jarDir) ? readdirSync(jarDir).filter((f) => f.endsWith('.jar')) : [];
  if (!jars.some((f) => f.startsWith('postgresql-')))
    throw new Error('no PostgreSQL JDBC jar in bench/.jars: run `bash bench/setup-peers.sh` first');
  await db.query(`DROP TABLE IF EXISTS ${SPARK_TABLE}`);
  // batch_recommendations' columns and key, without its ties to the models table.
  await db.query(`CREATE TABLE ${SPARK_TABLE} (
    user_id text PRIMARY KEY, model_version text NOT NULL, item_ids text[] NOT NULL,
    scores real[] NOT NULL, generated_at timestamptz NOT NULL DEFAULT now())`);
  const jdbc = `jdbc:postgresql://${dbUrl.host}${dbUrl.pathname}?user=${decodeURIComponent(dbUrl.username)}&password=${decodeURIComponent(dbUrl.password)}&reWriteBatchedInserts=true`;
  log('spark batch peer');
  const version = `spark-${Date.now()}`;
  const measured = await runMeasured(
    venvPython,
    [
      path.join(repoRoot, 'bench/peers/spark_batch.py'),
      localDir,
      '--jdbc-url',
      jdbc,
      '--table',
      SPARK_TABLE,
      '--from',
      new Date(Date.now() - WINDOW_DAYS * DAY_MS).toISOString(),
      '--weights',
      formatEventWeights(DEFAULT_EVENT_WEIGHTS),
      '--rank',
      String(FACTORS),
      '--iterations',
      String(ITERATIONS),
      '--reg',
      String(implicit.lambda),
      '--alpha',
      String(implicit.alpha),
      '--top-n',
      String(TOP_N),
      '--threads',
      String(THREADS),
      '--model-version',
      version,
      '--jars',
      jars.map((f) => path.join(jarDir, f)).join(','),
    ],
    { ...(process.env as Record<string, string>), PYTHONUNBUFFERED: '1' },
    RUN_TIMEOUT_MS,
  );
  const phases = (measured.result.phases ?? {}) as Record<string, number>;
  return { measured, phases, ...(await countLists(db, SPARK_TABLE, version)) };
}

const fmtInt = (n: number) => n.toLocaleString('en-US');
const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
const secs = (s: number) => s.toFixed(1);

function describeData(a: BatchArchive): string {
  const mix = TYPE_MIX.map(([t, share]) => `${t} ${Math.round(share * 100)} %`).join(', ');
  return (
    `Data (bench/batch-data.ts, seed ${a.spec.seed}): ${fmtInt(a.rows)} archive rows ` +
    `(${fmtInt(a.uniqueEvents)} distinct events; ${a.spec.dupShare * 100} % of rows repeat an earlier event whole, event_id included) ` +
    `from ${fmtInt(a.distinctUsers)} users over ${fmtInt(a.distinctItems)} items (popularity Zipf ${a.spec.itemExponent}, ` +
    `user activity Zipf ${a.spec.userExponent}), types ${mix}, timestamps over ${a.spec.days} UTC days ` +
    `${a.firstDay}..${a.lastDay}; ${a.keys.length} Parquet parts (zstd), ${(a.bytes / 2 ** 20).toFixed(0)} MiB, ` +
    `in MinIO (bucket of the bench's own) and on local disk for Spark.`
  );
}

function report(a: BatchArchive, recsys: Job | null, recsysSpark: Job | null, spark: Job | null): string {
  const out = [`## Batch layer (${machine()})`, '', describeData(a), ''];
  out.push(
    `Both jobs: the last ${WINDOW_DAYS} days (all of the data), deduplicated by event_id, weighted per type ` +
      `(${formatEventWeights(DEFAULT_EVENT_WEIGHTS)}; weight × value) and summed per (user, item); implicit ALS, ` +
      `${FACTORS} factors, ${ITERATIONS} iterations, λ = ${implicit.lambda}, α = ${implicit.alpha}; top-${TOP_N} for every ` +
      `user into PostgreSQL (user_id, model_version, item_ids text[], scores real[]). recsys (services mode, ` +
      `\`node bin/recsys.js batch run --json\`, ${THREADS} worker threads) reads from MinIO and does more: it ` +
      `trains twice (on all but the latest 10 % to evaluate on them — train, evaluate — then on the whole ` +
      `window, from the candidate's item factors — refit), saves the artifact and excludes seen items from the lists; Spark (pyspark local[${THREADS}], StringIndexer, ` +
      `ALS, recommendForAllUsers, JDBC) reads the local copy and scales λ by each row's count (ALS-WR). ` +
      `Wall: from spawning the process to its exit (Node or JVM start included). Peak RSS: the process ` +
      `tree's, from /proc every 100 ms (VmHWM, and summed VmRSS for Spark's Python + JVM). Load avg: ` +
      `the machine's 1-minute load average at the job's start and end (other work shares these 2 cores).`,
    '',
    `recsys, Spark engine: the same \`batch run\` with \`--engine spark\` (SPARK_MASTER=local[${THREADS}], ` +
      `deploy/spark/train_als.py reading the archive from MinIO over s3a): its train and refit phases are ` +
      `each one spark-submit (JVM start, read, index, ALS on the whole pairs, factors to MinIO) — the refit ` +
      `starts cold, Spark's ALS takes no warm start — and the rest of the run is the built-in one's.`,
    '',
  );
  const rows: Array<Array<string | number>> = [];
  for (const [name, job] of [
    ['recsys', recsys],
    ['recsys, Spark engine', recsysSpark],
    ['Spark', spark],
  ] as const) {
    if (!job) continue;
    const phases = Object.entries(job.phases)
      .map(([k, v]) => `${k} ${secs(v)}`)
      .join(', ');
    rows.push([
      name,
      secs(job.measured.wallSeconds),
      phases || '—',
      gib(job.measured.peakRssBytes),
      `${fmtInt(job.rows)} (${fmtInt(job.fullLists)} of ${TOP_N})`,
      job.measured.load.map((l) => l.toFixed(1)).join(' → '),
    ]);
  }
  out.push(
    table(['job', 'wall s', 'phases, s', 'peak RSS', 'users written (full lists)', 'load avg'], rows),
    '',
  );
  const data = (recsys?.measured.result.metrics as { data?: Record<string, number> } | undefined)?.data;
  if (data)
    out.push(
      `recsys read ${fmtInt(data.archived ?? 0)} events from ${data.parts} parts after dropping ` +
        `${fmtInt(data.duplicates ?? 0)} repeated event ids (${fmtInt(data.ignored ?? 0)} ignored, ` +
        `${fmtInt(data.recent ?? 0)} recent rows).`,
    );
  if (spark) out.push(`Spark trained on ${fmtInt(Number(spark.measured.result.nnz))} (user, item) pairs.`);
  const ndcg = (job: Job | null) =>
    (job?.measured.result.metrics as { gate?: { candidate?: { ndcg_at_10?: number } } } | undefined)?.gate
      ?.candidate?.ndcg_at_10;
  if (recsys && recsysSpark)
    out.push(
      `Holdout NDCG@10 (the latest 10 %, the same pairs): built-in engine ${ndcg(recsys)}, Spark engine ${ndcg(recsysSpark)}.`,
    );
  out.push('');
  if (recsys) {
    const ratio = spark ? spark.measured.wallSeconds / recsys.measured.wallSeconds : Number.NaN;
    const met = (ok: boolean) => (ok ? '**met**' : '**missed**');
    const targets: Array<Array<string | number>> = [
      [
        `whole run ≤ ${TARGET_SECONDS} s`,
        `${secs(recsys.measured.wallSeconds)} s`,
        met(recsys.measured.wallSeconds <= TARGET_SECONDS),
      ],
      [
        `peak RSS ≤ ${TARGET_RSS / 2 ** 30} GB`,
        gib(recsys.measured.peakRssBytes),
        met(recsys.measured.peakRssBytes <= TARGET_RSS),
      ],
    ];
    if (spark)
      targets.push([
        `≥ ${TARGET_RATIO}× faster than Spark`,
        `${ratio.toFixed(2)}× (${secs(spark.measured.wallSeconds)} / ${secs(recsys.measured.wallSeconds)} s)`,
        met(ratio >= TARGET_RATIO),
      ]);
    out.push(table(['target', 'measured', ''], targets), '');
  }
  return out.join('\n');
}
