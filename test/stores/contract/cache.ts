// The cache contract, written once; each adapter's test file supplies a factory.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Cache } from '../../../src/stores/cache/port.js';
import { StoreClosedError } from '../../../src/stores/errors.js';
import { delay, uid, waitFor } from '../support/wait.js';

export interface CacheHarness {
  cache: Cache;
  cleanup(): Promise<void>;
}

export function cacheContract(name: string, create: () => Promise<CacheHarness>): void {
  describe(`cache contract: ${name}`, () => {
    let h: CacheHarness;
    let cache: Cache;
    // Keys are unique per test so runs against a shared server cannot see each other.
    let k: (s: string) => string;
    before(async () => {
      h = await create();
      cache = h.cache;
      const run = uid('t');
      k = (s) => `${run}:${s}`;
    });
    after(async () => h?.cleanup());

    test('set, get, overwrite and del', async () => {
      assert.equal(await cache.get(k('missing')), null);
      await cache.set(k('a'), 'one');
      assert.equal(await cache.get(k('a')), 'one');
      await cache.set(k('a'), 'two ✓');
      assert.equal(await cache.get(k('a')), 'two ✓');
      assert.equal(await cache.del(k('a')), 1);
      assert.equal(await cache.del([k('a'), k('never')]), 0);
      assert.equal(await cache.get(k('a')), null);
    });

    test('entries expire after their TTL; entries without one stay', async () => {
      await cache.set(k('short'), 'x', 150);
      await cache.set(k('long'), 'y', 60_000);
      await cache.set(k('forever'), 'z');
      assert.equal(await cache.get(k('short')), 'x');
      await delay(400);
      assert.equal(await cache.get(k('short')), null);
      assert.equal(await cache.get(k('long')), 'y');
      assert.equal(await cache.get(k('forever')), 'z');
    });

    test('mget returns values in key order with null for missing or expired', async () => {
      await cache.set(k('m1'), '1');
      await cache.set(k('m3'), '3');
      await cache.set(k('m4'), '4', 100);
      await delay(300);
      assert.deepEqual(await cache.mget([k('m1'), k('m2'), k('m3'), k('m4')]), ['1', null, '3', null]);
      assert.deepEqual(await cache.mget([]), []);
    });

    test('mset writes many entries in one call, each with its own TTL', async () => {
      const entries = Array.from({ length: 200 }, (_, i) => ({
        key: k(`p${i}`),
        value: `v${i}`,
        ttlMs: i % 2 === 0 ? 150 : undefined,
      }));
      await cache.mset(entries);
      const all = await cache.mget(entries.map((e) => e.key));
      assert.deepEqual(
        all,
        entries.map((e) => e.value),
      );
      await delay(400);
      const later = await cache.mget(entries.map((e) => e.key));
      assert.deepEqual(
        later,
        entries.map((e, i) => (i % 2 === 0 ? null : e.value)),
      );
      await cache.mset([]);
      assert.equal(await cache.del(entries.map((e) => e.key)), 100);
    });

    test('publish reaches every subscriber of the channel, and only them', async () => {
      const channel = k('invalidate');
      const a: string[] = [];
      const b: string[] = [];
      const other: string[] = [];
      const offA = await cache.subscribe(channel, (m) => a.push(m));
      const offB = await cache.subscribe(channel, (m, ch) => b.push(`${ch}|${m}`));
      const offOther = await cache.subscribe(k('elsewhere'), (m) => other.push(m));
      await cache.publish(channel, 'user:42');
      await cache.publish(channel, 'user:43');
      await waitFor(() => a.length === 2 && b.length === 2, 'both subscribers to get both messages', 5000);
      assert.deepEqual(a, ['user:42', 'user:43']);
      assert.deepEqual(b, [`${channel}|user:42`, `${channel}|user:43`]);
      assert.deepEqual(other, []);

      await offA();
      await cache.publish(channel, 'user:44');
      await waitFor(() => b.length === 3, 'the remaining subscriber to get the message', 5000);
      await delay(50);
      assert.deepEqual(a, ['user:42', 'user:43']);
      await offB();
      await offOther();
    });

    test('a subscriber that throws does not stop delivery to the others', async () => {
      const channel = k('faulty');
      const got: string[] = [];
      const offBad = await cache.subscribe(channel, () => {
        throw new Error('subscriber bug');
      });
      const offGood = await cache.subscribe(channel, (m) => got.push(m));
      await cache.publish(channel, 'm1');
      await cache.publish(channel, 'm2');
      await waitFor(() => got.length === 2, 'delivery despite a throwing subscriber', 5000);
      await offBad();
      await offGood();
    });

    test('calls after close() fail with StoreClosedError', async () => {
      const other = await create();
      await other.cache.close();
      await assert.rejects(other.cache.get('x'), StoreClosedError);
      await other.cleanup();
    });
  });
}
