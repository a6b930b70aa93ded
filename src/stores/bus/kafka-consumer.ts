/**
 * One Kafka consumer-group member behind the Consumer port. Offsets are resolved and
 * committed by hand once each batch is settled (delivery.ts: the handler succeeded, or its
 * messages were dead-lettered after the last attempt; autoCommit off), so nothing is
 * committed for a batch that is not. An unsettled batch is re-read by seeking back to its
 * first offset after a pause.
 *
 * A batch settled later (ctx.settleLater) is resolved at once, so kafkajs fetches the
 * partition's next batch, and committed when its work is done; commits of one partition go
 * through a chain, in offset order. One whose work failed seeks the partition back to it
 * (anything handed over after it is ignored: a per-partition epoch) and pauses the partition.
 * kafkajs waits for the batches being handled before it rejoins the group, but not for work
 * settled later: a commit due after the group changed (a new generation: the partition may be
 * another member's now, and kafkajs refetches from the committed offsets anyway) is dropped,
 * and whoever holds the partition does the batch again. stop() waits for the work in progress
 * and its commits before leaving the group. A crash kafkajs does not restart from (its
 * group-coordinator lookup while the only broker is down) gets the member replaced by a new one.
 */
import type {
  ConsumerConfig,
  EachBatchPayload,
  Kafka,
  Consumer as KafkaConsumer,
  KafkaMessage,
} from 'kafkajs';
import type { Logger } from '../../logger.js';
import { sleep } from '../timeout.js';
import { type Delivered, Delivery, type DeliveryDeps } from './delivery.js';
import { toBusError } from './kafka-errors.js';
import type { Batch, ConsumeOptions, Consumer } from './port.js';

export interface KafkaConsumerTiming {
  /** Broker-side failure detection; brokers accept 6000 ms and up by default. */
  sessionTimeoutMs: number;
  heartbeatMs: number;
  /** Longest a fetch waits for data; bounds how late a member notices a rebalance. */
  maxWaitMs: number;
  retryBackoffMs: number;
}

