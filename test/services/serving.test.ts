// The serving layer on the real servers (RECSYS_MODE=services): PostgreSQL in a fresh
// schema and Redis in a fresh namespace (each reached through a TCP proxy so the test can
// take it away), Kafka, MinIO. Cache levels with Redis as L1, events into Kafka,
// invalidation and WebSocket pushes through Redis pub/sub, and degradation while Redis or
// PostgreSQL is gone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { USER_UPDATES_CHANNEL } from '../../src/events/index.js';
import type { Stores } from '../../src/stores/index.js';
import { call, type Fixture, INACTIVE_ITEM, keyed, startFixture } from '../serving/fixture.js';
import { connect } from '../serving/ws-client.js';
import { delay, timed, uid, waitFor } from '../stores/support/wait.js';
import { servers } from './env.js';
import { eventsOf, openSchemaStores, type SchemaStores, servicesEnv, viaPort } from './serving-stores.js';
import { TcpProxy } from './tcp-proxy.js';

const env = servicesEnv({ RECSYS_STORE_TIMEOUT_MS: '300' });

describe('serving on the real servers', () => {
  const redis = new URL(servers.redisUrl);
  const proxy = new TcpProxy(redis.hostname, Number(redis.port || 6379));
  const pg = new URL(servers.databaseUrl);
  const pgProxy = new TcpProxy(pg.hostname, Number(pg.port || 5432));
  let opened: SchemaStores;
  let stores: Stores;
  let f: Fixture;

  before(async () => {
    await proxy.start();
    await pgProxy.start();
    opened = await openSchemaStores({
      dbUrl: viaPort(servers.databaseUrl, pgProxy.port),
      redisUrl: viaPort(servers.redisUrl, proxy.port),
      cacheCommandTimeoutMs: 500,
    });
    stores = opened.stores;
    f = await startFixture({ stores, env });
    await stores.db.query(
      `INSERT INTO batch_recommendations (user_id, model_version, item_ids, scores) VALUES ('u50', $1, ARRAY['i1','i2','i3','i5','i7','i9','i11','i13','i15','i17','i19'], ARRAY[11,10,9,8,7,6,5,4,3,2,1]::real[])`,
      [f.model.meta.version],
    );
  });

  after(async () => {
    await f?.close();
    await opened?.close();
    await proxy.stop();
    await pgProxy.stop();
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
    const got = await eventsOf(stores.bus, user, (e) => e.length === 2, 'both events consumed from Kafka');
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
    await stores.db.query(
      `INSERT INTO batch_recommendations (user_id, model_version, item_ids, scores) VALUES ('u61', $1, ARRAY['i2','i4'], ARRAY[2,1]::real[])`,
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
      const got = await eventsOf(stores.bus, user, (e) => e.length === 1, 'the event consumed from Kafka');
      assert.deepEqual(
        got.map((e) => e.event_id),
        ev.value!.body.event_ids,
      );
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

  it('ops endpoints on the real servers: /healthz, /readyz with its checks, /metrics with the latency of a route called, /openapi.json, /dashboard', async () => {
    const health = await call(f.base, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    const ready = await call(f.base, 'GET', '/readyz');
    assert.equal(ready.status, 200, ready.text);
    assert.equal(ready.body.status, 'ready');
    assert.equal(ready.body.model_version, f.model.meta.version);
    for (const check of ['db', 'cache', 'model']) assert.equal(ready.body.checks[check], 'ok', check);
    for (const [check, state] of Object.entries(ready.body.checks)) assert.equal(state, 'ok', check);

    const similar = await call(f.base, 'GET', '/v1/similar/i2?k=3');
    assert.equal(similar.status, 200, similar.text);
    const metrics = await call(f.base, 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    for (const pattern of [
      /# TYPE recsys_http_request_duration_seconds histogram/,
      /recsys_http_request_duration_seconds_bucket\{le="\+Inf",route="GET \/v1\/similar\/:itemId",source="l2"\} [1-9]\d*\n/,
      /recsys_http_request_duration_seconds_count\{route="GET \/v1\/similar\/:itemId",source="l2"\} [1-9]\d*\n/,
      /recsys_http_request_duration_seconds_sum\{route="GET \/v1\/similar\/:itemId",source="l2"\} [\d.e-]+\n/,
      /recsys_http_requests_total\{route="GET \/readyz",status="200"\} [1-9]\d*\n/,
    ]) {
      assert.match(metrics.text, pattern);
    }

    const doc = await call(f.base, 'GET', '/openapi.json');
    assert.equal(doc.status, 200);
    assert.match(doc.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(doc.body.openapi, '3.1.0');
    for (const path of ['/v1/recommendations/{userId}', '/v1/similar/{itemId}', '/v1/feedback', '/readyz'])
      assert.ok(path in doc.body.paths, path);
    const page = await call(f.base, 'GET', '/dashboard');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.text, /<title>recsys dashboard<\/title>/);
  });

  it('anonymous, similar and popular answers on the real servers; feedback on a served answer lands in PostgreSQL beside its log row', async () => {
    const version = f.model.meta.version;
    const ids = (r: { body: { items: Array<{ item_id: string }> } }) => r.body.items.map((i) => i.item_id);
    const descending = (r: { body: { items: Array<{ score: number }> } }) =>
      r.body.items.every((item, j, all) => j === 0 || all[j - 1].score >= item.score);

    const anon = await call(f.base, 'POST', '/v1/recommendations/anonymous', {
      items: ['i1', { item_id: 'i2', value: 2 }, 'not-in-the-model'],
      k: 4,
    });
    assert.equal(anon.status, 200, anon.text);
    assert.equal(anon.body.source, 'realtime');
    assert.equal(anon.body.model_version, version);
    assert.deepEqual(anon.body.ignored_items, ['not-in-the-model']);
    assert.equal(ids(anon).length, 4);
    for (const banned of ['i1', 'i2', INACTIVE_ITEM]) assert.ok(!ids(anon).includes(banned), banned);
    assert.ok(descending(anon));

    const similar = await call(f.base, 'GET', '/v1/similar/i4?k=5&category=odd');
    assert.equal(similar.status, 200, similar.text);
    assert.equal(similar.body.item_id, 'i4');
    assert.equal(similar.body.source, 'l2');
    assert.equal(similar.body.model_version, version);
    assert.equal(ids(similar).length, 5);
    for (const id of ids(similar)) assert.ok(Number(id.slice(1)) % 2 === 1 && id !== INACTIVE_ITEM, id);
    assert.ok(descending(similar));
    const unknown = await call(f.base, 'GET', '/v1/similar/not-in-the-model');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'unknown_item');

    const popular = await call(f.base, 'GET', '/v1/items/popular?k=3&category=even');
    assert.equal(popular.status, 200, popular.text);
    assert.equal(popular.body.source, 'popular');
    assert.equal(popular.body.model_version, version);
    assert.equal(ids(popular).length, 3);
    for (const id of ids(popular)) assert.ok(Number(id.slice(1)) % 2 === 0, id);

    // A user's answer, and feedback on its second item.
    const user = 'u33';
    const served = await call(f.base, 'GET', `/v1/recommendations/${user}?k=5`);
    assert.equal(served.status, 200, served.text);
    const recId = served.body.rec_id as string;
    const fb = await call(
      f.base,
      'POST',
      '/v1/feedback',
      { rec_id: recId, item_id: ids(served)[1], action: 'click', position: 1 },
      keyed,
    );
    assert.equal(fb.status, 201, fb.text);
    assert.equal(fb.body.rec_id, recId);
    assert.equal(fb.body.user_id, user, 'the user the answer was served to');

    const logged = async (rec: string) =>
      (
        await stores.db.query<{
          user_id: string;
          model_version: string | null;
          source: string;
          item_ids: string[];
          scores: number[];
        }>(
          'SELECT user_id, model_version, source, item_ids, scores FROM recommendation_logs WHERE rec_id = $1',
          [rec],
        )
      ).rows[0];
    await waitFor(
      async () => (await logged(recId)) !== undefined,
      'the answer in recommendation_logs',
      10_000,
    );
    const row = (await logged(recId))!;
    assert.deepEqual(
      { user_id: row.user_id, model_version: row.model_version, source: row.source, item_ids: row.item_ids },
      { user_id: user, model_version: version, source: served.body.source, item_ids: ids(served) },
    );
    for (const [j, item] of served.body.items.entries())
      assert.ok(
        Math.abs(row.scores[j] - item.score) <= 1e-5 * Math.max(1, Math.abs(item.score)),
        `score ${j}`,
      );
    // The anonymous answer is logged too, without a user.
    await waitFor(
      async () => (await logged(anon.body.rec_id)) !== undefined,
      'the anonymous answer in recommendation_logs',
      10_000,
    );
    const anonRow = (await logged(anon.body.rec_id))!;
    assert.deepEqual(
      [anonRow.user_id, anonRow.model_version, anonRow.source, anonRow.item_ids],
      ['', version, 'realtime', ids(anon)],
    );

    const feedback = async () =>
      (
        await stores.db.query(
          `SELECT f.rec_id, f.user_id, f.item_id, f.position, f.action, f.value, l.source
             FROM recommendation_feedback f JOIN recommendation_logs l USING (rec_id) WHERE f.id = $1`,
          [fb.body.id],
        )
      ).rows;
    await waitFor(
      async () => (await feedback()).length === 1,
      'the feedback in recommendation_feedback',
      10_000,
    );
    assert.deepEqual(await feedback(), [
      {
        rec_id: recId,
        user_id: user,
        item_id: ids(served)[1],
        position: 1,
        action: 'click',
        value: null,
        source: served.body.source,
      },
    ]);
  });

  it('admin on the real servers: the registry in PostgreSQL lists the active version with the key; 401 without', async () => {
    const version = f.model.meta.version;
    const list = await call(f.base, 'GET', '/v1/admin/models', undefined, keyed);
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.serving, version);
    const active = list.body.models.filter((m: { status: string }) => m.status === 'active');
    assert.deepEqual(
      active.map((m: { version: string }) => m.version),
      [version],
    );
    const none = await call(f.base, 'GET', '/v1/admin/models');
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'missing_api_key');
    const wrong = await call(f.base, 'GET', '/v1/admin/models', undefined, { 'x-api-key': 'not-the-key' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'invalid_api_key');
  });

  it('bad input on the real servers: a batch with one bad event is refused whole and none of it reaches Kafka; 413; 415', async () => {
    const user = uid('refused-');
    const refused = await call(
      f.base,
      'POST',
      '/v1/events',
      [
        { user_id: user, item_id: 'i1', type: 'click' },
        { user_id: user, item_id: 'i2', type: 'teleport' },
        { user_id: user, item_id: 'i3', type: 'view' },
      ],
      keyed,
    );
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.body.error.code, 'invalid_events');
    assert.deepEqual(
      refused.body.error.details.map((d: { index: number }) => d.index),
      [1],
    );
    assert.match(refused.body.error.details[0].reason, /type/);

    const tooLarge = await call(
      f.base,
      'POST',
      '/v1/events',
      { user_id: user, item_id: 'x'.repeat(2 << 20), type: 'view' },
      keyed,
    );
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.body.error.code, 'payload_too_large');
    const notJson = await call(
      f.base,
      'POST',
      '/v1/events',
      JSON.stringify({ user_id: user, item_id: 'i4', type: 'view' }),
      { ...keyed, 'content-type': 'text/plain' },
    );
    assert.equal(notJson.status, 415);
    assert.equal(notJson.body.error.code, 'unsupported_media_type');

    // Accepted after the refused ones: one user's events share a partition, in order, so once
    // this one is consumed anything published before it would have been too.
    const accepted = await call(
      f.base,
      'POST',
      '/v1/events',
      { user_id: user, item_id: 'i5', type: 'purchase' },
      keyed,
    );
    assert.equal(accepted.status, 202, accepted.text);
    const got = await eventsOf(
      stores.bus,
      user,
      (e) => e.some((x) => x.event_id === accepted.body.event_ids[0]),
      'the accepted event consumed from Kafka',
    );
    assert.deepEqual(
      got.map((e) => [e.event_id, e.item_id, e.type]),
      [[accepted.body.event_ids[0], 'i5', 'purchase']],
    );
  });

  it('per-key rate limit on the real servers: 429 with Retry-After once the burst is spent, then served again', async () => {
    await f.restart({ ...env, RECSYS_RATE_LIMIT: '1', RECSYS_RATE_BURST: '3' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await call(f.base, 'GET', '/v1/admin/models', undefined, keyed)).status);
      assert.deepEqual(statuses, [200, 200, 200]);
      const limited = await call(f.base, 'GET', '/v1/admin/models', undefined, keyed);
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error.code, 'rate_limited');
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(retryAfter >= 1, `Retry-After: ${limited.headers.get('retry-after')}`);
      // Keyed events are in the same bucket; reads without a key are not.
      const ev = await call(
        f.base,
        'POST',
        '/v1/events',
        { user_id: 'u1', item_id: 'i1', type: 'view' },
        keyed,
      );
      assert.equal(ev.status, 429);
      assert.equal((await call(f.base, 'GET', '/v1/recommendations/u1')).status, 200);
      await delay(retryAfter * 1000 + 100);
      assert.equal(
        (await call(f.base, 'GET', '/v1/admin/models', undefined, keyed)).status,
        200,
        'tokens refill',
      );
    } finally {
      await f.restart(env);
    }
  });
});
