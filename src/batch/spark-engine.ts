/**
 * The Spark engine: a run's training as a PySpark job (deploy/spark/train_als.py) submitted with
 * spark-submit to `SPARK_MASTER`. The job reads the archive's Parquet where it lies (s3a:// on
 * MinIO or S3, file:// for embedded mode's folder) plus the run's export of the rows not
 * archived yet, applies the run's window, dedupe and weights, trains pyspark.ml ALS, and writes
 * the factors as Parquet under models/<version>/spark/<slice>/; they are read back into the
 * model (spark-factors.ts) and removed. The driver's output is kept beside the run, at
 * runs/<run_id>/spark-<slice>.log in the object store; the job's progress lines feed the run's
 * progress, and its error line (or the log's last lines) becomes the run's error.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, createWriteStream, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inheritedEnv } from '../config/child-env.js';
import type { RecsysConfig } from '../config/index.js';
import { archiveColumnsFor, encodeArchivePart } from '../data/archive-format.js';
import type { EventWeights } from '../events/index.js';
import type { Logger } from '../logger.js';
import type { AlsModel } from '../model/model.js';
import type { Stores } from '../stores/index.js';
import { ARCHIVE_PREFIX } from './archive.js';
import type { EngineRequest, TrainingEngine } from './engine.js';
import { modelFromFactors, readFactorRows, readListRows, topListsFor } from './spark-factors.js';
import { recentRows } from './training-data.js';

export type SparkSettings = RecsysConfig['batch']['spark'];

/** Where the job finds the object store's keys. */
export type ObjectLocation =
  | { kind: 's3'; endpoint: string; accessKey: string; secretKey: string; bucket: string }
  | { kind: 'folder'; dir: string };

export interface SparkEngineOptions {
  settings: SparkSettings;
  location: ObjectLocation;
  stores: Pick<Stores, 'db' | 'objects'>;
  weights: EventWeights;
  /** Length of the lists Spark makes with settings.recommend. */
  topN: number;
  logger: Logger;
  /** The repository (deploy/spark/, .spark/): the default is this installation's. */
  root?: string;
}

/** A missing piece of the engine's set-up (pyspark, Java, the s3a jars). */
export class SparkSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SparkSetupError';
  }
}

export class SparkJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SparkJobError';
  }
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The job's stages, as its progress lines name them. */
const STAGES = ['read', 'fit', 'write', 'recommend'];
const LOG_TAIL = 20;