export async function startKafkaConsumer(
  kafka: Kafka,
  opts: ConsumeOptions,
  timing: KafkaConsumerTiming,
  address: string,
  logger: Logger,
  deadLetters: Pick<DeliveryDeps, 'maxAttempts' | 'publish'>,
): Promise<Consumer> {
  const ctx = { store: 'event bus' as const, address };
  const config: ConsumerConfig = {
    groupId: opts.groupId,
    sessionTimeout: timing.sessionTimeoutMs,
    rebalanceTimeout: Math.max(timing.sessionTimeoutMs, 10_000),
    heartbeatInterval: timing.heartbeatMs,
    maxWaitTimeInMs: timing.maxWaitMs,
    // A backlog is read in fetches this large: the speed layer's micro-batch gathers one batch
    // per partition, so kafkajs' 1 MiB per partition (about 7,000 events) would cap it at 8
    // partitions × 7,000 whatever RECSYS_MICROBATCH_MAX_EVENTS says. (Brokers cap a fetch at 55 MiB.)
    maxBytesPerPartition: 4 << 20,
    maxBytes: 32 << 20,
    allowAutoTopicCreation: false,
  };
  let assigned: number[] = [];
  let stopped = false;
  const stopping = new AbortController();
  // Handler errors are the caller's own and pass through as they are; Kafka's are typed.
  const report = (err: unknown, fromKafka = true) => {
    const error = fromKafka ? toBusError(err, ctx) : err instanceof Error ? err : new Error(String(err));
    logger.warn({ err: error, topic: opts.topic, groupId: opts.groupId }, 'Kafka consumer');
    opts.onError?.(error);
  };
  // Bumped whenever the group may have moved partitions: commits due from before are dropped.
  let generation = 0;
  /** The kafkajs consumer of this member now (replaced after a crash kafkajs does not restart from). */
  let consumer: KafkaConsumer;
  /** Replacements in a row that have not joined the group yet (sets the pause before the next). */
  let failures = 0;
  const member = (): KafkaConsumer => {
    const c = kafka.consumer(config);
    c.on(c.events.GROUP_JOIN, (e) => {
      if (c !== consumer) return;
      if (failures > 0) logger.warn({ topic: opts.topic, groupId: opts.groupId }, 'Kafka consumer: rejoined');
      failures = 0;
      generation++;
      assigned = [...(e.payload.memberAssignment[opts.topic] ?? [])].sort((a, b) => a - b);
    });
    c.on(c.events.REBALANCING, () => {
      if (c !== consumer) return;
      generation++;
      assigned = [];
    });
    // kafkajs restarts itself after retriable crashes; callers hear about every crash.
    c.on(c.events.CRASH, (e) => {
      report(e.payload.error);
      if (!e.payload.restart && c === consumer) void replace();
    });
    return c;
  };
  // kafkajs gives up for good on a crash it deems non-retriable, and some come from a broker that
  // is only away for a while: with the only broker down, its group-coordinator lookup fails over
  // every broker and throws KafkaJSGroupCoordinatorNotFound (non-retriable), after which the
  // consumer stays disconnected and the process consumes nothing more (a Kafka restart under
  // load showed it). So a consumer kafkajs will not restart is replaced by a new member of the
  // same group after a pause that grows until one joins; it starts from the group's committed
  // offsets, so work settled but not committed is done again (at-least-once, idempotent effects).
  // A replacement that crashes or fails to start is replaced the same way.
  let pausing = false;
  const replace = async (): Promise<void> => {
    generation++;
    assigned = [];
    if (pausing || stopped) return;
    pausing = true;
    await sleep(Math.min(timing.retryBackoffMs * 2 ** failures++, 30_000), stopping.signal).catch(() => {});
    pausing = false;
    if (stopped) return;
    const next = member();
    consumer = next;
    try {
      await runMember(next);
    } catch (err) {
      report(err);
      await next.disconnect().catch(() => {});
      if (consumer === next) void replace();
      return;
    }
    if (stopped) await next.disconnect().catch(() => {}); // stop() came while it started
  };
  // Dead-letter writes fail with the bus's own typed errors; both pass through as they are.
  const delivery = new Delivery({
    ...deadLetters,
    topic: opts.topic,
    handler: opts.handler,
    report: (err) => report(err, false),
    logger,
  });

  const commits = new CommitChain(
    () => consumer,
    opts.topic,
    () => generation,
    timing.retryBackoffMs,
    report,
    () => stopped,
  );
  const maxBatch = opts.maxBatchSize ?? 500;
  let handling = 0;
  let handled: (() => void) | null = null;
  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    handling++;
    // kafkajs heartbeats only between fetches and when asked: a micro-batch that takes longer
    // than the session timeout to prepare and write (a big one on a loaded machine) would
    // otherwise get this member thrown out of the group, and its work redone by the next.
    // (heartbeat() itself sends at most one per heartbeat interval.)
    const alive = setInterval(() => payload.heartbeat().catch(() => {}), timing.heartbeatMs);
    try {
      await handleBatch(payload);
    } finally {
      clearInterval(alive);
      if (--handling === 0) handled?.();
    }
  }
  async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const { partition } = batch;
    for (let i = 0; i < batch.messages.length; ) {
      if (!isRunning() || isStale() || stopped) return;
      const chunk = batch.messages.slice(i, i + maxBatch);
      const next = BigInt(chunk[chunk.length - 1]!.offset) + 1n;
      const behind = Number(BigInt(batch.highWatermark) - next);
      const gen = generation;
      const epoch = commits.epoch(partition);
      const delivered = await delivery.deliver(toBatch(opts.topic, partition, chunk, Math.max(0, behind)));
      // Rewound meanwhile (an earlier batch's work failed): the seek stands; this batch comes again.
      if (epoch !== commits.epoch(partition) || gen !== generation) return;
      if (delivered.settled === 0) {
        consumer.seek({ topic: opts.topic, partition, offset: chunk[0]!.offset });
        await sleep(timing.retryBackoffMs, stopping.signal);
        return;
      }
      i += delivered.settled;
      const last = chunk[delivered.settled - 1]!.offset;
      resolveOffset(last);
      const committed = commits.add(partition, chunk[0]!.offset, String(BigInt(last) + 1n), delivered, gen);
      // Settled now: commit before going on, as before; settled later: the chain commits it.
      if (!delivered.later) await committed;
      await heartbeat();
    }
  }

  async function runMember(c: KafkaConsumer): Promise<void> {
    await c.connect();
    await c.subscribe({ topics: [opts.topic], fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: opts.partitionsConcurrently ?? 1,
      eachBatch,
    });
  }

  consumer = member();
  try {
    await runMember(consumer);
  } catch (err) {
    await consumer.disconnect().catch(() => {});
    throw toBusError(err, ctx);
  }

  return {
    assignment: () => (stopped ? [] : assigned),
    async stop() {
      if (stopped) return;
      stopped = true;
      assigned = [];
      stopping.abort();
      // No more fetching; the batches being handled finish, the work settled later is committed
      // (the runner must still be running for that), then the member leaves the group so
      // others take over at once.
      try {
        consumer.pause([{ topic: opts.topic }]);
      } catch {
        // a member being replaced has not run yet: nothing to pause
      }
      if (handling > 0) await new Promise<void>((resolve) => (handled = resolve));
      await commits.idle();
      await consumer.disconnect().catch(report);
    },
  };
}

