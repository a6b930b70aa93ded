/**
 * `npm run bench -- speed`: the speed layer through real Kafka, PostgreSQL and Redis (the
 * services of scripts/services.sh), in one run, in three phases that each start from an empty
 * topic of the bench's own (RECSYS_INTERACTIONS_TOPIC, read by serve and stream alike) and
 * empty stream tables:
 *
 *  1. Throughput. One bare idempotent kafkajs producer pre-fills a backlog of BACKLOG events
 *     (its rate is recorded). Then, in interleaved rounds, (a) a bare kafkajs consumer reads and
 *     JSON.parses the whole backlog (eachBatch), and (b) a real `recsys stream` process drains
 *     it into rt_user_interactions and user_profiles (a fresh consumer group each round, tables
 *     emptied before). The drain is done when the group's committed offsets reach the end of
 *     every partition (the stream commits only after a micro-batch's tables are written) and
 *     the tables hold every event and a profile for every touched user. Rates leave out the
 *     group join: they count from the first moment anything is read (the consumer's first batch
 *     parsed; the first rows visible in rt_user_interactions), over the events after it.
 *     After each drain, the floor: the same rows written again by binary COPY alone into an
 *     empty table like rt_user_interactions (storeFloor), a bound on any stream that stores them.
 *  2. Ingest. POST /v1/events, 100 events a request, wrk with several connections against a
 *     `recsys serve` process, beside the same bare producer sending 100 events a send from as
 *     many concurrent loops; interleaved rounds.
 *  3. Freshness. `recsys serve` and `recsys stream` at RECSYS_MICROBATCH_MS=250 under a steady
 *     load; WebSocket subscribers time each probe event from its POST to the push.
 *
 * The data (bench/speed-data.ts): a model of KNOWN_USERS users × ITEMS items × 64 factors is
 * trained and activated in a database of the bench's own (recsys_speedbench, dropped at the
 * end); events come from USERS users (some new to the model), Zipf item popularity.
 *
 * Knobs for diagnosis (run them with --quick so RESULTS.md keeps the standard run):
 * BENCH_SPEED_PHASES=throughput,ingest,freshness picks phases (default all; `baselines` runs
 * phase 1 without the stream); BENCH_SPEED_DRAIN_ROUNDS=N (default 2);
 * BENCH_SPEED_BACKLOG=N (default 1,000,000); BENCH_SPEED_CPU_PROF=DIR runs the stream process
 * with --cpu-prof into DIR; BENCH_SPEED_PG_SAMPLE=1 prints what the stream's PostgreSQL
 * sessions were doing (pg_stat_activity every 20 ms); BENCH_SPEED_KEEP=1 keeps the database;
 * BENCH_SPEED_EVENT_IDS=v4 gives the events random UUID v4 ids instead of the server's v7s.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Kafka, logLevel } from 'kafkajs';
import { resolveBackend } from '../src/compute/backends.js';
import { ComputePool } from '../src/compute/pool.js';
import { registerIds } from '../src/data/id-rows.js';
import { IdMap } from '../src/data/ids.js';
import { silentLogger } from '../src/logger.js';
import { fitAls, newModelVersion } from '../src/model/fit.js';
import { DEFAULT_PARAMS } from '../src/model/params.js';
import { publishModel } from '../src/model/registry.js';
import { openKafkaBus } from '../src/stores/bus/kafka.js';
import { openRedisCache } from '../src/stores/cache/redis.js';
import { assembleStores, migrate } from '../src/stores/index.js';
import { openMinioObjects } from '../src/stores/objects/minio.js';
import { CopyBinaryWriter } from '../src/stores/relational/copy-binary.js';
import type { RelationalStore } from '../src/stores/relational/port.js';
import { openPostgres } from '../src/stores/relational/postgres.js';
import { machine, median, repoRoot, runJson, servicesEnv, table } from './lib.js';
import {
  EventSource,
  FACTORS,
  ITEM_EXPONENT,
  ITEMS,
  itemId,
  KNOWN_USERS,
  TRAIN_INTERACTIONS,
  TYPE_MIX,
  USER_EXPONENT,
  USER_PREFIX,
  USERS,
  userId,
} from './speed-data.js';

const DB_NAME = 'recsys_speedbench';
/** A topic of the bench's own (RECSYS_INTERACTIONS_TOPIC), so no other test meets its events. */
const TOPIC = 'bench-speed-interactions';
/** The app's default (RECSYS_BUS_PARTITIONS), so the topic is what `recsys serve` would create. */
const PARTITIONS = 8;
const BACKLOG = Number(process.env.BENCH_SPEED_BACKLOG ?? 1_000_000);
const BACKLOG_SEND = 10_000;
const DRAIN_ROUNDS = Number(process.env.BENCH_SPEED_DRAIN_ROUNDS ?? 2);
const DRAIN_TIMEOUT_MS = 600_000;
const INGEST_ROUNDS = 3;
const INGEST_SECONDS = 10;
const INGEST_CONNECTIONS = 8;
const FRESH_MICROBATCH_MS = 250;
const FRESH_SECONDS = 40;
const FRESH_WARMUP_SECONDS = 5;
const FRESH_LOAD = 300;
const FRESH_PROBES = 20;
const FRESH_PROBE_USERS = 200;

const phases = new Set(
  (process.env.BENCH_SPEED_PHASES ?? 'throughput,ingest,freshness').split(',').map((s) => s.trim()),
);
const cpuProfDir = process.env.BENCH_SPEED_CPU_PROF;

const baseEnv = servicesEnv();
const dbUrl = (() => {
  const u = new URL(baseEnv.DATABASE_URL);
  u.pathname = `/${DB_NAME}`;
  return u.toString();
})();
/** The environment of the recsys processes the bench starts. */
const appEnv: Record<string, string> = {
  RECSYS_MODE: 'services',
  DATABASE_URL: dbUrl,
  REDIS_URL: baseEnv.REDIS_URL,
  KAFKA_BROKERS: baseEnv.KAFKA_BROKERS,
  S3_ENDPOINT: baseEnv.S3_ENDPOINT,
  S3_ACCESS_KEY: baseEnv.S3_ACCESS_KEY,
  S3_SECRET_KEY: baseEnv.S3_SECRET_KEY,
  S3_BUCKET: baseEnv.S3_BUCKET,
  RECSYS_INTERACTIONS_TOPIC: TOPIC,
  RECSYS_LOG_LEVEL: 'warn',
  // Ingest is measured, not throttled: no per-key limit (there are no keys).
  RECSYS_RATE_LIMIT: '0',
};
const brokers = baseEnv.KAFKA_BROKERS.split(',');
const node = process.execPath;
const cli = path.join(repoRoot, 'bin/recsys.js');
const child = path.join(repoRoot, 'dist/bench/speed-child.js');

