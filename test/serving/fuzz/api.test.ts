// Property-based robustness (fast-check) against a real embedded server: random plausible and
// hostile requests on every endpoint get either a well-formed answer or a JSON 4xx error, never
// a 5xx or a body that is not JSON; an event batch with bad items is refused naming exactly
// those items and publishes nothing, an accepted one publishes exactly its events; the stream
// answers or closes a misbehaving connection and keeps serving the others; and the server is
// healthy afterwards. On a failure fast-check prints the seed and the shrunk counterexample.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { isFloat32, isUuid, MAX_ID_LENGTH, USER_UPDATES_CHANNEL } from '../../../src/events/index.js';
import { FEEDBACK_ACTIONS, MAX_EVENTS, MAX_K } from '../../../src/serving/schemas.js';
import { INTERACTIONS_TOPIC } from '../../../src/stores/index.js';
import {
  API_KEY,
  call,
  type Fixture,
  N_ITEMS,
  N_USERS,
  type Reply,
  seenBy,
  startFixture,
} from '../fixture.js';
import { connect } from '../ws-client.js';
import {
  anyBody,
  anyText,
  type Batch,
  badId,
  badValue,
  bodyRequests,
  contentType,
  corruption,
  type Ev,
  goodEvent,
  goodId,
  goodValue,
  INF,
  knownItem,
  type Posted,
  pct,
  toJson,
  urlJunk,
  withKey,
  without,
} from './arbitraries.js';
import { assertAnswer, assertJsonError, kOf } from './invariants.js';

/** The stream's limit on one message (stream.ts maxPayloadLength). */
const WS_MAX_PAYLOAD = 4 * 1024;

// ---------------------------------------------------------------------------------------------

