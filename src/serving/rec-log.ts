/**
 * recommendation_logs, written off the request path: answers are queued in memory (bounded)
 * and inserted in batches with COPY every ~100 ms. When the queue is full or the store
 * fails, rows are dropped and counted — an answer is never held back or failed for its log
 * line, and logging never takes more than its share of the event loop. Feedback that
 * follows an answer within moments finds its user among the queued rows, before the row
 * lands in the store.
 */

import type { Logger } from '../logger.js';
import type { Stores } from '../stores/index.js';
import type { Source } from './answers.js';
import type { ServingMetrics } from './metrics.js';
import { REC_ID_LENGTH as ID, type RecIdSource } from './rec-ids.js';

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

/**
 * The queue: a ring of preallocated columns, rec_ids kept as their 36 ASCII bytes. Queuing
 * an answer allocates nothing that outlives the request, and nothing churns when the queue
 * is full: a queue of row arrays with a rec_id→user Map, at 20 000 rows under a flood of
 * requests, made scavenges, array copies and rehashes the main source of tail latency.
 */
class Ring {
  readonly recIds: Buffer;
  readonly users: string[];
  readonly versions: Array<string | null>;
  readonly sources: Source[];
  readonly items: Array<readonly string[]>;
  readonly scores: Array<readonly number[]>;
  readonly servedAt: Float64Array;
  readonly latencyUs: Int32Array;
  /** Slot of the oldest row. */
  head = 0;
  count = 0;

  constructor(readonly capacity: number) {
    this.recIds = Buffer.alloc(capacity * ID);
    this.users = new Array<string>(capacity).fill('');
    this.versions = new Array<string | null>(capacity).fill(null);
    this.sources = new Array<Source>(capacity).fill('l0');
    this.items = new Array<readonly string[]>(capacity).fill(NONE);
    this.scores = new Array<readonly number[]>(capacity).fill(NONE);
    this.servedAt = new Float64Array(capacity);
    this.latencyUs = new Int32Array(capacity);
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  /** The slot for a new row (the caller fills every column). */
  push(): number {
    const slot = (this.head + this.count) % this.capacity;
    this.count++;
    return slot;
  }

  setRecId(slot: number, recId: string | RecIdSource): void {
    const at = slot * ID;
    if (typeof recId !== 'string') recId.copyRecId(this.recIds, at);
    else for (let i = 0; i < ID; i++) this.recIds[at + i] = recId.charCodeAt(i);
  }

  /** The slot of a queued row with this rec_id (lower-case), or -1. */
  find(recId: string): number {
    if (recId.length !== ID) return -1;
    const ids = this.recIds;
    const c0 = recId.charCodeAt(0);
    const c1 = recId.charCodeAt(1);
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head + i) % this.capacity;
      const at = slot * ID;
      // Random hex: the first two characters rule out all but 1 in 256 rows.
      if (ids[at] !== c0 || ids[at + 1] !== c1) continue;
      let k = 2;
      while (k < ID && ids[at + k] === recId.charCodeAt(k)) k++;
      if (k === ID) return slot;
    }
    return -1;
  }

  /** The row at position i from the oldest, as copyRows takes it. */
  row(i: number): unknown[] {
    const j = (this.head + i) % this.capacity;
    return [
      this.recIds.toString('latin1', j * ID, j * ID + ID),
      this.users[j],
      this.versions[j],
      this.sources[j],
      this.items[j],
      this.scores[j],
      new Date(this.servedAt[j]),
      this.latencyUs[j],
    ];
  }

  /** Frees the n oldest rows, letting go of what they referenced. */
  shift(n: number): void {
    for (let i = 0; i < n; i++) {
      const j = (this.head + i) % this.capacity;
      this.items[j] = NONE;
      this.scores[j] = NONE;
    }
    this.head = (this.head + n) % this.capacity;
    this.count -= n;
  }
}