const log = (msg: string) => process.stderr.write(`bench speed: ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- CPU accounting

const TICKS_PER_SECOND = 100;

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return Number.NaN;
  }
}

/** Busy and total jiffies of the whole machine (all cores). */
function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((s, x) => s + x, 0);
  return { busy: total - idle, total };
}

/** CPU ticks (user + system, all threads) of every process now, by pid. */
function allProcTicks(): Map<number, { comm: string; ticks: number }> {
  const out = new Map<number, { comm: string; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(name), { comm, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Where the machine's CPU went over a span, in % of one core, by who used it: the process
 * under test, PostgreSQL (every backend), Kafka, Redis, and the rest of the machine's busy
 * time (the bench itself, the kernel, other engineers' builds and tests on the shared machine).
 */
class CpuBreakdown {
  private readonly before = allProcTicks();
  private readonly machine0 = machineTicks();
  private readonly t0 = performance.now();
  constructor(private readonly subjects: Array<{ pid?: number; name: string }>) {}
  read(): Record<string, number> {
    const seconds = (performance.now() - this.t0) / 1000;
    const after = allProcTicks();
    const m = machineTicks();
    const out: Record<string, number> = {};
    const pct = (ticks: number) => (ticks * 100) / (TICKS_PER_SECOND * seconds);
    let named = 0;
    const add = (k: string, ticks: number) => {
      if (k === 'other') return;
      named += ticks;
      out[k] = (out[k] ?? 0) + pct(ticks);
    };
    for (const [pid, p] of after) {
      const was = this.before.get(pid);
      const ticks = was && was.comm === p.comm ? p.ticks - was.ticks : p.ticks;
      if (ticks <= 0) continue;
      const who =
        this.subjects.find((x) => x.pid === pid)?.name ??
        (p.comm === 'postgres'
          ? 'PostgreSQL'
          : p.comm === 'java'
            ? 'Kafka'
            : p.comm.startsWith('redis')
              ? 'Redis'
              : 'other');
      add(who, ticks);
    }
    // /proc/stat counts jiffies over all cores on the same 100 Hz clock.
    out.other = Math.max(0, pct(m.busy - this.machine0.busy - named));
    return out;
  }
}

export function formatBreakdown(b: Record<string, number>): string {
  return Object.entries(b)
    .sort((x, y) => y[1] - x[1])
    .filter(([, v]) => v >= 0.5)
    .map(([k, v]) => `${k} ${v.toFixed(0)}`)
    .join(', ');
}

class CpuMeter {
  private readonly p0: number;
  private readonly m0 = machineTicks();
  private readonly t0 = performance.now();
  constructor(private readonly pid?: number) {
    this.p0 = cpuTicks(pid);
  }
  /** The process's CPU as % of one core, and the machine's as % of all its cores. */
  read(): { proc: number; machine: number } {
    const seconds = (performance.now() - this.t0) / 1000;
    const m = machineTicks();
    return {
      proc: ((cpuTicks(this.pid) - this.p0) * 100) / (TICKS_PER_SECOND * seconds),
      machine: ((m.busy - this.m0.busy) * 100) / (m.total - this.m0.total),
    };
  }
}

// ---------------------------------------------------------------- processes

interface Proc {
  child: ChildProcess;
  match: RegExpMatchArray;
}

/** Starts `node [nodeArgs] bin/recsys.js args` and waits for a stdout line matching `ready`. */
function startRecsys(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  nodeArgs: string[] = [],
  timeoutMs = 120_000,
): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const c = spawn(node, [...nodeArgs, cli, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`recsys ${args[0]} did not print ${ready} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`recsys ${args[0]} exited with ${code} before it was ready`));
    };
    c.once('exit', onExit);
    const lines = createInterface({ input: c.stdout! });
    let matched = false;
    lines.on('line', (line) => {
      if (matched) return;
      const m = ready.exec(line);
      if (!m) return;
      matched = true;
      clearTimeout(timer);
      c.removeListener('exit', onExit);
      resolve({ child: c, match: m });
    });
  });
}