describe('fuzzing the serving API', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(() => f?.close());

  async function post(
    path: string,
    body: string | Uint8Array,
    type = 'application/json',
    key = true,
  ): Promise<Reply> {
    const headers: Record<string, string> = { 'content-type': type };
    if (key) headers['x-api-key'] = API_KEY;
    return call(f.base, 'POST', path, typeof body === 'string' ? body : Buffer.from(body), headers);
  }

  /** Next offset of each partition of the interactions topic: what a publish must move. */
  async function offsets(): Promise<Map<number, number>> {
    const { rows } = await f.stores.db.query<{ partition: number; next_offset: string | number }>(
      'SELECT partition, next_offset FROM event_partitions WHERE topic = $1',
      [INTERACTIONS_TOPIC],
    );
    return new Map(rows.map((r) => [r.partition, Number(r.next_offset)]));
  }

  /** Messages published on the interactions topic since `from` (partition → offset). */
  async function publishedSince(
    from: Map<number, number>,
  ): Promise<Array<{ key: string; msg: Record<string, unknown> }>> {
    const { rows } = await f.stores.db.query<{ key: string; value: Uint8Array }>(
      `SELECT e.key, e.value FROM event_log e
         LEFT JOIN unnest($2::int[], $3::int8[]) AS b(p, o) ON e.partition = b.p
        WHERE e.topic = $1 AND e.log_offset >= coalesce(b.o, 0)`,
      [INTERACTIONS_TOPIC, [...from.keys()], [...from.values()]],
    );
    return rows.map((r) => ({ key: r.key, msg: JSON.parse(Buffer.from(r.value).toString('utf8')) }));
  }

  /**
   * A 202 carries one id per event and exactly those events were published (with the sent
   * fields, `sent` when known); anything else is a 4xx JSON error and nothing was published.
   */
  async function checkEventsAnswer(
    r: Reply,
    from: Map<number, number>,
    count: number | null,
    sent: Ev[] | null,
    what: string,
  ): Promise<void> {
    assert.ok(r.status < 500, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
    if (r.status !== 202) {
      assertJsonError(r, what);
      assert.equal(await changedOffsets(from), 0, `${what}: a refused request published events`);
      return;
    }
    assert.equal(typeof r.body, 'object', what);
    const ids: string[] = r.body.event_ids;
    assert.ok(Array.isArray(ids), what);
    if (count !== null) assert.equal(ids.length, count, `${what}: one id per event`);
    assert.equal(r.body.accepted, ids.length, what);
    for (const id of ids) assert.ok(isUuid(id), `${what}: event id ${id}`);
    const published = await publishedSince(from);
    assert.equal(published.length, ids.length, `${what}: events published`);
    const byId = new Map(published.map((p) => [p.msg.event_id, p]));
    for (const [i, id] of ids.entries()) {
      const p = byId.get(id);
      assert.ok(p, `${what}: event ${id} was not published`);
      assert.equal(p.key, p.msg.user_id, what);
      const e = sent?.[i];
      if (!e) continue;
      if (e.event_id !== undefined) assert.equal(id, (e.event_id as string).toLowerCase(), what);
      assert.equal(p.msg.user_id, e.user_id, what);
      assert.equal(p.msg.item_id, e.item_id, what);
      assert.equal(p.msg.type, e.type, what);
      assert.ok(p.msg.value === e.value, `${what}: value ${p.msg.value} for ${e.value}`);
      if (e.ts !== undefined) assert.equal(p.msg.ts, new Date(e.ts as string | number).toISOString(), what);
      else assert.ok(!Number.isNaN(Date.parse(p.msg.ts as string)), what);
    }
  }

  async function changedOffsets(from: Map<number, number>): Promise<number> {
    let moved = 0;
    for (const [p, o] of await offsets()) moved += o - (from.get(p) ?? 0);
    return moved;
  }

  it('GET endpoints answer 200 with the documented shape or a JSON 4xx, whatever the path and query', async () => {
    const queryValue = fc.oneof(
      fc.constant(''),
      fc.integer({ min: -200, max: 200 }).map(String),
      fc.constantFrom(
        ...['1', '5', '10', String(MAX_K), String(MAX_K + 1), '0', '-1', '-0', '1.5', '1e2', '0x10'],
        ...[' 5', '+5', '５', 'NaN', 'Infinity', 'true', 'false', '00010', 'even', 'odd', 'i1', 'i2,i3'],
        ...[',,,', 'i1,,i1', 'u1'],
      ),
      fc.integer({ min: 20, max: 3000 }).map((n) => '9'.repeat(n)),
      anyText(20).map(pct),
      urlJunk,
      fc.array(knownItem, { minLength: 1, maxLength: 120 }).map((ids) => ids.join(',')),
      fc.string({ unit: 'grapheme-ascii', minLength: 120, maxLength: 200 }).map(encodeURIComponent),
    );
    const queryName = fc.constantFrom(
      ...['k', 'k', 'exclude_seen', 'exclude', 'exclude', 'category', 'category', 'K', 'junk', '', 'k%00'],
    );
    const query = fc
      .array(fc.tuple(queryName, queryValue, fc.boolean()), { maxLength: 6 })
      .map((ps) => ps.map(([n, v, bare]) => (bare && v === '' ? n : `${n}=${v}`)).join('&'));
    const segment = fc.oneof(
      goodId.map(pct),
      anyText(30, 1).map(pct),
      fc
        .string({ unit: 'grapheme-ascii', minLength: MAX_ID_LENGTH - 2, maxLength: 300 })
        .map(encodeURIComponent),
      urlJunk,
    );
    const request = fc.oneof(
      fc
        .tuple(
          fc.oneof(
            segment,
            fc.integer({ min: 0, max: N_USERS + 3 }).map((n) => `u${n}`),
          ),
          query,
        )
        .map(([s, q]) => ({ route: 'recommendations', path: `/v1/recommendations/${s}`, q })),
      fc
        .tuple(
          fc.oneof(
            segment,
            fc.integer({ min: 0, max: N_ITEMS + 3 }).map((n) => `i${n}`),
          ),
          query,
        )
        .map(([s, q]) => ({ route: 'similar', path: `/v1/similar/${s}`, q })),
      query.map((q) => ({ route: 'popular', path: '/v1/items/popular', q })),
    );

    await fc.assert(
      fc.asyncProperty(request, async ({ route, path, q }) => {
        // What is sent is what fetch's URL parser makes of it; the server reads that.
        const url = new URL(f.base + path + (q === '' ? '' : `?${q}`));
        const what = `GET ${url.pathname}${url.search.slice(0, 200)}`;
        const r = await call(f.base, 'GET', url.pathname + url.search);
        assert.ok(r.status < 500, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
        if (r.status !== 200) return assertJsonError(r, what);
        const params = url.searchParams;
        const category = params.get('category') || null;
        const exclude = params.getAll('exclude').flatMap((v) => v.split(','));
        // The path segment as the server decoded it (it answered 200, so it could).
        const segmentNow = () => decodeURIComponent(url.pathname.split('/')[3] ?? '');
        if (route === 'recommendations' && url.pathname.startsWith('/v1/recommendations/')) {
          const user = segmentNow();
          const seen =
            f.model.userIdx(user) !== undefined &&
            params.get('exclude_seen') !== 'false' &&
            params.get('exclude_seen') !== '0';
          assertAnswer(
            r,
            {
              k: kOf(params.get('k')),
              category,
              exclude: [...exclude, ...(seen ? seenBy(f.model, user) : [])],
            },
            what,
          );
          assert.equal(r.body.user_id, user, what);
        } else if (route === 'similar' && url.pathname.startsWith('/v1/similar/')) {
          const item = segmentNow();
          assertAnswer(r, { k: kOf(params.get('k')), category, exclude: [item] }, what);
          assert.equal(r.body.item_id, item, what);
        } else if (route === 'popular' && url.pathname === '/v1/items/popular') {
          assertAnswer(r, { k: kOf(params.get('k')), category, exclude }, what);
        } else assert.fail(`${what}: 200 from a path the URL parser moved (${path})`);
      }),
      {
        numRuns: 300,
        // Found by this property: a NUL user id was served, and its log row failed the batch of log rows.
        examples: [[{ route: 'recommendations', path: '/v1/recommendations/x%00', q: '' }]],
      },
    );
  });

  it('POST /v1/events: a batch with bad items names exactly them and publishes nothing; a good one is published whole', async () => {
    const batch = fc
      .tuple(
        fc.array(goodEvent, { minLength: 1, maxLength: 30 }),
        fc.array(fc.tuple(fc.nat(), corruption), { maxLength: 3 }),
        fc.boolean(),
      )
      .map(([events, corruptions, single]) => {
        const items: unknown[] = [...events];
        const bad = new Set<number>();
        for (const [at, corrupt] of corruptions) {
          const i = at % items.length;
          items[i] = corrupt(events[i]);
          bad.add(i);
        }
        // One event may be sent bare, unless it became an array (that would be a batch).
        const bare = single && items.length === 1 && !Array.isArray(items[0]);
        const batch: Batch = {
          events,
          items,
          bad: [...bad].sort((a, b) => a - b),
          body: toJson(bare ? items[0] : items),
        };
        return batch;
      });
    await fc.assert(
      fc.asyncProperty(batch, async ({ events, items, bad, body }) => {
        const from = await offsets();
        const r = await post('/v1/events', body);
        const what = `POST /v1/events ${body.slice(0, 300)}`;
        if (bad.length === 0) {
          assert.equal(r.status, 202, `${what}: ${r.text.slice(0, 300)}`);
          await checkEventsAnswer(r, from, items.length, events, what);
          return;
        }
        assert.equal(r.status, 400, `${what}: ${r.text.slice(0, 300)}`);
        assertJsonError(r, what);
        assert.equal(r.body.error.code, 'invalid_events', what);
        const details = r.body.error.details as Array<{ index: number; reason: string }>;
        assert.deepEqual(
          details.map((d) => d.index),
          bad,
          what,
        );
        for (const d of details) assert.ok(typeof d.reason === 'string' && d.reason !== '', what);
        assert.equal(await changedOffsets(from), 0, `${what}: a refused batch published events`);
      }),
      {
        numRuns: 200,
        // Found by this property (a 500, or a value no float32 column can store, accepted).
        examples: [
          { user_id: 'u1\0', item_id: 'i1', type: 'view' },
          { user_id: 'u1', item_id: 'i1\ud800', type: 'view' },
          { user_id: 'u1', item_id: 'i1', type: 'rating', value: INF },
          { user_id: 'u1', item_id: 'i1', type: 'rating', value: 1e300 },
          { user_id: 'u1', item_id: 'i1', type: 'rating', value: 1e-46 },
        ].map((spoilt): [Batch] => {
          const items = [{ user_id: 'u1', item_id: 'i1', type: 'view' }, spoilt];
          return [{ events: items, items, bad: [1], body: toJson(items) }];
        }),
      },
    );
  });

  it('POST /v1/events: batches at and over the limit', async () => {
    const events = fc.sample(goodEvent, { numRuns: MAX_EVENTS + 1, seed: 7 });
    for (const [items, status, code] of [
      [events.slice(0, MAX_EVENTS), 202, null],
      [events, 400, 'too_many_events'],
      [
        [...events.slice(0, 500), { ...events[500], value: INF }, ...events.slice(501)],
        400,
        'too_many_events',
      ],
      [[...events.slice(0, 999), { ...events[999], value: INF }], 400, 'invalid_events'],
    ] as const) {
      const from = await offsets();
      const r = await post('/v1/events', toJson(items));
      const what = `${items.length} events`;
      assert.equal(r.status, status, `${what}: ${r.text.slice(0, 300)}`);
      if (status === 202) await checkEventsAnswer(r, from, items.length, items as Ev[], what);
      else {
        assert.equal(r.body.error.code, code, what);
        if (code === 'invalid_events')
          assert.deepEqual(
            r.body.error.details.map((d: { index: number }) => d.index),
            [999],
          );
        assert.equal(await changedOffsets(from), 0, `${what}: published`);
      }
    }
  });

  it('POST /v1/events with any body: 202 with its events published, or a JSON 4xx and nothing published', async () => {
    await fc.assert(
      fc.asyncProperty(anyBody, contentType, withKey, async (body, type, key) => {
        const from = await offsets();
        const r = await post('/v1/events', body, type, key);
        const text = typeof body === 'string' ? body : Buffer.from(body).toString('hex');
        await checkEventsAnswer(r, from, null, null, `POST /v1/events (${type}) ${text.slice(0, 300)}`);
      }),
      { numRuns: 150 },
    );
  });

  it('POST /v1/feedback: 201 storing one row for a valid body, or a JSON 4xx storing none', async () => {
    const served = await call(f.base, 'GET', '/v1/recommendations/u20');
    const popular = await call(f.base, 'GET', '/v1/items/popular');
    assert.equal(served.status, 200);
    assert.equal(popular.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 100)); // their log rows are written
    const count = async () =>
      (await f.stores.db.query<{ n: number }>('SELECT count(*)::int AS n FROM recommendation_feedback'))
        .rows[0].n;
    const good = fc.record(
      {
        rec_id: fc.oneof(
          fc.constantFrom(served.body.rec_id, served.body.rec_id.toUpperCase(), popular.body.rec_id),
          fc.uuid(),
        ),
        item_id: goodId,
        action: fc.constantFrom(...FEEDBACK_ACTIONS),
        position: fc.integer({ min: 0, max: 10_000 }),
        value: goodValue,
        user_id: fc.oneof(fc.constant('u20'), goodId),
      },
      { requiredKeys: ['rec_id', 'item_id', 'action'] },
    );
    const FIELDS = new Set(['rec_id', 'item_id', 'action', 'position', 'value', 'user_id']);
    const spoils: fc.Arbitrary<(b: Ev) => unknown>[] = [
      fc.constantFrom('rec_id', 'item_id', 'action').map((k) => (b: Ev) => without(b, k)),
      fc
        .oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null))
        .filter((v) => typeof v !== 'string' || !isUuid(v))
        .map((v) => (b: Ev) => ({ ...b, rec_id: v })),
      fc.tuple(fc.constantFrom('item_id', 'user_id'), badId).map(([k, v]) => (b: Ev) => ({ ...b, [k]: v })),
      fc
        .string({ maxLength: 12 })
        .filter((a) => !(FEEDBACK_ACTIONS as readonly string[]).includes(a))
        .map((a) => (b: Ev) => ({ ...b, action: a })),
      fc
        .oneof(
          fc.integer({ min: -1000, max: -1 }),
          fc.integer({ min: 10_001 }),
          fc.constantFrom(1.5, '2', null),
        )
        .map((v) => (b: Ev) => ({ ...b, position: v })),
      badValue.map((v) => (b: Ev) => ({ ...b, value: v })),
    ];
    const request = bodyRequests(good, FIELDS, spoils);
    const recUser = new Map<string, string>([
      [served.body.rec_id, 'u20'],
      [popular.body.rec_id, ''],
    ]);
    await fc.assert(
      fc.asyncProperty(request, withKey, async ({ valid, text }, key) => {
        const n0 = await count();
        const r = await post('/v1/feedback', text, 'application/json', key);
        const what = `POST /v1/feedback ${typeof text === 'string' ? text.slice(0, 300) : '(bytes)'}`;
        assert.ok(r.status < 500, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
        if (r.status !== 201) {
          assertJsonError(r, what);
          assert.equal(await count(), n0, `${what}: a refused feedback wrote a row`);
        }
        if (!key) return assert.equal(r.status, 401, what);
        if (valid === null) return assert.notEqual(r.status, 201, `${what}: accepted`);
        // A valid body: its answer follows from the rec_id and the user named.
        const recId = (valid.rec_id as string).toLowerCase();
        const logged = recUser.get(recId);
        const named = valid.user_id as string | undefined;
        if (logged === undefined && named === undefined) return assert.equal(r.status, 404, what);
        if (logged && named !== undefined && named !== logged) return assert.equal(r.status, 409, what);
        assert.equal(r.status, 201, `${what}: ${r.text.slice(0, 300)}`);
        assert.equal(typeof r.body.id, 'number', what);
        assert.equal(r.body.rec_id, recId, what);
        assert.equal(r.body.user_id, logged || named || '', what);
        assert.equal(await count(), n0 + 1, `${what}: one row`);
      }),
      {
        numRuns: 200,
        // Found by this property: each was a 500 (PostgreSQL refused the value or the id).
        examples: [{ value: 1e300 }, { value: -5e-324 }, { item_id: 'i\0' }, { user_id: 'u\0' }].map(
          (spoilt): [Posted, boolean] => [
            {
              valid: null,
              text: toJson({
                rec_id: randomUUID(),
                item_id: 'i1',
                action: 'rating',
                user_id: 'u1',
                ...spoilt,
              }),
            },
            true,
          ],
        ),
      },
    );
  });

  it('POST /v1/recommendations/anonymous: an answer keeping its filters for a valid body, else a JSON 4xx', async () => {
    const sessionItem = fc.oneof(
      knownItem,
      goodId,
      fc.record(
        {
          item_id: fc.oneof(knownItem, goodId),
          value: fc.oneof(goodValue, fc.double({ min: -5, max: 5, noNaN: true }).filter(isFloat32)),
        },
        { requiredKeys: ['item_id'] },
      ),
    );
    const good = fc.record(
      {
        items: fc.array(
          fc.oneof({ weight: 3, arbitrary: knownItem }, { weight: 2, arbitrary: sessionItem }),
          {
            maxLength: 20,
          },
        ),
        k: fc.integer({ min: 1, max: MAX_K }),
        category: fc.oneof(fc.constantFrom('even', 'odd'), goodId),
        exclude: fc.array(fc.oneof(knownItem, goodId), { maxLength: 10 }),
      },
      { requiredKeys: ['items'] },
    );
    const ANON_FIELDS = new Set(['items', 'k', 'category', 'exclude']);
    const spoils: fc.Arbitrary<(b: Ev) => unknown>[] = [
      fc.constant((b: Ev) => without(b, 'items')),
      fc
        .oneof(
          fc.tuple(fc.array(knownItem, { maxLength: 5 }), badId).map(([a, x]) => [...a, x]),
          fc.tuple(knownItem, badValue).map(([item_id, value]) => [{ item_id, value }]),
          fc.tuple(knownItem, badId).map(([item_id, x]) => [{ item_id: x }, item_id]),
          fc.constant([{ item_id: 'i1', extra: 1 }]),
          fc.array(knownItem, { minLength: 501, maxLength: 520 }),
          fc.oneof(
            fc.string(),
            fc.integer(),
            fc.constant(null),
            fc.dictionary(fc.string(), fc.nat(), { maxKeys: 2 }),
          ),
        )
        .map((items) => (b: Ev) => ({ ...b, items })),
      fc
        .oneof(
          fc.integer({ min: -5, max: 0 }),
          fc.integer({ min: MAX_K + 1, max: MAX_K + 1000 }),
          fc.constantFrom(1.5, '5', null, true, []),
        )
        .map((k) => (b: Ev) => ({ ...b, k })),
      badId.map((category) => (b: Ev) => ({ ...b, category })),
      fc
        .oneof(
          fc.array(knownItem, { minLength: 101, maxLength: 110 }),
          fc.tuple(fc.array(knownItem, { maxLength: 3 }), badId).map(([a, x]) => [...a, x]),
          fc.constantFrom('i1', 5, null, {}),
        )
        .map((exclude) => (b: Ev) => ({ ...b, exclude })),
    ];
    const request = bodyRequests(good, ANON_FIELDS, spoils);
    await fc.assert(
      fc.asyncProperty(request, async ({ valid, text }) => {
        const r = await post('/v1/recommendations/anonymous', text, 'application/json', false);
        const what = `POST /v1/recommendations/anonymous ${typeof text === 'string' ? text.slice(0, 300) : '(bytes)'}`;
        assert.ok(r.status < 500, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
        if (valid !== null && r.status !== 200) {
          // A valid body is refused only when its values are too large to fold in.
          const values = (valid.items as unknown[]).map((e) => (e as { value?: number }).value ?? 0);
          assert.ok(
            r.status === 400 && values.some((x) => Math.abs(x) >= 1e30),
            `${what}: ${r.status} ${r.text.slice(0, 300)}`,
          );
        }
        if (r.status !== 200) return assertJsonError(r, what);
        // 200 means the body was valid: it is the value sent (or parses to it).
        const v = (valid ?? JSON.parse(typeof text === 'string' ? text : Buffer.from(text).toString())) as {
          items: Array<string | { item_id: string }>;
          k?: number;
          category?: string;
          exclude?: string[];
        };
        const session = v.items.map((e) => (typeof e === 'string' ? e : e.item_id));
        assertAnswer(
          r,
          { k: v.k ?? 10, category: v.category ?? null, exclude: [...session, ...(v.exclude ?? [])] },
          what,
        );
        assert.ok(Array.isArray(r.body.ignored_items), what);
        const known = new Set(f.model.itemIds);
        assert.deepEqual(
          r.body.ignored_items,
          session.filter((id) => !known.has(id)),
          `${what}: ignored items`,
        );
      }),
      {
        numRuns: 150,
        // Found by this property: the fold-in overflowed and every score was sent as null.
        examples: [
          [
            {
              valid: { items: [{ item_id: 'i1', value: 3e38 }, 'i2'] },
              text: '{"items":[{"item_id":"i1","value":3e38},"i2"]}',
            },
          ],
        ],
      },
    );
  });

  it('WS /v1/stream: any message gets its reply or closes that connection; other clients are served', async () => {
    const url = `${f.base.replace('http', 'ws')}/v1/stream`;
    const witness = await connect(url);
    try {
      witness.send({ subscribe: 'u1' });
      assert.deepEqual(await witness.next(), { subscribed: 'u1' });

      type Msg = { data: string | Buffer; binary: boolean };
      const subscribeLike = fc
        .record(
          {
            subscribe: fc.oneof(goodId, badId, anyText(10)),
            unsubscribe: fc.oneof(goodId, badId),
            other: fc.jsonValue({ maxDepth: 1 }),
          },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o));
      const message: fc.Arbitrary<Msg> = fc.oneof(
        subscribeLike.map((data) => ({ data, binary: false })),
        fc
          .oneof(fc.json(), anyText(80), fc.constantFrom('', '[]', 'null', '{"subscribe":5}'))
          .map((data) => ({
            data,
            binary: false,
          })),
        fc.uint8Array({ maxLength: 100 }).map((b) => ({ data: Buffer.from(b), binary: true })),
        // Bytes that are not UTF-8, as a text frame.
        fc.uint8Array({ minLength: 1, maxLength: 50 }).map((b) => ({
          data: Buffer.concat([Buffer.from(b), Buffer.from([0xff])]),
          binary: false,
        })),
        // Over the stream's message limit.
        fc
          .tuple(fc.integer({ min: WS_MAX_PAYLOAD + 1, max: 4 * WS_MAX_PAYLOAD }), fc.boolean())
          .map(([n, binary]) => ({
            data: binary ? Buffer.alloc(n, 0x7b) : JSON.stringify({ subscribe: 'x'.repeat(n) }),
            binary,
          })),
      );

      /** What the server must answer to one message; null: it may close the connection instead. */
      function expected(m: Msg): unknown {
        const bytes = typeof m.data === 'string' ? Buffer.from(m.data) : m.data;
        if (bytes.length > WS_MAX_PAYLOAD) return null;
        if (m.binary) return 'bad_message';
        const text = bytes.toString('utf8');
        if (!Buffer.from(text).equals(bytes)) return null; // not UTF-8: closing is allowed
        let o: unknown;
        try {
          o = JSON.parse(text);
        } catch {
          return 'bad_message';
        }
        const obj = (typeof o === 'object' && o !== null ? o : {}) as Record<string, unknown>;
        const valid = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;
        if ('subscribe' in obj) return valid(obj.subscribe) ? { subscribed: obj.subscribe } : 'bad_message';
        if ('unsubscribe' in obj)
          return valid(obj.unsubscribe) ? { unsubscribed: obj.unsubscribe } : 'bad_message';
        return 'bad_message';
      }

      let round = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 4 }), async (messages) => {
          const ws = new WebSocket(url);
          const events: Array<{ kind: 'message'; data: string } | { kind: 'close' }> = [];
          let wake: (() => void) | null = null;
          ws.on('message', (d) => {
            events.push({ kind: 'message', data: d.toString('utf8') });
            wake?.();
          });
          ws.on('close', () => {
            events.push({ kind: 'close' });
            wake?.();
          });
          ws.on('error', () => {}); // a refused frame shows as a close
          await new Promise<void>((resolve, reject) => {
            ws.once('open', resolve);
            ws.once('error', reject);
          });
          const nextEvent = async () => {
            const deadline = Date.now() + 3000;
            while (events.length === 0) {
              if (Date.now() > deadline) throw new Error('no reply and no close');
              await new Promise<void>((r) => {
                wake = r;
                setTimeout(r, 100);
              });
            }
            return events.shift()!;
          };
          try {
            for (const m of messages) {
              const what = `${m.binary ? 'binary' : 'text'} ${String(m.data).slice(0, 200)}`;
              const want = expected(m);
              ws.send(m.data, { binary: m.binary });
              const got = await nextEvent();
              if (got.kind === 'close') {
                assert.equal(want, null, `${what}: closed instead of answering`);
                break;
              }
              const reply = JSON.parse(got.data);
              if (want === null || want === 'bad_message')
                assert.equal(typeof reply.error?.code, 'string', `${what}: ${got.data}`);
              if (want === 'bad_message')
                assert.equal(reply.error.code, 'bad_message', `${what}: ${got.data}`);
              else if (want !== null) assert.deepEqual(reply, want, what);
            }
          } finally {
            ws.terminate();
          }
          // The other client is still served.
          const probe = `w${round++}`;
          witness.send({ subscribe: probe });
          assert.deepEqual(await witness.next(), { subscribed: probe });
          witness.send({ unsubscribe: probe });
          assert.deepEqual(await witness.next(), { unsubscribed: probe });
        }),
        { numRuns: 150 },
      );

      // And still gets its pushes.
      await f.stores.cache.publish(
        USER_UPDATES_CHANNEL,
        JSON.stringify({ user_id: 'u1', model_version: f.model.meta.version, items: ['i4'], scores: [0.5] }),
      );
      const push = (await witness.next()) as { rec_id: string };
      assert.deepEqual(push, {
        type: 'recommendations',
        rec_id: push.rec_id,
        user_id: 'u1',
        model_version: f.model.meta.version,
        source: 'realtime',
        items: [{ item_id: 'i4', score: 0.5 }],
      });
    } finally {
      witness.ws.close();
    }
  });

  it('is healthy afterwards and lost no answer log rows to hostile ids', async () => {
    assert.equal((await call(f.base, 'GET', '/healthz')).status, 200);
    const r = await call(f.base, 'GET', '/v1/recommendations/u1?k=5');
    assertAnswer(r, { k: 5, exclude: seenBy(f.model, 'u1') }, 'GET /v1/recommendations/u1');
    assert.equal(r.body.items.length, 5);
    const ok = await post(
      '/v1/events',
      JSON.stringify({ user_id: 'u1', item_id: 'i1', type: 'view' }),
      'application/json',
    );
    assert.equal(ok.status, 202);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the answer log's last flush
    const metrics = (await call(f.base, 'GET', '/metrics')).text;
    const dropped = /^recsys_rec_log_dropped_total\{reason="store_error"\} (\d+)/m.exec(metrics);
    assert.equal(dropped?.[1], '0', 'answer log rows failed to store');
  });
});
