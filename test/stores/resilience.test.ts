// The resilience wrapper (src/stores/resilience.ts) around real embedded adapters: a closed
// PGlite store fails fast and opens the circuit, a query stuck behind another transaction
// times out, the wrapped ports keep working and passing through what is not a call. The
// half-open cycle runs against a tiny in-test fake port (clearly a fake, for deterministic
// timing only): a store that answers, fails or hangs on demand.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTableBus } from '../../src/stores/bus/table-bus.js';
import { openMemoryCache } from '../../src/stores/cache/memory.js';
import {
  CircuitOpenError,
  NotFoundError,
  QueryError,
  StoreClosedError,
  StoreError,
  StoreTimeoutError,
  StoreUnavailableError,
} from '../../src/stores/errors.js';
import { openLocalObjects } from '../../src/stores/objects/local.js';
import { migrate } from '../../src/stores/relational/migrate.js';
import { openPglite } from '../../src/stores/relational/pglite.js';
import type { QueryResult, RelationalStore } from '../../src/stores/relational/port.js';
import { type BreakerState, isOutage, resilient } from '../../src/stores/resilience.js';
import { tempDir } from '../helpers.js';
import { freshPgliteDir } from './support/pglite-dir.js';
import { delay, timed, waitFor } from './support/wait.js';

