// The event bus contract, written once; each adapter's test file supplies a factory.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type DeadLetter, deadLetterTopic, decodeDeadLetter } from '../../../src/stores/bus/dead-letter.js';
import { partitionFor } from '../../../src/stores/bus/partitioner.js';
import {
  type Batch,
  BatchAbandonedError,
  type BatchContext,
  type BusMessage,
  type ConsumeOptions,
  type Consumer,
  type EventBus,
} from '../../../src/stores/bus/port.js';
import { uid, waitFor } from '../support/wait.js';

/** Every harness creates topics with this many partitions. */
export const BUS_PARTITIONS = 4;

export interface BusHarness {
  bus: EventBus;
  /** A second bus on the same log, as another process would open (for a second group member). */
  peer(): Promise<EventBus>;
  /**
   * Makes the store itself refuse writes to `topic` (a topic that does not exist yet), until the
   * returned function is called: how each adapter's real server can be made to fail a publish.
   */
  refuseWrites(topic: string): Promise<() => Promise<void>>;
  cleanup(): Promise<void>;
}

interface Event {
  key: string;
  seq: number;
  /** The handler fails every batch that holds one. */
  poison?: boolean;
  /** The handler dead-letters it and handles the rest. */
  malformed?: boolean;
}

const encode = (e: Event) => ({ key: e.key, value: JSON.stringify(e) });
const decode = (m: BusMessage): Event => JSON.parse(m.value.toString('utf8')) as Event;

/** A consumer's record of what it was handed. */
class Recorder {
  readonly batches: Batch[] = [];
  get messages(): BusMessage[] {
    return this.batches.flatMap((b) => b.messages);
  }
  get events(): Event[] {
    return this.messages.map(decode);
  }
  readonly handler = async (batch: Batch) => {
    this.batches.push(batch);
  };
}

function events(keys: number, perKey: number, from = 0): Event[] {
  const out: Event[] = [];
  for (let seq = from; seq < from + perKey; seq++)
    for (let k = 0; k < keys; k++) out.push({ key: `user-${k}`, seq });
  return out;
}

const ids = (es: Event[]) => es.map((e) => `${e.key}#${e.seq}`).sort();

const END_MARKER = 'end of dead letters';

/**
 * Everything in `<topic>.dlq` for messages keyed by `keys`, decoded. A marker published there
 * per key, after the dead letters, says when all of them have been read: dead letters keep
 * their message's key, so they share a partition with the marker and precede it.
 */
async function readDeadLetters(bus: EventBus, topic: string, keys: string[]): Promise<DeadLetter[]> {
  const dlq = deadLetterTopic(topic);
  await bus.publish(
    dlq,
    keys.map((key) => ({ key, value: END_MARKER })),
  );
  const letters: DeadLetter[] = [];
  let markers = 0;
  const reader = await bus.consume({
    topic: dlq,
    groupId: uid('dlq-reader-'),
    handler: async (batch) => {
      for (const m of batch.messages) {
        if (m.value.toString() === END_MARKER) markers++;
        else letters.push(decodeDeadLetter(m));
      }
    },
  });
  try {
    await waitFor(() => markers >= keys.length, `the end markers of ${dlq}`);
  } finally {
    await reader.stop();
  }
  return letters.filter((l) => keys.includes(l.key));
}

