// How micro-batches form from the bus's per-partition batches: a window closes at its
// interval, when it holds maxEvents, or when every free partition has a batch in it. Windows
// are prepared and written as a pipeline: a window's handler calls resolve when its write
// starts, its batches settle (ctx.settleLater) when the write is done, writes go one at a time
// in order, and a failed write hands its batches back and abandons every window after it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MicroBatcher, type Pending } from '../../src/speed/micro-batcher.js';
import { type Batch, BatchAbandonedError, type BatchContext } from '../../src/stores/bus/port.js';

const batch = (partition: number, n: number): Batch => ({
  topic: 't',
  partition,
  messages: Array.from({ length: n }, (_, i) => ({
    key: 'k',
    value: Buffer.from('x'),
    partition,
    offset: String(i),
    timestamp: 0,
  })),
});

/** A context that records the promise its batch settles with. */
function context(): BatchContext & { settled: () => Promise<void> } {
  let done: Promise<void> | null = null;
  return {
    attempt: 1,
    deadLetter() {},
    settleLater(p: Promise<void>) {
      assert.equal(done, null, 'settleLater once per batch');
      done = p;
    },
    settled: () => {
      assert.ok(done, 'the batch settles later');
      return done;
    },
  };
}
const ctx = () => context();

function later<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function batcher(opts: {
  intervalMs?: number;
  maxEvents?: number;
  assigned?: number;
  failPrepare?: boolean;
  /** Called when a window's write starts; its promise ends the write. */
  write?: (partitions: number[]) => Promise<void>;
}) {
  const windows: number[][] = [];
  const log: string[] = [];
  const b = new MicroBatcher({
    intervalMs: opts.intervalMs ?? 10_000,
    maxEvents: opts.maxEvents ?? 1000,
    assigned: () => opts.assigned ?? 4,
    prepare: async (w: readonly Pending[]) => {
      const partitions = w.map((p) => p.batch.partition);
      windows.push(partitions);
      log.push(`prepare ${partitions}`);
      if (opts.failPrepare) throw new Error('cannot decode');
      return async () => {
        log.push(`write ${partitions}`);
        await opts.write?.(partitions);
        log.push(`written ${partitions}`);
      };
    },
  });
  return { b, windows, log };
}

describe('micro-batcher', () => {
  it('closes a window at its interval with whatever arrived', async () => {
    const { b, windows } = batcher({ intervalMs: 50 });
    const started = Date.now();
    await Promise.all([b.handle(batch(0, 3), ctx()), b.handle(batch(1, 2), ctx())]);
    assert.ok(Date.now() - started >= 45);
    assert.deepEqual(windows, [[0, 1]]);
  });

  it('closes at once when every held partition has a batch in it (a backlog does not wait)', async () => {
    const { b, windows } = batcher({ intervalMs: 60_000, assigned: 2 });
    await Promise.all([b.handle(batch(0, 3), ctx()), b.handle(batch(1, 3), ctx())]);
    assert.deepEqual(windows, [[0, 1]]);
  });

  it('closes at once when it holds maxEvents', async () => {
    const { b, windows } = batcher({ intervalMs: 60_000, maxEvents: 5 });
    await Promise.all([b.handle(batch(0, 3), ctx()), b.handle(batch(1, 3), ctx())]);
    assert.deepEqual(windows, [[0, 1]]);
  });

  it('processes windows one after another, and flush() closes the open one', async () => {
    const { b, windows } = batcher({ intervalMs: 60_000, maxEvents: 3 });
    const first = b.handle(batch(0, 3), ctx());
    const second = b.handle(batch(1, 1), ctx());
    await first;
    await b.flush();
    await second;
    assert.deepEqual(windows, [[0], [1]]);
  });

  it('releases a window when its write starts, settles it when the write is done, and prepares the next meanwhile', async () => {
    const writes = [later(), later()];
    let n = 0;
    const { b, log } = batcher({ intervalMs: 60_000, assigned: 1, write: () => writes[n++]!.promise });
    const c0 = ctx();
    await b.handle(batch(0, 2), c0); // resolves while window 0 is being written
    assert.deepEqual(log, ['prepare 0', 'write 0']);
    let settled0 = false;
    void c0.settled().then(() => (settled0 = true));

    // The next batch of the partition is prepared during the write; its handler call waits
    // for the write before it.
    const c1 = ctx();
    let released1 = false;
    const h1 = b.handle(batch(0, 2), c1).then(() => (released1 = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(log, ['prepare 0', 'write 0', 'prepare 0']);
    assert.equal(released1, false, 'not released while the write before it runs');
    assert.equal(settled0, false);

    writes[0]!.resolve();
    await h1;
    await c0.settled();
    assert.deepEqual(log, ['prepare 0', 'write 0', 'prepare 0', 'written 0', 'write 0']);
    writes[1]!.resolve();
    await c1.settled();
    await b.flush();
  });

  it('hands every batch of a window that cannot be prepared back', async () => {
    const { b } = batcher({ intervalMs: 60_000, assigned: 2, failPrepare: true });
    const results = await Promise.allSettled([b.handle(batch(0, 1), ctx()), b.handle(batch(1, 1), ctx())]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
  });

  it('a failed write hands its batches back with the error and abandons every window after it', async () => {
    const first = later();
    let n = 0;
    const { b, log } = batcher({
      intervalMs: 60_000,
      assigned: 1,
      write: () => (n++ === 0 ? first.promise : Promise.resolve()),
    });
    const c0 = ctx();
    await b.handle(batch(0, 1), c0);
    const c1 = ctx();
    const h1 = b.handle(batch(0, 1), c1); // prepared, waits for write 0
    await new Promise((r) => setTimeout(r, 20));
    first.reject(new Error('constraint violated'));
    await h1; // released, given up
    await assert.rejects(c0.settled(), /constraint violated/);
    await assert.rejects(c1.settled(), BatchAbandonedError);
    assert.deepEqual(log, ['prepare 0', 'write 0', 'prepare 0']);

    // The redelivered batch goes through as usual.
    const c2 = ctx();
    await b.handle(batch(0, 1), c2);
    await c2.settled();
    assert.deepEqual(log.slice(3), ['prepare 0', 'write 0', 'written 0']);
  });
});
