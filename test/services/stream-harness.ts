// What the stream fault tests share: a world of their own on the real servers (a fresh
// PostgreSQL database, a fresh MinIO bucket holding an active model, a topic of its own for the
// interactions and a fresh consumer group), `recsys stream` as real child processes
// that can be killed with SIGKILL, a producer of events whose ids the test keeps, and the
// checks every fault test ends with (each event stored once, each profile complete).
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { loadConfig } from '../../src/config/index.js';
import { type EventType, encodeEvent, eventWeight, type InteractionEvent } from '../../src/events/index.js';
import { silentLogger } from '../../src/logger.js';
import { FoldIn } from '../../src/model/fold-in.js';
import type { AlsModel } from '../../src/model/model.js';
import { publishModel } from '../../src/model/registry.js';
import { type DeadLetter, deadLetterTopic, decodeDeadLetter } from '../../src/stores/bus/dead-letter.js';
import type { OutgoingMessage } from '../../src/stores/bus/port.js';
import { openStores, type Stores } from '../../src/stores/index.js';
import { openPostgres } from '../../src/stores/relational/postgres.js';
import { categoryOf, trainModel } from '../serving/fixture.js';
import { delay, uid, waitFor } from '../stores/support/wait.js';
import { removeBucket } from './buckets.js';
import { dropDatabase, removeKafkaResources } from './cleanup.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';
import { servicesEnv } from './serving-stores.js';

// kafkajs is CommonJS: Node sees only its default export.
const { AssignerProtocol, Kafka, logLevel } = kafkajs;
type Admin = kafkajs.Admin;

/** The CLI compiled beside this file, as test/cli/launch.ts runs it. */
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Partitions of each world's topic. */
const PARTITIONS = 4;

/** The micro-batch interval the tests run the stream with. */
export const MICROBATCH_MS = 250;

/** Event types the producers draw from (all with a positive default weight). */
const TYPES: EventType[] = ['view', 'click', 'add_to_cart', 'purchase'];

const READY = /^stream: consuming \S+ as group (\S+); ops on (http:\/\/\S+)$/m;

