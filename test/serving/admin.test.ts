// Admin endpoints under contention: one batch run at a time across processes (a start while
// one is open is 409 naming it; a run left open by a dead process is failed by the next), and model activation that waits a bounded time for
// this process to load the model (202 "activating" instead of a request that hangs).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openRun } from '../../src/model/runs.js';
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
  before(async () => {
    f = await startFixture({ batch: true });
  });
  after(() => f?.close());

  it('a start while a run is open anywhere is 409 naming it; once it ends the next one starts', async () => {
    // Held as another process would hold it: the run's lock and its open row.
    const held = await openRun(f.stores.db, { trigger: 'scheduler' });
    const refused = await call(f.base, 'POST', '/v1/admin/train', undefined, keyed);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'run_in_progress');
    assert.equal(refused.body.error.details.run_id, held.id);
    const open = await call(f.base, 'GET', `/v1/admin/runs/${held.id}`, undefined, keyed);
    assert.equal(open.body.status, 'queued');
    await held.finish({ status: 'rejected' });
    const next = await call(f.base, 'POST', '/v1/admin/train', undefined, keyed);
    assert.equal(next.status, 202);
    await f.runs.at(-1);
  });

  it('a run whose process died (open row, no lock) is marked failed, with its phase, by the next start', async () => {
    await f.stores.db.query(
      `INSERT INTO batch_runs (run_id, trigger, status, phase, started_at) VALUES ('dead-run', 'cli', 'running', 'precompute', now())`,
    );
    const next = await call(f.base, 'POST', '/v1/admin/train', undefined, keyed);
    assert.equal(next.status, 202);
    await f.runs.at(-1);
    const dead = await call(f.base, 'GET', '/v1/admin/runs/dead-run', undefined, keyed);
    assert.equal(dead.body.status, 'failed');
    assert.equal(dead.body.error, 'interrupted: its process ended during precompute');
    assert.ok(dead.body.finished_at);
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
