/**
 * Event bus on Kafka through kafkajs (services mode): an idempotent producer writing with
 * acks=all, one produce request at a time (publishes queued meanwhile go together in the next),
 * topics created by the admin client when missing, consumer groups for scale-out.
 * Topics this bus creates (a consumed topic's `.dlq` too) get retention.ms = retentionMs, so the
 * broker deletes old messages as the embedded bus prunes them; topics that exist keep their
 * own settings (change them with kafka-configs).
 */
import { type Admin, Kafka, Partitioners, type Producer } from 'kafkajs';
import { defaultLogger, type Logger } from '../../logger.js';
import { messageOf, StoreClosedError, StoreUnavailableError } from '../errors.js';
import { sleep, withTimeout } from '../timeout.js';
import { deadLetterTopic } from './dead-letter.js';
import { type KafkaConsumerTiming, startKafkaConsumer } from './kafka-consumer.js';
import { kafkaLogCreator, toBusError } from './kafka-errors.js';
import { type BusPolicy, checkMaxAttempts, resolveBusPolicy } from './policy.js';
import type { ConsumeOptions, Consumer, EventBus, OutgoingMessage } from './port.js';

export interface KafkaBusOptions extends Partial<KafkaConsumerTiming>, BusPolicy {
  brokers: string[];
  /** Partitions of topics this bus creates (existing topics keep theirs). */
  partitions: number;
  clientId?: string;
  connectTimeoutMs?: number;
  logger?: Logger;
}

const REQUEST_TIMEOUT_MS = 10_000;
/** Most bytes of queued publishes one produce request takes (the broker's default limit is 1 MiB a batch). */
const GROUP_BYTES = 512 * 1024;
/** Metadata errors of a topic that was just created and is not served yet. */
const NOT_READY = /UNKNOWN_TOPIC_OR_PARTITION|LEADER_NOT_AVAILABLE/;
/** Errors of a producer whose idempotence state (producer id, epoch, sequences) the broker rejects. */
const BROKEN_SEQUENCE =
  /OUT_OF_ORDER_SEQUENCE_NUMBER|UNKNOWN_PRODUCER_ID|INVALID_PRODUCER_EPOCH|INVALID_PRODUCER_ID_MAPPING/;

