// What the serving tests on the real servers share: the app's environment in services mode,
// the four stores opened on a fresh PostgreSQL schema and Redis namespace (optionally through
// proxies the test can take away), and reading a user's events back from Kafka.

import { silentLogger } from '../../src/logger.js';
import { openKafkaBus } from '../../src/stores/bus/kafka.js';
import { openRedisCache } from '../../src/stores/cache/redis.js';
import {
  assembleStores,
  type EventBus,
  INTERACTIONS_TOPIC,
  migrate,
  type Stores,
} from '../../src/stores/index.js';
import { openMinioObjects } from '../../src/stores/objects/minio.js';
import { openPostgres } from '../../src/stores/relational/postgres.js';
import { uid, waitFor } from '../stores/support/wait.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';

/** The app's environment for services mode on the test servers, plus `extra`. */
export function servicesEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    RECSYS_MODE: 'services',
    DATABASE_URL: servers.databaseUrl,
    REDIS_URL: servers.redisUrl,
    KAFKA_BROKERS: servers.kafkaBrokers.join(','),
    S3_ENDPOINT: servers.s3.endpoint,
    S3_ACCESS_KEY: servers.s3.accessKey,
    S3_SECRET_KEY: servers.s3.secretKey,
    S3_BUCKET: servers.s3.bucket,
    ...extra,
  };
}

/** `url` with its host and port replaced by the local proxy's. */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

export interface SchemaStores {
  stores: Stores;
  /** Closes the stores and drops the schema. */
  close(): Promise<void>;
}

/**
 * The four stores with PostgreSQL in a fresh migrated schema and Redis keys under its name,
 * each server at the given address (a proxy's) or the test servers'; consumer timings short,
 * so tests reading Kafka back wait seconds, not a session timeout.
 */
export async function openSchemaStores(
  opts: { dbUrl?: string; redisUrl?: string; brokers?: string[]; cacheCommandTimeoutMs?: number } = {},
): Promise<SchemaStores> {
  const schema = uid('serving_').toLowerCase();
  const admin = await openPostgres({
    url: servers.databaseUrl,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    logger: silentLogger,
  });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const db = await openPostgres({
    url: opts.dbUrl ?? servers.databaseUrl,
    schema,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    logger: silentLogger,
  });
  await migrate(db);
  const cache = await openRedisCache({
    url: opts.redisUrl ?? servers.redisUrl,
    namespace: `${schema}:`,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    commandTimeoutMs: opts.cacheCommandTimeoutMs,
    logger: silentLogger,
  });
  const bus = await openKafkaBus({
    brokers: opts.brokers ?? servers.kafkaBrokers,
    partitions: 2,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    sessionTimeoutMs: 6000,
    heartbeatMs: 500,
    maxWaitMs: 200,
    retryBackoffMs: 200,
    logger: silentLogger,
  });
  const objects = await openMinioObjects({ ...servers.s3, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  const stores = assembleStores({ db, cache, bus, objects });
  return {
    stores,
    async close() {
      await stores.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
      await admin.close();
    },
  };
}

/**
 * The events keyed by `user` on the interactions topic, in order, read by a fresh consumer
 * group until `done` holds for what was read (one user's events share a partition, so what
 * was published before the last one awaited has arrived by then).
 */
export async function eventsOf(
  bus: EventBus,
  user: string,
  done: (events: Array<Record<string, unknown>>) => boolean,
  what: string,
): Promise<Array<Record<string, unknown>>> {
  const got: Array<Record<string, unknown>> = [];
  const consumer = await bus.consume({
    topic: INTERACTIONS_TOPIC,
    groupId: uid('serving-test-'),
    handler: async (batch) => {
      for (const m of batch.messages) if (m.key === user) got.push(JSON.parse(m.value.toString('utf8')));
    },
  });
  try {
    await waitFor(() => done(got), what, 60_000);
  } finally {
    await consumer.stop();
  }
  return got;
}
