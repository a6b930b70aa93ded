/**
 * Child processes of bench/speed, each printing one JSON line (its result) on stdout:
 *
 *   produce-backlog <topic> <n> <seed> <batch>   one bare idempotent kafkajs producer writes n
 *       events of the bench's shape (drawn before the clock starts) in sends of `batch`
 *       messages, one send at a time → {events, seconds, rate, users}
 *   produce-small <topic> <seconds> <concurrency> <seed>   the same producer, `concurrency`
 *       loops each sending 100 events at a time for `seconds` (the shape POST /v1/events
 *       hands the bus) → {events, seconds, rate}
 *   consume <topic> <n> <groupId>   a bare kafkajs consumer (eachBatch) that reads the topic
 *       from the beginning and JSON.parses each value, until n messages
 *       → {events, firstAtMs, firstEvents, doneAtMs, rate, wallRate}
 *   freshness <baseUrl> <seconds> <warmupSeconds> <loadPerSecond> <probesPerSecond> <probeUsers> <modelVersion>
 *       subscribes probeUsers users over WS /v1/stream, posts a steady background load over the
 *       other users and, for the probe users, single events whose push (of that model version)
 *       it times → {samples: [ms...], lost, stray, posted, pushes, errors, foreign}
 *
 * Brokers from KAFKA_BROKERS (default 127.0.0.1:9092).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import WebSocket from 'ws';
import { EventSource, USERS, userId } from './speed-data.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const kafka = new Kafka({ clientId: 'bench-speed', brokers, logLevel: logLevel.ERROR });

function idempotentProducer() {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

function print(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function produceBacklog(topic: string, n: number, seed: number, batch: number): Promise<void> {
  const source = new EventSource(seed);
  const now = Date.now();
  const messages: Array<{ key: string; value: string }> = new Array(n);
  const users = new Set<string>();
  for (let i = 0; i < n; i++) {
    const m = source.message(now - Math.floor(((n - i) / n) * 60_000));
    messages[i] = m;
    users.add(m.key);
  }
  let bytes = 0;
  for (const m of messages) bytes += m.value.length + m.key.length;
  const producer = idempotentProducer();
  await producer.connect();
  const t0 = performance.now();
  for (let i = 0; i < n; i += batch) {
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + batch) });
  }
  const seconds = (performance.now() - t0) / 1000;
  await producer.disconnect();
  print({ events: n, seconds, rate: n / seconds, users: users.size, meanBytes: bytes / n });
}

async function produceSmall(
  topic: string,
  seconds: number,
  concurrency: number,
  seed: number,
): Promise<void> {
  const source = new EventSource(seed);
  // A pool of batches drawn up front; event ids repeat across rounds, which Kafka does not mind.
  const pool = Array.from({ length: 200 }, () =>
    Array.from({ length: 100 }, () => source.message(Date.now())),
  );
  const producer = idempotentProducer();
  await producer.connect();
  let sent = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, c) => {
      for (let k = c; performance.now() < until; k += concurrency) {
        await producer.send({ topic, acks: -1, messages: pool[k % pool.length]! });
        sent += 100;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  await producer.disconnect();
  print({ events: sent, seconds: elapsed, rate: sent / elapsed });
}

async function consume(topic: string, n: number, groupId: string): Promise<void> {
  const consumer = kafka.consumer({ groupId });
  let count = 0;
  let firstAt = 0;
  let firstEvents = 0;
  let parsedBytes = 0;
  const t0 = performance.now();
  const done = new Promise<number>((resolve) => {
    void consumer.subscribe({ topics: [topic], fromBeginning: true }).then(() =>
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const e = JSON.parse(m.value!.toString('utf8')) as { user_id: string };
            parsedBytes += e.user_id.length;
          }
          count += batch.messages.length;
          if (firstAt === 0) {
            firstAt = performance.now();
            firstEvents = count;
          }
          if (count >= n) resolve(performance.now());
        },
      }),
    );
  });
  await consumer.connect();
  const doneAt = await done;
  await consumer.disconnect();
  print({
    events: count,
    firstAtMs: firstAt - t0,
    firstEvents,
    doneAtMs: doneAt - t0,
    rate: (n - firstEvents) / ((doneAt - firstAt) / 1000),
    wallRate: n / ((doneAt - t0) / 1000),
    checksum: parsedBytes,
  });
}

/** A probe whose push has not come after this long counts as lost. */
const LOST_AFTER_MS = 10_000;

