// Degradation with stores that fail or hang (fault-injecting wrappers around the embedded
// stores): answers keep coming from L0, L1, the model or popular items; nothing waits past
// the store timeout; the circuit breaker then answers at once; everything recovers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import type { Cache } from '../../src/stores/cache/port.js';
import {
  openStores,
  type RelationalStore,
  type Stores,
  StoreUnavailableError,
} from '../../src/stores/index.js';
import { tempDir } from '../helpers.js';
import { timed, waitFor } from '../stores/support/wait.js';
import { call, type Fixture, keyed, startFixture } from './fixture.js';

type Mode = 'ok' | 'down' | 'hang';

/** Wraps every method of a store: passes through, fails at once, or never answers. */
function flaky<T extends object>(inner: T, store: 'relational store' | 'cache', spare: string[] = []) {
  const state = { mode: 'ok' as Mode };
  const proxy = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || spare.includes(String(prop))) return value;
      return (...args: unknown[]) => {
        if (state.mode === 'down')
          return Promise.reject(
            new StoreUnavailableError('connection refused (injected)', { store, address: 'test' }),
          );
        if (state.mode === 'hang') return new Promise(() => {});
        return value.apply(target, args);
      };
    },
  });
  return { proxy, state };
}

describe('degradation', () => {
  let f: Fixture;
  let raw: Stores;
  let db: ReturnType<typeof flaky<RelationalStore>>;
  let cache: ReturnType<typeof flaky<Cache>>;
  const tmp = tempDir('recsys-degrade-');
  before(async () => {
    raw = await openStores(loadConfig({ env: {}, overrides: { dataDir: tmp.dir } }), {
      logger: silentLogger,
    });
    db = flaky(raw.db, 'relational store', ['close']);
    // Pub/sub stays up: these tests are about the request path.
    cache = flaky(raw.cache, 'cache', ['close', 'subscribe']);
    f = await startFixture({
      stores: { ...raw, db: db.proxy, cache: cache.proxy },
      env: { RECSYS_STORE_TIMEOUT_MS: '200' },
    });
    await raw.db.query(
      `INSERT INTO batch_recommendations (user_id, model_version, item_ids, scores) VALUES ('u50', $1, ARRAY['i1','i2','i3','i5','i7','i9','i11','i13','i15','i17','i19'], ARRAY[11,10,9,8,7,6,5,4,3,2,1]::real[])`,
      [f.model.meta.version],
    );
  });
  after(async () => {
    db.state.mode = 'ok';
    cache.state.mode = 'ok';
    await f?.close();
    await raw?.close();
    tmp.cleanup();
  });

  it('relational store hanging: model and popular answers within the timeout, then at once', async () => {
    await call(f.base, 'GET', '/v1/recommendations/u1'); // into L0 while all is well
    db.state.mode = 'hang';
    try {
      const first = await timed(call(f.base, 'GET', '/v1/recommendations/u2'));
      assert.ok(first.ms < 1500, `answered after ${first.ms} ms`);
      assert.equal(first.value!.status, 200);
      assert.equal(first.value!.body.source, 'l2', 'scored from the model in memory');
      const stranger = await call(f.base, 'GET', '/v1/recommendations/nobody-knows');
      assert.equal(stranger.body.source, 'popular');
      await call(f.base, 'GET', '/v1/recommendations/u3');
      // The circuit is open now: no more waiting on the store.
      const fast = await timed(call(f.base, 'GET', '/v1/recommendations/u4'));
      assert.ok(fast.ms < 100, `answered after ${fast.ms} ms with the circuit open`);
      assert.equal(fast.value!.body.source, 'l2');
      assert.equal(
        (await call(f.base, 'GET', '/v1/recommendations/u1')).body.source,
        'l0',
        'L0 still serves',
      );
      // Degraded answers are not cached.
      assert.notEqual((await call(f.base, 'GET', '/v1/recommendations/u4')).body.source, 'l0');
      // Events go to the bus (not this store), feedback needs the store.
      const ev = await call(
        f.base,
        'POST',
        '/v1/events',
        { user_id: 'u2', item_id: 'i1', type: 'click' },
        keyed,
      );
      assert.equal(ev.status, 202);
      const fb = await call(
        f.base,
        'POST',
        '/v1/feedback',
        { rec_id: first.value!.body.rec_id, item_id: 'i1', action: 'click' },
        keyed,
      );
      assert.equal(fb.status, 503);
      assert.equal(fb.body.error.code, 'store_unavailable');
      const ready = await call(f.base, 'GET', '/readyz');
      assert.equal(ready.status, 503);
      assert.match(ready.body.checks.db, /unavailable/);
      assert.equal(ready.body.circuits.db, 'open');
      await waitFor(
        async () =>
          /recsys_rec_log_dropped_total\{reason="store_error"\} [1-9]/.test(
            (await call(f.base, 'GET', '/metrics')).text,
          ),
        'log rows dropped and counted',
        8000,
      );
      assert.match((await call(f.base, 'GET', '/metrics')).text, /recsys_store_circuit_open\{store="db"\} 1/);
    } finally {
      db.state.mode = 'ok';
    }
    await waitFor(async () => (await call(f.base, 'GET', '/readyz')).status === 200, 'ready again', 5000);
    await waitFor(
      async () => (await call(f.base, 'GET', '/v1/recommendations/u50')).body.source === 'batch',
      'batch answers again',
      5000,
    );
  });

  it('relational store refusing connections: the same, failing fast from the first call', async () => {
    db.state.mode = 'down';
    try {
      const r = await timed(call(f.base, 'GET', '/v1/recommendations/u5'));
      assert.ok(r.ms < 200, `${r.ms} ms`);
      assert.equal(r.value!.body.source, 'l2');
      assert.equal((await call(f.base, 'GET', '/v1/items/popular')).status, 200);
      assert.equal((await call(f.base, 'GET', '/v1/similar/i3')).status, 200);
      assert.equal(
        (await call(f.base, 'POST', '/v1/recommendations/anonymous', { items: ['i1'] })).status,
        200,
      );
    } finally {
      db.state.mode = 'ok';
    }
  });

  it('cache down or hanging: answers come from the relational store', async () => {
    for (const mode of ['down', 'hang'] as const) {
      cache.state.mode = mode;
      try {
        // A distinct query per mode, so the first one's L0 entry does not answer the second.
        const r = await timed(
          call(f.base, 'GET', `/v1/recommendations/u50?k=4&category=odd&exclude=x-${mode}`),
        );
        assert.ok(r.ms < 1500, `${mode}: ${r.ms} ms`);
        assert.equal(r.value!.status, 200);
        assert.equal(r.value!.body.source, 'batch');
        assert.deepEqual(
          r.value!.body.items.map((i: { item_id: string }) => i.item_id),
          ['i1', 'i3', 'i5', 'i7'],
        );
        const ready = await call(f.base, 'GET', '/readyz');
        assert.equal(ready.status, 503);
        assert.match(ready.body.checks.cache, /unavailable|no answer/);
      } finally {
        cache.state.mode = 'ok';
      }
      await new Promise((r) => setTimeout(r, 1100)); // let the cache circuit close again
    }
  });

  it('with RECSYS_READY_REQUIRES=db,model a cache outage leaves /readyz at 200 "degraded"', async () => {
    await f.restart({ RECSYS_READY_REQUIRES: 'db,model' });
    try {
      assert.equal((await call(f.base, 'GET', '/readyz')).body.status, 'ready');
      cache.state.mode = 'down';
      const ready = await call(f.base, 'GET', '/readyz');
      assert.equal(ready.status, 200);
      assert.equal(ready.body.status, 'degraded');
      assert.match(ready.body.checks.cache, /unavailable/);
      cache.state.mode = 'ok';
      db.state.mode = 'down';
      const notReady = await call(f.base, 'GET', '/readyz');
      assert.equal(notReady.status, 503);
      assert.equal(notReady.body.status, 'not_ready');
    } finally {
      cache.state.mode = 'ok';
      db.state.mode = 'ok';
      await f.restart();
    }
  });
});
