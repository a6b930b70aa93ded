// Operations and admin endpoints: health, readiness, Prometheus metrics, the OpenAPI 3.1
// document (checked by a real OpenAPI validator, and against the server's routes), the
// dashboard page, and the model registry endpoints.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { call, type Fixture, keyed, startFixture } from './fixture.js';

describe('ops and admin endpoints', () => {
  let f: Fixture;
  let trained = 0;
  before(async () => {
    f = await startFixture({
      train: async () => {
        trained++;
        return { version: 'trained-by-callback' };
      },
    });
  });
  after(() => f?.close());

  it('/healthz and /readyz', async () => {
    assert.deepEqual((await call(f.base, 'GET', '/healthz')).body, { status: 'ok' });
    const r = await call(f.base, 'GET', '/readyz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      status: 'ready',
      model_version: f.model.meta.version,
      checks: { db: 'ok', cache: 'ok', model: 'ok' },
    });
  });

  it('/metrics has latency per route and source, cache hit ratios and log counters', async () => {
    await call(f.base, 'GET', '/v1/recommendations/u1');
    await call(f.base, 'GET', '/v1/recommendations/u1');
    await call(f.base, 'GET', '/v1/recommendations/u1?k=3');
    await new Promise((r) => setTimeout(r, 100));
    const r = await call(f.base, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
    const text = r.text;
    for (const pattern of [
      /recsys_http_request_duration_seconds_bucket\{le="0.001",route="GET \/v1\/recommendations\/:userId",source="l0"\} 1/,
      /recsys_http_request_duration_seconds_count\{route="GET \/v1\/recommendations\/:userId",source="l2"\} 1/,
      /recsys_http_request_duration_seconds_count\{route="GET \/v1\/recommendations\/:userId",source="l1"\} 1/,
      /recsys_http_requests_total\{route="GET \/v1\/recommendations\/:userId",status="200"\} 3/,
      /recsys_cache_lookups_total\{level="l0",result="hit"\} 1/,
      /recsys_cache_hit_ratio\{level="l0"\} 0\.333/,
      /recsys_cache_hit_ratio\{level="l1"\} 0\.5/,
      /recsys_rec_log_written_total \d+/,
      /# TYPE recsys_rec_log_dropped_total counter/,
      /recsys_model_info\{version="[^"]+"\} 1/,
      /recsys_process_cpu_seconds_total/,
    ]) {
      assert.match(text, pattern);
    }
  });

  it('/openapi.json is a valid OpenAPI 3.1 document describing every route', async () => {
    const r = await call(f.base, 'GET', '/openapi.json');
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, '3.1.0');
    const validator = new Validator();
    const result = await validator.validate(r.body);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    assert.equal(validator.version, '3.1');
    // The validator does reject a broken document (so the check above means something).
    const broken = structuredClone(r.body);
    broken.paths['/healthz'].get.responses = { '200': { content: 'nope' } };
    assert.equal((await new Validator().validate(broken)).valid, false);
    const expected: Array<[string, string]> = [
      ['get', '/v1/recommendations/{userId}'],
      ['post', '/v1/recommendations/anonymous'],
      ['get', '/v1/similar/{itemId}'],
      ['get', '/v1/items/popular'],
      ['post', '/v1/events'],
      ['post', '/v1/feedback'],
      ['get', '/v1/stream'],
      ['get', '/healthz'],
      ['get', '/readyz'],
      ['get', '/metrics'],
      ['get', '/openapi.json'],
      ['get', '/dashboard'],
      ['post', '/v1/admin/train'],
      ['get', '/v1/admin/models'],
      ['post', '/v1/admin/models/{version}/activate'],
    ];
    const documented = Object.entries(r.body.paths as Record<string, Record<string, unknown>>).flatMap(
      ([p, ops]) => Object.keys(ops).map((m) => [m, p]),
    );
    assert.deepEqual(documented.sort(), expected.sort());
    // Every documented route exists on the server (no 404 "not_found" for it).
    for (const [method, p] of expected) {
      if (p === '/v1/stream') continue;
      const path = p.replace('{userId}', 'u1').replace('{itemId}', 'i1').replace('{version}', 'nope');
      const res = await call(f.base, method.toUpperCase(), path, method === 'post' ? {} : undefined, keyed);
      assert.ok(
        res.status !== 404 || res.body?.error?.code !== 'not_found',
        `${method} ${path} → ${res.status}`,
      );
    }
  });

  it('/dashboard is an HTML page reading the metrics', async () => {
    const r = await call(f.base, 'GET', '/dashboard');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    assert.match(r.text, /<title>recsys dashboard<\/title>/);
    assert.match(r.text, /fetch\('\/metrics'\)/);
  });

  it('admin: list models, activate one (404 for unknown), train through the callback', async () => {
    const list = await call(f.base, 'GET', '/v1/admin/models', undefined, keyed);
    assert.equal(list.status, 200);
    assert.equal(list.body.serving, f.model.meta.version);
    assert.equal(list.body.models[0].version, f.model.meta.version);
    assert.equal(list.body.models[0].status, 'active');
    assert.equal((await call(f.base, 'GET', '/v1/admin/models')).status, 401);
    const unknown = await call(f.base, 'POST', '/v1/admin/models/no-such/activate', undefined, keyed);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'unknown_model');
    const again = await call(
      f.base,
      'POST',
      `/v1/admin/models/${f.model.meta.version}/activate`,
      undefined,
      keyed,
    );
    assert.equal(again.status, 200);
    const before = trained;
    const train = await call(f.base, 'POST', '/v1/admin/train', undefined, keyed);
    assert.equal(train.status, 200);
    assert.deepEqual(train.body, { version: 'trained-by-callback' });
    assert.equal(trained, before + 1);
  });

  it('admin train without a training callback is 501', async () => {
    const plain = await startFixture();
    try {
      const r = await call(plain.base, 'POST', '/v1/admin/train', undefined, keyed);
      assert.equal(r.status, 501);
      assert.equal(r.body.error.code, 'not_implemented');
    } finally {
      await plain.close();
    }
  });
});
