/**
 * Event bus on the relational store (embedded mode): a Kafka-like partitioned log in
 * event_log, group offsets and leases in event_consumer_offsets (migrations/0002_event_bus.sql).
 * Works over PGlite in one process and equally over PostgreSQL across processes.
 * Retention as Kafka's retention.ms: every pruneIntervalMs (and once at open) the bus deletes
 * messages older than retentionMs by their ts, read by every group or not; a group whose
 * committed offset was pruned reads on from the earliest message left (its fetch asks for
 * offsets ≥ its own, and offsets never go back). Several processes pruning the same log is harmless.
 */
import { EventEmitter } from 'node:events';
import { defaultLogger, type Logger } from '../../logger.js';
import { StoreClosedError } from '../errors.js';
import type { RelationalStore } from '../relational/port.js';
import { deadLetterTopic } from './dead-letter.js';
import { partitionFor } from './partitioner.js';
import { type BusPolicy, checkMaxAttempts, resolveBusPolicy } from './policy.js';
import type { ConsumeOptions, Consumer, EventBus, OutgoingMessage } from './port.js';
import { TableConsumer, type TableConsumerTiming } from './table-consumer.js';

export interface TableBusOptions extends Partial<TableConsumerTiming>, BusPolicy {
  /** A migrated store (the bus does not own it: close() leaves it open). */
  db: RelationalStore;
  /** Partitions of topics this bus creates. */
  partitions: number;
  /** How often the bus deletes messages past retentionMs (default: hourly, or retentionMs if shorter). */
  pruneIntervalMs?: number;
  logger?: Logger;
}

export interface TableEventBus extends EventBus {
  /** Deletes messages older than retentionMs (by their ts) from every topic now; resolves to how many. */
  prune(): Promise<number>;
}

export function openTableBus(opts: TableBusOptions): TableEventBus {
  return new TableBus(opts);
}

/** Rows deleted per statement, so a large backlog does not hold one long transaction. */
const PRUNE_CHUNK = 10_000;

