// GET /v1/recommendations/:userId end to end on embedded stores: each level of the lookup
// chain (L0, L1, batch, realtime profile, model factors, popular), filters with refill,
// invalidation through the cache's pub/sub, model changes, logging, and bad input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { USER_UPDATES_CHANNEL } from '../../src/events/index.js';
import { FoldIn } from '../../src/model/fold-in.js';
import { publishModel } from '../../src/model/registry.js';
import { waitFor } from '../stores/support/wait.js';
import {
  call,
  categoryOf,
  expectedTop,
  type Fixture,
  INACTIVE_ITEM,
  keyed,
  N_ITEMS,
  seenBy,
  startFixture,
  trainModel,
  UUID_RE,
  vectorBytes,
} from './fixture.js';

const ids = (body: { items: Array<{ item_id: string }> }) => body.items.map((i) => i.item_id);

describe('GET /v1/recommendations/:userId', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(() => f?.close());

  it('scores a known user from the model, then serves the same list from L0', async () => {
    const first = await call(f.base, 'GET', '/v1/recommendations/u1');
    assert.equal(first.status, 200);
    assert.match(first.body.rec_id, UUID_RE);
    assert.equal(first.body.user_id, 'u1');
    assert.equal(first.body.model_version, f.model.meta.version);
    assert.equal(first.body.source, 'l2');
    const u = f.model.userIdx('u1')!;
    assert.deepEqual(ids(first.body), expectedTop(f.model, f.model.userVector(u), 10, seenBy(f.model, 'u1')));
    const second = await call(f.base, 'GET', '/v1/recommendations/u1');
    assert.equal(second.body.source, 'l0');
    assert.notEqual(second.body.rec_id, first.body.rec_id);
    assert.deepEqual(second.body.items, first.body.items);
  });

  it("answers an L0 miss from L1 (another k), with L1 holding the user's candidates", async () => {
    await call(f.base, 'GET', '/v1/recommendations/u2');
    const stored = JSON.parse((await f.stores.cache.get('recs:u2'))!);
    assert.equal(stored.source, 'l2');
    assert.ok(stored.items.length > 10, 'L1 keeps more candidates than one answer');
    const r = await call(f.base, 'GET', '/v1/recommendations/u2?k=5');
    assert.equal(r.body.source, 'l1');
    assert.deepEqual(ids(r.body), stored.items.slice(0, 5));
  });

  it('with L0 off, answers come from L1 every time', async () => {
    await f.restart({ RECSYS_L0_SIZE: '0' });
    try {
      const a = await call(f.base, 'GET', '/v1/recommendations/u3');
      const b = await call(f.base, 'GET', '/v1/recommendations/u3');
      const c = await call(f.base, 'GET', '/v1/recommendations/u3');
      assert.deepEqual([a.body.source, b.body.source, c.body.source], ['l2', 'l1', 'l1']);
    } finally {
      await f.restart();
    }
  });

  it("serves the batch layer's answer, leaving out recently touched items", async () => {
    const items = ['i10', 'i11', 'i12', 'i13', 'i14', 'i15', 'i16', 'i17', 'i18', 'i19', 'i20', 'i21'];
    await f.stores.db.query(
      `INSERT INTO batch_recommendations (user_id, model_version, item_ids, scores) VALUES ($1, $2, $3, $4)`,
      ['u4', f.model.meta.version, items, items.map((_, j) => 1 - j / 100)],
    );
    await f.stores.db.query(
      `INSERT INTO rt_user_interactions (event_id, user_id, item_id, type, value, ts)
       VALUES (gen_random_uuid(), 'u4', 'i11', 'view', 1, now())`,
    );
    const r = await call(f.base, 'GET', '/v1/recommendations/u4');
    assert.equal(r.body.source, 'batch');
    assert.deepEqual(ids(r.body), items.filter((i) => i !== 'i11').slice(0, 10));
    assert.equal(r.body.items[0].score, 1);
  });

  it('prefers a speed-layer profile newer than the batch answer (source realtime)', async () => {
    const other = f.model.userVector(f.model.userIdx('u30')!);
    await f.stores.db.query(
      `INSERT INTO batch_recommendations (user_id, model_version, item_ids, scores, generated_at)
       VALUES ('u5', $1, ARRAY['i1','i2'], ARRAY[1,0.5]::real[], now() - interval '1 hour')`,
      [f.model.meta.version],
    );
    await f.stores.db.query(
      `INSERT INTO user_profiles (user_id, model_version, vector, n_interactions, updated_at) VALUES ('u5', $1, $2, 3, now())`,
      [f.model.meta.version, vectorBytes(other)],
    );
    const r = await call(f.base, 'GET', '/v1/recommendations/u5?k=8');
    assert.equal(r.body.source, 'realtime');
    assert.deepEqual(ids(r.body), expectedTop(f.model, other, 8, seenBy(f.model, 'u5')));
  });

  it('a profile of another model version is ignored', async () => {
    await f.stores.db.query(
      `INSERT INTO user_profiles (user_id, model_version, vector, updated_at) VALUES ('u6', 'old-version', $1, now())`,
      [vectorBytes(new Float32Array(f.model.factors).fill(1))],
    );
    const r = await call(f.base, 'GET', '/v1/recommendations/u6');
    assert.equal(r.body.source, 'l2');
  });

  it("a profile of an older model, for a user the model does not know, is refolded from the user's recent items", async () => {
    const recent = ['i3', 'i7', 'i12'];
    await f.stores.db.query(
      `INSERT INTO user_profiles (user_id, model_version, vector, updated_at) VALUES ('newcomer', 'old-version', $1, now())`,
      [vectorBytes(new Float32Array(f.model.factors).fill(1))],
    );
    for (const item of recent)
      await f.stores.db.query(
        `INSERT INTO rt_user_interactions (event_id, user_id, item_id, type, value, ts)
         VALUES (gen_random_uuid(), 'newcomer', $1, 'click', NULL, now())`,
        [item],
      );
    const r = await call(f.base, 'GET', '/v1/recommendations/newcomer?k=5');
    assert.equal(r.body.source, 'realtime');
    const solver = await FoldIn.create(f.model, 'js');
    const vector = solver.solve(
      recent.map((i) => f.model.itemIdx(i)!),
      recent.map(() => 1),
    ).vector;
    assert.deepEqual(ids(r.body), expectedTop(f.model, vector, 5, recent));
  });

  it('a user no layer knows gets popular items (k of them, inactive ones left out)', async () => {
    const r = await call(f.base, 'GET', '/v1/recommendations/stranger?k=20');
    assert.equal(r.status, 200);
    assert.equal(r.body.source, 'popular');
    assert.equal(r.body.model_version, f.model.meta.version);
    assert.equal(r.body.items.length, 20);
    assert.ok(!ids(r.body).includes(INACTIVE_ITEM));
    const popular = await call(f.base, 'GET', '/v1/items/popular?k=20');
    assert.deepEqual(ids(r.body), ids(popular.body));
  });

  it('a category no item has gives an empty answer on every path, many such categories as well', async () => {
    for (let i = 0; i < 50; i++) {
      for (const path of [
        `/v1/recommendations/u21?category=made-up-${i}`,
        `/v1/recommendations/u21?exclude_seen=false&category=made-up-${i}`,
        `/v1/recommendations/stranger?category=made-up-${i}`,
      ]) {
        const r = await call(f.base, 'GET', path);
        assert.equal(r.status, 200, path);
        assert.deepEqual(r.body.items, [], path);
      }
    }
    const known = await call(f.base, 'GET', '/v1/recommendations/u21?exclude_seen=false&category=odd');
    assert.equal(known.body.items.length, 10);
    assert.ok(ids(known.body).every((id) => categoryOf(id) === 'odd' && id !== INACTIVE_ITEM));
  });

  it('filters by category and exclude list and still returns k items (refill)', async () => {
    const r = await call(f.base, 'GET', '/v1/recommendations/u7?k=12&category=even&exclude=i0,i2&exclude=i4');
    assert.equal(r.status, 200);
    assert.equal(r.body.items.length, 12);
    for (const id of ids(r.body)) {
      assert.equal(categoryOf(id), 'even', id);
      assert.ok(!['i0', 'i2', 'i4', INACTIVE_ITEM].includes(id), id);
    }
    const u = f.model.userIdx('u7')!;
    const odd = f.model.itemIds.filter((id) => categoryOf(id) === 'odd');
    const expected = expectedTop(f.model, f.model.userVector(u), 12, [
      ...seenBy(f.model, 'u7'),
      ...odd,
      'i0',
      'i2',
      'i4',
    ]);
    assert.deepEqual(ids(r.body), expected);
  });

  it('a short batch list is refilled from the model when filters leave fewer than k', async () => {
    await f.stores.db.query(
      `INSERT INTO batch_recommendations (user_id, model_version, item_ids, scores) VALUES ('u8', $1, ARRAY['i1','i3','i5'], ARRAY[3,2,1]::real[])`,
      [f.model.meta.version],
    );
    const r = await call(f.base, 'GET', '/v1/recommendations/u8?k=6');
    assert.equal(r.body.items.length, 6);
    assert.equal(r.body.source, 'l2');
    const plain = await call(f.base, 'GET', '/v1/recommendations/u8?k=3');
    assert.equal(plain.body.source, 'l1');
    assert.deepEqual(ids(plain.body), ['i1', 'i3', 'i5']);
  });

  it('exclude_seen=false ranks over every item, seen ones included', async () => {
    const u = f.model.userIdx('u9')!;
    const r = await call(f.base, 'GET', '/v1/recommendations/u9?exclude_seen=false&k=10');
    assert.deepEqual(ids(r.body), expectedTop(f.model, f.model.userVector(u), 10));
    const seen = new Set(seenBy(f.model, 'u9'));
    assert.ok(
      ids(r.body).some((i) => seen.has(i)),
      'some seen item ranks in the top 10',
    );
    const excluded = await call(f.base, 'GET', '/v1/recommendations/u9?k=10');
    assert.ok(!ids(excluded.body).some((i) => seen.has(i)));
  });

  it("a user update on the pub/sub channel drops the user's L0 and L1 entries", async () => {
    await call(f.base, 'GET', '/v1/recommendations/u10');
    assert.equal((await call(f.base, 'GET', '/v1/recommendations/u10')).body.source, 'l0');
    assert.notEqual(await f.stores.cache.get('recs:u10'), null);
    const vector = f.model.userVector(f.model.userIdx('u40')!);
    await f.stores.db.query(
      `INSERT INTO user_profiles (user_id, model_version, vector, updated_at) VALUES ('u10', $1, $2, now())`,
      [f.model.meta.version, vectorBytes(vector)],
    );
    await f.stores.cache.publish(
      USER_UPDATES_CHANNEL,
      JSON.stringify({ user_id: 'u10', model_version: f.model.meta.version, items: ['i1'], scores: [1] }),
    );
    await waitFor(async () => (await f.stores.cache.get('recs:u10')) === null, 'L1 entry dropped', 5000);
    const r = await call(f.base, 'GET', '/v1/recommendations/u10');
    assert.equal(r.body.source, 'realtime');
    assert.deepEqual(ids(r.body), expectedTop(f.model, vector, 10, seenBy(f.model, 'u10')));
    // A malformed message is ignored without harm.
    await f.stores.cache.publish(USER_UPDATES_CHANNEL, 'not json');
    assert.equal((await call(f.base, 'GET', '/healthz')).status, 200);
  });

  it('logs every answer to recommendation_logs with its source', async () => {
    const a = await call(f.base, 'GET', '/v1/recommendations/u11');
    const b = await call(f.base, 'GET', '/v1/recommendations/u11');
    await waitFor(
      async () =>
        (
          await f.stores.db.query('SELECT 1 FROM recommendation_logs WHERE rec_id IN ($1, $2)', [
            a.body.rec_id,
            b.body.rec_id,
          ])
        ).rowCount === 2,
      'log rows',
      5000,
    );
    const { rows } = await f.stores.db.query<{
      source: string;
      user_id: string;
      item_ids: string[];
      model_version: string;
    }>('SELECT source, user_id, item_ids, model_version FROM recommendation_logs WHERE rec_id = $1', [
      b.body.rec_id,
    ]);
    assert.deepEqual(rows[0], {
      source: 'l0',
      user_id: 'u11',
      item_ids: ids(b.body),
      model_version: f.model.meta.version,
    });
  });

  it('a newly activated model clears L0 and is served at once', async () => {
    await call(f.base, 'GET', '/v1/recommendations/u12');
    assert.equal((await call(f.base, 'GET', '/v1/recommendations/u12')).body.source, 'l0');
    const next = await trainModel('v-next-model');
    await publishModel(f.stores, next, { activate: false });
    const act = await call(f.base, 'POST', '/v1/admin/models/v-next-model/activate', undefined, keyed);
    assert.equal(act.status, 200);
    assert.equal(act.body.serving, 'v-next-model');
    const r = await call(f.base, 'GET', '/v1/recommendations/u12?k=4');
    assert.equal(r.body.model_version, 'v-next-model');
    assert.notEqual(r.body.source, 'l0');
  });

  it('a model activated elsewhere (announced on the registry channel) also clears L0', async () => {
    await call(f.base, 'GET', '/v1/recommendations/u13');
    assert.equal((await call(f.base, 'GET', '/v1/recommendations/u13')).body.source, 'l0');
    const other = await trainModel('v-from-elsewhere');
    await publishModel(f.stores, other, { activate: true }); // publishes on MODEL_CHANNEL
    await waitFor(
      async () =>
        (await call(f.base, 'GET', '/v1/recommendations/u13')).body.model_version === 'v-from-elsewhere',
      'the new model served (well before the 5 s L0 TTL could expire the entry)',
      2000,
    );
  });

  it('refuses malformed queries and ids with 400, writing nothing', async () => {
    await new Promise((r) => setTimeout(r, 200)); // earlier answers' log rows land first
    const before = (
      await f.stores.db.query<{ n: number }>('SELECT count(*)::int AS n FROM recommendation_logs')
    ).rows[0].n;
    for (const path of [
      '/v1/recommendations/u1?k=0',
      '/v1/recommendations/u1?k=101',
      '/v1/recommendations/u1?k=abc',
      '/v1/recommendations/u1?k=1.5',
      '/v1/recommendations/u1?exclude_seen=maybe',
      `/v1/recommendations/${'x'.repeat(129)}`,
      '/v1/recommendations/%E0%A4%A',
      `/v1/recommendations/u1?category=${'c'.repeat(200)}`,
      `/v1/recommendations/u1?exclude=${Array.from({ length: 101 }, (_, i) => `i${i}`).join(',')}`,
    ]) {
      const r = await call(f.base, 'GET', path);
      assert.equal(r.status, 400, path);
      assert.equal(typeof r.body.error.code, 'string');
      assert.equal(typeof r.body.error.message, 'string');
    }
    await new Promise((r) => setTimeout(r, 100));
    const after = (
      await f.stores.db.query<{ n: number }>('SELECT count(*)::int AS n FROM recommendation_logs')
    ).rows[0].n;
    assert.equal(after, before);
    // Ids with reserved characters work when percent-encoded.
    const odd = await call(f.base, 'GET', `/v1/recommendations/${encodeURIComponent('a/b c?ü')}`);
    assert.equal(odd.status, 200);
    assert.equal(odd.body.user_id, 'a/b c?ü');
    assert.ok(N_ITEMS > 10);
  });
});