/** POST a JSON body on a keep-alive agent; resolves with the status. */
function post(agent: http.Agent, url: URL, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function freshness(
  base: string,
  seconds: number,
  warmup: number,
  loadPerSecond: number,
  probesPerSecond: number,
  probeUsers: number,
  version: string,
): Promise<void> {
  const source = new EventSource(99);
  const eventsUrl = new URL('/v1/events', base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  // Probe users: the last probeUsers ids of the known and the new users alike (every 250th).
  const probes: number[] = [];
  for (let u = USERS - 1; probes.length < probeUsers && u >= 0; u -= 250) probes.push(u);
  const probeSet = new Set(probes.map(userId));
  /** Probe user → when its event was posted, and whether it was posted inside the measured window. */
  const outstanding = new Map<string, { t0: number; counted: boolean }>();
  const samples: number[] = [];
  let measuring = false;
  let stray = 0;
  let pushes = 0;
  let lost = 0;
  let posted = 0;
  let errors = 0;
  let foreign = 0;
  const send = (body: string) =>
    post(agent, eventsUrl, body).then(
      (status) => {
        if (status !== 202) errors++;
      },
      () => {
        errors++;
      },
    );

  const sockets: WebSocket[] = [];
  const wsUrl = `${base.replace(/^http/, 'ws')}/v1/stream`;
  for (let i = 0; i < probes.length; i += 100) {
    const ws = new WebSocket(wsUrl);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const chunk = probes.slice(i, i + 100).map(userId);
    let acked = 0;
    const subscribed = new Promise<void>((resolve) => {
      ws.on('message', (raw) => {
        const m = JSON.parse(raw.toString()) as {
          subscribed?: string;
          type?: string;
          user_id?: string;
          model_version?: string;
        };
        if (m.subscribed) {
          if (++acked === chunk.length) resolve();
          return;
        }
        if (m.type !== 'recommendations' || !m.user_id) return;
        // Another stream on the same Redis (other engineers' tests) announcing these users
        // under its own model: serving pushes that too; it is not what is measured here.
        if (m.model_version !== version) {
          foreign++;
          return;
        }
        pushes++;
        const probe = outstanding.get(m.user_id);
        if (probe === undefined) {
          stray++;
          return;
        }
        outstanding.delete(m.user_id);
        if (probe.counted) samples.push(performance.now() - probe.t0);
      });
    });
    for (const u of chunk) ws.send(JSON.stringify({ subscribe: u }));
    await subscribed;
    sockets.push(ws);
  }

  // Background load: every 100 ms a batch of loadPerSecond / 10 events over non-probe users.
  const perTick = Math.max(1, Math.round(loadPerSecond / 10));
  const background = setInterval(() => {
    const batch = [];
    while (batch.length < perTick) {
      const u = source.user();
      if (!probeSet.has(userId(u))) batch.push(source.input(u));
    }
    posted += batch.length;
    void send(JSON.stringify(batch));
  }, 100);

  // Probes: one event for one probe user at a time per user, timed from the POST to its push.
  let next = 0;
  const probeTimer = setInterval(() => {
    const now = performance.now();
    for (const [u, probe] of outstanding) {
      if (now - probe.t0 > LOST_AFTER_MS) {
        outstanding.delete(u);
        if (probe.counted) lost++;
      }
    }
    for (let tries = 0; tries < probes.length; tries++) {
      const p = probes[next++ % probes.length]!;
      const u = userId(p);
      if (outstanding.has(u)) continue;
      const body = JSON.stringify(source.input(p));
      outstanding.set(u, { t0: performance.now(), counted: measuring });
      posted++;
      void send(body);
      break;
    }
  }, 1000 / probesPerSecond);

  await new Promise((r) => setTimeout(r, warmup * 1000));
  measuring = true;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  clearInterval(probeTimer);
  clearInterval(background);
  // Probes still in flight get their time to arrive; those that never do are lost.
  const deadline = performance.now() + LOST_AFTER_MS;
  while ([...outstanding.values()].some((p) => p.counted) && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  for (const p of outstanding.values()) if (p.counted) lost++;
  for (const ws of sockets) ws.close();
  agent.destroy();
  print({ samples, lost, stray, posted, pushes, errors, foreign });
}

const [role, ...a] = process.argv.slice(2);
switch (role) {
  case 'produce-backlog':
    await produceBacklog(a[0]!, Number(a[1]), Number(a[2]), Number(a[3]));
    break;
  case 'produce-small':
    await produceSmall(a[0]!, Number(a[1]), Number(a[2]), Number(a[3]));
    break;
  case 'consume':
    await consume(a[0]!, Number(a[1]), a[2]!);
    break;
  case 'freshness':
    await freshness(a[0]!, Number(a[1]), Number(a[2]), Number(a[3]), Number(a[4]), Number(a[5]), a[6]!);
    break;
  default:
    throw new Error(`unknown role ${role}`);
}
process.exit(0);
