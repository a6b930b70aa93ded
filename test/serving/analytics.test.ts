// Analytics through the server (embedded stores): answers served and feedback posted over
// HTTP, one rollup pass, and the figures on GET /v1/admin/metrics, /dashboard/metrics.json and
// /metrics, each derived here from what the server answered.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ANALYTICS_LOCK } from '../../src/analytics/index.js';
import { call, type Fixture, INACTIVE_ITEM, keyed, N_ITEMS, startFixture } from './fixture.js';

interface Served {
  rec_id: string;
  items: Array<{ item_id: string; score: number }>;
  model_version: string;
  source: string;
}

describe('analytics over HTTP', () => {
  let f: Fixture;
  const served: Served[] = [];
  before(async () => {
    // A long interval: the test runs each pass itself.
    f = await startFixture({ options: { analytics: { intervalMs: 3_600_000 } } });
    for (const user of ['u1', 'u2', 'u3']) {
      const r = await call(f.base, 'GET', `/v1/recommendations/${user}?k=5`);
      assert.equal(r.status, 200);
      served.push(r.body);
    }
    const feedback = (answer: Served, position: number, action: string, value?: number) =>
      call(
        f.base,
        'POST',
        '/v1/feedback',
        { rec_id: answer.rec_id, item_id: answer.items[position - 1].item_id, position, action, value },
        keyed,
      );
    for (const [answer, position, action, value] of [
      [served[0], 1, 'impression'],
      [served[0], 1, 'click'],
      [served[0], 1, 'click'], // counted once
      [served[0], 1, 'purchase'],
      [served[1], 2, 'click'],
      [served[2], 3, 'rating', 4],
    ] as Array<[Served, number, string, number?]>)
      assert.equal((await feedback(answer, position, action, value)).status, 201);
    await f.server.flushLog();
    const pass = await f.server.analytics.runOnce();
    assert.equal(pass?.answers, 3);
  });
  after(() => f?.close());

  it('GET /v1/admin/metrics: CTR, conversions, coverage and online RMSE of what was served', async () => {
    const r = await call(f.base, 'GET', '/v1/admin/metrics', undefined, keyed);
    assert.equal(r.status, 200);
    const impressions = served.reduce((n, a) => n + a.items.length, 0);
    assert.equal(impressions, 15);
    assert.deepEqual([r.body.ctr.clicks, r.body.ctr.impressions, r.body.ctr.value], [2, 15, 2 / 15]);
    assert.deepEqual(r.body.ctr.viewed, { value: 1, clicks: 1, impressions: 1 });
    assert.deepEqual(r.body.ctr.by_position.slice(0, 2), [
      { position: 1, value: 1 / 3, clicks: 1, impressions: 3 },
      { position: 2, value: 1 / 3, clicks: 1, impressions: 3 },
    ]);
    const version = f.model.meta.version;
    assert.deepEqual(
      r.body.ctr.by_model_version.map((v: { model_version: string }) => v.model_version),
      [version],
    );
    assert.deepEqual([r.body.conversions.conversions, r.body.conversions.value], [1, 0.5]);
    const distinct = new Set(served.flatMap((a) => a.items.map((i) => i.item_id)));
    assert.equal(r.body.coverage.items, distinct.size);
    assert.equal(r.body.coverage.active_items, N_ITEMS - 1); // all but INACTIVE_ITEM
    assert.ok(!distinct.has(INACTIVE_ITEM));
    assert.equal(r.body.coverage.value, distinct.size / (N_ITEMS - 1));
    const predicted = served[2].items[2].score;
    assert.equal(r.body.rmse.online.ratings, 1);
    assert.ok(Math.abs(r.body.rmse.online.value - Math.abs(predicted - 4)) < 1e-4);
    assert.equal(r.body.answers.total, 3);
    assert.deepEqual(
      r.body.answers.by_source
        .map((s: { answers: number }) => s.answers)
        .reduce((a: number, b: number) => a + b),
      3,
    );
    assert.ok(r.body.latency_ms.p50 > 0);
  });

  it('/dashboard/metrics.json is the same report, open; bad windows are 400 and change nothing', async () => {
    const q = '?from=2026-01-01T00:00:00Z&to=2030-01-01T00:00:00Z&granularity=day';
    const admin = await call(f.base, 'GET', `/v1/admin/metrics${q}`, undefined, keyed);
    const open = await call(f.base, 'GET', `/dashboard/metrics.json${q}`);
    assert.equal(open.status, 200);
    assert.deepEqual(open.body, admin.body);
    assert.equal(
      admin.body.series.filter((p: { model_version: null }) => p.model_version === null).length,
      1,
    );
    for (const bad of ['?from=2026-12-02&to=2026-12-01', '?granularity=week', '?from=soon', '?to=1e99']) {
      const r = await call(f.base, 'GET', `/v1/admin/metrics${bad}`, undefined, keyed);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.error.code, 'invalid_window');
    }
    assert.equal((await call(f.base, 'GET', '/v1/admin/metrics')).status, 401);
  });

  it('/metrics: the gauges over the trailing window, labelled by model version', async () => {
    const text = (await call(f.base, 'GET', '/metrics')).text;
    const version = f.model.meta.version;
    const gauge = (line: string) => Number(new RegExp(`^${line} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.equal(gauge('recsys_ctr\\{model_version="all"\\}'), 2 / 15);
    assert.equal(gauge(`recsys_ctr\\{model_version="${version}"\\}`), 2 / 15);
    assert.equal(gauge('recsys_conversion_rate\\{model_version="all"\\}'), 0.5);
    assert.ok(gauge('recsys_catalog_coverage\\{model_version="all"\\}') > 0);
    assert.ok(gauge(`recsys_rmse\\{model_version="${version}",kind="online"\\}`) >= 0);
    assert.equal(gauge('recsys_analytics_impressions\\{model_version="all"\\}'), 15);
    assert.ok(gauge('recsys_analytics_last_rollup_timestamp_seconds') > Date.now() / 1000 - 600);
  });

  it('a pass waits for no one: while another process holds the rollup, this one only refreshes its gauges', async () => {
    await call(f.base, 'GET', '/v1/recommendations/u4?k=5');
    await f.server.flushLog();
    const held = await f.stores.db.tryLock(ANALYTICS_LOCK);
    assert.ok(held);
    try {
      assert.equal(await f.server.analytics.runOnce(), null);
    } finally {
      await held.release();
    }
    const pass = await f.server.analytics.runOnce();
    assert.equal(pass?.answers, 1);
    const r = await call(f.base, 'GET', '/v1/admin/metrics', undefined, keyed);
    assert.equal(r.body.answers.total, 4);
  });
});