/** SIGTERM, then SIGKILL after 30 s; resolves with the exit code. */
function stop(p: Proc | undefined): Promise<number | null> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null)
    return Promise.resolve(p?.child.exitCode ?? null);
  return new Promise((resolve) => {
    const kill = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
    p.child.once('exit', (code) => {
      clearTimeout(kill);
      resolve(code);
    });
    p.child.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------- Kafka

const kafka = new Kafka({ clientId: 'bench-speed-admin', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();

/** Deletes the bench's topic and its dead letter topic, if there. */
async function deleteTopics(): Promise<void> {
  const mine = [TOPIC, `${TOPIC}.dlq`];
  const there = (await admin.listTopics()).filter((t) => mine.includes(t));
  if (there.length > 0) await admin.deleteTopics({ topics: there, timeout: 30_000 });
}

/** Deletes the bench's topic if there, then creates it empty with PARTITIONS. */
async function resetTopic(): Promise<void> {
  await deleteTopics();
  for (const deadline = Date.now() + 60_000; ; ) {
    try {
      await admin.createTopics({
        topics: [
          {
            topic: TOPIC,
            numPartitions: PARTITIONS,
            configEntries: [{ name: 'retention.ms', value: String(7 * 24 * 3_600_000) }],
          },
        ],
        waitForLeaders: true,
      });
      break;
    } catch (err) {
      // A deleted topic lingers for a moment (TOPIC_ALREADY_EXISTS, or a creation that returns false).
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
  for (const deadline = Date.now() + 30_000; ; ) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [TOPIC] });
      const ps = topics[0]?.partitions ?? [];
      if (ps.length === PARTITIONS && ps.every((p) => p.leader >= 0)) break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`topic ${TOPIC} has no leaders after 30 s`);
    await sleep(100);
  }
  const held = await topicSize();
  if (held !== 0) throw new Error(`topic ${TOPIC} holds ${held} messages right after it was recreated`);
}

/** fn, tried again every 200 ms while Kafka answers with a retriable error (a new topic's leaders move in). */
async function retrying<T>(fn: () => Promise<T>, forMs = 30_000): Promise<T> {
  for (const deadline = Date.now() + forMs; ; ) {
    try {
      return await fn();
    } catch (err) {
      if (!(err as { retriable?: boolean }).retriable || Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

/** Messages in the topic now (sum over partitions of high − low). */
async function topicSize(): Promise<number> {
  const offsets = await retrying(() => admin.fetchTopicOffsets(TOPIC));
  return offsets.reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
}

/** How many messages `groupId` has yet to commit on the topic (null: none committed yet). */
async function groupLag(groupId: string, ends: Map<number, number>): Promise<number | null> {
  const [committed] = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
  let lag = 0;
  let any = false;
  for (const p of committed?.partitions ?? []) {
    const end = ends.get(p.partition) ?? 0;
    const at = Number(p.offset);
    if (at >= 0) any = true;
    lag += Math.max(0, end - Math.max(at, 0));
  }
  return any ? lag : null;
}

// ---------------------------------------------------------------- database and model

interface Setup {
  db: RelationalStore;
  version: string;
  trainSeconds: number;
  backend: string;
  close(): Promise<void>;
}

async function setupStores(): Promise<Setup> {
  const adminDb = await openPostgres({
    url: baseEnv.DATABASE_URL,
    connectTimeoutMs: 5000,
    logger: silentLogger,
  });
  await adminDb.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  await adminDb.query(`CREATE DATABASE ${DB_NAME}`);
  const db = await openPostgres({ url: dbUrl, connectTimeoutMs: 5000, logger: silentLogger });
  await migrate(db);
  const cache = await openRedisCache({
    url: appEnv.REDIS_URL!,
    connectTimeoutMs: 5000,
    logger: silentLogger,
  });
  const bus = await openKafkaBus({
    brokers,
    partitions: PARTITIONS,
    connectTimeoutMs: 5000,
    logger: silentLogger,
  });
  const objects = await openMinioObjects({
    endpoint: appEnv.S3_ENDPOINT!,
    accessKey: appEnv.S3_ACCESS_KEY!,
    secretKey: appEnv.S3_SECRET_KEY!,
    bucket: appEnv.S3_BUCKET!,
    connectTimeoutMs: 5000,
  });
  const stores = assembleStores({ db, cache, bus, objects });

  // The catalog and the known users, as an import would have registered them.
  const items = Array.from({ length: ITEMS }, (_, i) => itemId(i));
  const users = Array.from({ length: KNOWN_USERS }, (_, u) => userId(u));
  await db.transaction((tx) => registerIds(tx, 'items', items));
  await db.transaction((tx) => registerIds(tx, 'users', users));

  // Training interactions drawn like the events, over the known users only.
  const source = new EventSource(7);
  const rows = new Int32Array(TRAIN_INTERACTIONS);
  const cols = new Int32Array(TRAIN_INTERACTIONS);
  const values = new Float32Array(TRAIN_INTERACTIONS);
  // Over the 30 days up to an hour ago: the model's data ends before the events begin.
  const ts = new Float64Array(TRAIN_INTERACTIONS);
  const dataUntil = Date.now() - 3_600_000;
  for (let e = 0; e < TRAIN_INTERACTIONS; ) {
    const u = source.user();
    if (u >= KNOWN_USERS) continue;
    rows[e] = u;
    cols[e] = source.item();
    values[e] = 1 + (e % 3);
    ts[e] = dataUntil - (e / TRAIN_INTERACTIONS) * 30 * 86_400_000;
    e++;
  }
  const backend = await resolveBackend(undefined);
  const pool = new ComputePool(2);
  const t0 = performance.now();
  const { model } = await fitAls(
    { userIds: IdMap.fromJSON(users), itemIds: IdMap.fromJSON(items), rows, cols, values, ts },
    { ...DEFAULT_PARAMS.implicit, factors: FACTORS, iterations: 10 },
    { backend, pool, version: newModelVersion() },
  );
  const trainSeconds = (performance.now() - t0) / 1000;
  await pool.destroy();
  await publishModel(stores, model, { activate: true });
  const version = model.meta.version;
  await bus.close();
  await cache.close();
  return {
    db,
    version,
    trainSeconds,
    backend,
    async close() {
      for (const key of await objects.list(`models/${version}/`)) await objects.delete(key);
      await objects.close();
      await db.close();
      if (!process.env.BENCH_SPEED_KEEP)
        await adminDb.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`).catch(() => undefined);
      await adminDb.close();
    },
  };
}

/** Tables the stream writes (those of its own migrations included), emptied between runs. */
async function resetTables(db: RelationalStore): Promise<void> {
  const { rows } = await db.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
        AND table_name NOT IN ('items', 'users', 'models', 'batch_runs', 'batch_recommendations')
        AND table_name NOT LIKE '%migration%'`,
  );
  if (rows.length > 0) await db.query(`TRUNCATE ${rows.map((r) => `"${r.t}"`).join(', ')}`);
  await db.query('DELETE FROM users WHERE idx >= $1', [KNOWN_USERS]);
  await db.query('DELETE FROM items WHERE idx >= $1', [ITEMS]);
}

async function count(db: RelationalStore, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: string }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

// ---------------------------------------------------------------- phase 1: throughput

interface BacklogResult {
  events: number;
  seconds: number;
  rate: number;
  users: number;
  meanBytes: number;
}

interface ConsumeResult {
  events: number;
  firstAtMs: number;
  firstEvents: number;
  doneAtMs: number;
  rate: number;
  wallRate: number;
}

interface DrainResult {
  rate: number;
  wallSeconds: number;
  readyAtMs: number;
  firstAtMs: number;
  firstRows: number;
  doneAtMs: number;
  streamCpu: number;
  machineCpu: number;
  rows: number;
  profiles: number;
  /** From the stream's /metrics over the whole run: micro-batches, their mean events and seconds. */
  batches: number;
  meanBatchEvents: number;
  meanBatchSeconds: number;
  cpu: Record<string, number>;
}

/** Sum and count of a Prometheus histogram (no labels) on a /metrics page. */
async function histogramTotals(url: string, name: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(url)).text();
  const num = (suffix: string) =>
    Number(new RegExp(`^${name}_${suffix}(?:\\{\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { sum: num('sum'), count: num('count') };
}

/**
 * Diagnostics (BENCH_SPEED_PG_SAMPLE=1): what the stream's PostgreSQL sessions are doing,
 * sampled from pg_stat_activity every 20 ms on a connection of its own; stop() tallies it.
 */
function samplePg(): { stop(): Promise<string> } {
  const tally = new Map<string, number>();
  let samples = 0;
  let running = true;
  const done = (async () => {
    const pg = await openPostgres({
      url: baseEnv.DATABASE_URL,
      connectTimeoutMs: 5000,
      logger: silentLogger,
    });
    while (running) {
      const { rows } = await pg.query<{ state: string; wait: string | null; q: string }>(
        `SELECT state, wait_event_type || ':' || wait_event AS wait, left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS q
           FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'`,
        [DB_NAME],
      );
      samples++;
      for (const r of rows) {
        const k = r.state === 'active' ? `active ${r.wait ?? 'cpu'} ${r.q}` : r.state;
        tally.set(k, (tally.get(k) ?? 0) + 1);
      }
      await sleep(20);
    }
    await pg.close();
  })();
  return {
    async stop() {
      running = false;
      await done;
      return [...tally]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 20)
        .map(([k, n]) => `  ${((n * 100) / samples).toFixed(1).padStart(5)} % ${k}`)
        .join('\n');
    },
  };
}

/** Cumulative bucket counts (le → count) of a histogram on a /metrics page, summed over its labels. */
async function histogramBuckets(url: string, name: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const text = await (await fetch(url)).text();
  const re = new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const le = /le="([^"]+)"/.exec(m[1] ?? '')?.[1] ?? '';
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + Number(m[2]));
  }
  return out;
}