describe('resilient stores', () => {
  const tmp = tempDir('recsys-resilience-');
  let db: RelationalStore;
  // The wrapper's timers are unref'd (they never hold a process open); something must here.
  const keepAlive = setInterval(() => {}, 1000);

  before(async () => {
    db = await openPglite({ dir: await freshPgliteDir(tmp.dir) });
    await migrate(db);
  });
  after(async () => {
    clearInterval(keepAlive);
    await db.close();
    tmp.cleanup();
  });

  it('a wrapped PGlite store answers as the store does and keeps its address', async () => {
    const guarded = resilient('relational store', db, { timeoutMs: 5000 });
    assert.equal(guarded.address, db.address);
    assert.deepEqual((await guarded.query<{ n: number }>('SELECT 2::int AS n')).rows, [{ n: 2 }]);
    const n = await guarded.transaction(async (tx) => {
      await tx.exec('CREATE TEMP TABLE t (x int)');
      return tx.copyRows('t', ['x'], [[1], [2]]);
    });
    assert.equal(n, 2);
    // A failed statement means the server answered: it passes unchanged and opens nothing.
    for (let i = 0; i < 5; i++) await assert.rejects(guarded.query('SELEC 1'), QueryError);
    // Nor do the caller's own errors thrown inside a transaction.
    for (let i = 0; i < 5; i++)
      await assert.rejects(
        guarded.transaction(async () => {
          throw new RangeError('not a store failure');
        }),
        RangeError,
      );
    assert.equal(guarded.circuit.state, 'closed');
  });

  it('a closed PGlite store: calls fail with its StoreError, then the circuit opens and refuses at once', async () => {
    const closed = await openPglite({ dir: await freshPgliteDir(tempDir('recsys-resilience-closed-').dir) });
    await closed.close();
    const states: Array<[BreakerState, Error | undefined]> = [];
    const guarded = resilient('relational store', closed, {
      timeoutMs: 1000,
      failureThreshold: 3,
      cooldownMs: 60_000,
      onStateChange: (state, cause) => states.push([state, cause]),
    });
    for (let i = 0; i < 3; i++) await assert.rejects(guarded.query('SELECT 1'), StoreClosedError);
    assert.equal(guarded.circuit.state, 'open');
    assert.equal(guarded.circuit.refusing, true);
    assert.equal(states.length, 1);
    assert.equal(states[0][0], 'open');
    assert.ok(states[0][1] instanceof StoreClosedError, 'the failure that opened it');
    for (const call of [() => guarded.query('SELECT 1'), () => guarded.exec('SELECT 1')]) {
      const r = await timed<unknown>(call());
      assert.ok(r.error instanceof CircuitOpenError, String(r.error));
      assert.ok(r.error instanceof StoreUnavailableError && r.error.retriable);
      assert.ok(r.ms < 50, `refused after ${r.ms} ms`);
      // Which store, where, and what opened it.
      assert.equal(r.error.store, 'relational store');
      assert.match(r.error.message, /^relational store \(PGlite at .*\): circuit open/);
      assert.ok(r.error.cause instanceof StoreClosedError);
    }
    // close() is not a call: it passes through, circuit or not.
    await guarded.close();
  });

  it('a query stuck behind another transaction times out with StoreTimeoutError', async () => {
    const guarded = resilient('relational store', db, { timeoutMs: 100, failureThreshold: 2 });
    // PGlite runs one statement at a time: an open transaction holds every other query back.
    let release!: () => void;
    const holding = db.transaction(async (tx) => {
      await tx.query('SELECT 1');
      await new Promise<void>((r) => {
        release = r;
      });
    });
    await waitFor(() => release !== undefined, 'the transaction to start');
    try {
      const r = await timed(guarded.query('SELECT 1'));
      assert.ok(r.error instanceof StoreTimeoutError, String(r.error));
      assert.equal(r.error.ms, 100);
      assert.ok(r.ms >= 90 && r.ms < 1000, `timed out after ${r.ms} ms`);
      assert.match(r.error.message, /^relational store \(PGlite at .*\): no answer within 100 ms$/);
      assert.equal(guarded.circuit.state, 'closed', 'one timeout is not yet an outage');
      await assert.rejects(guarded.query('SELECT 1'), StoreTimeoutError);
      assert.equal(guarded.circuit.state, 'open');
      await assert.rejects(guarded.query('SELECT 1'), CircuitOpenError);
    } finally {
      release();
      await holding;
    }
    // The timed-out queries were not cancelled; they finish once the store is free.
    assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
  });

  it('cache, bus and object store: calls go through the circuit, subscriptions and consumers pass through', async () => {
    const cache = resilient('cache', openMemoryCache(), { timeoutMs: 1000 });
    await cache.mset([{ key: 'a', value: '1' }]);
    await cache.set('b', '2', 60_000);
    assert.deepEqual(await cache.mget(['a', 'b', 'c']), ['1', '2', null]);
    const heard: string[] = [];
    const off = await cache.subscribe('ch', (m) => heard.push(m));
    await cache.publish('ch', 'hello');
    await waitFor(() => heard.length === 1, 'the message');
    await off();
    assert.equal(await cache.del(['a', 'b']), 2);
    await cache.close();
    await assert.rejects(cache.get('a'), StoreClosedError);

    const objects = resilient('object store', await openLocalObjects({ dir: `${tmp.dir}/objects` }), {
      timeoutMs: 1000,
    });
    await objects.put('m/v1/model.json', Buffer.from('{}'));
    assert.equal(await objects.exists('m/v1/model.json'), true);
    assert.deepEqual(await objects.list('m/'), ['m/v1/model.json']);
    // A missing key is an answer, not an outage.
    for (let i = 0; i < 5; i++) await assert.rejects(objects.get('m/none'), NotFoundError);
    assert.equal(objects.circuit.state, 'closed');
    await objects.delete('m/v1/model.json');

    // The bus's consumer outlives any call timeout: consume() is passed through, not bounded.
    const bus = resilient('event bus', openTableBus({ db, partitions: 2 }), { timeoutMs: 50 });
    await bus.ensureTopic('resilience');
    await bus.ping();
    const got: string[] = [];
    const consumer = await bus.consume({
      topic: 'resilience',
      groupId: 'g',
      handler: async (batch) => {
        for (const m of batch.messages) got.push(m.value.toString());
      },
    });
    await delay(150);
    await bus.publish('resilience', [{ key: 'u1', value: 'late' }]);
    await waitFor(() => got.includes('late'), 'a message published after the call timeout', 10_000);
    await consumer.stop();
    await bus.close();
  });

  it('counts as an outage only what says the store did not answer', () => {
    const ctx = { store: 'cache' as const, address: 'x' };
    assert.equal(isOutage(new StoreUnavailableError('refused', ctx)), true);
    assert.equal(isOutage(new StoreClosedError(ctx)), true);
    assert.equal(isOutage(new StoreError('odd', ctx, false)), true);
    assert.equal(isOutage(new QueryError('bad', '42601', { ...ctx, store: 'relational store' })), false);
    assert.equal(isOutage(new NotFoundError('k', ctx)), false);
    assert.equal(isOutage(new TypeError('a bug')), false);
  });
});

