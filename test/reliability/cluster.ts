// A recsys deployment of its own on the real servers, for the multi-process tests (the soak,
// kill -9, restart, bad-input and end-to-end tests): a fresh PostgreSQL database, MinIO bucket,
// interactions topic and consumer group; demo data imported and a first model trained by the CLI,
// as an operator would (or left to the test, which checks those steps itself); then
// `recsys serve`, `recsys stream` and `recsys scheduler` as child processes, each with its pid
// (for kill -9 and RSS) and its /metrics address. Every spawn setting lives here, in one place.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { openStores, type Stores } from '../../src/stores/index.js';
import { openPostgres } from '../../src/stores/relational/postgres.js';
import { removeBucket } from '../services/buckets.js';
import { dropDatabase, removeKafkaResources } from '../services/cleanup.js';
import { CONNECT_TIMEOUT_MS, servers } from '../services/env.js';
import { servicesEnv } from '../services/serving-stores.js';
import { delay, uid } from '../stores/support/wait.js';

const { Kafka, logLevel } = kafkajs;

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export const API_KEY = 'reliability-key';
const PARTITIONS = 4;

export type Role = 'serve' | 'stream' | 'scheduler';

/** How a process ended. */
export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Proc {
  name: string;
  role: Role;
  pid: number;
  /** serve: its base URL; stream: its ops URL; scheduler: null (it has no HTTP port). */
  url: string | null;
  /** The line it announced itself ready with (stream: its topic and group; scheduler: its schedule). */
  readyLine: string;
  exited: Promise<Ended>;
  alive(): boolean;
  kill9(): Promise<Ended>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 30 s); resolves once the process is gone. */
  stop(graceMs?: number): Promise<Ended>;
  tail(chars?: number): string;
}

const READY: Record<Role, RegExp> = {
  serve: /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m,
  stream: /^stream: consuming \S+ as group \S+; ops on (http:\/\/\S+)$/m,
  scheduler: /^scheduler: .*; next run \S+$/m,
};

const children = new Set<ChildProcessByStdio<null, Readable, Readable>>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export interface ClusterOptions {
  name: string;
  users?: number;
  items?: number;
  /**
   * Settings for every process of the cluster, over the defaults below; `undefined` removes one
   * of those defaults, so the app's own applies.
   */
  env?: Record<string, string | undefined>;
  /**
   * Import demo data and train a first model before returning (default true). false: the test
   * runs those steps itself with `run`, then calls `openStores`.
   */
  prepare?: boolean;
}

export interface Cluster {
  name: string;
  env: Record<string, string>;
  topic: string;
  group: string;
  users: number;
  logDir: string;
  /** The stores of the cluster (its database, bucket, topic), opened in this process by `openStores`. */
  stores: Stores;
  /** Opens `stores` (once; they are migrated, so after the import for a test that prepares itself). */
  openStores(): Promise<Stores>;
  /** `recsys <role>` started and ready. `port` for serve (0: any free port); `nice`: its priority. */
  start(
    role: Role,
    name: string,
    opts?: { port?: number; env?: Record<string, string>; nice?: number },
  ): Promise<Proc>;
  /** Runs `recsys <args>` to its end (killed after `timeoutMs`, default 300 s); its stdout, or an error with its output tail. */
  run(name: string, args: string[], opts?: { timeoutMs?: number }): Promise<string>;
  procs(): Proc[];
  tails(chars?: number): string;
  close(): Promise<void>;
}

