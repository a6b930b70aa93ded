// Bad input at volume on the real servers: two `recsys serve` sharing one port (SO_REUSEPORT,
// on by default in services mode) and a `recsys stream`, a valid load from `recsys loadtest`
// and a WebSocket subscriber, then the same load again with 10,000 malformed requests of every
// kind (test/reliability/malformed.ts) mixed in. No process exits, no answer is a 5xx, every
// malformed request is refused with a 4xx or a closed connection as documented, none writes a
// row (their user ids share a prefix), the valid load sees no error and its read latency stays
// within a bound of the same load's without the malformed traffic.
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import type { EndpointResult } from '../../src/cli/sim/load.js';
import { silentLogger } from '../../src/logger.js';
import type { RelationalStore } from '../../src/stores/relational/port.js';
import { openPostgres } from '../../src/stores/relational/postgres.js';
import { tempDir } from '../helpers.js';
import { type MalformedReport, sendMalformed } from '../reliability/malformed.js';
import { connect } from '../serving/ws-client.js';
import { delay, uid } from '../stores/support/wait.js';
import { removeBucket } from './buckets.js';
import { dropDatabase, removeKafkaResources } from './cleanup.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';
import { servicesEnv } from './serving-stores.js';

const { Kafka, logLevel } = kafkajs;
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const LOAD_KEY = 'bad-input-load-key';
/** The malformed traffic has a valid key of its own: its requests reach validation without spending the load's bucket. */
const MALFORMED_KEY = 'bad-input-malformed-key';
const USERS = 200;
const ITEMS = 300;
const MALFORMED = 10_000;
const LOAD = { rps: 100, seconds: 50 };
/** The malformed requests' pace: 10,000 in 40 s, within the load's 50 s. */
const MALFORMED_RPS = 250;
/**
 * The read p99 with the malformed traffic may be at most this many times the p99 without it,
 * plus a floor for the two shared cores' noise: the malformed client runs on the same cores.
 */
const P99_RATIO = 4;
const P99_FLOOR_MS = 50;

interface Proc {
  name: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  stdout(): string;
  tail(): string;
  stop(signal?: NodeJS.Signals): Promise<unknown>;
}

const children = new Set<ChildProcessByStdio<null, Readable, Readable>>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function recsys(name: string, args: string[], env: Record<string, string>, logDir: string): Proc {
  const child = spawn(process.execPath, [cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.add(child);
  const log = createWriteStream(path.join(logDir, `${name}.log`));
  let out = '';
  let both = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d;
    log.write(d);
    both = (both + d).slice(-8000);
  });
  child.stderr.on('data', (d: Buffer) => {
    log.write(d);
    both = (both + d).slice(-8000);
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      done = true;
      children.delete(child);
      log.end();
      resolve({ code, signal });
    }),
  );
  return {
    name,
    exited,
    running: () => !done,
    stdout: () => out,
    tail: () => `--- ${name} ---\n${both.slice(-3000)}`,
    async stop(signal = 'SIGTERM') {
      if (!done) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function ready(p: Proc, re: RegExp, timeoutMs = 90_000): Promise<RegExpExecArray> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await delay(50)) {
    const m = re.exec(p.stdout());
    if (m) return m;
    if (!p.running()) throw new Error(`recsys ${p.name} exited before ${re}:\n${p.tail()}`);
  }
  throw new Error(`recsys ${p.name}: no ${re} within ${timeoutMs} ms:\n${p.tail()}`);
}

