// WS /v1/stream with a real WebSocket client (the `ws` package): subscribe, receive a user's
// new recommendations when a user update is published (a served answer: rec_id, log row,
// feedback), unsubscribe, bad messages, auth.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { USER_UPDATES_CHANNEL } from '../../src/events/index.js';
import { waitFor } from '../stores/support/wait.js';
import { API_KEY, call, type Fixture, keyed, startFixture, UUID_RE } from './fixture.js';
import { connect } from './ws-client.js';

describe('WS /v1/stream', () => {
  let f: Fixture;
  let url: string;
  before(async () => {
    f = await startFixture();
    url = `${f.base.replace('http', 'ws')}/v1/stream`;
  });
  after(() => f?.close());

  const update = (user: string, items: string[]) =>
    f.stores.cache.publish(
      USER_UPDATES_CHANNEL,
      JSON.stringify({
        user_id: user,
        model_version: f.model.meta.version,
        items,
        scores: items.map((_, j) => 1 - j / 10),
      }),
    );

  it("pushes a subscribed user's new recommendations, and only theirs", async () => {
    const a = await connect(url);
    const b = await connect(url);
    try {
      a.send({ subscribe: 'u1' });
      assert.deepEqual(await a.next(), { subscribed: 'u1' });
      b.send({ subscribe: 'u2' });
      assert.deepEqual(await b.next(), { subscribed: 'u2' });
      await update('u1', ['i4', 'i5']);
      const push = (await a.next()) as { rec_id: string };
      assert.match(push.rec_id, UUID_RE);
      assert.deepEqual(push, {
        type: 'recommendations',
        rec_id: push.rec_id,
        user_id: 'u1',
        model_version: f.model.meta.version,
        source: 'realtime',
        items: [
          { item_id: 'i4', score: 1 },
          { item_id: 'i5', score: 0.9 },
        ],
      });
      // A push is a served answer: feedback joins it, and it has its log row.
      const fb = await call(
        f.base,
        'POST',
        '/v1/feedback',
        { rec_id: push.rec_id, item_id: 'i5', action: 'click', position: 1 },
        keyed,
      );
      assert.equal(fb.status, 201, fb.text);
      assert.equal(fb.body.user_id, 'u1');
      await waitFor(async () => {
        const { rows } = await f.stores.db.query<{ user_id: string; source: string; item_ids: string[] }>(
          'SELECT user_id, source, item_ids FROM recommendation_logs WHERE rec_id = $1',
          [push.rec_id],
        );
        return rows.length === 1 && rows[0].source === 'realtime' && rows[0].item_ids.join() === 'i4,i5';
      }, 'the push in recommendation_logs');
      // An update without a list (the speed layer's: "the profile changed") is scored here,
      // for the subscriber, as GET /v1/recommendations/u1 answers now.
      await update('u1', []);
      const scored = (await a.next()) as { user_id: string; items: { item_id: string }[]; source: string };
      const get = await call(f.base, 'GET', '/v1/recommendations/u1');
      assert.equal(scored.user_id, 'u1');
      assert.deepEqual(
        scored.items.map((i) => i.item_id),
        get.body.items.map((i: { item_id: string }) => i.item_id),
      );
      assert.equal(scored.items.length, 10);
      assert.deepEqual(b.inbox, [], "u2's subscriber got nothing");
      // Nobody listens to u3: nothing is scored or pushed for it.
      const pushes = Number(
        /recsys_ws_pushes_total (\d+)/.exec((await call(f.base, 'GET', '/metrics')).text)![1],
      );
      await update('u3', []);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(
        Number(/recsys_ws_pushes_total (\d+)/.exec((await call(f.base, 'GET', '/metrics')).text)![1]),
        pushes,
      );
      a.send({ unsubscribe: 'u1' });
      assert.deepEqual(await a.next(), { unsubscribed: 'u1' });
      await update('u1', ['i6']);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(a.inbox, []);
    } finally {
      a.ws.close();
      b.ws.close();
    }
  });

  it('answers bad messages with an error and keeps the connection', async () => {
    const c = await connect(url);
    try {
      for (const bad of [
        'not json',
        '{"subscribe": 5}',
        '{"hello": "x"}',
        `{"subscribe": "${'x'.repeat(200)}"}`,
        '[]',
      ]) {
        c.send(bad);
        const reply = (await c.next()) as { error: { code: string } };
        assert.equal(reply.error.code, 'bad_message', bad);
      }
      c.ws.send(Buffer.from([1, 2, 3]));
      // A binary frame is refused the same way (the ws client sends Buffers as binary).
      assert.equal(((await c.next()) as { error: { code: string } }).error.code, 'bad_message');
      for (let i = 0; i < 100; i++) c.send({ subscribe: `user-${i}` });
      for (let i = 0; i < 100; i++) await c.next();
      c.send({ subscribe: 'one-too-many' });
      assert.equal(((await c.next()) as { error: { code: string } }).error.code, 'too_many_subscriptions');
    } finally {
      c.ws.close();
    }
  });

  it('needs a key when reads are not public', async () => {
    await f.restart({ RECSYS_PUBLIC_READS: 'false' });
    try {
      const u = `${f.base.replace('http', 'ws')}/v1/stream`;
      await assert.rejects(connect(u), /HTTP 401/);
      const ok = await connect(u, { 'x-api-key': API_KEY });
      ok.ws.close();
      const q = await connect(`${u}?api_key=${API_KEY}`);
      q.ws.close();
    } finally {
      await f.restart();
    }
  });

  it('wrong keys: 401, then 429 once the address has spent its tries', async () => {
    await f.restart({ RECSYS_PUBLIC_READS: 'false' });
    try {
      const u = `${f.base.replace('http', 'ws')}/v1/stream`;
      const statuses: string[] = [];
      for (let i = 0; i < 12; i++)
        statuses.push(
          await connect(u, { 'x-api-key': `wrong-${i}` }).then(
            (c) => {
              c.ws.close();
              return 'open';
            },
            (err: Error) => /HTTP (\d+)/.exec(err.message)?.[1] ?? err.message,
          ),
        );
      assert.deepEqual(statuses, [...Array(10).fill('401'), '429', '429']);
      const ok = await connect(u, { 'x-api-key': API_KEY });
      ok.ws.close();
    } finally {
      await f.restart();
    }
  });
});
