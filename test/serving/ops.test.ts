// Operations and admin endpoints: health, readiness, Prometheus metrics, the OpenAPI 3.1
// document (checked by a real OpenAPI validator, against the server's routes, and against
// the server's real answers), the dashboard page, and the model registry endpoints.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020.js';
import { isFloat32, isUuid } from '../../src/events/index.js';
import { openRun } from '../../src/model/runs.js';
import { call, type Fixture, keyed, startFixture } from './fixture.js';

/** What the document is checked against: a real answer's status, content type and body. */
interface Answer {
  status: number;
  contentType: string;
  text: string;
}

const answerOf = (r: { status: number; headers: Headers; text: string }): Answer => ({
  status: r.status,
  contentType: r.headers.get('content-type') ?? '',
  text: r.text,
});

/**
 * A real WebSocket upgrade request (fetch cannot make one): 101 when the server switches
 * protocols, else the status and body it refused with.
 */
function upgrade(base: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, contentType: '', text: '' });
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', text }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** A JSON pointer segment (RFC 6901). */
const segment = (s: string) => s.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * Checks real answers against the served document: the operation must document the status,
 * and the content type, and the body must match the schema there ($refs resolved inside the
 * document). Records which statuses each operation was seen with.
 */
class DocumentCheck {
  private readonly ajv = new Ajv2020.default({ allErrors: true, strict: true, allowUnionTypes: true });
  private static readonly ID = 'https://recsys.invalid/openapi.json';
  /** "get /v1/similar/{itemId}" → statuses answered. */
  readonly seen = new Map<string, Set<number>>();

  // biome-ignore lint/suspicious/noExplicitAny: the document is walked field by field
  constructor(readonly doc: any) {
    // The document's own fields are no JSON Schema keywords: declared so that strict mode
    // lets ajv hold the whole document, whose schemas are then compiled (strictly) by pointer.
    for (const keyword of Object.keys(doc)) this.ajv.addKeyword(keyword);
    this.ajv.addFormat('uuid', isUuid);
    this.ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
    this.ajv.addFormat('float', { type: 'number', validate: isFloat32 });
    this.ajv.addSchema(doc, DocumentCheck.ID);
  }

  operations(): string[] {
    return Object.entries(this.doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m} ${p}`),
    );
  }

  check(method: string, template: string, answer: Answer, expected: number): void {
    const op = `${method} ${template}`;
    const where = `${op} → ${answer.status} ${answer.text.slice(0, 300)}`;
    const operation = this.doc.paths[template]?.[method];
    assert.ok(operation, `${op} is not in the document`);
    const response = operation.responses[String(answer.status)];
    assert.ok(response, `undocumented status: ${where}`);
    assert.equal(answer.status, expected, where);
    if (!this.seen.has(op)) this.seen.set(op, new Set());
    this.seen.get(op)?.add(answer.status);
    if (response.content === undefined) {
      assert.equal(answer.text, '', `${where}: a body where the document has none`);
      return;
    }
    const type = answer.contentType.split(';')[0].trim().toLowerCase();
    assert.ok(
      type in response.content,
      `${where}: content-type "${answer.contentType}" is not documented (${Object.keys(response.content)})`,
    );
    const schema = response.content[type].schema;
    if (schema === undefined) return;
    let value: unknown = answer.text;
    if (/^application\/([\w.+-]+\+)?json$/.test(type)) {
      try {
        value = JSON.parse(answer.text);
      } catch {
        assert.fail(`${where}: not JSON`);
      }
    }
    const pointer = ['paths', template, method, 'responses', String(answer.status), 'content', type, 'schema']
      .map(segment)
      .join('/');
    const validate = this.ajv.getSchema(`${DocumentCheck.ID}#/${pointer}`);
    assert.ok(validate, `${op}: no schema at ${pointer}`);
    assert.ok(validate(value), `${where}: ${JSON.stringify(validate.errors, null, 2)}`);
  }
}