export interface SparkSubmit {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** What the engine needs on this machine, or a SparkSetupError saying what is missing and how to get it. */
export function sparkSetup(
  settings: SparkSettings,
  location: ObjectLocation,
  root = ROOT,
): { submit: string; python: string | null; jars: string[]; job: string } {
  const fix = 'run scripts/spark.sh';
  const submit = settings.submit ?? path.join(root, '.spark/venv/bin/spark-submit');
  try {
    accessSync(submit, constants.X_OK);
  } catch {
    throw new SparkSetupError(
      `the Spark engine needs spark-submit (pyspark): none at ${submit}; ${fix}, or set RECSYS_SPARK_SUBMIT`,
    );
  }
  const javaHome = inheritedEnv().JAVA_HOME;
  const java = javaHome ? path.join(javaHome, 'bin/java') : 'java';
  const probe = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    throw new SparkSetupError(
      `the Spark engine needs Java 17+ (pyspark 4): ${java} ${probe.error ? 'not found' : 'failed'}; install a JDK (e.g. openjdk-17-jre-headless) or set JAVA_HOME`,
    );
  const major = Number(/version "(\d+)/.exec(probe.stderr)?.[1] ?? Number.NaN);
  if (major < 17)
    throw new SparkSetupError(`the Spark engine needs Java 17+ (pyspark 4): ${java} is Java ${major}`);
  let jars = settings.jars ?? [];
  if (settings.jars === null) {
    const dir = path.join(root, '.spark/jars');
    jars = existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.jar'))
          .map((f) => path.join(dir, f))
      : [];
    if (location.kind === 's3' && jars.length === 0)
      throw new SparkSetupError(
        `the Spark engine reads the archive over s3a, which needs the hadoop-aws and AWS SDK bundle jars: none in ${dir}; ${fix}, or set RECSYS_SPARK_JARS`,
      );
  }
  for (const jar of jars)
    if (!jar.includes('://') && !existsSync(jar))
      throw new SparkSetupError(`RECSYS_SPARK_JARS: no file ${jar}`);
  const python = path.join(path.dirname(submit), 'python');
  return {
    submit,
    python: existsSync(python) ? python : null,
    jars,
    job: path.join(root, 'deploy/spark/train_als.py'),
  };
}

/** The URI the job reads or writes an object store key (or prefix) at. */
export function objectUri(location: ObjectLocation, key: string): string {
  return location.kind === 's3'
    ? `s3a://${location.bucket}/${key}`
    : pathToFileURL(path.join(location.dir, key)).href;
}

export function sparkEngine(opts: SparkEngineOptions): TrainingEngine {
  const { settings, location, stores, logger } = opts;
  const metrics: Record<string, unknown> = { master: settings.master };
  let recent: Promise<string | null> | null = null;

  const trainSlice = async (req: EngineRequest, slice: 'candidate' | 'full', untilMs: number | null) => {
    const setup = sparkSetup(settings, location, opts.root);
    recent ??= exportRecent(stores, location, req.version, req.fromMs);
    const recentUri = await recent;
    const out = `models/${req.version}/spark/${slice}/`;
    const p = req.params;
    // Only the published model's lists are served: the candidate needs none.
    const recommend = settings.recommend && slice === 'full';
    const stages = recommend ? STAGES : STAGES.slice(0, -1);
    const jobArgs = [
      '--archive',
      objectUri(location, ARCHIVE_PREFIX.replace(/\/$/, '')),
      ...(recentUri ? ['--recent', recentUri] : []),
      '--out',
      objectUri(location, out.replace(/\/$/, '')),
      '--mode',
      p.mode,
      '--weights',
      JSON.stringify(opts.weights),
      '--rank',
      String(p.factors),
      '--iterations',
      String(p.iterations),
      '--lambda',
      String(p.lambda),
      '--reg-exponent',
      String(p.regExponent),
      '--alpha',
      String(p.alpha),
      '--seed',
      String(p.seed),
      ...(req.fromMs === null ? [] : ['--from-ms', String(Math.floor(req.fromMs))]),
      ...(untilMs === null ? [] : ['--until-ms', String(Math.floor(untilMs))]),
      ...(recommend ? ['--recommend', String(opts.topN)] : []),
    ];
    const submit: SparkSubmit = {
      command: setup.submit,
      args: [
        '--master',
        settings.master,
        '--name',
        `recsys-${slice}-${req.runId}`,
        ...(setup.jars.length > 0 ? ['--jars', setup.jars.join(',')] : []),
        ...defaultConf(settings).flatMap((c) => ['--conf', c]),
        setup.job,
        ...jobArgs,
      ],
      env: jobEnv(settings, location, setup.python),
    };
    const logKey = `runs/${req.runId}/spark-${slice}.log`;
    logger.info({ run: req.runId, slice, master: settings.master }, 'submitting the Spark job');
    const done = await runJob(submit, stores, logKey, (stage) => {
      logger.info({ run: req.runId, slice, stage }, 'Spark job');
      req.onProgress(stages.indexOf(stage), stages.length);
    });
    req.onProgress(stages.length, stages.length);
    try {
      const users = await readFactorRows(stores.objects, `${out}users/`, 'user_id', p.factors);
      const items = await readFactorRows(stores.objects, `${out}items/`, 'item_id', p.factors);
      metrics[slice] = { ...done, log: logKey };
      // Read now: the run's Spark output is removed below. Mapped onto the model when it is built.
      const lists = recommend
        ? await readListRows(stores.objects, `${out}recs/`, items.ids, opts.topN)
        : null;
      return { users, items, lists };
    } finally {
      // The factors live on in the model's artifact; Spark's copy would only be an orphan.
      for (const key of await stores.objects.list(out)) await stores.objects.delete(key);
    }
  };

  return {
    name: 'spark',
    metrics,
    async candidate(req) {
      const { users, items } = await trainSlice(req, 'candidate', req.split.cutMs);
      const { model, missing } = modelFromFactors(req.split.train, req.params, users, items, req.version);
      noteMissing(metrics, 'candidate', missing);
      return model;
    },
    async refit(req, _candidate: AlsModel) {
      const { users, items, lists } = await trainSlice(req, 'full', null);
      const { model, missing } = modelFromFactors(req.data, req.params, users, items, req.version);
      noteMissing(metrics, 'full', missing);
      const info = { engine: 'spark', iterations: req.params.iterations, warm_start: false };
      if (!lists) return { model, info };
      const top = topListsFor(model, lists, opts.topN, items.ids);
      return { model, info: { ...info, lists: 'spark', lists_users: top.users }, lists: top.lists };
    },
    async cleanup(req) {
      await dropRecent(stores, req.version);
    },
  };
}

function noteMissing(metrics: Record<string, unknown>, slice: string, m: { users: number; items: number }) {
  if (m.users + m.items > 0) metrics[`${slice}_missing`] = m;
}

/** Quiet, loopback-only defaults for a local master; the settings' properties come after and win. */
function defaultConf(settings: SparkSettings): string[] {
  const local = settings.master.startsWith('local');
  return [
    'spark.ui.showConsoleProgress=false',
    ...(local
      ? [
          'spark.ui.enabled=false',
          'spark.driver.host=127.0.0.1',
          'spark.driver.bindAddress=127.0.0.1',
          // 200 shuffle partitions (the default) are mostly overhead on a few local cores.
          'spark.sql.shuffle.partitions=8',
        ]
      : []),
    ...settings.conf,
  ];
}

function jobEnv(
  settings: SparkSettings,
  location: ObjectLocation,
  python: string | null,
): Record<string, string> {
  const env = inheritedEnv();
  // The job watches this process and stops once it is gone (deploy/spark/train_als.py exit_with).
  env.RECSYS_SPARK_PARENT = `${hostname()}:${process.pid}`;
  if (python) {
    env.PYSPARK_PYTHON ??= python;
    env.PYSPARK_DRIVER_PYTHON ??= python;
  }
  if (settings.master.startsWith('local')) env.SPARK_LOCAL_IP ??= '127.0.0.1';
  if (location.kind === 's3') {
    // Credentials travel in the environment, never on a command line others can read.
    env.RECSYS_SPARK_S3_ENDPOINT = location.endpoint;
    env.AWS_ACCESS_KEY_ID = location.accessKey;
    env.AWS_SECRET_ACCESS_KEY = location.secretKey;
  }
  return env;
}

/** The window's rows not archived yet, as archive-format parts the job reads beside the archive. */
async function exportRecent(
  stores: Pick<Stores, 'db' | 'objects'>,
  location: ObjectLocation,
  version: string,
  fromMs: number | null,
): Promise<string | null> {
  let n = 0;
  for await (const rows of recentRows(stores.db, fromMs)) {
    const cols = archiveColumnsFor(rows.length);
    rows.forEach((r, k) => {
      cols.eventId[k] = r.event_id;
      cols.userId[k] = r.user_id;
      cols.itemId[k] = r.item_id;
      cols.type[k] = r.type;
      cols.value[k] = r.value;
      cols.ts[k] = Math.round(r.ts);
    });
    await stores.objects.put(`${recentPrefix(version)}part-${n++}.parquet`, await encodeArchivePart(cols));
  }
  return n === 0 ? null : objectUri(location, recentPrefix(version).replace(/\/$/, ''));
}

const recentPrefix = (version: string) => `models/${version}/spark/recent/`;

async function dropRecent(stores: Pick<Stores, 'objects'>, version: string): Promise<void> {
  for (const key of await stores.objects.list(recentPrefix(version))) await stores.objects.delete(key);
}

/**
 * Runs spark-submit to the end: its output goes to a log file (then to `logKey`), the job's
 * JSON lines on stdout report its stages; resolves with the job's summary, or throws a
 * SparkJobError with its error line (or the log's last lines) and where the log is.
 */
async function runJob(
  submit: SparkSubmit,
  stores: Pick<Stores, 'objects'>,
  logKey: string,
  onStage: (stage: string) => void,
): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'recsys-spark-'));
  const logFile = path.join(dir, 'driver.log');
  const log = createWriteStream(logFile);
  const tail: string[] = [];
  let done: Record<string, unknown> | null = null;
  let error: string | null = null;
  try {
    const child = spawn(submit.command, submit.args, { env: submit.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = (stream: NodeJS.ReadableStream, onLine: (line: string) => void) =>
      new Promise<void>((resolve) => {
        const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
        rl.on('line', (line) => {
          log.write(`${line}\n`);
          onLine(line);
        });
        rl.on('close', resolve);
      });
    const keepTail = (line: string) => {
      tail.push(line);
      if (tail.length > LOG_TAIL) tail.shift();
    };
    const exited = new Promise<{ code: number | null; err?: Error }>((resolve) => {
      child.on('error', (err) => resolve({ code: null, err }));
      child.on('close', (code) => resolve({ code }));
    });
    const [, , status] = await Promise.all([
      lines(child.stdout, (line) => {
        const msg = parseJobLine(line);
        if (msg?.phase) onStage(String(msg.phase));
        else if (msg?.done) done = msg.done as Record<string, unknown>;
        else if (msg?.error) error = String(msg.error);
        else keepTail(line);
      }),
      lines(child.stderr, keepTail),
      exited,
    ]);
    await new Promise<void>((resolve) => log.end(resolve));
    await stores.objects.put(logKey, await readFile(logFile));
    if (status.err) throw new SparkSetupError(`cannot start ${submit.command}: ${status.err.message}`);
    if (status.code !== 0 || done === null) {
      const why = error ?? (lastMeaningful(tail) || `spark-submit exited with ${status.code}`);
      throw new SparkJobError(`the Spark job failed: ${why} (driver log: ${logKey})`);
    }
    return done;
  } finally {
    log.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

function parseJobLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** The last line of the driver's output that says something (an exception, an error). */
function lastMeaningful(tail: string[]): string {
  const hit = [...tail].reverse().find((l) => /error|exception/i.test(l));
  return (hit ?? tail[tail.length - 1] ?? '').trim().slice(0, 500);
}
