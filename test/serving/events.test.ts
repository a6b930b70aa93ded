// POST /v1/events and POST /v1/feedback: validation, publishing to the bus, stored rows, and
// that a refused request writes nothing. Embedded mode: the bus is the event_log table.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { INTERACTIONS_TOPIC } from '../../src/stores/index.js';
import { uid } from '../stores/support/wait.js';
import { API_KEY, call, type Fixture, keyed, startFixture, UUID_V7_RE } from './fixture.js';

describe('events and feedback', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(() => f?.close());

  /** Messages on the interactions topic for one user key, decoded. */
  async function published(user: string): Promise<Array<Record<string, unknown>>> {
    const { rows } = await f.stores.db.query<{ value: Buffer }>(
      'SELECT value FROM event_log WHERE topic = $1 AND key = $2 ORDER BY partition, log_offset',
      [INTERACTIONS_TOPIC, user],
    );
    return rows.map((r) => JSON.parse(r.value.toString('utf8')));
  }

  it('publishes one event keyed by user, filling event_id and ts', async () => {
    const user = uid('ev-');
    const t0 = Date.now();
    const r = await call(f.base, 'POST', '/v1/events', { user_id: user, item_id: 'i1', type: 'view' }, keyed);
    assert.equal(r.status, 202, r.text);
    assert.equal(r.body.accepted, 1);
    assert.match(r.body.event_ids[0], UUID_V7_RE);
    const [msg] = await published(user);
    assert.equal(msg.event_id, r.body.event_ids[0]);
    assert.equal(msg.user_id, user);
    assert.equal(msg.item_id, 'i1');
    assert.equal(msg.type, 'view');
    assert.equal(msg.value, undefined);
    const ts = Date.parse(msg.ts as string);
    assert.ok(ts >= t0 - 1000 && ts <= Date.now() + 1000);
    const id = r.body.event_ids[0] as string;
    assert.equal(
      parseInt(id.slice(0, 8) + id.slice(9, 13), 16),
      ts,
      'the id is stamped with the accept time',
    );
  });

  it('publishes a batch in order, keeping given ids, values and timestamps (ISO or epoch ms)', async () => {
    const user = uid('ev-');
    const id = randomUUID();
    const batch = [
      { event_id: id, user_id: user, item_id: 'i1', type: 'rating', value: 4.5, ts: '2024-05-01T10:00:00Z' },
      { user_id: user, item_id: 'i2', type: 'purchase', ts: 1714557600000 },
      { user_id: user, item_id: 'i3', type: 'dismiss', ts: '2024-05-01T12:00:00.123+02:00' },
    ];
    const r = await call(f.base, 'POST', '/v1/events', batch, keyed);
    assert.equal(r.status, 202, r.text);
    assert.equal(r.body.accepted, 3);
    assert.equal(r.body.event_ids[0], id);
    const msgs = await published(user);
    assert.deepEqual(
      msgs.map((m) => [m.item_id, m.type, m.value, m.ts]),
      [
        ['i1', 'rating', 4.5, '2024-05-01T10:00:00.000Z'],
        ['i2', 'purchase', undefined, '2024-05-01T10:00:00.000Z'],
        ['i3', 'dismiss', undefined, '2024-05-01T10:00:00.123Z'],
      ],
    );
  });

  it('a batch with bad events is refused whole, naming each bad index and why', async () => {
    const user = uid('ev-');
    const batch = [
      { user_id: user, item_id: 'i1', type: 'view' },
      { user_id: user, item_id: 'i2', type: 'teleport' },
      { user_id: user, type: 'view' },
      { user_id: user, item_id: 'i3', type: 'view', ts: 'yesterday' },
      { user_id: user, item_id: 'i4', type: 'view', event_id: 'not-a-uuid' },
      { user_id: user, item_id: 'x'.repeat(200), type: 'view' },
      { user_id: user, item_id: 'i5', type: 'view', colour: 'red' },
      'not an object',
      { user_id: user, item_id: 'i6', type: 'view', value: '5' },
      { user_id: user, item_id: 'i7', type: 'view', ts: -5 },
    ];
    const r = await call(f.base, 'POST', '/v1/events', batch, keyed);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_events');
    const bad = r.body.error.details as Array<{ index: number; reason: string }>;
    assert.deepEqual(
      bad.map((b) => b.index),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.match(bad[0].reason, /type: must be one of view, click/);
    assert.match(bad[1].reason, /item_id/);
    assert.match(bad[2].reason, /ts/);
    assert.match(bad[3].reason, /event_id: must match format "uuid"/);
    assert.match(bad[4].reason, /128 characters/);
    assert.match(bad[5].reason, /unknown field "colour"/);
    assert.deepEqual(await published(user), [], 'nothing of the batch was published');
  });

  it('refuses empty, oversized and non-JSON bodies', async () => {
    const user = uid('ev-');
    const e = { user_id: user, item_id: 'i1', type: 'view' };
    const cases: Array<[unknown, number, string, Record<string, string>?]> = [
      [[], 400, 'empty_batch'],
      [Array.from({ length: 1001 }, () => e), 400, 'too_many_events'],
      ['{"user_id": ', 400, 'invalid_json'],
      ['', 400, 'invalid_json'],
      ['null', 400, 'invalid_events'],
      ['user_id=u1', 415, 'unsupported_media_type', { 'content-type': 'application/x-www-form-urlencoded' }],
    ];
    for (const [body, status, code, headers] of cases) {
      const r = await call(f.base, 'POST', '/v1/events', body, { ...keyed, ...headers });
      assert.equal(r.status, status, `${String(body).slice(0, 40)} → ${r.text}`);
      assert.equal(r.body.error.code, code);
    }
    const big = await call(f.base, 'POST', '/v1/events', { ...e, item_id: 'x'.repeat(2 << 20) }, keyed);
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'payload_too_large');
    assert.deepEqual(await published(user), []);
    // The server is fine afterwards.
    assert.equal((await call(f.base, 'POST', '/v1/events', e, keyed)).status, 202);
  });

  it('events need a valid API key', async () => {
    const e = { user_id: 'u1', item_id: 'i1', type: 'view' };
    const none = await call(f.base, 'POST', '/v1/events', e);
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'missing_api_key');
    const wrong = await call(f.base, 'POST', '/v1/events', e, { 'x-api-key': `${API_KEY}x` });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'invalid_api_key');
  });

  it('feedback joins a served answer and takes its user', async () => {
    const rec = await call(f.base, 'GET', '/v1/recommendations/u20');
    const item = rec.body.items[2].item_id;
    const r = await call(
      f.base,
      'POST',
      '/v1/feedback',
      { rec_id: rec.body.rec_id, item_id: item, action: 'click', position: 2 },
      keyed,
    );
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.user_id, 'u20');
    const { rows } = await f.stores.db.query(
      'SELECT rec_id, user_id, item_id, position, action, value FROM recommendation_feedback WHERE id = $1',
      [r.body.id],
    );
    assert.deepEqual(rows[0], {
      rec_id: rec.body.rec_id,
      user_id: 'u20',
      item_id: item,
      position: 2,
      action: 'click',
      value: null,
    });
    const rating = await call(
      f.base,
      'POST',
      '/v1/feedback',
      { rec_id: rec.body.rec_id.toUpperCase(), item_id: item, action: 'rating', value: 4 },
      keyed,
    );
    assert.equal(rating.status, 201);
    const mismatch = await call(
      f.base,
      'POST',
      '/v1/feedback',
      { rec_id: rec.body.rec_id, item_id: item, action: 'click', user_id: 'u21' },
      keyed,
    );
    assert.equal(mismatch.status, 409);
  });

  it('feedback for an unknown rec_id is 404 unless the user is named', async () => {
    const recId = randomUUID();
    const r = await call(
      f.base,
      'POST',
      '/v1/feedback',
      { rec_id: recId, item_id: 'i1', action: 'impression' },
      keyed,
    );
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'unknown_rec_id');
    const named = await call(
      f.base,
      'POST',
      '/v1/feedback',
      { rec_id: recId, item_id: 'i1', action: 'impression', user_id: 'u22' },
      keyed,
    );
    assert.equal(named.status, 201);
    assert.equal(named.body.user_id, 'u22');
  });

  it('bad feedback is 400 and writes no row', async () => {
    const count = async () =>
      (await f.stores.db.query<{ n: number }>('SELECT count(*)::int AS n FROM recommendation_feedback'))
        .rows[0].n;
    const n0 = await count();
    for (const body of [
      { rec_id: 'nope', item_id: 'i1', action: 'click' },
      { rec_id: randomUUID(), item_id: 'i1', action: 'like' },
      { rec_id: randomUUID(), action: 'click' },
      { rec_id: randomUUID(), item_id: 'i1', action: 'click', position: -1 },
      { rec_id: randomUUID(), item_id: 'i1', action: 'click', position: 1.5 },
      { rec_id: randomUUID(), item_id: "i1'; DROP TABLE items; --", action: 'click', sneaky: 1 },
      [],
    ]) {
      const r = await call(f.base, 'POST', '/v1/feedback', body, keyed);
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    assert.equal(await count(), n0);
    assert.equal((await f.stores.db.query('SELECT 1 FROM items LIMIT 1')).rowCount, 1);
  });
});