const NONE: readonly never[] = Object.freeze([]);

export class RecLog {
  private readonly ring: Ring;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextWrite = 0;
  /** Rows in the next insert, adapted towards targetWriteMs. */
  private batch: number;
  private readonly batchSize: number;
  private readonly maxShare: number;

  constructor(
    private readonly db: Stores['db'],
    private readonly metrics: ServingMetrics,
    private readonly logger: Logger,
    private readonly opts: RecLogOptions = {},
  ) {
    const maxQueue = Math.max(0, opts.maxQueue ?? 20_000);
    this.ring = new Ring(maxQueue);
    this.batchSize = Math.max(1, opts.batchSize ?? 1000);
    this.maxShare = Math.min(1, Math.max(0.01, opts.maxShare ?? 0.1));
    this.batch = Math.min(100, this.batchSize);
  }

  start(): void {
    this.timer = setInterval(() => {
      if (performance.now() >= this.nextWrite) void this.flush(1);
    }, this.opts.intervalMs ?? 100);
    this.timer.unref();
  }

  /** Rows waiting, including those of an insert in flight. */
  get queued(): number {
    return this.ring.count;
  }

  /**
   * Whether a row would be queued now; when not (queue full) the row counts as dropped here,
   * so a caller can skip building it and must not call add().
   */
  admit(): boolean {
    if (!this.ring.full) return true;
    this.metrics.recLogDropped('queue_full', 1);
    return false;
  }

  /**
   * The user of an answer whose row is still queued (not yet in the store). A scan of at
   * most maxQueue rows, ~20 µs at 20 000: feedback is far rarer than answers, which in
   * exchange queue without allocating an index entry each.
   */
  userOf(recId: string): string | undefined {
    const slot = this.ring.find(recId);
    return slot < 0 ? undefined : this.ring.users[slot];
  }

  /** `recId`: the answer's id, or what just wrote the answer (its rec_id bytes are copied). */
  add(
    recId: string | RecIdSource,
    userId: string,
    modelVersion: string | null,
    source: Source,
    items: readonly string[],
    scores: readonly number[],
    latencyUs: number,
  ): void {
    const ring = this.ring;
    if (ring.full) {
      this.metrics.recLogDropped('queue_full', 1);
      return;
    }
    const j = ring.push();
    ring.setRecId(j, recId);
    ring.users[j] = userId;
    ring.versions[j] = modelVersion;
    ring.sources[j] = source;
    ring.items[j] = items;
    ring.scores[j] = scores;
    ring.servedAt[j] = Date.now();
    ring.latencyUs[j] = Math.min(latencyUs, 2 ** 31 - 1);
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
    const ring = this.ring;
    for (let n = 0; n < batches && ring.count > 0; n++) {
      // The batch's rows stay in the ring (new answers queue behind them) until written.
      const size = Math.min(ring.count, this.batch);
      const started = performance.now();
      try {
        await this.db.copyRows('recommendation_logs', COLUMNS, yielding(ring, size));
        this.metrics.recLogWritten.inc(size);
        const took = performance.now() - started;
        this.nextWrite = performance.now() + took * (1 / this.maxShare - 1);
        if (size === this.batch) {
          const ideal = (this.batch * (this.opts.targetWriteMs ?? 4)) / Math.max(took, 0.25);
          this.batch = Math.round(Math.min(this.batchSize, Math.max(10, (this.batch + ideal) / 2)));
        }
      } catch (err) {
        this.metrics.recLogDropped('store_error', size);
        this.logger.debug({ err, rows: size }, 'recommendation log rows dropped');
        return;
      } finally {
        ring.shift(size);
      }
    }
  }

  /** Stops the timer and writes what is left (bounded by the store's timeout, when it is wrapped). */
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
async function* yielding(ring: Ring, n: number, every = 25): AsyncGenerator<unknown[]> {
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % every === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    yield ring.row(i);
  }
}