export function busContract(name: string, create: () => Promise<BusHarness>): void {
  describe(`event bus contract: ${name}`, () => {
    let h: BusHarness;
    let bus: EventBus;
    const consumers: Consumer[] = [];
    const peers: EventBus[] = [];
    async function consume(
      b: EventBus,
      topic: string,
      groupId: string,
      handler: (batch: Batch, ctx: BatchContext) => Promise<void>,
      more: number | Partial<ConsumeOptions> = {},
    ) {
      const rest = typeof more === 'number' ? { maxBatchSize: more } : more;
      const c = await b.consume({ topic, groupId, handler, ...rest });
      consumers.push(c);
      return c;
    }
    before(async () => {
      h = await create();
      bus = h.bus;
    });
    after(async () => {
      await Promise.allSettled(consumers.map((c) => c.stop()));
      await Promise.allSettled(peers.map((p) => p.close()));
      await h?.cleanup();
    });

    test('messages of one key arrive in publish order, in the partition its key hashes to', async () => {
      const topic = uid('order-');
      const all = events(10, 20);
      for (let i = 0; i < all.length; i += 50) await bus.publish(topic, all.slice(i, i + 50).map(encode));
      const rec = new Recorder();
      await consume(bus, topic, uid('g-'), rec.handler);
      await waitFor(() => rec.messages.length >= all.length, `${all.length} messages`);
      assert.deepEqual(ids(rec.events), ids(all));
      const seqsByKey = new Map<string, number[]>();
      for (const m of rec.messages) {
        const e = decode(m);
        assert.equal(m.key, e.key);
        assert.equal(m.partition, partitionFor(e.key, BUS_PARTITIONS), `partition of ${e.key}`);
        seqsByKey.set(e.key, [...(seqsByKey.get(e.key) ?? []), e.seq]);
      }
      for (const [key, seqs] of seqsByKey) assert.deepEqual(seqs, [...Array(20).keys()], `order of ${key}`);
    });

    test('batches hold consecutive offsets of one partition, at most maxBatchSize', async () => {
      const topic = uid('batch-');
      await bus.publish(topic, events(1, 45).map(encode));
      const rec = new Recorder();
      await consume(bus, topic, uid('g-'), rec.handler, 20);
      await waitFor(() => rec.messages.length >= 45, '45 messages');
      assert.ok(
        rec.batches.length >= 3,
        `45 messages in batches of ≤ 20 need ≥ 3 batches, got ${rec.batches.length}`,
      );
      assert.ok(
        rec.batches.some((b) => b.messages.length > 1),
        'some batch has several messages',
      );
      for (const b of rec.batches) {
        assert.ok(b.messages.length >= 1 && b.messages.length <= 20, `batch size ${b.messages.length}`);
        assert.equal(b.topic, topic);
        const offsets = b.messages.map((m) => Number(m.offset));
        assert.deepEqual(
          offsets,
          offsets.map((_, i) => offsets[0]! + i),
          'consecutive offsets',
        );
        for (const m of b.messages) assert.equal(m.partition, b.partition);
        assert.ok(
          b.messages.every((m) => m.timestamp > Date.now() - 600_000 && m.timestamp <= Date.now() + 60_000),
        );
      }
      assert.deepEqual(
        rec.events.map((e) => e.seq),
        [...Array(45).keys()],
      );
      // Each batch says how many messages of its partition came after it when it was fetched.
      const first = Number(rec.batches[0]!.messages[0]!.offset);
      for (const b of rec.batches)
        assert.equal(b.behind, 45 - (Number(b.messages.at(-1)!.offset) - first + 1), 'behind');
    });

    test('partitionsConcurrently lets batches of several partitions be with the handler at once', async () => {
      const topic = uid('concurrent-');
      // Keys in two different partitions.
      const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((k) => `user-${k}`);
      const [k1, k2] = [
        keys[0]!,
        keys.find((k) => partitionFor(k, BUS_PARTITIONS) !== partitionFor(keys[0]!, BUS_PARTITIONS))!,
      ];
      await bus.publish(topic, [encode({ key: k1, seq: 0 }), encode({ key: k2, seq: 0 })]);
      let inside = 0;
      let overlapped = false;
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const seen: number[] = [];
      await consume(
        bus,
        topic,
        uid('g-'),
        async (batch) => {
          inside++;
          if (inside === 2) {
            overlapped = true;
            release();
          }
          // Held until the other partition's batch arrives too (or 5 s pass).
          await Promise.race([gate, new Promise((r) => setTimeout(r, 5000))]);
          seen.push(batch.partition);
          inside--;
        },
        { partitionsConcurrently: 8 },
      );
      await waitFor(() => seen.length >= 2, 'both partitions');
      assert.ok(overlapped, 'the two batches were with the handler at the same time');
    });

    test('a batch whose handler throws is handed over again, and nothing is lost', async () => {
      const topic = uid('retry-');
      await bus.publish(topic, events(3, 5).map(encode));
      const seen: Event[] = [];
      let failures = 0;
      const c = await consume(
        bus,
        topic,
        uid('g-'),
        async (batch) => {
          if (failures === 0) {
            failures++;
            throw new Error('transient handler failure');
          }
          seen.push(...batch.messages.map(decode));
        },
        { maxAttempts: 2 },
      );
      await waitFor(() => seen.length >= 15, 'all 15 messages after one failure');
      assert.deepEqual(ids(seen), ids(events(3, 5)));
      await c.stop();
      assert.deepEqual(
        await readDeadLetters(bus, topic, ['user-0', 'user-1', 'user-2']),
        [],
        'a batch that succeeds on a later attempt leaves no dead letter',
      );
    });

    test('a batch settled later: the next is handed over meanwhile, offsets are committed after its work, and failed work comes again', async () => {
      const topic = uid('later-');
      const group = uid('g-');
      await bus.publish(topic, events(1, 6).map(encode)); // one key: one partition, offsets 0-5
      const handed: { first: string; attempt: number; settle: (err?: Error) => void }[] = [];
      const c1 = await consume(
        bus,
        topic,
        group,
        async (batch, ctx) => {
          let settle!: (err?: Error) => void;
          ctx.settleLater(new Promise<void>((res, rej) => (settle = (err) => (err ? rej(err) : res()))));
          handed.push({ first: batch.messages[0]!.offset, attempt: ctx.attempt, settle });
        },
        { maxBatchSize: 2, maxAttempts: 3 },
      );
      await waitFor(() => handed.length >= 3, 'three batches handed over before any settled');
      assert.deepEqual(
        handed.map((b) => b.first),
        ['0', '2', '4'],
      );
      // The first one's work is done; the second one's fails; the third is given up after it.
      handed[0]!.settle();
      handed[1]!.settle(new Error('write failed'));
      handed[2]!.settle(new BatchAbandonedError());
      await waitFor(() => handed.length >= 5, 'the failed batch and the one after it again');
      assert.deepEqual(
        handed.slice(3).map((b) => [b.first, b.attempt]),
        [
          ['2', 2],
          ['4', 1],
        ],
        'a failed attempt counts, an abandoned batch does not',
      );
      for (const b of handed.slice(3)) b.settle();
      await c1.stop();

      // Everything settled was committed: a new member of the group gets only what comes next.
      await bus.publish(topic, events(1, 1, 6).map(encode));
      const next = new Recorder();
      await consume(bus, topic, group, next.handler);
      await waitFor(() => next.messages.length >= 1, 'the message published after the commits');
      assert.deepEqual(ids(next.events), ids(events(1, 1, 6)));
    });

    test('a batch that fails maxAttempts times goes to <topic>.dlq with the reason, and its partition moves on', async () => {
      const topic = uid('poison-');
      const group = uid('g-');
      const poison = events(1, 3).map((e) => ({ ...e, poison: true }));
      await bus.publish(topic, poison.map(encode));
      const attempts: number[] = [];
      const handled: Event[] = [];
      const handler = async (batch: Batch, ctx: BatchContext) => {
        const es = batch.messages.map(decode);
        if (es.some((e) => e.poison)) {
          attempts.push(ctx.attempt);
          throw new Error('poison message');
        }
        handled.push(...es);
      };
      const c1 = await consume(bus, topic, group, handler, { maxAttempts: 3 });
      await waitFor(() => attempts.length >= 3, 'three attempts at the poison batch');
      const later = events(1, 2, 3); // same key, so the same partition, behind the poison
      await bus.publish(topic, later.map(encode));
      await waitFor(() => handled.length >= 2, 'the messages behind the poison batch');
      assert.deepEqual(ids(handled), ids(later));
      assert.ok(
        Math.max(...attempts) === 3 && attempts.every((a) => a >= 1 && a <= 3),
        `attempts ${attempts}`,
      );

      const letters = await readDeadLetters(bus, topic, ['user-0']);
      assert.deepEqual(
        letters.map((l) => l.source.offset),
        ['0', '1', '2'],
      );
      for (const [i, l] of letters.entries()) {
        assert.equal(l.key, 'user-0');
        assert.deepEqual(JSON.parse(l.value.toString()), poison[i]);
        assert.equal(l.reason, 'poison message');
        assert.equal(l.attempts, 3);
        assert.equal(l.source.topic, topic);
        assert.equal(l.source.partition, partitionFor('user-0', BUS_PARTITIONS));
        assert.ok(Math.abs(l.source.timestamp - Date.now()) < 600_000, 'source timestamp');
        assert.ok(l.failedAt >= l.source.timestamp && l.failedAt <= Date.now() + 60_000, 'failedAt');
      }

      // The group's committed position is past the poison: the next member starts behind it.
      await c1.stop();
      const next = new Recorder();
      await consume(bus, topic, group, next.handler);
      const last = events(1, 1, 5);
      await bus.publish(topic, last.map(encode));
      await waitFor(() => next.messages.length >= 1, 'the message published after the restart');
      assert.deepEqual(ids(next.events), ids(last));
    });

    test('a handler dead-letters single messages it rejects and handles the rest', async () => {
      const topic = uid('reject-');
      const sent = events(1, 6).map((e) => ({ ...e, malformed: e.seq % 3 === 1 }));
      await bus.publish(topic, sent.map(encode));
      const handled: Event[] = [];
      let foreign: unknown;
      const c = await consume(bus, topic, uid('g-'), async (batch, ctx) => {
        try {
          ctx.deadLetter({ ...batch.messages[0]!, offset: '999999' }, 'not in this batch');
        } catch (err) {
          foreign = err;
        }
        for (const m of batch.messages) {
          const e = decode(m);
          if (e.malformed) ctx.deadLetter(m, new Error('malformed event'));
          else handled.push(e);
        }
      });
      await waitFor(() => handled.length >= 4, 'the four well-formed messages');
      await c.stop();
      assert.ok(foreign instanceof TypeError, 'a message not in the batch cannot be dead-lettered');
      assert.deepEqual(ids(handled), ids(sent.filter((e) => !e.malformed)));
      const letters = await readDeadLetters(bus, topic, ['user-0']);
      assert.deepEqual(
        letters.map((l) => [l.source.offset, l.reason, l.attempts]),
        [
          ['1', 'malformed event', 1],
          ['4', 'malformed event', 1],
        ],
      );
      assert.deepEqual(
        letters.map((l) => JSON.parse(l.value.toString())),
        sent.filter((e) => e.malformed),
      );
    });

    test('while dead letters cannot be written nothing is committed, and they are written once they can', async () => {
      const topic = uid('dlqdown-');
      const group = uid('g-');
      const restore = await h.refuseWrites(deadLetterTopic(topic));
      const poison = events(1, 2).map((e) => ({ ...e, poison: true }));
      await bus.publish(topic, poison.map(encode));
      const failing = (attempts: number[], errors: Error[]) => ({
        maxAttempts: 2,
        onError: (err: Error) => errors.push(err),
        handler: async (batch: Batch, ctx: BatchContext) => {
          attempts.push(ctx.attempt);
          if (batch.messages.map(decode).some((e) => e.poison)) throw new Error('poison message');
        },
      });
      const attempts1: number[] = [];
      const errors1: Error[] = [];
      const c1 = await bus.consume({ topic, groupId: group, ...failing(attempts1, errors1) });
      consumers.push(c1);
      const writeFailures = (errors: Error[]) => errors.filter((e) => e.message !== 'poison message');
      await waitFor(() => writeFailures(errors1).length >= 2, 'two failed writes of the dead letters');
      assert.deepEqual(attempts1, [1, 2], 'the handler is not called again once its batch is given up');
      assert.ok(
        writeFailures(errors1).every((e) => e.name.endsWith('Error') && e.message.length > 0),
        String(writeFailures(errors1)),
      );
      await c1.stop();

      // Nothing was committed: the next member of the group gets the poison batch again.
      const attempts2: number[] = [];
      const errors2: Error[] = [];
      const c2 = await bus.consume({ topic, groupId: group, ...failing(attempts2, errors2) });
      consumers.push(c2);
      await waitFor(() => attempts2.length >= 1, 'the uncommitted batch to be handed over again');

      await restore();
      const later = events(1, 1, 2);
      await bus.publish(topic, later.map(encode));
      await waitFor(
        () => attempts2.length >= 3,
        'the message behind the poison once the dead letters are written',
      );
      const letters = await readDeadLetters(bus, topic, ['user-0']);
      assert.deepEqual(
        letters.map((l) => [l.source.offset, l.reason, l.attempts]),
        [
          ['0', 'poison message', 2],
          ['1', 'poison message', 2],
        ],
      );
    });

    test('maxAttempts below 1 is refused', async () => {
      await assert.rejects(
        bus.consume({ topic: uid('bad-'), groupId: uid('g-'), handler: async () => {}, maxAttempts: 0 }),
        (err: Error) => err.name === 'StoreConfigError' && /maxAttempts/.test(err.message),
      );
    });

    test('a restarted consumer resumes from the committed offset', async () => {
      const topic = uid('resume-');
      const group = uid('g-');
      await bus.publish(topic, events(4, 3).map(encode));
      const first = new Recorder();
      const c1 = await consume(bus, topic, group, first.handler);
      await waitFor(() => first.messages.length >= 12, 'the first 12 messages');
      await c1.stop();

      await bus.publish(topic, events(4, 2, 3).map(encode));
      const second = new Recorder();
      await consume(bus, topic, group, second.handler);
      await waitFor(() => second.messages.length >= 8, 'the 8 new messages');
      assert.deepEqual(ids(second.events), ids(events(4, 2, 3)), 'only messages published after the commit');
      assert.deepEqual(ids(first.events), ids(events(4, 3)));
    });

    test('a consumer that dies before committing leaves its batch to the next one', async () => {
      const topic = uid('crash-');
      const group = uid('g-');
      const sent = events(4, 3);
      await bus.publish(topic, sent.map(encode));
      const crashed: Event[] = [];
      const c1 = await consume(
        bus,
        topic,
        group,
        async (batch) => {
          crashed.push(...batch.messages.map(decode));
          throw new Error('process crashed before commit'); // the commit never happens
        },
        { maxAttempts: 1_000_000 }, // never gives up on its own before it "dies"
      );
      await waitFor(
        () => new Set(ids(crashed)).size >= sent.length,
        'the crashing consumer to see every message',
      );
      await c1.stop();

      const next = new Recorder();
      await consume(bus, topic, group, next.handler);
      await waitFor(() => next.messages.length >= sent.length, 'the uncommitted messages to be redelivered');
      assert.deepEqual(ids(next.events), ids(sent));
    });

    test('a second consumer in the group takes over partitions, and all of them when the first leaves', async () => {
      const topic = uid('group-');
      const group = uid('g-');
      await bus.publish(topic, events(16, 1).map(encode));
      const a = new Recorder();
      const ca = await consume(bus, topic, group, a.handler);
      await waitFor(() => a.messages.length >= 16, 'the first member to take everything');
      assert.deepEqual(ca.assignment(), [...Array(BUS_PARTITIONS).keys()]);

      const other = await h.peer();
      peers.push(other);
      const b = new Recorder();
      const cb = await consume(other, topic, group, b.handler);
      await waitFor(() => {
        const pa = ca.assignment();
        const pb = cb.assignment();
        return (
          pa.length > 0 &&
          pb.length > 0 &&
          pa.length + pb.length === BUS_PARTITIONS &&
          pa.every((p) => !pb.includes(p))
        );
      }, 'the partitions to be split between the two members');
      assert.equal(b.messages.length, 0, 'committed messages are not handed out again');

      const second = events(16, 1, 1);
      await bus.publish(topic, second.map(encode));
      await waitFor(
        () => a.messages.length + b.messages.length >= 32,
        'the second round to be consumed by the two members',
      );
      const aParts = new Set(ca.assignment());
      for (const m of a.messages.slice(16))
        assert.ok(aParts.has(m.partition), `A handled its own partition ${m.partition}`);
      for (const m of b.messages)
        assert.ok(!aParts.has(m.partition), `B handled its own partition ${m.partition}`);
      assert.ok(b.messages.length > 0, 'B did some of the work');
      assert.deepEqual(ids([...a.events.slice(16), ...b.events]), ids(second));

      await ca.stop();
      await waitFor(
        () => cb.assignment().length === BUS_PARTITIONS,
        'B to hold every partition after A left',
      );
      const third = events(16, 1, 2);
      const before = b.messages.length;
      await bus.publish(topic, third.map(encode));
      await waitFor(() => b.messages.length - before >= 16, 'B to consume the third round alone');
      assert.deepEqual(ids(b.events.slice(before)), ids(third));
    });

    test('ping answers while the bus is open and refuses once it is closed', async () => {
      await bus.ping();
      const other = await h.peer();
      await other.ping();
      await other.close();
      await assert.rejects(other.ping(), (err: Error) => err.name === 'StoreClosedError');
    });

    test('each group gets every message', async () => {
      const topic = uid('groups-');
      await bus.publish(topic, events(5, 2).map(encode));
      const g1 = new Recorder();
      const g2 = new Recorder();
      await consume(bus, topic, uid('g1-'), g1.handler);
      await consume(bus, topic, uid('g2-'), g2.handler);
      await waitFor(() => g1.messages.length >= 10 && g2.messages.length >= 10, 'both groups to read all 10');
      assert.deepEqual(ids(g1.events), ids(g2.events));
    });
  });
}
