// The serving layer on the real servers (RECSYS_MODE=services): PostgreSQL in a fresh
// schema and Redis in a fresh namespace (each reached through a TCP proxy so the test can
// take it away), Kafka, MinIO. Cache levels with Redis as L1, events into Kafka,
// invalidation and WebSocket pushes through Redis pub/sub, and degradation while Redis or
// PostgreSQL is gone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { USER_UPDATES_CHANNEL } from '../../src/serving/index.js';
import { openKafkaBus } from '../../src/stores/bus/kafka.js';
import { openRedisCache } from '../../src/stores/cache/redis.js';
import { INTERACTIONS_TOPIC, migrate, type Stores } from '../../src/stores/index.js';
import { silentLogger } from '../../src/stores/logger.js';
import { openMinioObjects } from '../../src/stores/objects/minio.js';
import { openPostgres } from '../../src/stores/relational/postgres.js';
import { call, type Fixture, keyed, startFixture } from '../serving/fixture.js';
import { connect } from '../serving/ws-client.js';
import { timed, uid, waitFor } from '../stores/support/wait.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';
import { TcpProxy } from './tcp-proxy.js';

const env = {
  RECSYS_MODE: 'services',
  DATABASE_URL: servers.databaseUrl,
  REDIS_URL: servers.redisUrl,
  KAFKA_BROKERS: servers.kafkaBrokers.join(','),
  S3_ENDPOINT: servers.s3.endpoint,
  S3_ACCESS_KEY: servers.s3.accessKey,
  S3_SECRET_KEY: servers.s3.secretKey,
  S3_BUCKET: servers.s3.bucket,
  RECSYS_STORE_TIMEOUT_MS: '300',
};

