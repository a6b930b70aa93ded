/**
 * One Kafka consumer-group member behind the Consumer port. Offsets are resolved and
 * committed by hand, right after each batch is settled (delivery.ts: the handler succeeded,
 * or its messages were dead-lettered after the last attempt; autoCommit off), so nothing is
 * committed for a batch that is not. An unsettled batch is re-read by seeking back to its
 * first offset after a pause.
 */
import type { EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../../logger.js';
import { sleep } from '../timeout.js';
import { Delivery, type DeliveryDeps } from './delivery.js';
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
  const consumer = kafka.consumer({
    groupId: opts.groupId,
    sessionTimeout: timing.sessionTimeoutMs,
    rebalanceTimeout: Math.max(timing.sessionTimeoutMs, 10_000),
    heartbeatInterval: timing.heartbeatMs,
    maxWaitTimeInMs: timing.maxWaitMs,
    allowAutoTopicCreation: false,
  });
  let assigned: number[] = [];
  let stopped = false;
  const stopping = new AbortController();
  // Handler errors are the caller's own and pass through as they are; Kafka's are typed.
  const report = (err: unknown, fromKafka = true) => {
    const error = fromKafka ? toBusError(err, ctx) : err instanceof Error ? err : new Error(String(err));
    logger.warn({ err: error, topic: opts.topic, groupId: opts.groupId }, 'Kafka consumer');
    opts.onError?.(error);
  };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    assigned = [...(e.payload.memberAssignment[opts.topic] ?? [])].sort((a, b) => a - b);
  });
  consumer.on(consumer.events.REBALANCING, () => {
    assigned = [];
  });
  // kafkajs restarts itself after retriable crashes; callers hear about every crash.
  consumer.on(consumer.events.CRASH, (e) => report(e.payload.error));
  // Dead-letter writes fail with the bus's own typed errors; both pass through as they are.
  const delivery = new Delivery({
    ...deadLetters,
    topic: opts.topic,
    handler: opts.handler,
    report: (err) => report(err, false),
    logger,
  });

  const maxBatch = opts.maxBatchSize ?? 500;
  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale } = payload;
    for (let i = 0; i < batch.messages.length; ) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + maxBatch);
      const next = BigInt(chunk[chunk.length - 1]!.offset) + 1n;
      const behind = Number(BigInt(batch.highWatermark) - next);
      const settled = await delivery.deliver(
        toBatch(opts.topic, batch.partition, chunk, Math.max(0, behind)),
      );
      if (settled === 0) {
        consumer.seek({ topic: opts.topic, partition: batch.partition, offset: chunk[0]!.offset });
        await sleep(timing.retryBackoffMs, stopping.signal);
        return;
      }
      i += settled;
      const last = chunk[settled - 1]!.offset;
      resolveOffset(last);
      await commitOffsetsIfNecessary({
        topics: [
          {
            topic: opts.topic,
            partitions: [{ partition: batch.partition, offset: String(BigInt(last) + 1n) }],
          },
        ],
      });
      await heartbeat();
    }
  }

  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: opts.partitionsConcurrently ?? 1,
      eachBatch,
    });
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
      // Waits for the batch in progress, then leaves the group so others take over at once.
      await consumer.disconnect().catch(report);
    },
  };
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