/** The smallest bucket bound holding fraction q of what was observed between two scrapes, ms. */
function quantileBetween(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const les = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0);
  if (total <= 0) return Number.NaN;
  for (const le of les) if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le * 1000;
  return Number.NaN;
}

let runId = 0;
const groupsUsed = new Set<string>();

async function drain(db: RelationalStore, setup: Setup, n: number, users: number): Promise<DrainResult> {
  await resetTables(db);
  const group = `bench-speed-${process.pid}-${++runId}`;
  groupsUsed.add(group);
  const ends = new Map(
    (await retrying(() => admin.fetchTopicOffsets(TOPIC))).map((p) => [p.partition, Number(p.high)]),
  );
  const nodeArgs = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const t0 = performance.now();
  const stream = await startRecsys(
    ['stream', '--port', '0'],
    { ...appEnv, RECSYS_STREAM_GROUP: group },
    /^stream: consuming .* ops on (\S+)/,
    nodeArgs,
  );
  const readyAtMs = performance.now() - t0;
  const cpu = new CpuMeter(stream.child.pid);
  const breakdown = new CpuBreakdown([{ pid: stream.child.pid, name: 'recsys stream' }]);
  const metricsUrl = `${stream.match[1]}/metrics`;
  const pgSampler = process.env.BENCH_SPEED_PG_SAMPLE ? samplePg() : null;
  try {
    let firstAt = 0;
    let firstRows = 0;
    for (;;) {
      if (stream.child.exitCode !== null)
        throw new Error(`recsys stream exited with ${stream.child.exitCode}`);
      if (performance.now() - t0 > DRAIN_TIMEOUT_MS)
        throw new Error(`the stream did not drain ${n} events within ${DRAIN_TIMEOUT_MS / 1000} s`);
      if (firstAt === 0) {
        if (
          (await count(db, 'SELECT count(*) AS n FROM (SELECT 1 FROM rt_user_interactions LIMIT 1) s')) > 0
        ) {
          firstAt = performance.now();
          firstRows = await count(db, 'SELECT count(*) AS n FROM rt_user_interactions');
        }
        await sleep(10);
        continue;
      }
      if ((await groupLag(group, ends)) === 0) break;
      await sleep(50);
    }
    const doneAt = performance.now();
    const used = cpu.read();
    const byWho = breakdown.read();
    if (pgSampler)
      log(`PostgreSQL sessions of the bench database, sampled every 20 ms:\n${await pgSampler.stop()}`);
    const seconds = await histogramTotals(metricsUrl, 'recsys_stream_batch_seconds');
    const events = await histogramTotals(metricsUrl, 'recsys_stream_batch_events');
    const rows = await count(db, 'SELECT count(*) AS n FROM rt_user_interactions WHERE user_id LIKE $1', [
      `${USER_PREFIX}%`,
    ]);
    const profiles = await count(
      db,
      'SELECT count(*) AS n FROM user_profiles WHERE model_version = $1 AND user_id LIKE $2',
      [setup.version, `${USER_PREFIX}%`],
    );
    if (rows !== BACKLOG)
      throw new Error(
        `the stream committed the backlog, but rt_user_interactions holds ${rows} of the ${BACKLOG} bench rows`,
      );
    if (profiles !== users)
      throw new Error(
        `the stream committed the backlog, but ${profiles} of ${users} touched users have a profile`,
      );
    return {
      rate: (n - firstRows) / ((doneAt - firstAt) / 1000),
      wallSeconds: (doneAt - t0) / 1000,
      readyAtMs,
      firstAtMs: firstAt - t0,
      firstRows,
      doneAtMs: doneAt - t0,
      streamCpu: used.proc,
      machineCpu: used.machine,
      rows,
      profiles,
      batches: seconds.count,
      meanBatchEvents: events.sum / events.count,
      meanBatchSeconds: seconds.sum / seconds.count,
      cpu: byWho,
    };
  } finally {
    const code = await stop(stream);
    if (code !== 0) log(`recsys stream exited with ${code} after SIGTERM`);
  }
}

async function bareConsume(n: number): Promise<ConsumeResult & { machineCpu: number }> {
  const group = `bench-speed-bare-${process.pid}-${++runId}`;
  groupsUsed.add(group);
  const cpu = new CpuMeter();
  const r = await runJson<ConsumeResult>(node, [child, 'consume', TOPIC, String(n), group], {
    KAFKA_BROKERS: baseEnv.KAFKA_BROKERS,
  });
  return { ...r, machineCpu: cpu.read().machine };
}

