// How micro-batches form from the bus's per-partition batches: a window closes at its
// interval, when it holds maxEvents, or when every held partition has a batch in it; all the
// handler calls of a window settle with it, and a failure hands every batch back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MicroBatcher, type Pending } from '../../src/speed/micro-batcher.js';
import type { Batch, BatchContext } from '../../src/stores/bus/port.js';

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
const ctx = { attempt: 1, deadLetter() {}, settleLater() {} } as BatchContext;

function batcher(opts: { intervalMs?: number; maxEvents?: number; assigned?: number; fail?: boolean }) {
  const windows: number[][] = [];
  const b = new MicroBatcher({
    intervalMs: opts.intervalMs ?? 10_000,
    maxEvents: opts.maxEvents ?? 1000,
    assigned: () => opts.assigned ?? 4,
    process: async (w: readonly Pending[]) => {
      windows.push(w.map((p) => p.batch.partition));
      if (opts.fail) throw new Error('store down');
    },
  });
  return { b, windows };
}

describe('micro-batcher', () => {
  it('closes a window at its interval with whatever arrived', async () => {
    const { b, windows } = batcher({ intervalMs: 50 });
    const started = Date.now();
    await Promise.all([b.handle(batch(0, 3), ctx), b.handle(batch(1, 2), ctx)]);
    assert.ok(Date.now() - started >= 45);
    assert.deepEqual(windows, [[0, 1]]);
  });

  it('closes at once when every held partition has a batch in it (a backlog does not wait)', async () => {
    const { b, windows } = batcher({ intervalMs: 60_000, assigned: 2 });
    await Promise.all([b.handle(batch(0, 3), ctx), b.handle(batch(1, 3), ctx)]);
    assert.deepEqual(windows, [[0, 1]]);
  });

  it('closes at once when it holds maxEvents', async () => {
    const { b, windows } = batcher({ intervalMs: 60_000, maxEvents: 5 });
    await Promise.all([b.handle(batch(0, 3), ctx), b.handle(batch(1, 3), ctx)]);
    assert.deepEqual(windows, [[0, 1]]);
  });

  it('processes windows one after another, and flush() closes the open one', async () => {
    const { b, windows } = batcher({ intervalMs: 60_000, maxEvents: 3 });
    const first = b.handle(batch(0, 3), ctx);
    const second = b.handle(batch(1, 1), ctx);
    await first;
    await b.flush();
    await second;
    assert.deepEqual(windows, [[0], [1]]);
  });

  it('hands every batch of a failed window back', async () => {
    const { b } = batcher({ intervalMs: 60_000, assigned: 2, fail: true });
    const results = await Promise.allSettled([b.handle(batch(0, 1), ctx), b.handle(batch(1, 1), ctx)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
  });
});