/** A TCP port free right now on 127.0.0.1 (for two serve processes sharing one). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export async function openCluster(opts: ClusterOptions): Promise<Cluster> {
  const id = uid().toLowerCase();
  const dbName = `rel_${opts.name}_${id}`;
  const bucket = `rel-${opts.name}-${id}`;
  const topic = `rel-${opts.name}-${id}`;
  const group = `rel-${opts.name}-${id}`;
  const users = opts.users ?? 300;
  const items = opts.items ?? 400;
  const logDir = path.join(tmpdir(), 'recsys-reliability', `${opts.name}-${id}`);
  mkdirSync(logDir, { recursive: true });
  const dbUrl = new URL(servers.databaseUrl);
  dbUrl.pathname = `/${dbName}`;
  const settings: Record<string, string | undefined> = {
    DATABASE_URL: dbUrl.toString(),
    S3_BUCKET: bucket,
    RECSYS_INTERACTIONS_TOPIC: topic,
    RECSYS_STREAM_GROUP: group,
    RECSYS_BUS_PARTITIONS: String(PARTITIONS),
    RECSYS_API_KEYS: API_KEY,
    // demo-data's ratings are dated 1997-98, as MovieLens 100K's.
    RECSYS_TRAIN_WINDOW_DAYS: 'all',
    RECSYS_ALS_ITERATIONS: '8',
    RECSYS_MICROBATCH_MS: '250',
    // Rows older than 30 s go to the Parquet archive, every 5 s: a run of a minute or more has
    // accepted events in both places, and the exactly-once check reads both.
    RECSYS_RT_RETENTION_HOURS: String(30 / 3600),
    RECSYS_ARCHIVE_EVERY_MS: '5000',
    RECSYS_ARCHIVE_GRACE_MS: '10000',
    // Several serve processes behind one port (SO_REUSEPORT), as the kill -9 test runs them.
    RECSYS_REUSE_PORT: 'true',
    // No slot of its own unless a test sets one (a batch run starts at once on a missed slot).
    RECSYS_BATCH_SCHEDULE: '0 0 1 1 *',
    RECSYS_BATCH_TIMEZONE: 'UTC',
    RECSYS_LOG_LEVEL: 'info',
    ...opts.env,
  };
  const env = servicesEnv(
    Object.fromEntries(Object.entries(settings).filter((e): e is [string, string] => e[1] !== undefined)),
  );

  const server = await openPostgres({
    url: servers.databaseUrl,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    logger: silentLogger,
  });
  await server.query(`CREATE DATABASE ${dbName}`);
  const admin = new Kafka({ brokers: servers.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  const all: Proc[] = [];
  let stores: Stores | undefined;

  const spawnProc = (name: string, args: string[], extra: Record<string, string> = {}, nice?: number) => {
    // nice execs node: the child's pid is node's.
    const [cmd, ...argv] =
      nice === undefined
        ? [process.execPath, cli, ...args]
        : ['nice', '-n', String(nice), process.execPath, cli, ...args];
    const child = spawn(cmd!, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env, ...extra },
    });
    children.add(child);
    const file = createWriteStream(path.join(logDir, `${name}.log`));
    let out = '';
    let both = '';
    const add = (d: Buffer) => {
      file.write(d);
      both = (both + d).slice(-65536);
    };
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < 1 << 20) out += d;
      add(d);
    });
    child.stderr.on('data', add);
    const exited = new Promise<Ended>((resolve) =>
      child.on('exit', (code, signal) => {
        children.delete(child);
        file.end(`\n[reliability] exited (${code ?? signal})\n`);
        resolve({ code, signal });
      }),
    );
    const alive = () => child.exitCode === null && child.signalCode === null;
    return {
      child,
      exited,
      alive,
      stdout: () => out,
      tail: (chars = 3000) =>
        `--- ${name} (log ${path.join(logDir, `${name}.log`)}) ---\n${both.slice(-chars)}`,
      kill9: async () => {
        if (alive()) child.kill('SIGKILL');
        return exited;
      },
      stop: async (graceMs = 30_000) => {
        if (alive()) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const end = await exited;
        clearTimeout(timer);
        return end;
      },
    };
  };

  const cluster: Cluster = {
    name: opts.name,
    env,
    topic,
    group,
    users,
    logDir,
    get stores(): Stores {
      if (!stores) throw new Error('the cluster stores are not open: call openStores() first');
      return stores;
    },
    async openStores() {
      stores ??= await openStores(loadConfig({ env }), { logger: silentLogger });
      return stores;
    },
    async run(name, args, o = {}) {
      const p = spawnProc(name, args);
      const timer = setTimeout(() => void p.kill9(), o.timeoutMs ?? 300_000);
      const end = await p.exited;
      clearTimeout(timer);
      if (end.code !== 0)
        throw new Error(`recsys ${args.join(' ')} ended ${end.code ?? end.signal}:\n${p.tail()}`);
      return p.stdout();
    },
    async start(role, name, o = {}) {
      const args =
        role === 'serve'
          ? ['serve', '--port', String(o.port ?? 0), '--host', '127.0.0.1']
          : role === 'stream'
            ? ['stream', '--port', '0', '--host', '127.0.0.1']
            : ['scheduler'];
      const p = spawnProc(name, args, o.env, o.nice);
      const deadline = Date.now() + 90_000;
      let m = READY[role].exec(p.stdout());
      for (; !m; m = READY[role].exec(p.stdout())) {
        if (!p.alive()) throw new Error(`recsys ${role} (${name}) exited before ready:\n${p.tail()}`);
        if (Date.now() > deadline) {
          await p.kill9();
          throw new Error(`recsys ${role} (${name}) not ready within 90 s:\n${p.tail()}`);
        }
        await delay(50);
      }
      const proc: Proc = {
        name,
        role,
        pid: p.child.pid!,
        url: role === 'scheduler' ? null : m[1]!,
        readyLine: m[0],
        exited: p.exited,
        alive: p.alive,
        kill9: p.kill9,
        stop: p.stop,
        tail: p.tail,
      };
      all.push(proc);
      return proc;
    },
    procs: () => all.slice(),
    tails: (chars = 2000) => all.map((p) => p.tail(chars)).join('\n'),
    async close() {
      await Promise.all(all.map((p) => p.kill9()));
      await stores?.close().catch(() => {});
      await removeBucket(bucket).catch(() => {});
      await admin.connect().catch(() => {});
      await removeKafkaResources(admin, topic, group);
      const err = await dropDatabase(server, dbName);
      if (err !== undefined) process.stderr.write(`[reliability] could not drop ${dbName}: ${err}\n`);
      await server.close().catch(() => {});
    },
  };

  if (opts.prepare === false) return cluster;
  try {
    // What an operator does first: data in, a model trained and published.
    const data = path.join(logDir, 'ml');
    await cluster.run('demo-data', ['demo-data', data, '--users', String(users), '--items', String(items)]);
    await cluster.run('import', ['import', 'movielens', data, '--json']);
    const trained = JSON.parse(await cluster.run('batch', ['batch', 'run', '--json']));
    if (trained.status !== 'succeeded' || !trained.published)
      throw new Error(`the first batch run did not publish a model: ${JSON.stringify(trained)}`);
    await cluster.openStores();
    return cluster;
  } catch (err) {
    await cluster.close();
    throw err;
  }
}