describe('ops and admin endpoints', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture({ batch: true });
  });
  after(() => f?.close());

  it('/healthz and /readyz', async () => {
    assert.deepEqual((await call(f.base, 'GET', '/healthz')).body, { status: 'ok' });
    const r = await call(f.base, 'GET', '/readyz');
    assert.equal(r.status, 200);
    // The event bus is checked too where the server probes it.
    const { bus, ...checks } = r.body.checks;
    assert.ok(bus === undefined || bus === 'ok', `bus: ${bus}`);
    assert.deepEqual(
      { ...r.body, checks },
      {
        status: 'ready',
        model_version: f.model.meta.version,
        checks: { db: 'ok', cache: 'ok', model: 'ok' },
        // The circuit breaker around each store the server calls (stores/resilience.ts).
        circuits: { db: 'closed', cache: 'closed', bus: 'closed', db_log: 'closed' },
      },
    );
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
      ['get', '/dashboard/assets/{name}'],
      ['post', '/v1/admin/train'],
      ['get', '/v1/admin/models'],
      ['post', '/v1/admin/models/{version}/activate'],
      ['get', '/v1/admin/runs'],
      ['get', '/v1/admin/runs/{id}'],
      ['get', '/v1/admin/metrics'],
      ['get', '/dashboard/metrics.json'],
    ];
    const documented = Object.entries(r.body.paths as Record<string, Record<string, unknown>>).flatMap(
      ([p, ops]) => Object.keys(ops).map((m) => [m, p]),
    );
    assert.deepEqual(documented.sort(), expected.sort());
    // Every documented route exists on the server (no 404 "not_found" for it).
    for (const [method, p] of expected) {
      if (p === '/v1/stream') continue;
      const path = p
        .replace('{userId}', 'u1')
        .replace('{itemId}', 'i1')
        .replace('{version}', 'nope')
        .replace('{name}', 'main.js');
      const res = await call(f.base, method.toUpperCase(), path, method === 'post' ? {} : undefined, keyed);
      assert.ok(
        res.status !== 404 || res.body?.error?.code !== 'not_found',
        `${method} ${path} → ${res.status}`,
      );
    }
  });

  it('/dashboard is an HTML page whose scripts and styles all come from the server', async () => {
    const r = await call(f.base, 'GET', '/dashboard');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(r.text, /<title>recsys dashboard<\/title>/);
    const loaded = [...r.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(loaded.sort(), [
      '/dashboard/assets/main.js',
      '/dashboard/assets/uplot.min.css',
      '/dashboard/assets/uplot.min.js',
    ]);
    // uPlot as installed in node_modules, byte for byte.
    const uplot = await fetch(`${f.base}/dashboard/assets/uplot.min.js`);
    assert.equal(uplot.status, 200);
    assert.match(uplot.headers.get('content-type') ?? '', /^text\/javascript/);
    const installed = readFileSync(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
    assert.ok(Buffer.from(await uplot.arrayBuffer()).equals(installed));
    const css = await fetch(`${f.base}/dashboard/assets/uplot.min.css`);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    // The page's modules, and every module they import, are served (relative imports, same folder).
    const seen = new Set<string>();
    const queue = ['main.js'];
    while (queue.length) {
      const name = queue.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const m = await call(f.base, 'GET', `/dashboard/assets/${name}`);
      assert.equal(m.status, 200, name);
      assert.match(m.headers.get('content-type') ?? '', /^text\/javascript/);
      assert.doesNotMatch(m.text, /sourceMappingURL/);
      for (const [, dep] of m.text.matchAll(/^import .* from '\.\/([\w-]+\.js)';$/gm)) queue.push(dep);
    }
    assert.ok(seen.has('ops-panel.js') && seen.has('charts.js'), [...seen].join());
    const missing = await call(f.base, 'GET', '/dashboard/assets/nope.js');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
  });

  it('admin: list models, activate one (404 for unknown), start a batch run and follow it', async () => {
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
    const train = await call(f.base, 'POST', '/v1/admin/train', undefined, keyed);
    assert.equal(train.status, 202);
    assert.equal(train.body.status, 'queued');
    assert.equal(train.body.href, `/v1/admin/runs/${train.body.run_id}`);
    // The fixture's stores hold a model but no interactions: the run fails, and says why.
    const outcome = await f.runs.at(-1)!;
    assert.equal(outcome.run_id, train.body.run_id);
    const run = await call(f.base, 'GET', train.body.href, undefined, keyed);
    assert.equal(run.status, 200);
    assert.equal(run.body.status, 'failed');
    assert.equal(run.body.trigger, 'api');
    assert.equal(run.body.phase, 'read');
    assert.match(run.body.error, /no interactions to train on/);
    const runs = await call(f.base, 'GET', '/v1/admin/runs?limit=1', undefined, keyed);
    assert.deepEqual(
      runs.body.runs.map((r: { run_id: string }) => r.run_id),
      [train.body.run_id],
    );
    assert.equal((await call(f.base, 'GET', '/v1/admin/runs?limit=0', undefined, keyed)).status, 400);
    assert.equal((await call(f.base, 'GET', '/v1/admin/runs/nope', undefined, keyed)).status, 404);
  });

  it('real answers match /openapi.json: each operation, success and error cases, statuses and bodies', async () => {
    const doc = new DocumentCheck((await call(f.base, 'GET', '/openapi.json')).body);
    const at = async (
      method: string,
      template: string,
      path: string,
      expected: number,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const r = await call(f.base, method.toUpperCase(), path, body, headers);
      doc.check(method, template, answerOf(r), expected);
      return r;
    };
    const wrongKey = { 'x-api-key': 'not-a-key' };
    const big = 'x'.repeat(2 << 20);

    // Recommendations for a user.
    const recs = '/v1/recommendations/{userId}';
    const served = await at('get', recs, '/v1/recommendations/u1', 200);
    await at('get', recs, '/v1/recommendations/u1?k=3&exclude_seen=false&category=even&exclude=i2', 200);
    assert.equal((await at('get', recs, '/v1/recommendations/nobody-at-all', 200)).body.source, 'popular');
    await at('get', recs, '/v1/recommendations/u1?k=0', 400);
    await at('get', recs, '/v1/recommendations/u1', 401, undefined, wrongKey);

    // Anonymous sessions: fold-in, none of the items known, bad bodies.
    const anon = '/v1/recommendations/anonymous';
    const folded = await at('post', anon, anon, 200, {
      items: ['i1', { item_id: 'i2', value: 2 }, 'zzz'],
      k: 3,
    });
    assert.deepEqual([folded.body.source, folded.body.ignored_items], ['realtime', ['zzz']]);
    assert.equal((await at('post', anon, anon, 200, { items: ['zzz'] })).body.source, 'popular');
    await at('post', anon, anon, 400, { items: 'i1' });
    await at('post', anon, anon, 400, '{"items": [');
    await at('post', anon, anon, 415, 'items=i1', { 'content-type': 'text/plain' });
    await at('post', anon, anon, 413, { items: [big] });
    await at('post', anon, anon, 401, { items: ['i1'] }, wrongKey);

    // Similar and popular items.
    const similar = '/v1/similar/{itemId}';
    await at('get', similar, '/v1/similar/i1?k=4', 200);
    await at('get', similar, '/v1/similar/i1?k=2&category=odd', 200);
    await at('get', similar, '/v1/similar/no-such-item', 404);
    await at('get', similar, '/v1/similar/i1?k=1000', 400);
    const popular = '/v1/items/popular';
    await at('get', popular, '/v1/items/popular?k=3&category=even&exclude=i2', 200);
    await at('get', popular, '/v1/items/popular?k=0', 400);

    // Events.
    const events = '/v1/events';
    const e = { user_id: 'u1', item_id: 'i1', type: 'view' };
    await at('post', events, events, 202, e, keyed);
    await at('post', events, events, 202, [e, { ...e, type: 'rating', value: 4, ts: Date.now() }], keyed);
    await at('post', events, events, 400, [e, { ...e, type: 'nope' }], keyed);
    await at('post', events, events, 400, [], keyed);
    await at('post', events, events, 401, e);
    await at('post', events, events, 401, e, wrongKey);
    await at('post', events, events, 415, 'user_id=u1', { ...keyed, 'content-type': 'text/plain' });
    await at('post', events, events, 413, { ...e, item_id: big }, keyed);

    // Feedback on the answer served to u1 above.
    const fb = '/v1/feedback';
    const recId = served.body.rec_id as string;
    const item = served.body.items[0].item_id as string;
    await at('post', fb, fb, 201, { rec_id: recId, item_id: item, action: 'click', position: 0 }, keyed);
    await at('post', fb, fb, 404, { rec_id: randomUUID(), item_id: item, action: 'click' }, keyed);
    await at(
      'post',
      fb,
      fb,
      201,
      { rec_id: randomUUID(), item_id: item, action: 'click', user_id: 'u3' },
      keyed,
    );
    await at('post', fb, fb, 409, { rec_id: recId, item_id: item, action: 'click', user_id: 'u2' }, keyed);
    await at('post', fb, fb, 400, { rec_id: 'not-a-uuid', item_id: item, action: 'click' }, keyed);
    await at('post', fb, fb, 401, { rec_id: recId, item_id: item, action: 'click' });
    await at('post', fb, fb, 415, 'rec_id=x', { ...keyed, 'content-type': 'text/plain' });
    await at('post', fb, fb, 413, { rec_id: recId, item_id: big, action: 'click' }, keyed);

    // The WebSocket endpoint: a real upgrade, and one refused for a wrong key.
    doc.check('get', '/v1/stream', await upgrade(f.base, '/v1/stream'), 101);
    doc.check('get', '/v1/stream', await upgrade(f.base, '/v1/stream?api_key=not-a-key'), 401);
    // A plain GET (no upgrade) is 426 with Upgrade: websocket, not a 405 naming GET itself.
    const plain = await at('get', '/v1/stream', '/v1/stream', 426);
    assert.equal(plain.headers.get('upgrade'), 'websocket');
    assert.equal(plain.body.error.code, 'upgrade_required');

    // Operations.
    await at('get', '/healthz', '/healthz', 200);
    await at('get', '/readyz', '/readyz', 200);
    await at('get', '/metrics', '/metrics', 200);
    await at('get', '/openapi.json', '/openapi.json', 200);
    await at('get', '/dashboard', '/dashboard', 200);
    const asset = '/dashboard/assets/{name}';
    await at('get', asset, '/dashboard/assets/uplot.min.js', 200);
    await at('get', asset, '/dashboard/assets/uplot.min.css', 200);
    await at('get', asset, '/dashboard/assets/no-such-file.js', 404);

    // Admin.
    const models = '/v1/admin/models';
    await at('get', models, models, 200, undefined, keyed);
    await at('get', models, models, 401);
    const activate = '/v1/admin/models/{version}/activate';
    const version = f.model.meta.version;
    await at('post', activate, `/v1/admin/models/${version}/activate`, 200, undefined, keyed);
    await at('post', activate, '/v1/admin/models/no-such-version/activate', 404, undefined, keyed);
    await at('post', activate, `/v1/admin/models/${version}/activate`, 401);
    const train = '/v1/admin/train';
    const started = await at('post', train, train, 202, undefined, keyed);
    await f.runs.at(-1);
    await at('post', train, train, 401);
    // A run held open elsewhere (another process, as far as this one can tell): 409 naming it.
    const held = await openRun(f.stores.db, { trigger: 'cli' });
    try {
      const refused = await at('post', train, train, 409, undefined, keyed);
      assert.equal(refused.body.error.details.run_id, held.id);
    } finally {
      await held.finish({ status: 'failed', error: 'test' });
    }
    const runs = '/v1/admin/runs';
    await at('get', runs, runs, 200, undefined, keyed);
    await at('get', runs, runs, 401);
    const oneRun = '/v1/admin/runs/{id}';
    await at('get', oneRun, `/v1/admin/runs/${started.body.run_id}`, 200, undefined, keyed);
    await at('get', oneRun, '/v1/admin/runs/no-such-run', 404, undefined, keyed);
    // 501 (no way to train) is checked in the next test, with a server that cannot train.
    const metrics = '/v1/admin/metrics';
    await f.server.flushLog();
    await f.server.analytics.runOnce();
    await at('get', metrics, metrics, 200, undefined, keyed);
    await at(
      'get',
      metrics,
      `${metrics}?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z&granularity=day`,
      200,
      undefined,
      keyed,
    );
    await at('get', metrics, `${metrics}?from=tomorrow`, 400, undefined, keyed);
    await at('get', metrics, metrics, 401);
    const board = '/dashboard/metrics.json';
    await at('get', board, board, 200);
    await at('get', board, `${board}?granularity=week`, 400);

    // Rate limits: a key's bucket, and an address's when configured.
    await f.restart({ RECSYS_RATE_LIMIT: '1', RECSYS_RATE_BURST: '1', RECSYS_IP_RATE_LIMIT: '1' });
    try {
      await at('get', models, models, 200, undefined, keyed);
      const limited = await at('get', models, models, 429, undefined, keyed);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      await at('post', events, events, 429, e, keyed);
      await at('post', fb, fb, 429, { rec_id: recId, item_id: item, action: 'click' }, keyed);
      await at('post', activate, `/v1/admin/models/${version}/activate`, 429, undefined, keyed);
      await at('post', train, train, 429, undefined, keyed);
      // Without a key: the address's bucket holds two requests (twice the rate).
      await at('get', popular, popular, 200);
      await at('get', popular, popular, 200);
      await at('get', popular, popular, 429);
      await at('get', recs, '/v1/recommendations/u1', 429);
      await at('get', similar, '/v1/similar/i1', 429);
      await at('post', anon, anon, 429, { items: ['i1'] });
    } finally {
      await f.restart();
    }

    // Every documented operation was answered, with a success among its answers.
    for (const op of doc.operations()) {
      const statuses = [...(doc.seen.get(op) ?? [])];
      assert.ok(
        statuses.some((s) => s < 300),
        `${op}: no successful answer checked (${statuses})`,
      );
    }
  });

  it('admin train in a process that cannot start runs is 501', async () => {
    const plain = await startFixture();
    try {
      const r = await call(plain.base, 'POST', '/v1/admin/train', undefined, keyed);
      assert.equal(r.status, 501);
      assert.equal(r.body.error.code, 'not_implemented');
      const doc = new DocumentCheck((await call(plain.base, 'GET', '/openapi.json')).body);
      doc.check('post', '/v1/admin/train', answerOf(r), 501);
    } finally {
      await plain.close();
    }
  });
});
