// Serving an explicit-feedback model with biases (as `recsys start` trains on MovieLens
// ratings): rankings include the item bias, anonymous sessions fold in ratings, and similar
// items come from the factors alone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, expectedTop, type Fixture, seenBy, startFixture } from './fixture.js';

const ids = (body: { items: Array<{ item_id: string }> }) => body.items.map((i) => i.item_id);

describe('serving an explicit model with biases', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture({ mode: 'explicit' });
  });
  after(() => f?.close());

  it('ranks by factors plus item bias', async () => {
    assert.equal(f.model.usesBias, true);
    const r = await call(f.base, 'GET', '/v1/recommendations/u4?k=6');
    assert.equal(r.body.source, 'l2');
    const u = f.model.userIdx('u4')!;
    assert.deepEqual(ids(r.body), expectedTop(f.model, f.model.userVector(u), 6, seenBy(f.model, 'u4')));
  });

  it('folds in rated items for an anonymous session', async () => {
    const u = f.model.userIdx('u8')!;
    const seen = seenBy(f.model, 'u8');
    const lo = f.model.seenIndptr[u];
    // The user's own training ratings, sent as {item_id, value}.
    const items = seen.map((item_id, j) => ({
      item_id,
      value: f.model.predict(u, f.model.seenIndices[lo + j]),
    }));
    const r = await call(f.base, 'POST', '/v1/recommendations/anonymous', { items, k: 8 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.source, 'realtime');
    const trained = expectedTop(f.model, f.model.userVector(u), 8, seen);
    const overlap = ids(r.body).filter((id) => trained.includes(id)).length;
    assert.ok(overlap >= 5, `overlap ${overlap}`);
  });

  it('similar items work the same', async () => {
    const r = await call(f.base, 'GET', '/v1/similar/i2?k=4');
    assert.equal(r.status, 200);
    assert.equal(r.body.items.length, 4);
    assert.ok(!ids(r.body).includes('i2'));
  });
});
