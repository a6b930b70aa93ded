/**
 * Event bus on Kafka through kafkajs (services mode): an idempotent producer writing with
 * acks=all, topics created by the admin client when missing, consumer groups for scale-out.
 */
import { type Admin, Kafka, Partitioners, type Producer } from 'kafkajs';
import { defaultLogger, type Logger as StoreLogger } from '../../logger.js';
import { StoreClosedError } from '../errors.js';
import { withTimeout } from '../timeout.js';
import { type KafkaConsumerTiming, startKafkaConsumer } from './kafka-consumer.js';
import { kafkaLogCreator, toBusError } from './kafka-errors.js';
import type { ConsumeOptions, Consumer, EventBus, OutgoingMessage } from './port.js';

export interface KafkaBusOptions extends Partial<KafkaConsumerTiming> {
  brokers: string[];
  /** Partitions of topics this bus creates (existing topics keep theirs). */
  partitions: number;
  clientId?: string;
  connectTimeoutMs?: number;
  logger?: StoreLogger;
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
  private readonly producer: Producer;
  private readonly logger: StoreLogger;
  private readonly connectTimeoutMs: number;
  private readonly timing: KafkaConsumerTiming;
  private readonly topics = new Map<string, Promise<void>>();
  private readonly consumers = new Set<Consumer>();
  private closed = false;

  constructor(private readonly opts: KafkaBusOptions) {
    this.address = `Kafka at ${opts.brokers.join(',')}`;
    this.logger = opts.logger ?? defaultLogger();
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
      requestTimeout: 10_000,
      // Few, short retries: an absent broker must surface as an error in seconds, not minutes.
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
      logCreator: kafkaLogCreator(this.logger),
    });
    this.admin = this.kafka.admin();
    this.producer = this.kafka.producer({
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
        topics: [{ topic, numPartitions: this.opts.partitions }],
        waitForLeaders: true,
      });
    } catch (err) {
      // Another process created it between our list and create.
      if ((err as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') return;
      throw toBusError(err, this.ctx());
    }
  }

  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.ensureTopic(topic);
    try {
      await this.producer.send({
        topic,
        acks: -1,
        messages: messages.map((m) => ({ key: m.key, value: m.value })),
      });
    } catch (err) {
      throw toBusError(err, this.ctx());
    }
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
    await this.ensureTopic(opts.topic);
    const inner = await startKafkaConsumer(this.kafka, opts, this.timing, this.address, this.logger);
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