export interface StreamProcess {
  name: string;
  pid: number;
  /** The ops HTTP base URL from the ready line. */
  opsUrl: string;
  /** The group the ready line names. */
  group: string;
  /** Resolves with how the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, resolved once the process is gone. */
  kill9(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, resolved once the process is gone (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last output of the process (stdout and stderr). */
  tail(chars?: number): string;
}

/** A process's output: kept in full in a log file and the last 64 KiB in memory. */
class Output {
  private text = '';
  constructor(private readonly file: WriteStream) {}
  add(chunk: Buffer | string): void {
    this.file.write(chunk);
    this.text = (this.text + chunk).slice(-65536);
  }
  tail(chars = 4000): string {
    return this.text.slice(-chars);
  }
  end(): void {
    this.file.end();
  }
}

export interface World {
  name: string;
  /** The environment of a stream process in this world. */
  env: Record<string, string>;
  group: string;
  /** The interactions topic of this world (RECSYS_INTERACTIONS_TOPIC). */
  topic: string;
  dbName: string;
  bucket: string;
  stores: Stores;
  admin: Admin;
  model: AlsModel;
  version: string;
  /** Partitions of the world's topic. */
  partitions: number;
  /** Where each process's output is written in full. */
  logDir: string;
  /** Starts `recsys stream` and resolves once it prints its ready line. */
  startStream(name: string, extraEnv?: Record<string, string>): Promise<StreamProcess>;
  /** The last output of every process started, for failure reports. */
  tails(chars?: number): string;
  /** SIGKILLs every process still running. */
  killAll(): Promise<void>;
  /** Runs `fn` first thing in close() (a producer's stop, say). */
  onClose(fn: () => Promise<unknown>): void;
  /** Stops every process, drops the database, the bucket and the group. */
  close(): Promise<void>;
}

/** Every stream process a test started that has not exited yet. */
const processes = new Set<ChildProcessByStdio<null, Readable, Readable>>();
// Whatever happens to the test runner, no stream process outlives it.
process.on('exit', () => {
  for (const child of processes) child.kill('SIGKILL');
});

/**
 * A fresh database (migrated), bucket (with an active model trained on generated data),
 * interactions topic (with its dead letter topic) and consumer group.
 */
export async function openWorld(name: string): Promise<World> {
  const id = uid().toLowerCase();
  const dbName = `streamfaults_${id}`;
  const bucket = `streamfaults-${id}`;
  const group = `streamfaults-${name}-${id}`;
  const topic = `streamfaults-${name}-${id}`;
  const dbUrl = new URL(servers.databaseUrl);
  dbUrl.pathname = `/${dbName}`;
  const logDir = path.join(tmpdir(), 'recsys-stream-faults', `${name}-${id}`);
  mkdirSync(logDir, { recursive: true });

  const server = await openPostgres({
    url: servers.databaseUrl,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    logger: silentLogger,
  });
  await server.query(`CREATE DATABASE ${dbName}`);
  const env = servicesEnv({
    DATABASE_URL: dbUrl.toString(),
    S3_BUCKET: bucket,
    RECSYS_STREAM_GROUP: group,
    RECSYS_INTERACTIONS_TOPIC: topic,
    RECSYS_BUS_PARTITIONS: String(PARTITIONS),
    RECSYS_MICROBATCH_MS: String(MICROBATCH_MS),
    RECSYS_STREAM_PORT: '0',
    RECSYS_LOG_LEVEL: 'info',
  });
  const admin = new Kafka({ brokers: servers.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  const started = new Set<StreamProcess>();
  const outputs: Array<{ name: string; out: Output }> = [];
  let stores: Stores | undefined;

  const closers: Array<() => Promise<unknown>> = [];
  const killAll = async () => {
    await Promise.all([...started].map((p) => p.kill9()));
  };
  const close = async () => {
    for (const fn of closers.splice(0)) await fn().catch(() => {});
    await killAll();
    for (const { out } of outputs) out.end();
    if (stores) {
      const objects = await stores.objects.list().catch(() => [] as string[]);
      for (const key of objects) await stores.objects.delete(key).catch(() => {});
      await stores.close().catch(() => {});
    }
    await removeBucket(bucket).catch(() => {});
    await removeKafkaResources(admin, topic, group);
    const dropError = await dropDatabase(server, dbName);
    if (dropError !== undefined)
      process.stderr.write(`[stream-faults] could not drop ${dbName}: ${dropError}\n`);
    await server.close();
  };

  try {
    await admin.connect();
    stores = await openStores(loadConfig({ env }), { logger: silentLogger });
    const partitions = await createTopics(stores, admin, topic);

    const model = await trainModel(`streamfaults-${id}`);
    await stores.db.copyRows(
      'items',
      ['item_id', 'idx', 'title', 'category', 'active'],
      model.itemIds.map((item, idx) => [item, idx, `Item ${item}`, categoryOf(item), true]),
    );
    await publishModel(stores, model, { activate: true });

    const world: World = {
      name,
      env,
      group,
      topic,
      dbName,
      bucket,
      stores,
      admin,
      model,
      version: model.meta.version,
      partitions,
      logDir,
      async startStream(procName, extraEnv = {}) {
        const out = new Output(createWriteStream(path.join(logDir, `${procName}.log`)));
        outputs.push({ name: procName, out });
        const p = await spawnStream(procName, { ...env, ...extraEnv }, out);
        started.add(p);
        void p.exited.then(() => started.delete(p));
        return p;
      },
      tails(chars = 3000) {
        return outputs
          .map(
            ({ name: n, out }) =>
              `--- ${n} (last ${chars} chars; full log in ${logDir}) ---\n${out.tail(chars)}`,
          )
          .join('\n');
      },
      killAll,
      onClose: (fn) => closers.push(fn),
      close,
    };
    return world;
  } catch (err) {
    await close();
    throw err;
  }
}

/** Creates the world's topic (with the app's settings, as a stream process would) and its dead letter topic. */
async function createTopics(stores: Stores, admin: Admin, topic: string): Promise<number> {
  await stores.bus.ensureTopic(topic);
  await stores.bus.ensureTopic(deadLetterTopic(topic));
  return (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length;
}

async function spawnStream(name: string, env: Record<string, string>, out: Output): Promise<StreamProcess> {
  const child = spawn(process.execPath, [cli, 'stream', '--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  processes.add(child);
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => {
    out.add(d);
    if (stdout.length < 1 << 20) stdout += d;
  });
  child.stderr.on('data', (d: Buffer) => out.add(d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      processes.delete(child);
      out.add(`\n[test] ${name} exited (${code ?? signal})\n`);
      resolve({ code, signal });
    }),
  );
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const kill9 = async () => {
    if (!gone()) child.kill('SIGKILL');
    return exited;
  };
  try {
    const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`recsys stream (${name}) printed no ready line within 60 s:\n${out.tail()}`)),
        60_000,
      );
      const check = () => {
        const m = READY.exec(stdout);
        if (m) {
          clearTimeout(timer);
          child.stdout.off('data', check);
          resolve(m);
        }
      };
      child.stdout.on('data', check);
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`recsys stream (${name}) exited (${code ?? signal}) before ready:\n${out.tail()}`));
      });
    });
    return {
      name,
      pid: child.pid!,
      group: ready[1]!,
      opsUrl: ready[2]!,
      exited,
      kill9,
      async stop(graceMs = 30_000) {
        if (!gone()) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const end = await exited;
        clearTimeout(timer);
        return end;
      },
      tail: (chars) => out.tail(chars),
    };
  } catch (err) {
    await kill9();
    throw err;
  }
}