describe('serving on the real servers', () => {
  const schema = uid('serving_').toLowerCase();
  const redis = new URL(servers.redisUrl);
  const proxy = new TcpProxy(redis.hostname, Number(redis.port || 6379));
  const pg = new URL(servers.databaseUrl);
  const pgProxy = new TcpProxy(pg.hostname, Number(pg.port || 5432));
  let admin: Awaited<ReturnType<typeof openPostgres>>;
  let stores: Stores;
  let f: Fixture;

  before(async () => {
    await proxy.start();
    await pgProxy.start();
    admin = await openPostgres({
      url: servers.databaseUrl,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    });
    await admin.query(`CREATE SCHEMA ${schema}`);
    const pgViaProxy = new URL(servers.databaseUrl);
    pgViaProxy.hostname = '127.0.0.1';
    pgViaProxy.port = String(pgProxy.port);
    const db = await openPostgres({
      url: pgViaProxy.toString(),
      schema,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    });
    await migrate(db);
    const viaProxy = new URL(servers.redisUrl);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const cache = await openRedisCache({
      url: viaProxy.toString(),
      namespace: `${schema}:`,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      commandTimeoutMs: 500,
      logger: silentLogger,
    });
    const bus = await openKafkaBus({
      brokers: servers.kafkaBrokers,
      partitions: 2,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      sessionTimeoutMs: 6000,
      heartbeatMs: 500,
      maxWaitMs: 200,
      retryBackoffMs: 200,
      logger: silentLogger,
    });
    const objects = await openMinioObjects({ ...servers.s3, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    stores = {
      db,
      cache,
      bus,
      objects,
      async close() {
        await bus.close();
        await Promise.allSettled([cache.close(), objects.close()]);
        await db.close();
      },
    };
    f = await startFixture({ stores, env });
    await db.query(
      `INSERT INTO batch_recommendations (user_id, model_version, item_ids, scores) VALUES ('u50', $1, ARRAY['i1','i2','i3','i5','i7','i9','i11','i13','i15','i17','i19'], ARRAY[11,10,9,8,7,6,5,4,3,2,1]::real[])`,
      [f.model.meta.version],
    );
  });

  after(async () => {
    await f?.close();
    await stores?.close();
    await proxy.stop();
    await pgProxy.stop();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin?.close();
  });

  it('fills Redis (L1) and L0; with L0 off the answers come from Redis', async () => {
    assert.equal(f.config.mode, 'services');
    const first = await call(f.base, 'GET', '/v1/recommendations/u50');
    assert.equal(first.body.source, 'batch');
    assert.equal((await call(f.base, 'GET', '/v1/recommendations/u50')).body.source, 'l0');
    const stored = JSON.parse((await stores.cache.get('recs:u50'))!);
    assert.equal(stored.source, 'batch');
    assert.equal(stored.items[0], 'i1');
    await f.restart({ ...env, RECSYS_L0_SIZE: '0' });
    try {
      const r = await call(f.base, 'GET', '/v1/recommendations/u50?k=3');
      assert.equal(r.body.source, 'l1');
      assert.deepEqual(
        r.body.items.map((i: { item_id: string }) => i.item_id),
        ['i1', 'i2', 'i3'],
      );
      const model = await call(f.base, 'GET', '/v1/recommendations/u7');
      assert.equal(model.body.source, 'l2');
      assert.equal((await call(f.base, 'GET', '/v1/recommendations/u7')).body.source, 'l1');
    } finally {
      await f.restart(env);
    }
  });

  it('publishes events to Kafka, keyed by user', async () => {
    const user = uid('kafka-user-');
    const r = await call(
      f.base,
      'POST',
      '/v1/events',
      [
        { user_id: user, item_id: 'i1', type: 'click' },
        { user_id: user, item_id: 'i2', type: 'purchase', value: 2 },
      ],
      keyed,
    );
    assert.equal(r.status, 202, r.text);
    const got: Array<Record<string, unknown>> = [];
    const consumer = await stores.bus.consume({
      topic: INTERACTIONS_TOPIC,
      groupId: uid('serving-test-'),
      handler: async (batch) => {
        for (const m of batch.messages) if (m.key === user) got.push(JSON.parse(m.value.toString('utf8')));
      },
    });
    try {
      await waitFor(() => got.length === 2, 'both events consumed from Kafka', 60_000);
    } finally {
      await consumer.stop();
    }
    assert.deepEqual(
      got.map((e) => e.event_id),
      r.body.event_ids,
    );
    assert.deepEqual(
      got.map((e) => [e.item_id, e.type, e.value]),
      [
        ['i1', 'click', undefined],
        ['i2', 'purchase', 2],
      ],
    );
  });

  it('a user update on Redis pub/sub drops L0 and L1 and reaches WebSocket subscribers', async () => {
    await call(f.base, 'GET', '/v1/recommendations/u9');
    assert.equal((await call(f.base, 'GET', '/v1/recommendations/u9')).body.source, 'l0');
    const client = await connect(`${f.base.replace('http', 'ws')}/v1/stream`);
    try {
      client.send({ subscribe: 'u9' });
      assert.deepEqual(await client.next(), { subscribed: 'u9' });
      await stores.cache.publish(
        USER_UPDATES_CHANNEL,
        JSON.stringify({ user_id: 'u9', model_version: f.model.meta.version, items: ['i3'], scores: [0.5] }),
      );
      const push = (await client.next(5000)) as { user_id: string; items: unknown[] };
      assert.equal(push.user_id, 'u9');
      assert.deepEqual(push.items, [{ item_id: 'i3', score: 0.5 }]);
      await waitFor(async () => (await stores.cache.get('recs:u9')) === null, 'L1 entry dropped', 5000);
      assert.equal((await call(f.base, 'GET', '/v1/recommendations/u9')).body.source, 'l2');
    } finally {
      client.ws.close();
    }
  });

  it('with Redis gone, answers come from PostgreSQL and events still go to Kafka; then Redis is used again', async () => {
    await call(f.base, 'GET', '/v1/recommendations/u1');
    const port = proxy.port;
    await proxy.stop();
    try {
      const r = await timed(call(f.base, 'GET', '/v1/recommendations/u50?k=4&category=odd'));
      assert.ok(r.ms < 2000, `answered after ${r.ms} ms`);
      assert.equal(r.value!.status, 200);
      assert.equal(r.value!.body.source, 'batch');
      assert.deepEqual(
        r.value!.body.items.map((i: { item_id: string }) => i.item_id),
        ['i1', 'i3', 'i5', 'i7'],
      );
      assert.equal((await call(f.base, 'GET', '/v1/recommendations/u1')).body.source, 'l0');
      for (let i = 0; i < 5; i++) {
        const again = await timed(call(f.base, 'GET', `/v1/recommendations/u${20 + i}`));
        assert.equal(again.value!.status, 200);
        assert.ok(again.ms < 1000, `${again.ms} ms`);
      }
      const ready = await call(f.base, 'GET', '/readyz');
      assert.equal(ready.status, 503);
      assert.match(ready.body.checks.cache, /unavailable/);
      const ev = await call(
        f.base,
        'POST',
        '/v1/events',
        { user_id: 'u1', item_id: 'i1', type: 'view' },
        keyed,
      );
      assert.equal(ev.status, 202);
    } finally {
      proxy.port = port;
      await proxy.start();
    }
    await waitFor(async () => (await call(f.base, 'GET', '/readyz')).status === 200, 'ready again', 20_000);
    await waitFor(
      async () =>
        (await call(f.base, 'GET', '/v1/recommendations/u30?k=2')).body.source !== undefined &&
        (await stores.cache.get('recs:u30').catch(() => null)) !== null,
      'L1 written again',
      20_000,
    );
  });

  it('with PostgreSQL gone, answers come from L0, Redis, the model or popular items and events still go to Kafka; then PostgreSQL is used again', async () => {
    // u50's candidates in Redis, u7's answer in this server's L0.
    await call(f.base, 'GET', '/v1/recommendations/u50');
    await waitFor(async () => (await stores.cache.get('recs:u50')) !== null, 'u50 in Redis', 5000);
    await f.restart(env);
    await call(f.base, 'GET', '/v1/recommendations/u7');
    assert.equal((await call(f.base, 'GET', '/v1/recommendations/u7')).body.source, 'l0');
    await admin.query(
      `INSERT INTO ${schema}.batch_recommendations (user_id, model_version, item_ids, scores) VALUES ('u61', $1, ARRAY['i2','i4'], ARRAY[2,1]::real[])`,
      [f.model.meta.version],
    );
    const port = pgProxy.port;
    await pgProxy.stop();
    try {
      const fromRedis = await timed(call(f.base, 'GET', '/v1/recommendations/u50?k=3'));
      assert.ok(fromRedis.ms < 2000, `answered after ${fromRedis.ms} ms`);
      assert.equal(fromRedis.value!.body.source, 'l1');
      assert.deepEqual(
        fromRedis.value!.body.items.map((i: { item_id: string }) => i.item_id),
        ['i1', 'i2', 'i3'],
      );
      assert.equal((await call(f.base, 'GET', '/v1/recommendations/u7')).body.source, 'l0');
      const known = await timed(call(f.base, 'GET', '/v1/recommendations/u12'));
      assert.ok(known.ms < 2000, `answered after ${known.ms} ms`);
      assert.equal(known.value!.status, 200);
      assert.equal(known.value!.body.source, 'l2', 'scored from the model in memory');
      const stranger = await call(f.base, 'GET', '/v1/recommendations/nobody-knows');
      assert.equal(stranger.status, 200);
      assert.equal(stranger.body.source, 'popular');
      assert.ok(stranger.body.items.length > 0);
      assert.equal((await call(f.base, 'GET', '/v1/items/popular?k=3')).status, 200);
      const ready = await call(f.base, 'GET', '/readyz');
      assert.equal(ready.status, 503);
      assert.match(ready.body.checks.db, /unavailable/);

      const user = uid('pg-down-');
      const ev = await timed(
        call(f.base, 'POST', '/v1/events', { user_id: user, item_id: 'i4', type: 'click' }, keyed),
      );
      assert.equal(ev.value!.status, 202, ev.value!.text);
      assert.ok(ev.ms < 2000, `accepted after ${ev.ms} ms`);
      const got: string[] = [];
      const consumer = await stores.bus.consume({
        topic: INTERACTIONS_TOPIC,
        groupId: uid('pg-down-test-'),
        handler: async (batch) => {
          for (const m of batch.messages)
            if (m.key === user) got.push(JSON.parse(m.value.toString('utf8')).event_id);
        },
      });
      try {
        await waitFor(() => got.length === 1, 'the event consumed from Kafka', 60_000);
      } finally {
        await consumer.stop();
      }
      assert.deepEqual(got, ev.value!.body.event_ids);
    } finally {
      pgProxy.port = port;
      await pgProxy.start();
    }
    await waitFor(async () => (await call(f.base, 'GET', '/readyz')).status === 200, 'ready again', 20_000);
    await waitFor(
      async () => (await call(f.base, 'GET', '/v1/recommendations/u61?k=2')).body.source === 'batch',
      'batch answers from PostgreSQL again',
      20_000,
    );
  });
});