class TableBus implements TableEventBus {
  readonly address: string;
  private readonly db: RelationalStore;
  private readonly timing: TableConsumerTiming;
  private readonly logger: Logger;
  private readonly partitionCounts = new Map<string, number>();
  /** Emits the topic name after each publish, so consumers in this process wake at once. */
  private readonly appended = new EventEmitter().setMaxListeners(0);
  private readonly consumers = new Set<TableConsumer>();
  private readonly policy: Required<BusPolicy>;
  private readonly pruneTimer: NodeJS.Timeout;
  private pruning: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: TableBusOptions) {
    this.db = opts.db;
    this.address = `event log table in ${opts.db.address}`;
    this.logger = opts.logger ?? defaultLogger();
    this.policy = resolveBusPolicy(opts, this.ctx());
    this.timing = {
      heartbeatMs: opts.heartbeatMs ?? 1000,
      sessionTimeoutMs: opts.sessionTimeoutMs ?? 10_000,
      pollIntervalMs: opts.pollIntervalMs ?? 250,
      retryBackoffMs: opts.retryBackoffMs ?? 1000,
    };
    const every = opts.pruneIntervalMs ?? Math.min(3_600_000, this.policy.retentionMs);
    this.pruneTimer = setInterval(() => this.prunePeriodically(), every);
    this.pruneTimer.unref();
    queueMicrotask(() => this.prunePeriodically());
  }

  private ctx() {
    return { store: 'event bus' as const, address: this.address };
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError(this.ctx());
  }

  /** One prune at a time; failures are logged and the next tick tries again. */
  private prunePeriodically(): void {
    if (this.closed) return;
    this.pruning = this.pruning.then(() =>
      this.closed
        ? 0
        : this.prune().catch((err) => this.logger.warn({ err }, 'embedded bus: pruning old messages failed')),
    );
  }

  async prune(): Promise<number> {
    this.check();
    let total = 0;
    for (;;) {
      // ts is the database's clock at publish (as the group leases use), never this process's.
      const { rowCount } = await this.db.query(
        `DELETE FROM event_log WHERE (topic, partition, log_offset) IN (
           SELECT topic, partition, log_offset FROM event_log
           WHERE ts < now() - $1::float8 * interval '1 millisecond' LIMIT $2)`,
        [this.policy.retentionMs, PRUNE_CHUNK],
      );
      total += rowCount;
      if (rowCount < PRUNE_CHUNK) return total;
    }
  }

  async ensureTopic(topic: string): Promise<void> {
    this.check();
    await this.partitionsOf(topic);
  }

  /** The log is a table: the bus is there when its database answers. */
  async ping(): Promise<void> {
    this.check();
    await this.db.query('SELECT 1');
  }

  /** Creates the topic's partition rows if needed; an existing topic keeps its partition count. */
  private async partitionsOf(topic: string): Promise<number> {
    const known = this.partitionCounts.get(topic);
    if (known) return known;
    await this.db.query(
      `INSERT INTO event_partitions (topic, partition)
       SELECT $1, g FROM generate_series(0, $2::int - 1) AS g ON CONFLICT DO NOTHING`,
      [topic, this.opts.partitions],
    );
    const { rows } = await this.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM event_partitions WHERE topic = $1',
      [topic],
    );
    const n = rows[0]!.n;
    this.partitionCounts.set(topic, n);
    return n;
  }

  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    this.check();
    await this.append(topic, messages);
  }

  /** publish() without the closed check: a consumer finishing its last batch in close() writes its dead letters. */
  private async append(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const partitions = await this.partitionsOf(topic);
    const byPartition = new Map<number, OutgoingMessage[]>();
    for (const m of messages) {
      const p = partitionFor(m.key, partitions);
      const list = byPartition.get(p);
      if (list) list.push(m);
      else byPartition.set(p, [m]);
    }
    await this.db.transaction(async (tx) => {
      const cols = {
        partition: [] as number[],
        offset: [] as number[],
        key: [] as string[],
        hex: [] as string[],
      };
      // Ascending partition order: concurrent publishers lock partition rows in the same order (no deadlock).
      for (const p of [...byPartition.keys()].sort((a, b) => a - b)) {
        const batch = byPartition.get(p)!;
        // The row lock taken here is held to commit, so offsets in a partition become visible in order.
        const { rows } = await tx.query<{ next_offset: number }>(
          `UPDATE event_partitions SET next_offset = next_offset + $3
           WHERE topic = $1 AND partition = $2 RETURNING next_offset`,
          [topic, p, batch.length],
        );
        let offset = rows[0]!.next_offset - batch.length;
        for (const m of batch) {
          cols.partition.push(p);
          cols.offset.push(offset++);
          cols.key.push(m.key);
          cols.hex.push(Buffer.from(m.value).toString('hex'));
        }
      }
      // Values travel as hex text: bytea[] parameters are not encoded alike by pg and PGlite.
      await tx.query(
        `INSERT INTO event_log (topic, partition, log_offset, key, value)
         SELECT $1, t.p, t.o, t.k, decode(t.v, 'hex')
         FROM unnest($2::int[], $3::int8[], $4::text[], $5::text[]) AS t(p, o, k, v)`,
        [topic, cols.partition, cols.offset, cols.key, cols.hex],
      );
    });
    this.appended.emit(topic);
  }

  async consume(opts: ConsumeOptions): Promise<Consumer> {
    this.check();
    const maxAttempts = checkMaxAttempts(opts.maxAttempts ?? this.policy.maxAttempts, this.ctx());
    const partitions = await this.partitionsOf(opts.topic);
    await this.partitionsOf(deadLetterTopic(opts.topic));
    const consumer = new TableConsumer(this.db, opts, partitions, this.timing, this.appended, this.logger, {
      maxAttempts,
      publish: (topic, messages) => this.append(topic, messages),
    });
    await consumer.start();
    this.consumers.add(consumer);
    return {
      assignment: () => consumer.assignment(),
      stop: async () => {
        this.consumers.delete(consumer);
        await consumer.stop();
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pruneTimer);
    await Promise.all([...this.consumers].map((c) => c.stop()));
    this.consumers.clear();
    await this.pruning; // the store is closed after the bus: no statement may be left in flight
  }
}
