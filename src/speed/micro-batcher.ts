/**
 * Gathers the bus's per-partition batches into micro-batches, the unit the speed layer works
 * in (Spark Streaming's batch interval). The bus hands over one batch per partition at a time
 * and commits it when the handler resolves, so a handler call here waits until its window is
 * processed, and all calls of a window settle together:
 *  - a window opens with the first batch and closes `intervalMs` later, or at once when it
 *    holds `maxEvents` messages, or when it holds every partition that is free (held by this
 *    member and not in a window already closed: no more can come until a window settles — a
 *    backlog is drained without waiting);
 *  - closed, it is processed by one call of `process` while the next window fills; windows
 *    are processed one at a time, in the order they closed (two at once, their database work
 *    overlapping, measured no faster on two cores: the database and the decoding already
 *    share them);
 *  - if `process` throws, every batch of the window is handed back (each handler call
 *    rejects), and the bus retries them.
 */
import type { Batch, BatchContext } from '../stores/bus/port.js';

export interface Pending {
  batch: Batch;
  ctx: BatchContext;
}

export interface MicroBatcherOptions {
  intervalMs: number;
  maxEvents: number;
  /** Partitions held now: when each free one has a batch waiting, the window closes early. */
  assigned: () => number;
  process: (window: readonly Pending[]) => Promise<void>;
}

interface Window {
  items: Pending[];
  partitions: Set<number>;
  events: number;
  timer: NodeJS.Timeout | null;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class MicroBatcher {
  private open: Window | null = null;
  private readonly waiting: Window[] = [];
  private readonly running = new Set<Window>();

  constructor(private readonly opts: MicroBatcherOptions) {}

  /** The bus handler: resolves once the batch's window has been processed. */
  readonly handle = (batch: Batch, ctx: BatchContext): Promise<void> => {
    const w = this.open ?? this.openWindow();
    w.items.push({ batch, ctx });
    w.partitions.add(batch.partition);
    w.events += batch.messages.length;
    const held = Math.max(1, this.opts.assigned());
    let busy = 0;
    for (const other of [...this.running, ...this.waiting]) busy += other.partitions.size;
    if (w.events >= this.opts.maxEvents || w.partitions.size >= Math.max(1, held - busy)) this.close(w);
    return w.done;
  };

  /** Closes the open window now (stopping: what was handed over gets processed) and waits for every window. */
  async flush(): Promise<void> {
    if (this.open) this.close(this.open);
    await Promise.allSettled([...this.running, ...this.waiting].map((w) => w.done));
  }

  private openWindow(): Window {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Every handler call awaits `done`; a rejection nobody else awaits must not go unhandled.
    done.catch(() => {});
    const w: Window = { items: [], partitions: new Set(), events: 0, timer: null, done, resolve, reject };
    w.timer = setTimeout(() => this.close(w), this.opts.intervalMs);
    this.open = w;
    return w;
  }

  private close(w: Window): void {
    if (this.open !== w) return;
    this.open = null;
    if (w.timer) clearTimeout(w.timer);
    this.waiting.push(w);
    this.pump();
  }

  private pump(): void {
    while (this.running.size === 0 && this.waiting.length > 0) {
      const w = this.waiting.shift()!;
      this.running.add(w);
      this.opts
        .process(w.items)
        .then(w.resolve, w.reject)
        .finally(() => {
          this.running.delete(w);
          this.pump();
        });
    }
  }
}
