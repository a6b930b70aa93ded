/**
 * Gathers the bus's per-partition batches into micro-batches, the unit the speed layer works
 * in (Spark Streaming's batch interval). The bus hands over one batch per partition at a time
 * and commits it when the handler resolves, so a handler call here waits until its window is
 * processed, and all calls of a window settle together:
 *  - a window opens with the first batch and closes `intervalMs` later, or at once when it
 *    holds `maxEvents` messages, or when every partition this member holds has a batch in it
 *    (no more can come until the window settles — a backlog is drained without waiting);
 *  - closed, it is processed by one call of `process`, while the next window fills;
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
  /** Partitions held now: when each has a batch waiting, the window closes early. */
  assigned: () => number;
  process: (window: readonly Pending[]) => Promise<void>;
}

interface Window {
  items: Pending[];
  events: number;
  timer: NodeJS.Timeout | null;
  done: Promise<void>;
  close: () => void;
}

export class MicroBatcher {
  private open: Window | null = null;
  /** Windows are processed one after another, in the order they closed. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: MicroBatcherOptions) {}

  /** The bus handler: resolves once the batch's window has been processed. */
  readonly handle = (batch: Batch, ctx: BatchContext): Promise<void> => {
    const w = this.open ?? this.openWindow();
    w.items.push({ batch, ctx });
    w.events += batch.messages.length;
    const partitions = new Set(w.items.map((p) => p.batch.partition)).size;
    if (w.events >= this.opts.maxEvents || partitions >= Math.max(1, this.opts.assigned())) w.close();
    return w.done;
  };

  /** Closes the open window now (stopping: what was handed over gets processed). */
  flush(): Promise<void> {
    const w = this.open;
    if (!w) return this.chain;
    w.close();
    return w.done.catch(() => {});
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
    const w: Window = {
      items: [],
      events: 0,
      timer: null,
      done,
      close: () => {
        if (this.open !== w) return;
        this.open = null;
        if (w.timer) clearTimeout(w.timer);
        const run = this.chain.then(() => this.opts.process(w.items));
        this.chain = run.then(resolve, reject);
      },
    };
    w.timer = setTimeout(w.close, this.opts.intervalMs);
    this.open = w;
    return w;
  }
}