/** New users (never in the model) named after the world, and a few users the model was trained on. */
export function usersOf(world: World, n: number): { fresh: string[]; trained: string[] } {
  const prefix = `sf-${world.name}-${world.group.slice(-12)}-`;
  return {
    fresh: Array.from({ length: n }, (_, i) => `${prefix}${i}`),
    trained: world.model.userIds.slice(0, 5),
  };
}

/** One valid event now, on an item the model knows. */
export function makeEvent(world: World, user: string, rand = Math.random): InteractionEvent {
  const items = world.model.itemIds;
  return {
    event_id: randomUUID(),
    user_id: user,
    item_id: items[Math.floor(rand() * items.length)]!,
    type: TYPES[Math.floor(rand() * TYPES.length)]!,
    value: null,
    ts: Date.now(),
  };
}

export async function publishEvents(world: World, events: readonly InteractionEvent[]): Promise<void> {
  await world.stores.bus.publish(world.topic, events.map(encodeEvent));
}

export async function publishRaw(world: World, messages: readonly OutgoingMessage[]): Promise<void> {
  await world.stores.bus.publish(world.topic, messages);
}

/**
 * Publishes `perTick` events for random users every `tickMs` until stopped; every event it
 * sends (acknowledged by Kafka) is in `sent`. A failed publish stops it and fails stop().
 */
export class SteadyProducer {
  readonly sent: InteractionEvent[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly world: World,
    private readonly users: readonly string[],
    private readonly perTick = 20,
    private readonly tickMs = 100,
  ) {
    this.loop = this.run();
    this.loop.catch(() => {}); // surfaced by stop()
    world.onClose(() => this.stop());
  }

  private async run(): Promise<void> {
    while (this.running) {
      const batch = Array.from({ length: this.perTick }, () =>
        makeEvent(this.world, this.users[Math.floor(Math.random() * this.users.length)]!),
      );
      await publishEvents(this.world, batch);
      this.sent.push(...batch);
      await delay(this.tickMs);
    }
  }

  async stop(): Promise<InteractionEvent[]> {
    this.running = false;
    await this.loop;
    return this.sent;
  }
}

/** Rows of rt_user_interactions in this world's database. */
export async function storedCount(world: World): Promise<number> {
  const { rows } = await world.stores.db.query<{ n: string }>(
    'SELECT count(*)::text AS n FROM rt_user_interactions',
  );
  return Number(rows[0]!.n);
}

/** Messages the group has committed past its start offsets, over all partitions. */
export async function committedCount(world: World, start: Map<number, bigint>): Promise<number> {
  const [topic] = await world.admin.fetchOffsets({ groupId: world.group, topics: [world.topic] });
  let n = 0n;
  for (const p of topic?.partitions ?? []) {
    const at = BigInt(p.offset);
    const from = start.get(p.partition) ?? -1n; // -1: nothing committed yet
    if (at >= 0n) n += at - (from > 0n ? from : 0n);
  }
  return Number(n);
}

