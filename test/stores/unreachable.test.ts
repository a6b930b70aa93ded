// Bad configuration needs no server: a closed port and a server that never answers must each
// give a clear error naming the store and address within a bound, never a hang or a crash.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { openKafkaBus } from '../../src/stores/bus/kafka.js';
import { openRedisCache } from '../../src/stores/cache/redis.js';
import { StoreError, StoresOpenError, StoreUnavailableError } from '../../src/stores/errors.js';
import { openStores } from '../../src/stores/index.js';
import { openMinioObjects } from '../../src/stores/objects/minio.js';
import { openPostgres } from '../../src/stores/relational/postgres.js';
import { tempDir } from '../helpers.js';
import { timed } from './support/wait.js';

const CONNECT_TIMEOUT_MS = 1000;

/** Each adapter's open() against host:port, as the services-mode factory would call it. */
const openers: Record<string, (port: number) => Promise<{ close(): Promise<void> }>> = {
  PostgreSQL: (port) =>
    openPostgres({
      url: `postgres://recsys:secret@127.0.0.1:${port}/recsys`,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    }),
  Redis: (port) =>
    openRedisCache({
      url: `redis://127.0.0.1:${port}`,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    }),
  Kafka: (port) =>
    openKafkaBus({
      brokers: [`127.0.0.1:${port}`],
      partitions: 4,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    }),
  S3: (port) =>
    openMinioObjects({
      endpoint: `http://127.0.0.1:${port}`,
      accessKey: 'k',
      secretKey: 'secret-key',
      bucket: 'recsys',
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
    }),
};

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

const unexpected: unknown[] = [];
const onUnexpected = (err: unknown) => unexpected.push(err);

describe('unreachable servers', () => {
  before(() => {
    process.on('unhandledRejection', onUnexpected);
    process.on('uncaughtException', onUnexpected);
  });
  after(async () => {
    // Give late socket errors a chance to surface before checking none went unhandled.
    await new Promise((r) => setTimeout(r, 300));
    process.off('unhandledRejection', onUnexpected);
    process.off('uncaughtException', onUnexpected);
    assert.deepEqual(unexpected, [], 'no unhandled errors or rejections');
  });

  for (const [name, open] of Object.entries(openers)) {
    test(`${name} on a closed port: StoreUnavailableError naming it and the address, quickly`, async () => {
      const port = await closedPort();
      const { ms, error, value } = await timed(open(port));
      await value?.close();
      assert.ok(error instanceof StoreUnavailableError, `got ${String(error)}`);
      assert.ok(error.retriable);
      assert.match(error.message, new RegExp(`${name}.*127\\.0\\.0\\.1:${port}`));
      assert.ok(ms < 10_000, `failed after ${ms} ms`);
    });
  }

  describe('a server that accepts connections and never answers', () => {
    let server: net.Server;
    let port: number;
    const sockets = new Set<net.Socket>();
    before(async () => {
      server = net.createServer((s) => {
        sockets.add(s);
        s.on('error', () => {});
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as net.AddressInfo).port;
    });
    after(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    });

    for (const [name, open] of Object.entries(openers)) {
      test(`${name}: fails within its connect timeout instead of hanging`, async () => {
        const { ms, error, value } = await timed(open(port));
        await value?.close();
        assert.ok(error instanceof StoreError, `got ${String(error)}`);
        assert.ok(error.retriable, 'a silent server is worth retrying later');
        assert.match(error.message, new RegExp(`${name}.*127\\.0\\.0\\.1:${port}`));
        assert.ok(ms < 4 * CONNECT_TIMEOUT_MS + 4000, `failed after ${ms} ms`);
      });
    }
  });

  test('openStores in services mode reports every unreachable server at once', async () => {
    const [pg, redis, kafka, s3] = await Promise.all([
      closedPort(),
      closedPort(),
      closedPort(),
      closedPort(),
    ]);
    const tmp = tempDir();
    try {
      const config = loadConfig({
        env: {
          RECSYS_MODE: 'services',
          RECSYS_DATA_DIR: tmp.dir,
          DATABASE_URL: `postgres://recsys:pw@127.0.0.1:${pg}/recsys`,
          REDIS_URL: `redis://127.0.0.1:${redis}`,
          KAFKA_BROKERS: `127.0.0.1:${kafka}`,
          S3_ENDPOINT: `http://127.0.0.1:${s3}`,
          S3_ACCESS_KEY: 'recsys',
          S3_SECRET_KEY: 'recsys-secret',
          S3_BUCKET: 'recsys',
          RECSYS_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
        },
      });
      const { ms, error } = await timed(openStores(config, { logger: silentLogger }));
      assert.ok(error instanceof StoresOpenError, `got ${String(error)}`);
      assert.equal(error.errors.length, 4);
      for (const port of [pg, redis, kafka, s3])
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(error.message, /pw@/, 'no password in the message');
      assert.ok(ms < 10_000, `failed after ${ms} ms`);
    } finally {
      tmp.cleanup();
    }
  });
});
