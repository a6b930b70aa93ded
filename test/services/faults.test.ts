// A server that goes away while the process runs: calls fail with a catchable, retriable
// StoreError within a bound (no hang, no crash from an unhandled 'error' event), and the
// adapter works again once the server is back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../src/logger.js';
import { openRedisCache } from '../../src/stores/cache/redis.js';
import { StoreUnavailableError } from '../../src/stores/errors.js';
import { openMinioObjects } from '../../src/stores/objects/minio.js';
import { openPostgres } from '../../src/stores/relational/postgres.js';
import { timed, uid, waitFor } from '../stores/support/wait.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';
import { TcpProxy } from './tcp-proxy.js';

const unexpected: unknown[] = [];
const onUnexpected = (err: unknown) => unexpected.push(err);

/** Points `url` at the proxy's port instead of the server's. */
function viaProxy(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

function proxyFor(url: string): TcpProxy {
  const u = new URL(url);
  return new TcpProxy(u.hostname, Number(u.port));
}

/** Repeats `op` until it succeeds (the adapter reconnects in the background). */
async function recovers(op: () => Promise<unknown>, what: string): Promise<void> {
  await waitFor(
    async () => {
      try {
        await op();
        return true;
      } catch {
        return false;
      }
    },
    what,
    15_000,
  );
}

async function failsCleanly(op: Promise<unknown>, store: string): Promise<void> {
  const { ms, error } = await timed(op);
  assert.ok(error instanceof StoreUnavailableError, `expected StoreUnavailableError, got ${String(error)}`);
  assert.equal(error.store, store);
  assert.ok(ms < 8000, `failed after ${ms} ms`);
}

describe('servers going away mid-run', () => {
  before(() => {
    process.on('unhandledRejection', onUnexpected);
    process.on('uncaughtException', onUnexpected);
  });
  after(async () => {
    await new Promise((r) => setTimeout(r, 300));
    process.off('unhandledRejection', onUnexpected);
    process.off('uncaughtException', onUnexpected);
    assert.deepEqual(unexpected, [], 'no unhandled errors or rejections');
  });

  test('PostgreSQL: queries and transactions fail with StoreUnavailableError, then work again', async (t) => {
    const proxy = proxyFor(servers.databaseUrl);
    t.after(() => proxy.stop()); // also when opening fails: a listening proxy would keep the process alive
    await proxy.start();
    const db = await openPostgres({
      url: viaProxy(servers.databaseUrl, proxy.port),
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    });
    try {
      await db.query('SELECT 1');
      // An idle pooled connection dies (exercises the pool's 'error' listener) and so does an open transaction.
      let inTx!: () => void;
      const txStarted = new Promise<void>((r) => {
        inTx = r;
      });
      const tx = db.transaction(async (t) => {
        await t.query('SELECT 1');
        inTx();
        await new Promise((r) => setTimeout(r, 300));
        await t.query('SELECT 2');
      });
      await txStarted;
      const port = proxy.port;
      await proxy.stop();
      await failsCleanly(tx, 'relational store');
      await failsCleanly(db.query('SELECT 1'), 'relational store');
      proxy.port = port;
      await proxy.start();
      await recovers(() => db.query('SELECT 1'), 'PostgreSQL queries to work again');
    } finally {
      await db.close();
    }
  });

  test('Redis: commands and publishes fail fast while it is gone, then work again', async (t) => {
    const proxy = proxyFor(servers.redisUrl);
    t.after(() => proxy.stop());
    await proxy.start();
    const cache = await openRedisCache({
      url: viaProxy(servers.redisUrl, proxy.port),
      namespace: `${uid('faults-')}:`,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    });
    try {
      const got: string[] = [];
      await cache.subscribe('chan', (m) => got.push(m));
      await cache.set('k', 'v');
      const port = proxy.port;
      await proxy.stop();
      await failsCleanly(cache.get('k'), 'cache');
      await failsCleanly(cache.publish('chan', 'lost'), 'cache');
      proxy.port = port;
      await proxy.start();
      await recovers(() => cache.get('k'), 'Redis commands to work again');
      assert.equal(await cache.get('k'), 'v');
      // The subscriber connection re-subscribes by itself after reconnecting.
      await recovers(async () => {
        await cache.publish('chan', 'back');
        await waitFor(() => got.includes('back'), 'a message after reconnecting', 500);
      }, 'pub/sub to work again');
    } finally {
      await cache.close();
    }
  });

  test('MinIO: requests fail with StoreUnavailableError, then work again', async (t) => {
    const proxy = proxyFor(servers.s3.endpoint);
    t.after(() => proxy.stop());
    await proxy.start();
    const objects = await openMinioObjects({
      ...servers.s3,
      endpoint: viaProxy(servers.s3.endpoint, proxy.port),
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
    });
    const key = `${uid('faults-')}/x`;
    try {
      await objects.put(key, Buffer.from('x'));
      const port = proxy.port;
      await proxy.stop();
      await failsCleanly(objects.get(key), 'object store');
      proxy.port = port;
      await proxy.start();
      await recovers(() => objects.get(key), 'MinIO requests to work again');
      await objects.delete(key);
    } finally {
      await objects.close();
    }
  });
});