async function finish(p: Proc, timeoutMs = 300_000): Promise<string> {
  const timer = setTimeout(() => void p.stop('SIGKILL'), timeoutMs);
  const end = await p.exited;
  clearTimeout(timer);
  assert.deepEqual([end.code, end.signal], [0, null], p.tail());
  return p.stdout();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

describe('bad input at volume: 10,000 malformed requests mixed into a valid load (services)', () => {
  const id = uid().toLowerCase();
  const dbName = `badin_${id}`;
  const bucket = `badin-${id}`;
  const topic = `badin-${id}`;
  const group = `badin-${id}`;
  const prefix = `malformed-${id}-`;
  const tmp = tempDir('recsys-bad-input-');
  const logDir = path.join(tmp.dir, 'logs');
  mkdirSync(logDir);
  const dbUrl = new URL(servers.databaseUrl);
  dbUrl.pathname = `/${dbName}`;
  const env = servicesEnv({
    DATABASE_URL: dbUrl.toString(),
    S3_BUCKET: bucket,
    RECSYS_INTERACTIONS_TOPIC: topic,
    RECSYS_STREAM_GROUP: group,
    RECSYS_BUS_PARTITIONS: '4',
    RECSYS_API_KEYS: `${LOAD_KEY},${MALFORMED_KEY}`,
    RECSYS_TRAIN_WINDOW_DAYS: 'all',
    RECSYS_ALS_ITERATIONS: '4',
    RECSYS_MICROBATCH_MS: '250',
    RECSYS_LOG_LEVEL: 'warn',
  });
  const admin = new Kafka({ brokers: servers.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  let server: RelationalStore;
  let db: RelationalStore | undefined;
  const running: Proc[] = [];
  const start = (name: string, args: string[]) => {
    const p = recsys(name, args, env, logDir);
    running.push(p);
    return p;
  };

  before(async () => {
    server = await openPostgres({
      url: servers.databaseUrl,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    });
    await server.query(`CREATE DATABASE ${dbName}`);
    await admin.connect();
  });

  after(async () => {
    await Promise.all(running.map((p) => p.stop('SIGKILL')));
    await db?.close().catch(() => {});
    await removeBucket(bucket).catch(() => {});
    await removeKafkaResources(admin, topic, group);
    if (server) await dropDatabase(server, dbName);
    await server?.close();
    tmp.cleanup();
  });

  it('refuses every malformed request without a 5xx, a crash, a row or harm to the valid load', async () => {
    // A model, as an operator makes one.
    const data = path.join(tmp.dir, 'ml');
    await finish(start('demo-data', ['demo-data', data, '--users', String(USERS), '--items', String(ITEMS)]));
    await finish(start('import', ['import', 'movielens', data, '--json']));
    const run = JSON.parse(await finish(start('batch', ['batch', 'run', '--json'])));
    assert.equal(run.status, 'succeeded', JSON.stringify(run));

    // Two serve on one port (port sharing is the services-mode default) and a stream.
    const port = await freePort();
    const stream = start('stream', ['stream', '--port', '0']);
    await ready(stream, /^stream: consuming /m);
    const listening = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m;
    const serves = [
      start('serve-a', ['serve', '--port', String(port)]),
      start('serve-b', ['serve', '--port', String(port)]),
    ];
    const [a, b] = await Promise.all(serves.map((s) => ready(s, listening)));
    assert.equal(a[1], `http://127.0.0.1:${port}`);
    assert.equal(b[1], a[1]);
    const base = a[1]!;

    // A subscriber that must stay connected and answered throughout.
    const ws = await connect(`${base.replace('http:', 'ws:')}/v1/stream`, { 'x-api-key': LOAD_KEY });
    ws.send({ subscribe: '1' });
    assert.deepEqual(await ws.next(), { subscribed: '1' });

    const loadtest = async (name: string) => {
      const p = recsys(
        name,
        [
          'loadtest',
          '--url',
          base,
          '--api-key',
          LOAD_KEY,
          '--rps',
          String(LOAD.rps),
          '--duration',
          String(LOAD.seconds),
          '--users',
          String(USERS),
          '--connections',
          '8',
          '--json',
        ],
        env,
        logDir,
      );
      running.push(p);
      const out = await finish(p, (LOAD.seconds + 60) * 1000);
      return (JSON.parse(out) as { endpoints: EndpointResult[] }).endpoints;
    };

    const baseline = await loadtest('load-baseline');
    const [mixed, report] = await Promise.all([
      loadtest('load-mixed'),
      // Starts a second in, so that the load is under way.
      delay(1000).then(() =>
        sendMalformed({
          port,
          apiKey: MALFORMED_KEY,
          userPrefix: prefix,
          count: MALFORMED,
          concurrency: 24,
          slow: 40,
          rps: MALFORMED_RPS,
        }),
      ),
    ]);
    const summary = {
      malformed: {
        total: report.total,
        seconds: report.seconds,
        byKind: report.byKind,
        slowestMs: report.slowestMs,
      },
      baseline: baseline.map((e) => ({ route: e.route, status: e.status, latency_ms: e.latency_ms })),
      mixed: mixed.map((e) => ({ route: e.route, status: e.status, latency_ms: e.latency_ms })),
    };
    console.log(JSON.stringify(summary));

    // No process went down.
    for (const p of [stream, ...serves]) assert.ok(p.running(), `${p.name} exited:\n${p.tail()}`);
    // Every malformed request refused as documented: no 5xx, no hang, no acceptance.
    assert.equal(report.total, MALFORMED);
    assert.deepEqual(report.unexpected, [], JSON.stringify(report.byKind));
    assert.deepEqual(fives(report), 0);
    // The valid load: every request a 2xx, before and during.
    for (const e of [...baseline, ...mixed])
      assert.equal(e.non2xx + e.errors + e.unfinished, 0, `${e.route}: ${JSON.stringify(e)}`);
    const reads = (list: EndpointResult[]) => list.find((e) => e.route.startsWith('GET'))!.latency_ms.p99;
    const bound = Math.max(P99_RATIO * reads(baseline), reads(baseline) + P99_FLOOR_MS);
    assert.ok(reads(mixed) <= bound, `read p99 ${reads(mixed)} ms with malformed traffic, bound ${bound} ms`);
    // The subscriber is still connected and answered.
    ws.send({ subscribe: '2' });
    // Pushes for user 1 (the load's events move its list) may come first.
    let reply: unknown;
    do reply = await ws.next(5000);
    while ((reply as { type?: string }).type === 'recommendations');
    assert.deepEqual(reply, { subscribed: '2' });
    ws.ws.close();

    // No row from the malformed traffic, once the stream has had time to store what it got.
    await delay(3000);
    const rel = await openPostgres({
      url: dbUrl.toString(),
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    });
    db = rel;
    for (const table of [
      'rt_user_interactions',
      'recommendation_logs',
      'recommendation_feedback',
      'users',
      'user_profiles',
    ]) {
      const { rows } = await rel.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} WHERE user_id LIKE $1`,
        [`${prefix}%`],
      );
      assert.equal(rows[0]!.n, 0, `${table} holds rows of the malformed traffic`);
    }
    // The valid load's events did arrive (the check above is not vacuous: the tables fill).
    const stored = await rel.query<{ n: number }>('SELECT count(*)::int AS n FROM rt_user_interactions');
    assert.ok(stored.rows[0]!.n > 0);
  });
});

/** Malformed requests answered 5xx. */
function fives(r: MalformedReport): number {
  let n = 0;
  for (const outcomes of Object.values(r.byKind))
    for (const [outcome, count] of Object.entries(outcomes)) if (/^5\d\d$/.test(outcome)) n += count;
  return n;
}