export async function committedOffsets(world: World): Promise<Map<number, bigint>> {
  const [topic] = await world.admin.fetchOffsets({ groupId: world.group, topics: [world.topic] });
  return new Map((topic?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
}

/** The members of the group and the partitions of the world's topic each holds. */
export async function groupMembers(world: World): Promise<Array<{ memberId: string; partitions: number[] }>> {
  const { groups } = await world.admin.describeGroups([world.group]);
  const g = groups[0];
  if (g?.state !== 'Stable') return [];
  return g.members.map((m) => {
    const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
    return {
      memberId: m.memberId,
      partitions: [...(decoded?.assignment[world.topic] ?? [])].sort((a, b) => a - b),
    };
  });
}

/** A Prometheus sample of the stream process: the sum over series of `name` whose labels include `labels`. */
export async function metric(
  p: StreamProcess,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const res = await fetch(`${p.opsUrl}/metrics`);
  assert.equal(res.status, 200, `GET ${p.opsUrl}/metrics`);
  const text = await res.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/**
 * Every message of `topic` whose key passes `keep`, read by a throwaway group from the
 * earliest retained offset up to the end the topic has when the call starts.
 */
export async function readTopic(
  world: World,
  topic: string,
  keep: (key: string) => boolean,
  timeoutMs = 30_000,
): Promise<Array<{ key: string; value: Buffer; partition: number; offset: string }>> {
  const ends = await world.admin.fetchTopicOffsets(topic);
  const pending = new Map(
    ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]),
  );
  const got: Array<{ key: string; value: Buffer; partition: number; offset: string }> = [];
  if (pending.size === 0) return got;
  const groupId = uid('streamfaults-reader-');
  const consumer = new Kafka({ brokers: servers.kafkaBrokers, logLevel: logLevel.NOTHING }).consumer({
    groupId,
    maxWaitTimeInMs: 200,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const key = message.key?.toString('utf8') ?? '';
        if (keep(key))
          got.push({ key, value: message.value ?? Buffer.alloc(0), partition, offset: message.offset });
        const last = pending.get(partition);
        if (last !== undefined && BigInt(message.offset) >= last) pending.delete(partition);
      },
    });
    await waitFor(() => pending.size === 0, `reading ${topic} to its end`, timeoutMs);
  } finally {
    await consumer.disconnect().catch(() => {});
    await world.admin.deleteGroups([groupId]).catch(() => {});
  }
  return got;
}

/** The dead letters of the world's topic whose key passes `keep`. */
export async function deadLetters(world: World, keep: (key: string) => boolean): Promise<DeadLetter[]> {
  return (await readTopic(world, deadLetterTopic(world.topic), keep)).map((m) => decodeDeadLetter(m));
}

interface ProfileRow {
  user_id: string;
  model_version: string;
  vector: Buffer;
  n_interactions: number;
}

async function profilesOf(world: World, users: readonly string[]): Promise<Map<string, ProfileRow>> {
  const { rows } = await world.stores.db.query<ProfileRow>(
    'SELECT user_id, model_version, vector, n_interactions FROM user_profiles WHERE user_id = ANY($1::text[])',
    [users],
  );
  return new Map(rows.map((r) => [r.user_id, r]));
}

const byUser = (events: readonly InteractionEvent[]) => {
  const m = new Map<string, InteractionEvent[]>();
  for (const e of events) {
    const list = m.get(e.user_id);
    if (list) list.push(e);
    else m.set(e.user_id, [e]);
  }
  return m;
};

/**
 * How far the stream is with `events` (fresh users': `fresh`): events stored, and fresh
 * users whose profile is written for the active model and counts all their events.
 */
export async function progress(
  world: World,
  events: readonly InteractionEvent[],
  fresh: ReadonlySet<string>,
): Promise<{ stored: number; profilesDone: number; profilesWanted: number }> {
  const { rows } = await world.stores.db.query<{ n: string }>(
    'SELECT count(*)::text AS n FROM rt_user_interactions WHERE event_id = ANY($1::uuid[])',
    [events.map((e) => e.event_id)],
  );
  const counts = byUser(events.filter((e) => fresh.has(e.user_id)));
  const profiles = await profilesOf(world, [...counts.keys()]);
  let done = 0;
  for (const [user, list] of counts) {
    const p = profiles.get(user);
    if (p && p.model_version === world.version && p.n_interactions === list.length) done++;
  }
  return { stored: Number(rows[0]!.n), profilesDone: done, profilesWanted: counts.size };
}

/** Waits until every event is stored and every fresh user's profile counts all its events. */
export async function waitForAll(
  world: World,
  events: readonly InteractionEvent[],
  fresh: ReadonlySet<string>,
  timeoutMs: number,
): Promise<void> {
  let last = { stored: 0, profilesDone: 0, profilesWanted: 0 };
  try {
    await waitFor(
      async () => {
        last = await progress(world, events, fresh);
        if (last.stored === events.length && last.profilesDone === last.profilesWanted) return true;
        await delay(250);
        return false;
      },
      'every event stored and every profile complete',
      timeoutMs,
    );
  } catch (err) {
    throw new Error(
      `${(err as Error).message}: ${last.stored}/${events.length} events stored, ` +
        `${last.profilesDone}/${last.profilesWanted} fresh users' profiles complete`,
    );
  }
}

const TOLERANCE = { abs: 1e-3, rel: 1e-3 };

/**
 * The end state every fault test asserts, with counts in the messages:
 *  - each event in rt_user_interactions exactly once, with its fields, and no other row for these users;
 *  - a users row for every user;
 *  - no dead letter for these users;
 *  - every user's profile on the active model; a fresh user's counts exactly its events and is
 *    the fold-in of them (src/model/fold-in.ts) within float tolerance; a trained user's counts
 *    at least its events.
 */
