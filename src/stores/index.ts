/**
 * openStores(config): the four ports, their adapters picked from the configuration
 * (Gorse's `Open(url)` idea): embedded mode → PGlite, LRU, event-log table, local folder;
 * services mode → PostgreSQL, Redis, Kafka, S3/MinIO. Nothing above this file needs to
 * know which it got. All stores open in parallel, each within its connect timeout; if any
 * fails, the others are closed again and one error lists every failure.
 */
import path from 'node:path';
import type { RecsysConfig } from '../config/index.js';
import { defaultLogger, type Logger } from '../logger.js';
import { openKafkaBus } from './bus/kafka.js';
import type { BusPolicy } from './bus/policy.js';
import type { EventBus } from './bus/port.js';
import { openTableBus } from './bus/table-bus.js';
import { openMemoryCache } from './cache/memory.js';
import type { Cache } from './cache/port.js';
import { openRedisCache } from './cache/redis.js';
import { StoresOpenError } from './errors.js';
import { openLocalObjects } from './objects/local.js';
import { openMinioObjects } from './objects/minio.js';
import type { ObjectStore } from './objects/port.js';
import { migrate } from './relational/migrate.js';
import { openPglite } from './relational/pglite.js';
import type { RelationalStore } from './relational/port.js';
import { openPostgres } from './relational/postgres.js';

export interface Stores {
  db: RelationalStore;
  cache: Cache;
  bus: EventBus;
  objects: ObjectStore;
  /** Closes the bus first (its consumers may still write to the db), then the rest. */
  close(): Promise<void>;
}

export interface OpenStoresOptions {
  logger?: Logger;
  /** Apply pending migrations after connecting (default true; `recsys migrate` does it explicitly). */
  migrate?: boolean;
  /** Delivery attempts and retention of the event bus, the same for either adapter (defaults: 5, 7 days). */
  bus?: BusPolicy;
}

/** The topic of user interactions, keyed by user id (DESIGN.md section 2). */
export const INTERACTIONS_TOPIC = 'interactions';

export async function openStores(config: RecsysConfig, opts: OpenStoresOptions = {}): Promise<Stores> {
  const logger = opts.logger ?? defaultLogger();
  const services = config.mode === 'services';
  const timeout = config.connectTimeoutMs;
  const busPolicy: BusPolicy = {
    maxAttempts: config.bus.maxAttempts,
    retentionMs: config.bus.retentionHours * 3_600_000,
    ...opts.bus,
  };

  const dbReady = (async () => {
    const db = services
      ? await openPostgres({ url: config.databaseUrl!, connectTimeoutMs: timeout, logger })
      : await openPglite({ dir: path.join(config.dataDir, 'pg') });
    if (opts.migrate ?? true) {
      try {
        await migrate(db);
      } catch (err) {
        await db.close();
        throw err;
      }
    }
    return db;
  })();
  const cacheReady = services
    ? openRedisCache({ url: config.redisUrl!, connectTimeoutMs: timeout, logger })
    : Promise.resolve(openMemoryCache({ logger }));
  const busReady = services
    ? openKafkaBus({
        brokers: config.kafkaBrokers,
        partitions: config.bus.partitions,
        connectTimeoutMs: timeout,
        ...busPolicy,
        logger,
      })
    : dbReady.then((db) => openTableBus({ db, partitions: config.bus.partitions, ...busPolicy, logger }));
  const objectsReady = services
    ? openMinioObjects({ ...config.s3!, connectTimeoutMs: timeout })
    : openLocalObjects({ dir: path.join(config.dataDir, 'objects') });

  const [db, cache, bus, objects] = await Promise.allSettled([dbReady, cacheReady, busReady, objectsReady]);
  const opened = [bus, cache, objects, db].flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = [db, cache, bus, objects].flatMap((r) =>
    r.status === 'rejected' ? [r.reason as Error] : [],
  );
  if (failed.length > 0) {
    await Promise.allSettled(opened.map((s) => s.close()));
    // In embedded mode the bus fails with the db; report the cause once.
    throw failed.length === 1 || new Set(failed).size === 1
      ? failed[0]
      : new StoresOpenError([...new Set(failed)]);
  }
  return assembleStores({
    db: (db as PromiseFulfilledResult<RelationalStore>).value,
    cache: (cache as PromiseFulfilledResult<Cache>).value,
    bus: (bus as PromiseFulfilledResult<EventBus>).value,
    objects: (objects as PromiseFulfilledResult<ObjectStore>).value,
  });
}

/**
 * Four opened adapters as one Stores, for callers that open them with settings of their own
 * (a schema, a proxy, test timings). close() stops the bus first (its consumers may still
 * be writing through the others) and the database last (the embedded bus lives in it).
 */
export function assembleStores(parts: Omit<Stores, 'close'>): Stores {
  return {
    ...parts,
    async close() {
      await parts.bus.close();
      await Promise.allSettled([parts.cache.close(), parts.objects.close()]);
      await parts.db.close();
    },
  };
}

export {
  type DeadLetter,
  type DeadLetterEnvelope,
  deadLetterTopic,
  decodeDeadLetter,
} from './bus/dead-letter.js';
export { type BusPolicy, DEFAULT_MAX_ATTEMPTS, DEFAULT_RETENTION_MS } from './bus/policy.js';
export type {
  Batch,
  BatchContext,
  BusMessage,
  ConsumeOptions,
  Consumer,
  EventBus,
  OutgoingMessage,
} from './bus/port.js';
export { BatchAbandonedError } from './bus/port.js';
export type { Cache, CacheEntry } from './cache/port.js';
export * from './errors.js';
export type { ObjectStore } from './objects/port.js';
export { migrate } from './relational/migrate.js';
export type { Queryable, QueryResult, RelationalStore } from './relational/port.js';
