/**
 * One member of a consumer group on the embedded bus. A loop fetches the next messages of
 * every partition it holds (one query), hands each partition's batch to the handler, and
 * commits the batch's offset once it is settled (delivery.ts: attempts and dead letters). A timer heartbeats meanwhile so a
 * slow handler does not lose its leases; the loop rebalances between batches, so a
 * partition is never given away while its batch is being handled.
 *
 * A batch settled later (ctx.settleLater) moves the partition's fetch position on at once and
 * is committed when its work is done, in offset order per partition (a chain of commits); one
 * whose work failed puts the position back to it after a pause, and whatever was handed over
 * after it is ignored (a per-partition epoch). Before a partition is given away (rebalance,
 * stop), the work still due on it finishes and is committed.
 */
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Logger } from '../../logger.js';
import type { Queryable } from '../relational/port.js';
import { sleep } from '../timeout.js';
import { type Delivered, Delivery, type DeliveryDeps } from './delivery.js';
import type { Batch, BusMessage, ConsumeOptions, Consumer } from './port.js';
import { TableGroup } from './table-group.js';

export interface TableConsumerTiming {
  heartbeatMs: number;
  sessionTimeoutMs: number;
  /** How often an idle member looks for messages published by other processes. */
  pollIntervalMs: number;
  /** Pause before a failed batch is handed to the handler again. */
  retryBackoffMs: number;
}

interface Row {
  partition: number;
  log_offset: number;
  key: string;
  value: Buffer;
  ts: Date;
  /** The partition's last offset when fetched (for Batch.behind). */
  last: number;
}

export class TableConsumer implements Consumer {
  private readonly group: TableGroup;
  private readonly delivery: Delivery;
  /** Partition → next offset to fetch (the committed offset, or past the last handled batch). */
  private readonly owned = new Map<number, number>();
  /** Partition → time before which a failed batch is not retried. */
  private readonly backoffUntil = new Map<number, number>();
  private readonly stopping = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private nextRebalance = 0;
  private beating: Promise<void> = Promise.resolve();
  /** Partition → the last commit due (settled later), and the epoch that drops stale ones. */
  private readonly commits = new Map<number, Promise<void>>();
  private readonly epochs = new Map<number, number>();

  constructor(
    private readonly db: Queryable,
    private readonly opts: ConsumeOptions,
    partitions: number,
    private readonly timing: TableConsumerTiming,
    private readonly appended: EventEmitter,
    private readonly logger: Logger,
    deadLetters: Pick<DeliveryDeps, 'maxAttempts' | 'publish'>,
  ) {
    this.delivery = new Delivery({
      ...deadLetters,
      topic: opts.topic,
      handler: opts.handler,
      report: (err) => this.report(err),
      logger,
    });
    this.group = new TableGroup(
      db,
      { groupId: opts.groupId, topic: opts.topic, memberId: randomUUID() },
      partitions,
      timing.sessionTimeoutMs,
    );
  }

  async start(): Promise<void> {
    await this.group.init();
    await this.group.heartbeat();
    this.heartbeatTimer = setInterval(() => void this.beat(), this.timing.heartbeatMs);
    this.heartbeatTimer.unref();
    this.loop = this.run();
  }

  assignment(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return this.loop;
    this.stopping.abort();
    clearInterval(this.heartbeatTimer);
    await this.loop;
    await this.settled([...this.commits.keys()]); // the work still due, committed while we hold the leases
    await this.beating; // else a late heartbeat could re-register us after leave()
    this.owned.clear();
    await this.group.leave().catch((err) => this.report(err));
  }

  private report(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.logger.warn(
      { err: error, topic: this.opts.topic, groupId: this.opts.groupId },
      'embedded bus consumer',
    );
    this.opts.onError?.(error);
  }