interface ThroughputResult {
  backlog: BacklogResult;
  bare: Array<ConsumeResult & { machineCpu: number }>;
  drains: DrainResult[];
  floors: FloorResult[];
  /** The same floor with each row's event_id swapped for a random UUID v4 (as clients often send). */
  floorsV4: FloorResult[];
}

interface FloorResult {
  rate: number;
  seconds: number;
  rows: number;
}

const FLOOR_COLUMNS = ['event_id', 'user_id', 'item_id', 'type', 'value', 'ts'] as const;
const FLOOR_SLICE = 200_000;

/**
 * The floor under any stream that stores every event in rt_user_interactions: the rows the
 * drain just stored, read back (not timed) in arrival (ts) order and written again, by the
 * fastest bulk path there is (binary COPY, one transaction per 200K rows, no other statement),
 * into an empty table with rt_user_interactions' columns, defaults and indexes. Only the COPYs
 * and their commits are timed; nothing else runs meanwhile but what shares the machine.
 * `ids`: 'own' keeps the events' ids (time-ordered UUID v7s, as the server fills them);
 * 'random' writes a fresh UUID v4 instead, to show what random keys cost the primary key.
 */
async function storeFloor(db: RelationalStore, ids: 'own' | 'random'): Promise<FloorResult> {
  await db.exec(
    'DROP TABLE IF EXISTS speed_floor; CREATE TABLE speed_floor (LIKE rt_user_interactions INCLUDING ALL)',
  );
  interface Row {
    event_id: string;
    user_id: string;
    item_id: string;
    type: string;
    value: number | null;
    ts: Date;
  }
  let ms = 0;
  let rows = 0;
  let after: Row | null = null;
  try {
    for (;;) {
      const page: Row[] = (
        await db.query<Row>(
          `SELECT event_id, user_id, item_id, type, value, ts FROM rt_user_interactions
            WHERE $1::timestamptz IS NULL OR (ts, event_id) > ($1, $2::uuid)
            ORDER BY ts, event_id LIMIT ${FLOOR_SLICE}`,
          [after?.ts ?? null, after?.event_id ?? null],
        )
      ).rows;
      if (page.length === 0) break;
      const w = new CopyBinaryWriter(page.length * 96);
      for (const r of page)
        w.row(6)
          .uuid(ids === 'own' ? r.event_id : randomUUID())
          .text(r.user_id)
          .text(r.item_id)
          .text(r.type)
          .float4OrNull(r.value ?? Number.NaN)
          .timestamptz(r.ts.getTime());
      const payload = w.finish();
      const t = performance.now();
      await db.transaction((tx) => tx.copyBinary('speed_floor', FLOOR_COLUMNS, payload));
      ms += performance.now() - t;
      rows += page.length;
      after = page[page.length - 1]!;
    }
  } finally {
    await db.exec('DROP TABLE IF EXISTS speed_floor');
  }
  return { rate: rows / (ms / 1000), seconds: ms / 1000, rows };
}

async function throughput(setup: Setup): Promise<ThroughputResult> {
  log('phase 1 (throughput): resetting the topic, pre-filling the backlog');
  await resetTopic();
  const backlog = await runJson<BacklogResult>(
    node,
    [child, 'produce-backlog', TOPIC, String(BACKLOG), '1', String(BACKLOG_SEND)],
    { KAFKA_BROKERS: baseEnv.KAFKA_BROKERS },
  );
  log(`backlog: ${backlog.events} events in ${backlog.seconds.toFixed(1)} s (${Math.round(backlog.rate)}/s)`);
  const held = await topicSize();
  if (held !== BACKLOG) throw new Error(`the topic holds ${held} messages, not the ${BACKLOG} produced`);
  const bare: ThroughputResult['bare'] = [];
  const drains: DrainResult[] = [];
  const floors: FloorResult[] = [];
  const floorsV4: FloorResult[] = [];
  const doDrain = phases.has('drain') || phases.has('throughput');
  for (let round = 0; round < DRAIN_ROUNDS; round++) {
    const order = round % 2 === 0 ? ['bare', 'stream'] : ['stream', 'bare'];
    for (const which of order) {
      if (which === 'bare') {
        log(`round ${round + 1}/${DRAIN_ROUNDS}: bare consumer`);
        const r = await bareConsume(held);
        log(
          `bare consumer: ${Math.round(r.rate)}/s after the first batch, ${Math.round(r.wallRate)}/s with the join`,
        );
        bare.push(r);
      } else if (doDrain) {
        log(`round ${round + 1}/${DRAIN_ROUNDS}: recsys stream drains the backlog`);
        const r = await drain(setup.db, setup, held, backlog.users);
        log(
          `stream: ${Math.round(r.rate)}/s after the first rows, ${r.wallSeconds.toFixed(1)} s wall; ${r.batches} micro-batches of ${Math.round(r.meanBatchEvents)} events, ${r.meanBatchSeconds.toFixed(2)} s each; CPU % of one core: ${formatBreakdown(r.cpu)}`,
        );
        drains.push(r);
        // Interleaved: which id kind goes first alternates by round.
        for (const ids of round % 2 === 0 ? (['own', 'random'] as const) : (['random', 'own'] as const)) {
          const f = await storeFloor(setup.db, ids);
          log(
            `floor (${ids === 'own' ? 'their own v7 ids' : 'random v4 ids'}): the same ${f.rows} rows by binary COPY alone: ${Math.round(f.rate)}/s (${f.seconds.toFixed(1)} s)`,
          );
          (ids === 'own' ? floors : floorsV4).push(f);
        }
      }
    }
  }
  return { backlog, bare, drains, floors, floorsV4 };
}

// ---------------------------------------------------------------- phase 2: ingest

interface WrkResult {
  rps: number;
  non2xx: number;
  socketErrors: number;
  p50ms: number;
  p99ms: number;
}