/** The kafkajs error types along an error's cause chain (kafkajs wraps the last attempt's error). */
function errorTypes(err: unknown): string {
  const types: string[] = [];
  for (let e = err as { type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e.type) types.push(e.type);
  return types.join(' ');
}

/** A publish waiting for its turn (see KafkaBus.flush()). */
interface QueuedPublish {
  topic: string;
  messages: readonly OutgoingMessage[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export async function openKafkaBus(opts: KafkaBusOptions): Promise<EventBus> {
  const bus = new KafkaBus(opts);
  await bus.connect();
  return bus;
}

class KafkaBus implements EventBus {
  readonly address: string;
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private producer: Producer;
  /** The replacement producer's connect while it is pending or failed (see replaceProducer()). */
  private reconnecting: Promise<void> | null = null;
  /** Publishes waiting for the produce request in flight; `flushing` while one is. */
  private readonly queue: QueuedPublish[] = [];
  private flushing = false;
  private readonly logger: Logger;
  private readonly connectTimeoutMs: number;
  private readonly timing: KafkaConsumerTiming;
  private readonly topics = new Map<string, Promise<void>>();
  private readonly consumers = new Set<Consumer>();
  private readonly policy: Required<BusPolicy>;
  private closed = false;

  constructor(private readonly opts: KafkaBusOptions) {
    this.address = `Kafka at ${opts.brokers.join(',')}`;
    this.logger = opts.logger ?? defaultLogger();
    this.policy = resolveBusPolicy(opts, this.ctx());
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.timing = {
      sessionTimeoutMs: opts.sessionTimeoutMs ?? 10_000,
      heartbeatMs: opts.heartbeatMs ?? 1000,
      maxWaitMs: opts.maxWaitMs ?? 1000,
      retryBackoffMs: opts.retryBackoffMs ?? 1000,
    };
    this.kafka = new Kafka({
      clientId: opts.clientId ?? 'recsys',
      brokers: opts.brokers,
      connectionTimeout: this.connectTimeoutMs,
      requestTimeout: REQUEST_TIMEOUT_MS,
      // Few, short retries: an absent broker must surface as an error in seconds, not minutes.
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
      logCreator: kafkaLogCreator(this.logger),
    });
    this.admin = this.kafka.admin();
    this.producer = this.newProducer();
  }

  private newProducer(): Producer {
    return this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // kafkajs retries an idempotent producer's sends forever by default, so a publish during an
      // outage would never settle; bounded retries make it fail with an error the caller can act on
      // (a caller's own retry may then duplicate a message: delivery is at-least-once).
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  private ctx() {
    return { store: 'event bus' as const, address: this.address };
  }

  async connect(): Promise<void> {
    // kafkajs retries internally; the outer timeout caps the whole attempt.
    const bound = this.connectTimeoutMs * 4 + 2000;
    try {
      await withTimeout(Promise.all([this.admin.connect(), this.producer.connect()]), bound, () =>
        Object.assign(new Error(`no answer within ${bound} ms`), { code: 'ETIMEDOUT' }),
      );
    } catch (err) {
      // Not awaited: disconnecting waits for the hung connect attempt, which is what timed out.
      void Promise.allSettled([this.admin.disconnect(), this.producer.disconnect()]);
      throw toBusError(err, this.ctx());
    }
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError(this.ctx());
  }

  async ensureTopic(topic: string): Promise<void> {
    this.check();
    let pending = this.topics.get(topic);
    if (!pending) {
      pending = this.createTopic(topic);
      this.topics.set(topic, pending);
      pending.catch(() => this.topics.delete(topic)); // let a later call try again
    }
    return pending;
  }

  private async createTopic(topic: string): Promise<void> {
    try {
      const existing = await this.admin.listTopics();
      if (existing.includes(topic)) return;
      await this.admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: this.opts.partitions,
            configEntries: [{ name: 'retention.ms', value: String(this.policy.retentionMs) }],
          },
        ],
        waitForLeaders: false,
      });
      await this.waitForLeaders(topic);
    } catch (err) {
      // Another process created it between our list and create.
      if ((err as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') return;
      throw toBusError(err, this.ctx());
    }
  }

  /**
   * Resolves once every partition of a new topic has a leader. kafkajs's own wait (createTopics'
   * waitForLeaders) gives up at once when the broker does not list the topic yet, as a busy broker
   * does for a moment after creating it; this one waits for that too, up to the request timeout.
   */
  private async waitForLeaders(topic: string): Promise<void> {
    const deadline = Date.now() + REQUEST_TIMEOUT_MS;
    for (;;) {
      try {
        const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
        const partitions = topics[0]?.partitions ?? [];
        if (partitions.length > 0 && partitions.every((p) => p.leader >= 0)) return;
      } catch (err) {
        if (!NOT_READY.test(errorTypes(err)) || Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline)
        throw new StoreUnavailableError(
          `topic ${topic} has no leader for every partition after ${REQUEST_TIMEOUT_MS} ms`,
          this.ctx(),
        );
      await sleep(100);
    }
  }

  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    this.check();
    await this.send(topic, messages);
  }

  /** publish() without the closed check: a consumer finishing its last batch in close() writes its dead letters. */
  private async send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await (this.topics.get(topic) ?? this.ensureTopic(topic));
    let bytes = 0;
    for (const m of messages) bytes += m.key.length + m.value.length;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, messages, bytes, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /**
   * Sends the queued publishes, one produce request at a time, each taking every publish queued
   * behind the previous one (up to GROUP_BYTES). One at a time is what keeps the idempotent
   * producer's sequence numbers honest: kafkajs rolls a partition's sequence back after a failed
   * request even when the broker wrote it (the answer was lost), so a request sent meanwhile would
   * reuse those numbers and be dropped by the broker as a duplicate while it answers success.
   * Grouping gives back the throughput of requests in parallel.
   */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        let n = 0;
        for (let bytes = 0; n < this.queue.length; n++) {
          bytes += this.queue[n]!.bytes;
          if (n > 0 && bytes > GROUP_BYTES) break;
        }
        const group = this.queue.splice(0, n);
        try {
          await this.produce(group);
        } catch (err) {
          for (const p of group) p.reject(err);
          continue;
        }
        for (const p of group) p.resolve();
      }
    } finally {
      this.flushing = false;
    }
  }

  private async produce(group: readonly QueuedPublish[]): Promise<void> {
    const pending = this.reconnecting;
    if (pending) {
      try {
        await pending;
      } catch (err) {
        // The replacement could not connect (Kafka still away): this send fails, the next tries again.
        if (this.reconnecting === pending) this.connectReplacement(this.producer);
        throw toBusError(err, this.ctx());
      }
    }
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const p of group) {
      let list = byTopic.get(p.topic);
      if (!list) {
        list = [];
        byTopic.set(p.topic, list);
      }
      for (const m of p.messages) list.push(m);
    }
    const producer = this.producer;
    try {
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (err) {
      // Whether the broker wrote the request is unknown, and kafkajs has rolled its sequence
      // numbers back: a request after this one could be taken for a duplicate of it. A new
      // producer (new producer id, sequences from 0) cannot be.
      this.replaceProducer(producer, err);
      if (BROKEN_SEQUENCE.test(errorTypes(err)))
        throw new StoreUnavailableError(`${messageOf(err)} (producer replaced)`, {
          ...this.ctx(),
          cause: err,
        });
      throw toBusError(err, this.ctx());
    }
  }

  /**
   * Replaces a producer after a failed request (above), which also recovers one whose sequence
   * numbers the broker no longer accepts (OUT_OF_ORDER_SEQUENCE_NUMBER after a broker restart):
   * kafkajs never resets its sequences.
   */
  private replaceProducer(broken: Producer, err: unknown): void {
    if (this.producer !== broken || this.closed) return;
    this.logger.warn({ err: messageOf(err) }, 'event bus: a publish failed; replacing the producer');
    this.producer = this.newProducer();
    void broken.disconnect().catch(() => {});
    this.connectReplacement(this.producer);
  }

  private connectReplacement(fresh: Producer): void {
    const connecting: Promise<void> = fresh.connect().then(() => {
      if (this.reconnecting === connecting) this.reconnecting = null;
    });
    connecting.catch(() => {}); // surfaces on the next send, which connects again
    this.reconnecting = connecting;
  }

  async ping(): Promise<void> {
    this.check();
    try {
      await this.admin.describeCluster();
    } catch (err) {
      throw toBusError(err, this.ctx());
    }
  }

  async consume(opts: ConsumeOptions): Promise<Consumer> {
    const maxAttempts = checkMaxAttempts(opts.maxAttempts ?? this.policy.maxAttempts, this.ctx());
    await Promise.all([this.ensureTopic(opts.topic), this.ensureTopic(deadLetterTopic(opts.topic))]);
    const inner = await startKafkaConsumer(this.kafka, opts, this.timing, this.address, this.logger, {
      maxAttempts,
      publish: (topic, messages) => this.send(topic, messages),
    });
    const consumer: Consumer = {
      assignment: () => inner.assignment(),
      stop: async () => {
        this.consumers.delete(consumer);
        await inner.stop();
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.consumers].map((c) => c.stop()));
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}