export async function assertExactlyOnce(
  world: World,
  events: readonly InteractionEvent[],
  fresh: ReadonlySet<string>,
): Promise<{ users: number; events: number }> {
  const users = [...new Set(events.map((e) => e.user_id))];
  const ids = new Set(events.map((e) => e.event_id));
  assert.equal(ids.size, events.length, 'the test produced unique event ids');

  const { rows } = await world.stores.db.query<{
    event_id: string;
    user_id: string;
    item_id: string;
    type: string;
    value: number | null;
    ts: Date;
  }>(
    `SELECT event_id::text AS event_id, user_id, item_id, type, value, ts
       FROM rt_user_interactions WHERE user_id = ANY($1::text[])`,
    [users],
  );
  const seen = new Map<string, number>();
  for (const r of rows) seen.set(r.event_id, (seen.get(r.event_id) ?? 0) + 1);
  const missing = events.filter((e) => !seen.has(e.event_id));
  const duplicated = [...seen].filter(([, n]) => n > 1);
  const extra = [...seen.keys()].filter((id) => !ids.has(id));
  assert.deepEqual(
    { rows: rows.length, missing: missing.length, duplicated: duplicated.length, extra: extra.length },
    { rows: events.length, missing: 0, duplicated: 0, extra: 0 },
    `rt_user_interactions against the ${events.length} events produced ` +
      `(first missing: ${missing
        .slice(0, 3)
        .map((e) => e.event_id)
        .join(', ')}; first extra: ${extra.slice(0, 3).join(', ')})`,
  );
  const sent = new Map(events.map((e) => [e.event_id, e]));
  for (const r of rows) {
    const e = sent.get(r.event_id)!;
    assert.deepEqual(
      { user_id: r.user_id, item_id: r.item_id, type: r.type, value: r.value, ts: new Date(r.ts).getTime() },
      { user_id: e.user_id, item_id: e.item_id, type: e.type, value: e.value, ts: e.ts },
      `the stored row of event ${e.event_id}`,
    );
  }

  const { rows: userRows } = await world.stores.db.query<{ user_id: string }>(
    'SELECT user_id FROM users WHERE user_id = ANY($1::text[])',
    [users],
  );
  assert.equal(userRows.length, users.length, 'a users row for every user with events');

  const keys = new Set(users);
  const letters = (await deadLetters(world, (key) => keys.has(key))).filter((l) =>
    [...ids].some((id) => l.value.includes(id)),
  );
  assert.deepEqual(
    letters.map((l) => `${l.source.partition}@${l.source.offset}: ${l.reason}`),
    [],
    'no event produced went to the dead letter topic',
  );

  const fold = await FoldIn.create(world.model, 'js');
  const profiles = await profilesOf(world, users);
  const problems: string[] = [];
  for (const [user, list] of byUser(events)) {
    const p = profiles.get(user);
    if (!p) {
      problems.push(`${user}: no profile`);
      continue;
    }
    if (p.model_version !== world.version)
      problems.push(`${user}: model_version ${p.model_version}, active ${world.version}`);
    if (!fresh.has(user)) {
      if (p.n_interactions < list.length)
        problems.push(`${user} (trained): n_interactions ${p.n_interactions} < its ${list.length} events`);
      continue;
    }
    if (p.n_interactions !== list.length)
      problems.push(`${user}: n_interactions ${p.n_interactions}, events ${list.length}`);
    const want = fold.solve(
      list.map((e) => world.model.itemIds.indexOf(e.item_id)),
      list.map((e) => eventWeight(e.type, e.value)),
    ).vector;
    const got = new Float32Array(
      p.vector.buffer.slice(p.vector.byteOffset, p.vector.byteOffset + p.vector.length),
    );
    if (got.length !== want.length) {
      problems.push(`${user}: vector of ${got.length} floats, model has ${want.length} factors`);
      continue;
    }
    let worst = 0;
    for (let k = 0; k < want.length; k++) {
      const excess = Math.abs(got[k]! - want[k]!) - (TOLERANCE.abs + TOLERANCE.rel * Math.abs(want[k]!));
      worst = Math.max(worst, excess);
    }
    if (worst > 0)
      problems.push(`${user}: vector off the fold-in of its ${list.length} events ([${got}] vs [${want}])`);
  }
  const wrong = new Set(problems.map((p) => p.slice(0, p.indexOf(':'))));
  assert.deepEqual(problems.slice(0, 20), [], `${wrong.size} of ${users.length} users' profiles are wrong`);
  return { users: users.length, events: events.length };
}