function toMs(v: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec((v ?? '').trim());
  if (!m) return Number.NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

function wrkPost(url: string, script: string, seconds: number): WrkResult {
  const out = execFileSync(
    'wrk',
    ['-t1', `-c${INGEST_CONNECTIONS}`, `-d${seconds}s`, '--latency', '-s', script, url],
    { encoding: 'utf8', timeout: (seconds + 30) * 1000 },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  if (!Number.isFinite(rps)) throw new Error(`cannot read wrk output:\n${out}`);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps,
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: sock ? sock.slice(1).reduce((s, x) => s + Number(x), 0) : 0,
    p50ms: toMs(/\s50%\s+(\S+)/.exec(out)?.[1]),
    p99ms: toMs(/\s99%\s+(\S+)/.exec(out)?.[1]),
  };
}

/** A wrk script that POSTs `bodies` in turn. */
function wrkScript(dir: string, bodies: string[]): string {
  const file = path.join(dir, 'post-events.lua');
  const lua = [
    'local bodies = {',
    ...bodies.map((b) => `  ${JSON.stringify(b)},`),
    '}',
    'local n = 0',
    'local headers = { ["content-type"] = "application/json" }',
    'request = function()',
    '  n = n + 1',
    '  return wrk.format("POST", "/v1/events", headers, bodies[(n % #bodies) + 1])',
    'end',
  ].join('\n');
  writeFileSync(file, lua);
  return file;
}

interface IngestResult {
  serve: Array<WrkResult & { events: number; serverCpu: number; machineCpu: number }>;
  bare: Array<{ rate: number; machineCpu: number }>;
  bodyBytes: number;
}

async function ingest(): Promise<IngestResult> {
  log('phase 2 (ingest): resetting the topic, starting recsys serve');
  await resetTopic();
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-speed-'));
  let serve: Proc | undefined;
  try {
    const source = new EventSource(3);
    const bodies = Array.from({ length: 20 }, () =>
      JSON.stringify(Array.from({ length: 100 }, () => source.input())),
    );
    const script = wrkScript(dir, bodies);
    serve = await startRecsys(['serve', '--port', '0'], appEnv, /^listening on (http:\/\/\S+)/);
    const base = serve.match[1]!;
    const probe = await fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bodies[0],
    });
    if (probe.status !== 202)
      throw new Error(`POST /v1/events answered ${probe.status}: ${await probe.text()}`);
    const url = `${base}/v1/events`;
    const out: IngestResult = {
      serve: [],
      bare: [],
      bodyBytes: Math.round(median(bodies.map((b) => Buffer.byteLength(b)))),
    };
    for (let round = 0; round < INGEST_ROUNDS; round++) {
      const order = round % 2 === 0 ? ['bare', 'serve'] : ['serve', 'bare'];
      for (const which of order) {
        if (which === 'serve') {
          log(`round ${round + 1}/${INGEST_ROUNDS}: wrk → POST /v1/events`);
          const before = await topicSize();
          wrkPost(url, script, 2);
          const cpu = new CpuMeter(serve.child.pid);
          const t0 = await topicSize();
          const r = wrkPost(url, script, INGEST_SECONDS);
          const used = cpu.read();
          const t1 = await topicSize();
          log(
            `serve: ${Math.round(r.rps * 100)} events/s (${t1 - t0} in the topic; ${before} before the warm-up)`,
          );
          out.serve.push({ ...r, events: r.rps * 100, serverCpu: used.proc, machineCpu: used.machine });
        } else {
          log(
            `round ${round + 1}/${INGEST_ROUNDS}: bare producer, 100 events a send × ${INGEST_CONNECTIONS}`,
          );
          const cpu = new CpuMeter();
          const r = await runJson<{ rate: number }>(
            node,
            [
              child,
              'produce-small',
              TOPIC,
              String(INGEST_SECONDS),
              String(INGEST_CONNECTIONS),
              String(round + 11),
            ],
            { KAFKA_BROKERS: baseEnv.KAFKA_BROKERS },
          );
          log(`bare producer: ${Math.round(r.rate)} events/s`);
          out.bare.push({ rate: r.rate, machineCpu: cpu.read().machine });
        }
      }
    }
    return out;
  } finally {
    await stop(serve);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- phase 3: freshness

interface FreshResult {
  samples: number[];
  lost: number;
  stray: number;
  posted: number;
  pushes: number;
  errors: number;
  foreign: number;
}

/** The stream's histogram: bus accepted → profile written (all events it folded). */
const PROFILE_FRESHNESS = 'recsys_stream_freshness_seconds';
/** Serving's histogram: bus accepted → WebSocket push sent (the user's oldest event in the micro-batch). */
const PUSH_FRESHNESS = 'recsys_push_freshness_seconds';

interface FreshReport extends FreshResult {
  streamCpu: number;
  serveCpu: number;
  machineCpu: number;
  others: Record<string, number>;
  inProcess: { profileP50: number; profileP99: number; pushP50: number; pushP99: number };
}

async function freshness(db: RelationalStore, version: string): Promise<FreshReport> {
  log('phase 3 (freshness): resetting the topic and tables, starting recsys serve and recsys stream');
  await resetTopic();
  await resetTables(db);
  const group = `bench-speed-fresh-${process.pid}`;
  groupsUsed.add(group);
  let serve: Proc | undefined;
  let stream: Proc | undefined;
  try {
    serve = await startRecsys(['serve', '--port', '0'], appEnv, /^listening on (http:\/\/\S+)/);
    stream = await startRecsys(
      ['stream', '--port', '0'],
      { ...appEnv, RECSYS_STREAM_GROUP: group, RECSYS_MICROBATCH_MS: String(FRESH_MICROBATCH_MS) },
      /^stream: consuming .* ops on (\S+)/,
    );
    const cpuStream = new CpuMeter(stream.child.pid);
    const cpuServe = new CpuMeter(serve.child.pid);
    const breakdown = new CpuBreakdown([
      { pid: stream.child.pid, name: 'recsys stream' },
      { pid: serve.child.pid, name: 'recsys serve' },
    ]);
    const profileUrl = `${stream.match[1]}/metrics`;
    const pushUrl = `${serve.match[1]}/metrics`;
    const profile0 = await histogramBuckets(profileUrl, PROFILE_FRESHNESS);
    const push0 = await histogramBuckets(pushUrl, PUSH_FRESHNESS);
    const r = await runJson<FreshResult>(node, [
      child,
      'freshness',
      serve.match[1]!,
      String(FRESH_SECONDS),
      String(FRESH_WARMUP_SECONDS),
      String(FRESH_LOAD),
      String(FRESH_PROBES),
      String(FRESH_PROBE_USERS),
      version,
    ]);
    const profile1 = await histogramBuckets(profileUrl, PROFILE_FRESHNESS);
    const push1 = await histogramBuckets(pushUrl, PUSH_FRESHNESS);
    const cpu = breakdown.read();
    return {
      ...r,
      streamCpu: cpuStream.read().proc,
      serveCpu: cpuServe.read().proc,
      machineCpu: cpuStream.read().machine,
      others: cpu,
      inProcess: {
        profileP50: quantileBetween(profile0, profile1, 0.5),
        profileP99: quantileBetween(profile0, profile1, 0.99),
        pushP50: quantileBetween(push0, push1, 0.5),
        pushP99: quantileBetween(push0, push1, 0.99),
      },
    };
  } finally {
    await stop(stream);
    await stop(serve);
  }
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

// ---------------------------------------------------------------- report

const bound = (ms: number) => (Number.isFinite(ms) ? `${ms.toFixed(0)} ms` : '—');
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
const k = (x: number) => Math.round(x).toLocaleString('en-US');

export async function benchSpeed(): Promise<string> {
  if (phases.has('ingest')) {
    try {
      execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    } catch (err) {
      // wrk --version exits 1 after printing; only a missing binary is a problem.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error('wrk is not installed: apt-get install -y wrk');
    }
  }
  await admin.connect();
  log(`setting up database ${DB_NAME}, training the model`);
  const setup = await setupStores();
  log(`model ${setup.version} active (${setup.trainSeconds.toFixed(1)} s to train, ${setup.backend})`);
  const sections: string[] = [
    `## Speed layer (${machine()})`,
    '',
    `Real Kafka, PostgreSQL and Redis on this machine (scripts/services.sh), recsys in services mode with a database of its own and its own topic \`${TOPIC}\` (RECSYS_INTERACTIONS_TOPIC; ${PARTITIONS} partitions, the default), deleted and recreated at the start of each phase, the stream's tables emptied before each run. Data: an active implicit ALS model (${k(KNOWN_USERS)} users × ${k(ITEMS)} items × ${FACTORS} factors, trained on ${k(TRAIN_INTERACTIONS)} interactions, ${setup.backend} kernels); events from ${k(USERS)} users (${k(USERS - KNOWN_USERS)} of them new to the model; activity Zipf ${USER_EXPONENT}) over the model's items (popularity Zipf ${ITEM_EXPONENT}), types ${TYPE_MIX.map(([t, c]) => `${t} ${Math.round(c * 100)} %`).join(', ')}; encoded with \`encodeEvent\`, key = user id.`,
    '',
  ];
  try {
    if (phases.has('throughput') || phases.has('baselines')) {
      const t = await throughput(setup);
      const bareRate = median(t.bare.map((r) => r.rate));
      const bareWall = median(t.bare.map((r) => r.wallRate));
      sections.push(
        `### Throughput: draining a backlog of ${k(BACKLOG)} events`,
        '',
        `Pre-filled by one bare idempotent kafkajs producer (acks=all, ${k(BACKLOG_SEND)} messages a send, one send at a time): ${k(t.backlog.rate)} events/s (${t.backlog.seconds.toFixed(1)} s; ${t.backlog.meanBytes.toFixed(0)} bytes per event, ${k(t.backlog.users)} users touched). Then ${DRAIN_ROUNDS} interleaved rounds (bare, stream; stream, bare), each reading the whole backlog with a fresh consumer group. Rate = events after the first observation ÷ time from it to the last: for the bare consumer from the end of its first batch to its last message parsed; for \`recsys stream\` from the first rows visible in rt_user_interactions (polled every 10 ms) to the group's committed offsets reaching the end of every partition (polled every 50 ms; the stream commits only after a micro-batch's rows, profiles and messages are written), after which the bench checks that rt_user_interactions holds all ${k(BACKLOG)} rows and user_profiles one row per touched user. Wall: from spawning the process (or connecting the consumer) to the same end, group join included.`,
        '',
      );
      const rows: Array<Array<string | number>> = t.bare.map((r, i) => [
        `bare kafkajs consumer (eachBatch, JSON.parse), round ${i + 1}`,
        k(r.rate),
        k(r.wallRate),
        (r.doneAtMs / 1000).toFixed(1),
        `first batch after ${(r.firstAtMs / 1000).toFixed(2)} s (${k(r.firstEvents)} events)`,
        r.machineCpu.toFixed(0),
        '—',
      ]);
      for (const [i, d] of t.drains.entries())
        rows.push([
          `recsys stream, round ${i + 1}`,
          k(d.rate),
          k(BACKLOG / d.wallSeconds),
          d.wallSeconds.toFixed(1),
          `ready after ${(d.readyAtMs / 1000).toFixed(2)} s, first rows after ${(d.firstAtMs / 1000).toFixed(2)} s (${k(d.firstRows)})`,
          d.machineCpu.toFixed(0),
          d.streamCpu.toFixed(0),
        ]);
      sections.push(
        table(
          [
            'reader',
            'events/s (after first)',
            'events/s (wall)',
            'wall s',
            'start',
            'machine CPU %',
            'stream CPU % of one core',
          ],
          rows,
        ),
        '',
      );
      if (t.drains.length > 0) {
        const streamRate = median(t.drains.map((d) => d.rate));
        const ratio = streamRate / bareRate;
        sections.push(
          table(
            ['target', 'measured', ''],
            [
              [
                'stream ≥ 50,000 events/s',
                `${k(streamRate)} events/s (median)`,
                verdict(streamRate >= 50_000),
              ],
              [
                'stream ≥ 0.5 × bare consumer',
                `${ratio.toFixed(2)} × (${k(streamRate)} / ${k(bareRate)})`,
                verdict(ratio >= 0.5),
              ],
            ],
          ),
          '',
          `Floor, measured right after each drain: the same ${k(BACKLOG)} rows written again by binary COPY alone (one transaction per ${k(FLOOR_SLICE)} rows, in arrival order, into an empty table with rt_user_interactions' columns, defaults and indexes; nothing but the COPYs timed): ${t.floors.map((f) => k(f.rate)).join(', ')} events/s, median ${(median(t.floors.map((f) => f.rate)) / bareRate).toFixed(2)} × the bare consumer. No stream that stores every event there can beat it. The events carry time-ordered UUID v7 ids, as the server fills them; the same rows with random UUID v4 ids instead (as a client may send), interleaved with those: ${t.floorsV4.map((f) => k(f.rate)).join(', ')} events/s, median ${(median(t.floorsV4.map((f) => f.rate)) / bareRate).toFixed(2)} × the bare consumer.`,
          '',
          `With the group join counted (wall): stream ${k(median(t.drains.map((d) => BACKLOG / d.wallSeconds)))} events/s, bare consumer ${k(bareWall)} events/s. Machine CPU: % of both cores over the read, Kafka and PostgreSQL included.`,
          '',
          ...t.drains.map(
            (d, i) =>
              `Stream round ${i + 1}: ${d.batches} micro-batches of ${k(d.meanBatchEvents)} events on average, ${d.meanBatchSeconds.toFixed(2)} s each (its /metrics); CPU over the drain, % of one core: ${formatBreakdown(d.cpu)}.`,
          ),
          '',
        );
      }
    }
    if (phases.has('ingest')) {
      const g = await ingest();
      const serveRate = median(g.serve.map((r) => r.events));
      const bareRate = median(g.bare.map((r) => r.rate));
      sections.push(
        '### Ingest: POST /v1/events into Kafka',
        '',
        `\`recsys serve\` (services mode, no API keys, rate limit off), wrk 1 thread, ${INGEST_CONNECTIONS} connections, each request a JSON array of 100 events (${g.bodyBytes} bytes; no event_id or ts, the server fills them; 20 bodies in turn), ${INGEST_SECONDS} s after a 2 s warm-up; beside it the same bare idempotent kafkajs producer as above sending 100 events a send from ${INGEST_CONNECTIONS} concurrent loops for ${INGEST_SECONDS} s; ${INGEST_ROUNDS} interleaved rounds, medians.`,
        '',
        table(
          [
            'writer',
            'events/s',
            'round values',
            'p50 ms',
            'p99 ms',
            'non-2xx + socket errors',
            'server CPU %',
            'machine CPU %',
          ],
          [
            [
              'POST /v1/events (recsys serve)',
              k(serveRate),
              g.serve.map((r) => k(r.events)).join(', '),
              median(g.serve.map((r) => r.p50ms)).toFixed(2),
              median(g.serve.map((r) => r.p99ms)).toFixed(2),
              g.serve.reduce((s, r) => s + r.non2xx + r.socketErrors, 0),
              median(g.serve.map((r) => r.serverCpu)).toFixed(0),
              median(g.serve.map((r) => r.machineCpu)).toFixed(0),
            ],
            [
              `bare producer, 100 events a send × ${INGEST_CONNECTIONS}`,
              k(bareRate),
              g.bare.map((r) => k(r.rate)).join(', '),
              '—',
              '—',
              '—',
              '—',
              median(g.bare.map((r) => r.machineCpu)).toFixed(0),
            ],
          ],
        ),
        '',
        `POST /v1/events ÷ bare producer (100 a send): ${(serveRate / bareRate).toFixed(2)}.`,
        '',
      );
    }
    if (phases.has('freshness')) {
      const f = await freshness(setup.db, setup.version);
      const p50 = quantile(f.samples, 0.5);
      const p99 = quantile(f.samples, 0.99);
      sections.push(
        '### Freshness: POST /v1/events → WebSocket push',
        '',
        `\`recsys serve\` and \`recsys stream\` (RECSYS_MICROBATCH_MS=${FRESH_MICROBATCH_MS}) on the same stores; a steady background load of ${FRESH_LOAD} events/s (a POST of ${FRESH_LOAD / 10} events every 100 ms over users other than the probes); ${FRESH_PROBE_USERS} probe users subscribed on WS /v1/stream (${Math.ceil(FRESH_PROBE_USERS / 100)} connections); ${FRESH_PROBES} probes/s, each one event for a probe user with no probe in flight, timed from just before its POST to the push for that user; ${FRESH_WARMUP_SECONDS} s warm-up, then ${FRESH_SECONDS} s measured.`,
        '',
        table(
          [
            'probes timed',
            'p50 ms',
            'p99 ms',
            'max ms',
            'p50 / interval',
            'p99 / interval',
            'lost (no push in 10 s)',
            'other pushes (own model / other model)',
            'POST errors',
          ],
          [
            [
              f.samples.length,
              p50.toFixed(0),
              p99.toFixed(0),
              Math.max(...f.samples).toFixed(0),
              (p50 / FRESH_MICROBATCH_MS).toFixed(2),
              (p99 / FRESH_MICROBATCH_MS).toFixed(2),
              f.lost,
              `${f.stray} / ${f.foreign}`,
              f.errors,
            ],
          ],
        ),
        '',
        "Other pushes: pushes to a probe user with no probe of theirs in flight, under the bench's model (own) or another model version (another stream on the same Redis: the user-update channel is not per topic); neither is timed.",
        '',
        `Inside the processes over the same span (histogram buckets, so bounds): bus accepted → profile written (\`${PROFILE_FRESHNESS}\`, every event folded) p50 ≤ ${bound(f.inProcess.profileP50)}, p99 ≤ ${bound(f.inProcess.profileP99)}; bus accepted → push sent (\`${PUSH_FRESHNESS}\`, every push) p50 ≤ ${bound(f.inProcess.pushP50)}, p99 ≤ ${bound(f.inProcess.pushP99)}. CPU over the run, % of one core: ${formatBreakdown(f.others)} ("other": the load generator and the rest of the machine).`,
        '',
        table(
          ['target', 'measured', ''],
          [
            [
              `p99 ≤ 2 intervals (${2 * FRESH_MICROBATCH_MS} ms)`,
              `${p99.toFixed(0)} ms`,
              verdict(p99 <= 2 * FRESH_MICROBATCH_MS && f.lost === 0),
            ],
          ],
        ),
        '',
      );
    }
    return sections.join('\n');
  } finally {
    // What the bench wrote is ~GBs: its topics go.
    await deleteTopics().catch((err) => log(`could not delete ${TOPIC}: ${(err as Error).message}`));
    await admin.deleteGroups([...groupsUsed]).catch(() => undefined);
    await admin.disconnect();
    await setup.close();
  }
}
