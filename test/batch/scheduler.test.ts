// The batch scheduler on the embedded stores: catch-up of a missed slot at start (once), each
// slot run once by two schedulers sharing a database, and retries with backoff that give up.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { importMovieLens } from '../../src/batch/import-movielens.js';
import type { BatchDeps, RunOutcome } from '../../src/batch/pipeline.js';
import { BatchScheduler, type SchedulerOptions } from '../../src/batch/scheduler.js';
import { batchDeps } from '../../src/cli/batch-deps.js';
import { ComputePool } from '../../src/compute/pool.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import type { Stores } from '../../src/stores/index.js';
import { syntheticMovieLens, tempDir } from '../helpers.js';
import { openEmbeddedStores } from '../stores/support/pglite-dir.js';
import { waitFor } from '../stores/support/wait.js';

type SlotResult = RunOutcome | 'taken' | 'gave-up';

describe('batch scheduler (embedded)', () => {
  const tmp = tempDir();
  const ml = syntheticMovieLens({ users: 60, items: 80 });
  let stores: Stores;
  let pool: ComputePool;
  const config = loadConfig({
    env: {
      RECSYS_TRAIN_WINDOW_DAYS: 'all',
      RECSYS_ALS_ITERATIONS: '2',
      RECSYS_ALS_FACTORS: '8',
      RECSYS_TOP_N: '5',
    },
  });
  const deps = (over: Partial<BatchDeps> = {}): BatchDeps => ({
    ...batchDeps(config, stores, { pool, backend: 'js' }, silentLogger),
    ...over,
  });
  const scheduler = (d: BatchDeps, opts: Partial<SchedulerOptions>, seen: [Date, SlotResult][]) =>
    new BatchScheduler(d, {
      schedule: '0 2 * * *',
      timeZone: 'UTC',
      retries: 0,
      retryDelayMs: 100,
      ...opts,
      onSlot: (slot, r) => seen.push([slot, r]),
    });
  const slotRuns = async () =>
    (
      await stores.db.query<{ slot: Date; status: string }>(
        `SELECT scheduled_for AS slot, status FROM batch_runs WHERE scheduled_for IS NOT NULL ORDER BY created_at`,
      )
    ).rows;

  before(async () => {
    stores = await openEmbeddedStores(tmp.dir);
    pool = new ComputePool(1);
  });
  after(async () => {
    await pool.destroy();
    await stores.close();
    tmp.cleanup();
    ml.cleanup();
  });

  it('retries a failed slot with backoff, then gives up; each attempt is a failed run of that slot', async () => {
    // Nothing imported yet: every run fails in its read phase.
    const seen: [Date, SlotResult][] = [];
    const s = scheduler(deps({ now: () => Date.parse('2026-03-10T12:00:00Z') }), { retries: 2 }, seen);
    const t0 = performance.now();
    await s.start();
    await waitFor(() => seen.some(([, r]) => r === 'gave-up'), 'the scheduler to give up', 20_000);
    const ms = performance.now() - t0;
    await s.stop();
    const slot = new Date('2026-03-10T02:00:00Z');
    assert.deepEqual(
      seen.map(([at, r]) => [at.toISOString(), typeof r === 'string' ? r : r.status]),
      [
        [slot.toISOString(), 'failed'],
        [slot.toISOString(), 'failed'],
        [slot.toISOString(), 'failed'],
        [slot.toISOString(), 'gave-up'],
      ],
    );
    assert.ok(ms >= 300, `backoff 100 + 200 ms, took ${Math.round(ms)} ms`);
    const runs = await slotRuns();
    assert.deepEqual(
      runs.map((r) => [r.slot.toISOString(), r.status]),
      [0, 1, 2].map(() => [slot.toISOString(), 'failed']),
    );
  });

  it('catches up the slot it missed while down, once; a second start does not run it again', async () => {
    await importMovieLens(stores, ml.dir);
    const now = () => Date.parse('2026-03-11T09:30:00Z');
    const seen: [Date, SlotResult][] = [];
    const s = scheduler(deps({ now }), {}, seen);
    await s.start();
    await waitFor(() => seen.length > 0, 'the catch-up run', 30_000);
    await s.stop();
    const [[slot, result]] = seen;
    assert.equal(slot.toISOString(), '2026-03-11T02:00:00.000Z');
    assert.equal(typeof result === 'string' ? result : result.status, 'succeeded');
    const again: [Date, SlotResult][] = [];
    const s2 = scheduler(deps({ now }), {}, again);
    await s2.start();
    await new Promise((r) => setTimeout(r, 300));
    await s2.stop();
    assert.deepEqual(again, [], 'nothing missed since');
  });

  it('two schedulers on one database run each slot once', async () => {
    const a: [Date, SlotResult][] = [];
    const b: [Date, SlotResult][] = [];
    const opts = { schedule: '*/2 * * * * *', retries: 3 };
    const now = () => Date.now();
    const s1 = scheduler(deps({ now }), opts, a);
    const s2 = scheduler(deps({ now }), opts, b);
    const before = (await slotRuns()).length;
    await Promise.all([s1.start(), s2.start()]);
    await waitFor(
      async () =>
        (await slotRuns()).filter((r) => r.status === 'succeeded' || r.status === 'rejected').length >=
        before + 2,
      'two slots run',
      60_000,
    );
    await Promise.all([s1.stop(), s2.stop()]);
    const done = (await slotRuns()).slice(before).filter((r) => r.status !== 'failed');
    const slots = done.map((r) => r.slot.toISOString());
    assert.equal(new Set(slots).size, slots.length, `a slot ran twice: ${slots}`);
    // Each slot either ran in a scheduler or was seen there as taken by the other.
    const ran = [...a, ...b].filter(([, r]) => typeof r !== 'string').map(([at]) => at.toISOString());
    assert.deepEqual(new Set(ran), new Set(slots));
  });
});