  private beat(): Promise<void> {
    this.beating = (async () => {
      const before = [...this.owned.keys()];
      try {
        const held = new Set(await this.group.heartbeat());
        // A lease that expired and was taken is gone: stop fetching it. Partitions acquired
        // while the heartbeat was in flight are not in `before` and stay.
        for (const p of before) if (!held.has(p)) this.owned.delete(p);
      } catch (err) {
        this.report(err);
      }
    })();
    return this.beating;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        if (Date.now() >= this.nextRebalance) {
          await this.rebalance();
          this.nextRebalance = Date.now() + this.timing.heartbeatMs;
        }
        if (!(await this.pollOnce())) await this.idle();
      } catch (err) {
        // The database went away or a statement failed: report, wait, carry on.
        this.report(err);
        await sleep(this.timing.retryBackoffMs, signal);
      }
    }
  }

  private async rebalance(): Promise<void> {
    const target = new Set(await this.group.target());
    const surplus = [...this.owned.keys()].filter((p) => !target.has(p));
    // Work still due on a partition finishes (and is committed) before it is given away.
    await this.settled(surplus);
    await this.group.release(surplus);
    for (const p of surplus) this.owned.delete(p);
    const missing = [...target].filter((p) => !this.owned.has(p));
    for (const [p, offset] of await this.group.acquire(missing)) this.owned.set(p, offset);
  }

  /** Fetches and handles one round of batches; false when there was nothing to do. */
  private async pollOnce(): Promise<boolean> {
    const now = Date.now();
    const ready = [...this.owned].filter(([p]) => (this.backoffUntil.get(p) ?? 0) <= now);
    if (ready.length === 0) return false;
    const { rows } = await this.db.query<Row>(
      `SELECT o.p AS partition, l.log_offset, l.key, l.value, l.ts, h.last
       FROM unnest($2::int[], $3::int8[]) AS o(p, next_offset)
       CROSS JOIN LATERAL (
         SELECT log_offset, key, value, ts FROM event_log
         WHERE topic = $1 AND partition = o.p AND log_offset >= o.next_offset
         ORDER BY log_offset LIMIT $4
       ) AS l
       CROSS JOIN LATERAL (
         SELECT max(log_offset) AS last FROM event_log WHERE topic = $1 AND partition = o.p
       ) AS h
       ORDER BY o.p, l.log_offset`,
      [this.opts.topic, ready.map(([p]) => p), ready.map(([, o]) => o), this.opts.maxBatchSize ?? 500],
    );
    if (rows.length === 0) return false;
    const batches = groupByPartition(this.opts.topic, rows);
    const concurrently = Math.max(1, this.opts.partitionsConcurrently ?? 1);
    for (let i = 0; i < batches.length; i += concurrently) {
      await Promise.all(
        batches.slice(i, i + concurrently).map(async (batch) => {
          // Handle only partitions still held: a heartbeat may have found one lost meanwhile.
          if (this.stopping.signal.aborted || !this.owned.has(batch.partition)) return;
          await this.handle(batch);
        }),
      );
    }
    return true;
  }

  private async handle(batch: Batch): Promise<void> {
    const p = batch.partition;
    const epoch = this.epochs.get(p) ?? 0;
    const delivered = await this.delivery.deliver(batch);
    // Put back meanwhile (an earlier batch's work failed) or lost: this batch comes again.
    if (epoch !== (this.epochs.get(p) ?? 0) || !this.owned.has(p)) return;
    if (delivered.settled === 0) {
      // Not committed: the same messages come back after the pause (or to the next owner).
      this.backoffUntil.set(p, Date.now() + this.timing.retryBackoffMs);
      return;
    }
    this.backoffUntil.delete(p);
    const next = Number(batch.messages[delivered.settled - 1]!.offset) + 1;
    this.owned.set(p, next);
    const committed = this.commit(p, Number(batch.messages[0]!.offset), next, delivered, epoch);
    if (!delivered.later) await committed;
  }

  /** Commits `next` once the batch's work and every earlier commit of the partition are done. */
  private commit(p: number, first: number, next: number, delivered: Delivered, epoch: number): Promise<void> {
    const done = (this.commits.get(p) ?? Promise.resolve()).then(async () => {
      const settled = delivered.later ? await delivered.later : delivered.settled;
      if (epoch !== (this.epochs.get(p) ?? 0)) return;
      if (settled === 0) {
        this.epochs.set(p, epoch + 1);
        if (this.owned.has(p)) this.owned.set(p, first);
        this.backoffUntil.set(p, Date.now() + this.timing.retryBackoffMs);
        return;
      }
      try {
        if (await this.group.commit(p, next)) return;
      } catch (err) {
        // Left uncommitted; a later commit of the partition covers it.
        this.report(err);
        return;
      }
      // The lease was lost: another member does the batch again.
      this.epochs.set(p, epoch + 1);
      this.owned.delete(p);
    });
    this.commits.set(p, done);
    return done;
  }

  /** Waits for the commits due on these partitions, including ones added meanwhile. */
  private async settled(partitions: readonly number[]): Promise<void> {
    for (;;) {
      const due = partitions.map((p) => this.commits.get(p));
      await Promise.all(due);
      if (partitions.every((p, i) => this.commits.get(p) === due[i])) return;
    }
  }

  /** Waits for a local publish to this topic, the poll interval, the next rebalance, or stop(). */
  private idle(): Promise<void> {
    const signal = this.stopping.signal;
    const wait = Math.max(0, Math.min(this.timing.pollIntervalMs, this.nextRebalance - Date.now()));
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.appended.off(this.opts.topic, done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, wait);
      this.appended.on(this.opts.topic, done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

function groupByPartition(topic: string, rows: Row[]): Batch[] {
  const batches: Batch[] = [];
  for (const r of rows) {
    let batch = batches.at(-1);
    if (batch?.partition !== r.partition) {
      batch = { topic, partition: r.partition, messages: [] };
      batches.push(batch);
    }
    batch.behind = Math.max(0, Number(r.last) - Number(r.log_offset));
    const message: BusMessage = {
      key: r.key,
      value: r.value,
      partition: r.partition,
      offset: String(r.log_offset),
      timestamp: r.ts.getTime(),
    };
    batch.messages.push(message);
  }
  return batches;
}
