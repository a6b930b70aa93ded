/**
 * Bench child (b, c): the real server on the real services (PostgreSQL in a schema of its
 * own, Redis, Kafka, MinIO), twice in this process: one with L0 on, one with L0 off (every
 * answer read from Redis). It trains a small deterministic model, writes each bench user's
 * precomputed top-10 to batch_recommendations and to Redis under recs:<user> (the same
 * bytes the FastAPI peer serves), then prints
 *   {"event":"listening","ports":{"l0":N,"redis":M},"users":U}
 * and runs until SIGTERM, when it closes everything and drops its schema.
 * Environment as for `recsys serve` in services mode (defaults: the local servers).
 */

import { randomBytes } from 'node:crypto';
import { resolveBackend } from '../src/compute/backends.js';
import { ComputePool } from '../src/compute/pool.js';
import { loadConfig } from '../src/config/index.js';
import { powerLawImplicit } from '../src/data/synthetic.js';
import { logger } from '../src/logger.js';
import { ActiveModel } from '../src/model/active.js';
import { fitAls } from '../src/model/fit.js';
import { DEFAULT_PARAMS } from '../src/model/params.js';
import { encodeCandidates, startServer } from '../src/serving/index.js';
import { openKafkaBus } from '../src/stores/bus/kafka.js';
import { openRedisCache } from '../src/stores/cache/redis.js';
import { assembleStores, migrate } from '../src/stores/index.js';
import { openMinioObjects } from '../src/stores/objects/minio.js';
import { openPostgres } from '../src/stores/relational/postgres.js';
import { servicesEnv } from './lib.js';

export const BENCH_VERSION = 'bench-serving-v1';
const USERS = 5000;
const SEEDED = 1000;

const env = servicesEnv('postgres://recsys:recsys@127.0.0.1:5432/recsys_test');
const config = loadConfig({ env });
const schema = `bench_serving_${randomBytes(4).toString('hex')}`;
const timeout = config.connectTimeoutMs;

const admin = await openPostgres({ url: config.databaseUrl!, connectTimeoutMs: timeout, logger });
await admin.query(`CREATE SCHEMA ${schema}`);
const db = await openPostgres({ url: config.databaseUrl!, schema, connectTimeoutMs: timeout, logger });
await migrate(db);
// No namespace: the FastAPI peer reads recs:<user> at the top level of Redis.
const cache = await openRedisCache({ url: config.redisUrl!, connectTimeoutMs: timeout, logger });
const bus = await openKafkaBus({
  brokers: config.kafkaBrokers,
  partitions: config.bus.partitions,
  connectTimeoutMs: timeout,
  logger,
});
const objects = await openMinioObjects({ ...config.s3!, connectTimeoutMs: timeout });
const stores = assembleStores({ db, cache, bus, objects });

const backend = await resolveBackend(config.compute.backend);
const pool = new ComputePool(2);
const data = powerLawImplicit({ users: USERS, items: 2000, nnz: 100_000, seed: 17 });
const { model } = await fitAls(
  data,
  { ...DEFAULT_PARAMS.implicit, factors: 32, iterations: 5 },
  { backend, pool, version: BENCH_VERSION },
);
await pool.destroy();
const models = new ActiveModel(stores, { backend });
await models.use(model);

// Each seeded user's top 10 (seen items left out), as the batch layer would store it.
const { scorer } = models.current()!;
const f = model.factors;
const queries = model.userFactors.slice(0, SEEDED * f);
const top = await scorer.topK(queries, 10, (q) => model.seen(q));
const rows: unknown[][] = [];
const entries: Array<{ key: string; value: string }> = [];
for (let u = 0; u < SEEDED; u++) {
  const items = Array.from(top.indices.subarray(u * 10, u * 10 + 10), (i) => model.itemIds[i]);
  const scores = Array.from(top.scores.subarray(u * 10, u * 10 + 10));
  const user = model.userIds[u];
  rows.push([user, BENCH_VERSION, items, scores]);
  entries.push({
    key: `recs:${user}`,
    value: encodeCandidates({ modelVersion: BENCH_VERSION, source: 'batch', items, scores }),
  });
}
await db.copyRows('batch_recommendations', ['user_id', 'model_version', 'item_ids', 'scores'], rows);
await cache.mset(entries.map((e) => ({ ...e, ttlMs: 3_600_000 })));

const serverEnv = (extra: Record<string, string>) => ({
  ...loadConfig({ env: { ...env, ...extra } }),
  mode: config.mode,
});
const withL0 = await startServer({ config: serverEnv({}), stores, models, logger, backend }, { port: 0 });
const noL0 = await startServer(
  { config: serverEnv({ RECSYS_L0_SIZE: '0' }), stores, models, logger, backend },
  { port: 0 },
);
process.stdout.write(
  `${JSON.stringify({ event: 'listening', ports: { l0: withL0.port, redis: noL0.port }, users: SEEDED, backend })}\n`,
);

process.on('SIGTERM', async () => {
  await withL0.close();
  await noL0.close();
  await models.stop();
  await cache.del(entries.map((e) => e.key)).catch(() => 0);
  await stores.close();
  await admin.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
  await admin.close();
  process.exit(0);
});
