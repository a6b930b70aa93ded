// Similar items, popular items and anonymous sessions (fold-in), end to end.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/logger.js';
import { Catalog } from '../../src/serving/catalog.js';
import { ModelView } from '../../src/serving/model-view.js';
import { waitFor } from '../stores/support/wait.js';
import {
  call,
  categoryOf,
  expectedTop,
  type Fixture,
  INACTIVE_ITEM,
  startFixture,
  UUID_RE,
} from './fixture.js';

const ids = (body: { items: Array<{ item_id: string }> }) => body.items.map((i) => i.item_id);

describe('item endpoints', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(() => f?.close());

  it('GET /v1/similar/:itemId ranks items by cosine similarity, the item itself left out', async () => {
    const r = await call(f.base, 'GET', '/v1/similar/i3?k=5');
    assert.equal(r.status, 200);
    assert.match(r.body.rec_id, UUID_RE);
    assert.equal(r.body.item_id, 'i3');
    assert.equal(r.body.model_version, f.model.meta.version);
    const m = f.model;
    const fct = m.factors;
    const norm = (i: number) => {
      const v = m.itemFactors.slice(i * fct, i * fct + fct);
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    const q = norm(3);
    const expected = m.itemIds
      .map((id, i) => [q.reduce((s, x, c) => s + x * norm(i)[c], 0), id] as const)
      .filter(([, id]) => id !== 'i3' && id !== INACTIVE_ITEM)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 5);
    assert.deepEqual(
      ids(r.body),
      expected.map(([, id]) => id),
    );
    for (const [j, item] of r.body.items.entries()) assert.ok(Math.abs(item.score - expected[j][0]) < 1e-4);
    const again = await call(f.base, 'GET', '/v1/similar/i3?k=5');
    assert.deepEqual(again.body.items, r.body.items);
    const even = await call(f.base, 'GET', '/v1/similar/i3?k=5&category=even');
    assert.ok(ids(even.body).every((id) => categoryOf(id) === 'even'));
  });

  it('GET /v1/similar of an unknown item is 404; bad k is 400', async () => {
    const r = await call(f.base, 'GET', '/v1/similar/no-such-item');
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'unknown_item');
    assert.equal((await call(f.base, 'GET', '/v1/similar/i3?k=0')).status, 400);
  });

  it('GET /v1/items/popular falls back to training counts, then follows recent interactions', async () => {
    const before = await call(f.base, 'GET', '/v1/items/popular?k=5');
    assert.equal(before.status, 200);
    assert.equal(before.body.source, 'popular');
    const counts = new Map<string, number>();
    for (const i of f.model.seenIndices)
      counts.set(f.model.itemIds[i], (counts.get(f.model.itemIds[i]) ?? 0) + 1);
    const top = [...counts.entries()].sort(
      (a, b) => b[1] - a[1] || Number(a[0].slice(1)) - Number(b[0].slice(1)),
    );
    assert.deepEqual(
      ids(before.body),
      top.slice(0, 5).map(([id]) => id),
    );
    assert.equal(before.body.items[0].score, top[0][1]);

    // i33 and i35 become the most popular by recent events (the decayed counts the speed
    // layer keeps; test/speed checks it keeps them).
    for (const [item, n] of [
      ['i33', 5],
      ['i35', 3],
    ] as const)
      await f.stores.db.query('INSERT INTO item_popularity (item_id, score) VALUES ($1, $2)', [item, n]);
    await waitFor(
      async () => ids((await call(f.base, 'GET', '/v1/items/popular?k=5')).body)[0] === 'i33',
      'popular items refreshed',
      5000,
    );
    const after = await call(f.base, 'GET', '/v1/items/popular?k=5&category=odd');
    assert.deepEqual(ids(after.body).slice(0, 2), ['i33', 'i35']);
    assert.equal(after.body.items.length, 5, 'recent items are followed by training favourites');
    assert.ok(ids(after.body).every((id) => categoryOf(id) === 'odd'));
    const excluded = await call(f.base, 'GET', '/v1/items/popular?k=3&exclude=i33');
    assert.equal(ids(excluded.body)[0], 'i35');
  });

  it('POST /v1/recommendations/anonymous folds the session in and ranks like a similar user', async () => {
    const u = f.model.userIdx('u3')!;
    const session = Array.from(f.model.seen(u), (i) => f.model.itemIds[i]);
    const r = await call(f.base, 'POST', '/v1/recommendations/anonymous', {
      items: [...session, 'unknown-item'],
      k: 10,
    });
    assert.equal(r.status, 200, r.text);
    assert.match(r.body.rec_id, UUID_RE);
    assert.equal(r.body.source, 'realtime');
    assert.deepEqual(r.body.ignored_items, ['unknown-item']);
    assert.ok(!ids(r.body).some((id) => session.includes(id)), 'session items are not recommended back');
    const trained = expectedTop(f.model, f.model.userVector(u), 10, session);
    const overlap = ids(r.body).filter((id) => trained.includes(id)).length;
    assert.ok(overlap >= 6, `overlap with the trained user's top 10: ${overlap}`);

    const weighted = await call(f.base, 'POST', '/v1/recommendations/anonymous', {
      items: [{ item_id: 'i1', value: 3 }, 'i2'],
      k: 4,
      category: 'odd',
      exclude: ['i3'],
    });
    assert.equal(weighted.status, 200);
    assert.equal(weighted.body.items.length, 4);
    assert.ok(ids(weighted.body).every((id) => categoryOf(id) === 'odd' && id !== 'i3' && id !== 'i1'));
  });

  it('an anonymous session the model knows nothing of gets popular items', async () => {
    const r = await call(f.base, 'POST', '/v1/recommendations/anonymous', { items: ['x1', 'x2'], k: 3 });
    assert.equal(r.status, 200);
    assert.equal(r.body.source, 'popular');
    assert.equal(r.body.items.length, 3);
    const empty = await call(f.base, 'POST', '/v1/recommendations/anonymous', { items: [] });
    assert.equal(empty.body.source, 'popular');
    assert.equal(empty.body.items.length, 10);
  });

  it('anonymous requests with bad bodies are 400', async () => {
    for (const body of [
      {},
      { items: 'i1' },
      { items: [1, 2] },
      { items: ['i1'], k: 0 },
      { items: ['i1'], k: 1000 },
      { items: ['i1'], extra: true },
      { items: [{ item_id: 'i1', value: 'high' }] },
      { items: Array.from({ length: 501 }, (_, i) => `i${i}`) },
      { items: ['x'.repeat(129)] },
    ]) {
      const r = await call(f.base, 'POST', '/v1/recommendations/anonymous', body);
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
      assert.equal(r.body.error.code, 'invalid_body');
    }
  });

  it('a category no item has gives empty answers on every item endpoint', async () => {
    for (let i = 0; i < 20; i++) {
      const category = `no-such-${i}`;
      const similar = await call(f.base, 'GET', `/v1/similar/i3?k=5&category=${category}`);
      assert.equal(similar.status, 200);
      assert.deepEqual(similar.body.items, []);
      const popular = await call(f.base, 'GET', `/v1/items/popular?k=5&category=${category}`);
      assert.equal(popular.status, 200);
      assert.deepEqual(popular.body.items, []);
      const anonymous = await call(f.base, 'POST', '/v1/recommendations/anonymous', {
        items: ['i1', 'i2'],
        category,
      });
      assert.equal(anonymous.status, 200);
      assert.equal(anonymous.body.source, 'realtime');
      assert.deepEqual(anonymous.body.items, []);
    }
  });

  it('catalog exclusions: unknown categories build and cache nothing; known ones are cached per catalog load', async () => {
    const catalog = new Catalog(f.stores.db, silentLogger);
    await catalog.refresh();
    const view = new ModelView(f.models.current()!, 'js', catalog);
    const m = f.model;
    const vector = m.userVector(0);
    const empty = { items: [], scores: [] };

    // Clients choosing categories at random: one shared list, nothing cached, empty answers.
    const none = view.excludedByCatalog('no-such-0');
    for (let i = 1; i < 1000; i++) assert.equal(view.excludedByCatalog(`no-such-${i}`), none);
    assert.equal(view.cachedCategories, 0);
    assert.equal(none.length, m.itemIds.length, 'every item is excluded');
    assert.deepEqual(await view.score(vector, 10, none), empty);
    assert.deepEqual(await view.score(vector, 10, [1, 2], none), empty);
    assert.deepEqual(await view.similar(3, 5, 'no-such-1'), empty);

    // Known categories: exactly the items outside them (and the inactive one), cached once each.
    const outside = (c: string) =>
      m.itemIds.flatMap((id, i) => (categoryOf(id) !== c || id === INACTIVE_ITEM ? [i] : []));
    const even = view.excludedByCatalog('even');
    assert.deepEqual(Array.from(even), outside('even'));
    assert.deepEqual(Array.from(view.excludedByCatalog('odd')), outside('odd'));
    assert.equal(view.excludedByCatalog('even'), even, 'cached');
    assert.equal(view.cachedCategories, 2);
    const ranked = await view.score(vector, 10, even);
    assert.equal(ranked.items.length, 10);
    assert.ok(ranked.items.every((id) => categoryOf(id) === 'even'));
    assert.deepEqual(Array.from(view.excludedByCatalog(null)), [m.itemIdx(INACTIVE_ITEM)]);

    // A reload that brings a new category: it becomes known, the old lists go.
    await f.stores.db.query(`UPDATE items SET category = 'rare' WHERE item_id = 'i3'`);
    try {
      await catalog.refresh();
      const rare = view.excludedByCatalog('rare');
      assert.equal(rare.length, m.itemIds.length - 1);
      assert.equal(view.cachedCategories, 1, 'lists of the previous catalog load were dropped');
      assert.deepEqual((await view.score(vector, 10, rare)).items, ['i3']);
      assert.ok(!Array.from(view.excludedByCatalog('odd')).includes(m.itemIdx('i1')!));
    } finally {
      await f.stores.db.query(`UPDATE items SET category = 'odd' WHERE item_id = 'i3'`);
    }
  });
});
