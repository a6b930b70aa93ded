// Admin endpoints under contention: one training run at a time (a second request is 409
// while the first finishes normally), and model activation that waits a bounded time for
// this process to load the model (202 "activating" instead of a request that hangs).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, type Fixture, keyed, startFixture } from './fixture.js';

/** A promise with its resolve and reject at hand. */
function gate<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('admin endpoints under contention', () => {
  let f: Fixture;
  let runs = 0;
  /** What the next training run waits for (null: returns at once). */
  let hold: Promise<{ version: string }> | null = null;
  before(async () => {
    f = await startFixture({
      train: async () => {
        runs++;
        return hold ?? { version: `run-${runs}` };
      },
    });
  });
  after(() => f?.close());

  it('a second train request while one runs is 409; the first finishes normally', async () => {
    const g = gate<{ version: string }>();
    hold = g.promise;
    const before = runs;
    const first = call(f.base, 'POST', '/v1/admin/train', undefined, keyed);
    while (runs === before) await new Promise((r) => setTimeout(r, 5));
    const second = await call(f.base, 'POST', '/v1/admin/train', undefined, keyed);
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, 'training_in_progress');
    assert.equal(runs, before + 1, 'the second request did not start a run');
    g.resolve({ version: 'slow-run' });
    const done = await first;
    assert.equal(done.status, 200);
    assert.deepEqual(done.body, { version: 'slow-run' });
    hold = null;
    const third = await call(f.base, 'POST', '/v1/admin/train', undefined, keyed);
    assert.equal(third.status, 200, 'a finished run lets the next one start');
  });

  it('a failed training run releases the guard too', async () => {
    const g = gate<{ version: string }>();
    hold = g.promise;
    const before = runs;
    const first = call(f.base, 'POST', '/v1/admin/train', undefined, keyed);
    // Rejected once the run awaits it (a rejection nobody awaits yet would be unhandled).
    while (runs === before) await new Promise((r) => setTimeout(r, 5));
    g.reject(new Error('out of memory'));
    assert.equal((await first).status, 500);
    hold = null;
    assert.equal((await call(f.base, 'POST', '/v1/admin/train', undefined, keyed)).status, 200);
  });

  it('activation answers 202 "activating" when loading the model outlasts the bound', async () => {
    // Wait bound: 10 × the store timeout, here 1 s.
    await f.restart({ RECSYS_STORE_TIMEOUT_MS: '100' });
    const models = f.models;
    const reload = models.reload;
    const g = gate<void>();
    let loads = 0;
    models.reload = () => {
      loads++;
      return g.promise.then(() => reload.call(models));
    };
    try {
      const version = f.model.meta.version;
      const started = performance.now();
      const res = await fetch(`${f.base}/v1/admin/models/${version}/activate`, {
        method: 'POST',
        headers: keyed,
        signal: AbortSignal.timeout(8000),
      });
      const ms = performance.now() - started;
      assert.equal(res.status, 202);
      assert.deepEqual(await res.json(), { version, status: 'activating', serving: version });
      // The registry's announcement reloads too (one more load, same slow path).
      assert.ok(loads >= 1);
      assert.ok(ms >= 900 && ms < 5000, `answered after ${Math.round(ms)} ms`);
      // The load finishes in the background; a later activation is quick again.
      g.resolve();
      const again = await call(f.base, 'POST', `/v1/admin/models/${version}/activate`, undefined, keyed);
      assert.equal(again.status, 200);
      assert.equal(again.body.status, 'active');
    } finally {
      g.resolve();
      models.reload = reload;
      await f.restart();
    }
  });

  it('a failed load is still an error, not a 202', async () => {
    const models = f.models;
    const reload = models.reload;
    models.reload = () => Promise.reject(new Error('object store gone'));
    try {
      const r = await call(
        f.base,
        'POST',
        `/v1/admin/models/${f.model.meta.version}/activate`,
        undefined,
        keyed,
      );
      assert.equal(r.status, 500);
    } finally {
      models.reload = reload;
    }
  });
});