/**
 * FAKE, for the breaker's state machine only: a relational store port that answers, fails
 * like a refused connection, or never answers, as the test says. Every real failure mode is
 * covered against PGlite above; this one only makes the timing of the half-open cycle exact.
 */
function switchableStore() {
  const ctx = { store: 'relational store' as const, address: 'fake at test' };
  const sw = { mode: 'ok' as 'ok' | 'down' | 'hang', calls: 0 };
  const answer = async <R>(): Promise<QueryResult<R>> => {
    sw.calls++;
    if (sw.mode === 'down') throw new StoreUnavailableError('connection refused', ctx);
    if (sw.mode === 'hang') return new Promise(() => {});
    return { rows: [], rowCount: 0 };
  };
  const store: RelationalStore = {
    address: ctx.address,
    query: answer,
    exec: async () => {
      await answer();
    },
    copyRows: async () => (await answer()).rowCount,
    copyBinary: async () => {
      await answer();
    },
    transaction: async () => {
      throw new Error('not used');
    },
    tryLock: async () => {
      throw new Error('not used');
    },
    close: async () => {},
  };
  return { store, sw };
}

describe('circuit breaker state machine (fake port)', () => {
  const keepAlive = setInterval(() => {}, 1000);
  after(() => clearInterval(keepAlive));

  it('opens after N outages, half-opens after the cool-down with one trial, closes on its success', async () => {
    const { store, sw } = switchableStore();
    const states: BreakerState[] = [];
    const g = resilient('relational store', store, {
      timeoutMs: 50,
      failureThreshold: 2,
      cooldownMs: 150,
      onStateChange: (s) => states.push(s),
    });
    sw.mode = 'down';
    await assert.rejects(g.query('x'), StoreUnavailableError);
    assert.equal(g.circuit.state, 'closed');
    sw.mode = 'hang';
    await assert.rejects(g.query('x'), StoreTimeoutError);
    assert.equal(g.circuit.state, 'open');
    const before = sw.calls;
    await assert.rejects(g.query('x'), CircuitOpenError);
    assert.equal(sw.calls, before, 'refused without calling the store');

    // After the cool-down one trial goes through; others meanwhile are refused at once.
    await delay(170);
    assert.equal(g.circuit.refusing, false);
    const trial = g.query('x'); // hangs: the trial times out
    assert.equal(g.circuit.state, 'half-open');
    const other = await timed(g.query('x'));
    assert.ok(other.error instanceof CircuitOpenError);
    assert.ok(other.ms < 20, `${other.ms} ms`);
    await assert.rejects(trial, StoreTimeoutError);
    assert.equal(g.circuit.state, 'open', 'a failed trial opens the circuit again');

    sw.mode = 'ok';
    await assert.rejects(g.query('x'), CircuitOpenError, 'a fresh cool-down');
    await delay(170);
    assert.deepEqual(await g.query('x'), { rows: [], rowCount: 0 });
    assert.equal(g.circuit.state, 'closed');
    assert.deepEqual(states, ['open', 'half-open', 'open', 'half-open', 'closed']);
  });
});