/**
 * Per partition, the commits of settled batches in offset order: each waits for the one
 * before it and for its own batch's work. A batch whose work failed seeks the partition back
 * to it, pauses the partition for a while, and starts a new epoch: whatever of the old one is
 * still due is neither committed nor rewound again.
 */
class CommitChain {
  private readonly tails = new Map<number, Promise<void>>();
  private readonly epochs = new Map<number, number>();
  private due = 0;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly consumer: () => KafkaConsumer,
    private readonly topic: string,
    private readonly generation: () => number,
    private readonly pauseMs: number,
    private readonly report: (err: unknown) => void,
    private readonly stopped: () => boolean,
  ) {}

  epoch(partition: number): number {
    return this.epochs.get(partition) ?? 0;
  }

  add(partition: number, first: string, next: string, delivered: Delivered, gen: number): Promise<void> {
    const epoch = this.epoch(partition);
    this.due++;
    const tail = (this.tails.get(partition) ?? Promise.resolve()).then(async () => {
      const settled = delivered.later ? await delivered.later : delivered.settled;
      if (epoch !== this.epoch(partition) || gen !== this.generation()) return;
      if (settled === 0) {
        this.epochs.set(partition, epoch + 1);
        this.rewind(partition, first);
        return;
      }
      await this.consumer()
        .commitOffsets([{ topic: this.topic, partition, offset: next }])
        .catch((err) => this.report(err));
    });
    const settled = tail.finally(() => {
      if (--this.due > 0) return;
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.tails.set(partition, settled);
    return settled;
  }

  /** Resolves once every commit due has been made or dropped. */
  idle(): Promise<void> {
    if (this.due === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private rewind(partition: number, offset: string): void {
    const tp = [{ topic: this.topic, partitions: [partition] }];
    try {
      this.consumer().seek({ topic: this.topic, partition, offset });
      this.consumer().pause(tp);
      setTimeout(() => {
        if (this.stopped()) return; // stop() paused every partition; it stays so
        try {
          this.consumer().resume(tp);
        } catch (err) {
          this.report(err);
        }
      }, this.pauseMs).unref();
    } catch (err) {
      this.report(err);
    }
  }
}

function toBatch(topic: string, partition: number, messages: KafkaMessage[], behind: number): Batch {
  return {
    topic,
    partition,
    behind,
    messages: messages.map((m) => ({
      key: m.key?.toString('utf8') ?? '',
      value: m.value ?? Buffer.alloc(0),
      partition,
      offset: m.offset,
      timestamp: Number(m.timestamp),
    })),
  };
}
