/**
 * Gathers the bus's per-partition batches into micro-batches, the unit the speed layer works
 * in (Spark Streaming's batch interval), and runs them as a two-stage pipeline: one window's
 * store writes go on while the next window is fetched and prepared (decoded, folded in).
 *  - A window opens with the first batch and closes `intervalMs` later, or at once when it
 *    holds `maxEvents` messages, or when it holds every partition that is free (held by this
 *    member and not in a closed window still waiting for its handler calls to resolve: no
 *    more can come until those resolve — a backlog is drained without waiting).
 *  - Closed windows are prepared one at a time, in the order they closed (`prepare`: the
 *    work that needs no store writes), and their writes (what `prepare` resolves to) run one
 *    at a time in the same order. A window's handler calls resolve once it is prepared and the
 *    write before it is done, i.e. when its own write starts; the bus then hands over the next
 *    batches, so at most one window is being written while the next is prepared. Each call
 *    has told the bus (ctx.settleLater) that its batch is settled only when the window's write
 *    is done: the offsets are committed after the write.
 *  - If `prepare` throws, every handler call of the window rejects and the bus retries the
 *    batches. If a write fails, its window's batches are handed back (the settleLater promise
 *    rejects with the error), and so is every window after it, prepared or not, as abandoned
 *    (BatchAbandonedError: not an attempt), since they must come again after it.
 */
import { type Batch, BatchAbandonedError, type BatchContext } from '../stores/bus/port.js';

export interface Pending {
  batch: Batch;
  ctx: BatchContext;
}

/** Stores what a prepared window computed; resolves once that is durable. */
export type WindowWrite = () => Promise<void>;

export interface MicroBatcherOptions {
  intervalMs: number;
  maxEvents: number;
  /** Partitions held now: when each free one has a batch waiting, the window closes early. */
  assigned: () => number;
  /** The first stage (no store writes); resolves to the second. */
  prepare: (window: readonly Pending[]) => Promise<WindowWrite>;
}

interface Signal {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function signal(): Signal {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Awaited by handler calls and the bus; a rejection nobody else awaits must not go unhandled.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

interface Window {
  items: Pending[];
  partitions: Set<number>;
  events: number;
  timer: NodeJS.Timeout | null;
  /** Handler calls resolve with it: prepared and its write started (or the window given up). */
  released: Signal;
  /** The window's write is done (ctx.settleLater). */
  written: Signal;
  abandoned: boolean;
}

export class MicroBatcher {
  private open: Window | null = null;
  /** Closed windows whose handler calls have not resolved yet, in order. */
  private readonly queue: Window[] = [];
  /** Windows not written yet (flush waits for them). */
  private readonly live = new Set<Window>();
  private preparing = false;
  /** The write in progress (or the last one), never rejecting. */
  private lastWrite: Promise<void> = Promise.resolve();

  constructor(private readonly opts: MicroBatcherOptions) {}

  /** The bus handler: resolves once the batch's window is prepared and being written. */
  readonly handle = (batch: Batch, ctx: BatchContext): Promise<void> => {
    const w = this.open ?? this.openWindow();
    w.items.push({ batch, ctx });
    w.partitions.add(batch.partition);
    w.events += batch.messages.length;
    ctx.settleLater(w.written.promise);
    const held = Math.max(1, this.opts.assigned());
    let busy = 0;
    for (const other of this.queue) busy += other.partitions.size;
    if (w.events >= this.opts.maxEvents || w.partitions.size >= Math.max(1, held - busy)) this.close(w);
    return w.released.promise;
  };

  /** Closes the open window now (stopping: what was handed over gets processed) and waits for every window. */
  async flush(): Promise<void> {
    if (this.open) this.close(this.open);
    await Promise.allSettled([...this.live].map((w) => w.written.promise));
  }

  private openWindow(): Window {
    const w: Window = {
      items: [],
      partitions: new Set(),
      events: 0,
      timer: null,
      released: signal(),
      written: signal(),
      abandoned: false,
    };
    w.timer = setTimeout(() => this.close(w), this.opts.intervalMs);
    this.open = w;
    this.live.add(w);
    w.written.promise.then(
      () => this.live.delete(w),
      () => this.live.delete(w),
    );
    return w;
  }

  private close(w: Window): void {
    if (this.open !== w) return;
    this.open = null;
    if (w.timer) clearTimeout(w.timer);
    this.queue.push(w);
    this.pump();
  }

  private pump(): void {
    if (this.preparing || this.queue.length === 0) return;
    this.preparing = true;
    const w = this.queue[0]!;
    void this.advance(w).finally(() => {
      this.queue.shift();
      this.preparing = false;
      this.pump();
    });
  }

  /** Prepares `w`, waits for the write before it, then starts its own and releases its handler calls. */
  private async advance(w: Window): Promise<void> {
    let write: WindowWrite;
    if (w.abandoned) return this.giveUp(w);
    try {
      write = await this.opts.prepare(w.items);
    } catch (err) {
      w.released.reject(err);
      w.written.reject(err);
      return;
    }
    await this.lastWrite;
    if (w.abandoned) return this.giveUp(w);
    const writing = write();
    this.lastWrite = writing.then(
      () => w.written.resolve(),
      (err: unknown) => {
        w.written.reject(err);
        this.abandonAfter();
      },
    );
    w.released.resolve();
  }

  /** A write failed: every window after it comes again after it. */
  private abandonAfter(): void {
    for (const w of this.queue) w.abandoned = true;
    const open = this.open;
    if (open) {
      this.open = null;
      if (open.timer) clearTimeout(open.timer);
      open.abandoned = true;
      this.giveUp(open);
    }
  }

  private giveUp(w: Window): void {
    w.released.resolve();
    w.written.reject(new BatchAbandonedError());
  }
}
