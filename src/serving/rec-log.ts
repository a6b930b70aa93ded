/**
 * recommendation_logs, written off the request path: answers are queued in memory (bounded)
 * and inserted in batches with COPY every ~100 ms. When the queue is full or the store
 * fails, rows are dropped and counted — an answer is never held back or failed for its log
 * line, and logging never takes more than its share of the event loop. Queued rows are
 * also indexed by rec_id, so feedback that follows an answer within moments finds its user
 * before the row lands in the store.
 */
import type { Stores } from '../stores/index.js';
import type { StoreLogger } from '../stores/logger.js';
import type { Source } from './answers.js';
import type { CircuitBreaker } from './breaker.js';
import type { ServingMetrics } from './metrics.js';

export interface RecLogOptions {
  /** Most rows waiting (default 20 000). */
  maxQueue?: number;
  /** Most rows per insert (default 1000). */
  batchSize?: number;
  /**
   * Aim for inserts of about this long (default 4 ms): the batch shrinks or grows towards
   * it, so a slow store (PGlite blocks this thread while it writes) never stalls answers
   * for long at a time.
   */
  targetWriteMs?: number;
  /** Flush period (default 100 ms). */
  intervalMs?: number;
  /**
   * Most of the time writing may take (default 0.1): after a write that took d ms the next
   * waits d·(1/share − 1) ms. PGlite runs on this very thread, so without this bound a
   * flood of answers would spend the event loop on their own log lines.
   */
  maxShare?: number;
}

const COLUMNS = [
  'rec_id',
  'user_id',
  'model_version',
  'source',
  'item_ids',
  'scores',
  'served_at',
  'latency_us',
] as const;

/** As queued: served_at is epoch ms, turned into a Date only when written. */
type Row = [
  string,
  string,
  string | null,
  Source,
  readonly string[],
  readonly number[],
  Date | number,
  number,
];

export class RecLog {
  private queue: Row[] = [];
  /** rec_id → user of the queued rows (the rows a feedback lookup cannot find in the store yet). */
  private readonly pending = new Map<string, string>();
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextWrite = 0;
  /** Rows in the next insert, adapted towards targetWriteMs. */
  private batch: number;
  private readonly maxQueue: number;
  private readonly batchSize: number;
  private readonly maxShare: number;

  constructor(
    private readonly db: Stores['db'],
    private readonly breaker: CircuitBreaker,
    private readonly metrics: ServingMetrics,
    private readonly logger: StoreLogger,
    private readonly opts: RecLogOptions = {},
  ) {
    this.maxQueue = opts.maxQueue ?? 20_000;
    this.batchSize = opts.batchSize ?? 1000;
    this.maxShare = Math.min(1, Math.max(0.01, opts.maxShare ?? 0.1));
    this.batch = Math.min(100, this.batchSize);
  }

  start(): void {
    this.timer = setInterval(() => {
      if (performance.now() >= this.nextWrite) void this.flush(1);
    }, this.opts.intervalMs ?? 100);
    this.timer.unref();
  }

  get queued(): number {
    return this.queue.length;
  }

  /**
   * Whether a row would be queued now; when not (queue full) the row counts as dropped here,
   * so a caller can skip building it and must not call add().
   */
  admit(): boolean {
    if (this.queue.length < this.maxQueue) return true;
    this.metrics.recLogDropped('queue_full', 1);
    return false;
  }

  /** The user of an answer whose log row is still queued in this process. */
  userOf(recId: string): string | undefined {
    return this.pending.get(recId);
  }

  add(
    recId: string,
    userId: string,
    modelVersion: string | null,
    source: Source,
    items: readonly string[],
    scores: readonly number[],
    latencyUs: number,
  ): void {
    // Dropping first keeps an overloaded server from allocating anything for the log.
    if (this.queue.length >= this.maxQueue) {
      this.metrics.recLogDropped('queue_full', 1);
      return;
    }
    this.pending.set(recId, userId);
    this.queue.push([
      recId,
      userId,
      modelVersion,
      source,
      items,
      scores,
      Date.now(),
      Math.min(latencyUs, 2 ** 31 - 1),
    ]);
  }

  /**
   * Writes up to `batches` batches of what is queued. The timer asks for one per tick (and
   * none while the time share is used up), which caps the log at batchSize rows per interval
   * and at maxShare of the time; answers beyond that overflow the queue and are counted.
   * Resolves when done or at the first failed write (those rows are dropped).
   */
  flush(batches = Number.POSITIVE_INFINITY): Promise<void> {
    this.flushing ??= this.drain(batches).finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async drain(batches: number): Promise<void> {
    for (let n = 0; n < batches && this.queue.length > 0; n++) {
      const batch = this.queue.length <= this.batch ? this.queue : this.queue.slice(0, this.batch);
      this.queue = batch === this.queue ? [] : this.queue.slice(batch.length);
      for (const row of batch) row[6] = new Date(row[6]);
      const started = performance.now();
      try {
        await this.breaker.run(() => this.db.copyRows('recommendation_logs', COLUMNS, yielding(batch)));
        this.metrics.recLogWritten.inc(batch.length);
        const took = performance.now() - started;
        this.nextWrite = performance.now() + took * (1 / this.maxShare - 1);
        if (batch.length === this.batch) {
          const ideal = (this.batch * (this.opts.targetWriteMs ?? 4)) / Math.max(took, 0.25);
          this.batch = Math.round(Math.min(this.batchSize, Math.max(10, (this.batch + ideal) / 2)));
        }
      } catch (err) {
        this.metrics.recLogDropped('store_error', batch.length);
        this.logger.debug({ err, rows: batch.length }, 'recommendation log rows dropped');
        return;
      } finally {
        for (const row of batch) this.pending.delete(row[0]);
      }
    }
  }

  /** Stops the timer and writes what is left (bounded by the breaker's timeout). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    while (this.flushing) await this.flushing;
    await this.flush();
  }
}

/**
 * The rows one by one, stepping aside for other work every few rows: encoding a batch for
 * COPY is synchronous, and in one piece it would hold up every answer queued behind it.
 */
async function* yielding(rows: readonly Row[], every = 25): AsyncGenerator<Row> {
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && i % every === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    yield rows[i];
  }
}
