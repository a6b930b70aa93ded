// `npm start` on a fresh clone, as a new user runs it: `recsys start` on an empty data folder
// loads the demo (writeDemoMovieLens), trains a first model, prints its addresses and serves
// recommendations that follow the demo users' planted tastes; a second start reuses the folder.
// Then the embedded end-to-end flow: recommendations → an event → the user's profile and a
// WebSocket push → a click → CTR on /metrics and in the admin report; and Ctrl-C loses no
// accepted event.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { writeDemoMovieLens } from '../../src/data/synthetic-movielens.js';
import { openStores } from '../../src/stores/index.js';
import { tempDir, until } from '../helpers.js';
import { connect } from '../serving/ws-client.js';
import { launch } from './launch.js';

// A smaller demo than the default (1000 users, 600 items) that still shows the planted tastes.
const USERS = 600;
const ITEMS = 300;
const DEMO_FLAGS = ['--demo-users', String(USERS), '--demo-items', String(ITEMS)];

interface Answer {
  rec_id: string;
  user_id: string;
  model_version: string;
  source: string;
  items: { item_id: string; score: number }[];
}

const getJson = async <T>(url: string): Promise<T> => {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${url}: ${res.status}`);
  return (await res.json()) as T;
};

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

describe('recsys start on a fresh data folder (npm start)', () => {
  const data = tempDir('recsys-first-run-');
  // The same generator and seed as the demo: each user's planted genres, each item's genre.
  const gen = tempDir('recsys-demo-truth-');
  const truth = writeDemoMovieLens(gen.dir, { users: USERS, items: ITEMS });
  const genre = new Map(truth.catalog.map((i) => [i.item_id, i.category]));
  after(() => {
    data.cleanup();
    gen.cleanup();
  });
  let firstMs = 0;
  let version = '';

  it('imports the demo, trains, prints its addresses and serves recommendations that follow the tastes', async (t) => {
    const t0 = Date.now();
    const run = await launch(['start', '--port', '0', ...DEMO_FLAGS], { RECSYS_DATA_DIR: data.dir });
    firstMs = Date.now() - t0;
    t.diagnostic(`first start: ${firstMs} ms to listening`);
    try {
      const { url } = run;
      const out = run.stdout();
      const esc = url.replace(/[.]/g, '\\.');
      assert.match(out, new RegExp(`API\\s+${esc}/v1/recommendations/`));
      assert.match(out, new RegExp(`WebSocket\\s+${esc.replace('http', 'ws')}/v1/stream`));
      assert.match(out, new RegExp(`Dashboard\\s+${esc}/dashboard`));
      assert.match(
        out,
        new RegExp(`Demo data\\s+${USERS} users .*user 1 likes ${truth.tastes[0]!.join(' and ')}`),
      );
      assert.match(out, new RegExp(`\\nlistening on ${esc}\\n$`), 'the listening line comes last');
      assert.match(run.stderr(), /demo data imported/);

      const ready = await getJson<{ status: string; model_version: string; checks: { model: string } }>(
        `${url}/readyz`,
      );
      assert.equal(ready.status, 'ready');
      assert.equal(ready.checks.model, 'ok');
      version = ready.model_version;
      assert.ok(version);
      assert.equal((await fetch(`${url}/dashboard`)).status, 200);

      // Personal answers: precomputed by the first batch run, mostly in the user's two genres
      // (a quarter of the catalog: 2 of 8 genres), unlike the popular list.
      let inTaste = 0;
      let popularInTaste = 0;
      let n = 0;
      const popular = await getJson<{ items: { item_id: string }[] }>(`${url}/v1/items/popular?k=10`);
      for (let u = 1; u <= 20; u++) {
        const a = await getJson<Answer>(`${url}/v1/recommendations/${u}?k=10`);
        assert.equal(a.source, 'batch', `user ${u}`);
        assert.equal(a.model_version, version);
        assert.equal(a.items.length, 10);
        const tastes = truth.tastes[u - 1]!;
        inTaste += a.items.filter((i) => tastes.includes(genre.get(i.item_id) ?? '')).length;
        popularInTaste += popular.items.filter((i) => tastes.includes(genre.get(i.item_id) ?? '')).length;
        n += 10;
      }
      t.diagnostic(`in the user's genres: ${inTaste}/${n} recommended, ${popularInTaste}/${n} popular`);
      assert.ok(inTaste >= 0.5 * n, `${inTaste} of ${n} recommended items in the users' genres`);
      assert.ok(inTaste >= popularInTaste + 0.2 * n, 'recommendations follow tastes more than popularity');
    } finally {
      const { code, stderr } = await run.stop('SIGINT');
      assert.equal(code, 0, stderr.slice(-2000));
    }
  });

  it('a second start reuses the folder: no second import, no retraining, the same model; PORT is honoured', async (t) => {
    assert.ok(version, 'the first start ran');
    const port = await freePort();
    const t0 = Date.now();
    const run = await launch(['start', ...DEMO_FLAGS], { RECSYS_DATA_DIR: data.dir, PORT: String(port) });
    const ms = Date.now() - t0;
    t.diagnostic(`second start: ${ms} ms to listening (first: ${firstMs} ms)`);
    try {
      assert.equal(run.url, `http://127.0.0.1:${port}`);
      assert.doesNotMatch(run.stderr(), /demo data imported|batch run/);
      assert.match(run.stdout(), new RegExp(`Demo data\\s+${USERS} users`), 'still says what the data is');
      const ready = await getJson<{ status: string; model_version: string }>(`${run.url}/readyz`);
      assert.deepEqual([ready.status, ready.model_version], ['ready', version]);
      assert.ok(ms < firstMs, 'faster than the first start');
    } finally {
      const { code, stderr } = await run.stop();
      assert.equal(code, 0, stderr.slice(-2000));
    }
  });

  it('end to end: an event updates the profile and pushes, a click shows as CTR; Ctrl-C keeps every accepted event', async () => {
    assert.ok(version, 'the first start ran');
    const started = new Date();
    const run = await launch(['start', '--port', '0'], {
      RECSYS_DATA_DIR: data.dir,
      RECSYS_MICROBATCH_MS: '200',
      RECSYS_ANALYTICS_INTERVAL_MS: '200',
    });
    const { url } = run;
    const user = '7';
    const accepted: string[] = [];
    let stopped = false;
    try {
      const first = await getJson<Answer>(`${url}/v1/recommendations/${user}?k=10`);
      assert.equal(first.source, 'batch');

      const ws = await connect(`${url.replace('http:', 'ws:')}/v1/stream`);
      let push: Answer;
      try {
        ws.send({ subscribe: user });
        assert.deepEqual(await ws.next(), { subscribed: user });
        const rated = first.items[0]!.item_id;
        const res = await post(`${url}/v1/events`, {
          user_id: user,
          item_id: rated,
          type: 'rating',
          value: 5,
        });
        assert.equal(res.status, 202);
        accepted.push(...((await res.json()) as { event_ids: string[] }).event_ids);
        push = (await ws.next(20_000)) as Answer;
        assert.equal(push.user_id, user);
        assert.equal(push.source, 'realtime', 'scored from the folded-in profile');
        assert.equal(push.items.length, 10);
        assert.ok(!push.items.some((i) => i.item_id === rated), 'the rated item is seen now');
      } finally {
        ws.ws.close();
      }
      const now = await getJson<Answer>(`${url}/v1/recommendations/${user}?k=10`);
      assert.ok(['realtime', 'l1'].includes(now.source), now.source);

      // A click on the pushed answer's first item (user_id too: the answer log is written off the request path).
      const fb = await post(`${url}/v1/feedback`, {
        rec_id: push.rec_id,
        item_id: push.items[0]!.item_id,
        action: 'click',
        position: 0,
        user_id: user,
      });
      assert.equal(fb.status, 201, await fb.text());

      const ctr = await until('recsys_ctr{model_version="all"} on /metrics', async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        const m = /^recsys_ctr\{model_version="all"\} (\S+)$/m.exec(text);
        const clicks = /^recsys_analytics_clicks\{model_version="all"\} (\S+)$/m.exec(text);
        return m && clicks && Number(clicks[1]) === 1 ? Number(m[1]) : null;
      });
      const report = await getJson<{ ctr: { value: number; clicks: number; impressions: number } }>(
        `${url}/v1/admin/metrics`,
      );
      assert.equal(report.ctr.clicks, 1);
      assert.ok(report.ctr.impressions >= 30, `${report.ctr.impressions} impressions`);
      assert.ok(Math.abs(report.ctr.value - 1 / report.ctr.impressions) < 1e-9);
      assert.ok(
        ctr > 0 && Math.abs(ctr - report.ctr.value) < 1e-9,
        `/metrics ${ctr}, report ${report.ctr.value}`,
      );

      // Events accepted right before Ctrl-C are all kept: folded in, or left in the bus for the next start.
      for (let b = 0; b < 5; b++) {
        const events = Array.from({ length: 40 }, (_, k) => ({
          user_id: String(1 + ((b * 40 + k) % USERS)),
          item_id: String(1 + ((b * 7 + k) % ITEMS)),
          type: 'click',
        }));
        const res = await post(`${url}/v1/events`, events);
        assert.equal(res.status, 202);
        accepted.push(...((await res.json()) as { event_ids: string[] }).event_ids);
      }
      stopped = true;
      const { code, stderr } = await run.stop('SIGINT');
      assert.equal(code, 0, stderr.slice(-2000));
    } finally {
      if (!stopped) await run.stop();
    }

    const stores = await openStores(
      loadConfig({ env: {}, overrides: { mode: 'embedded', dataDir: data.dir } }),
    );
    try {
      const { rows } = await stores.db.query<{ event_id: string }>(
        `SELECT event_id::text FROM rt_user_interactions WHERE event_id::text = ANY($1)
         UNION SELECT convert_from(value, 'UTF8')::jsonb->>'event_id' FROM event_log
         WHERE convert_from(value, 'UTF8')::jsonb->>'event_id' = ANY($1)`,
        [accepted],
      );
      assert.equal(accepted.length, 201);
      assert.deepEqual(
        new Set(rows.map((r) => r.event_id)),
        new Set(accepted),
        'every accepted event is kept',
      );
      const profile = await stores.db.query<{ model_version: string; updated_at: Date }>(
        'SELECT model_version, updated_at FROM user_profiles WHERE user_id = $1',
        [user],
      );
      assert.equal(profile.rows[0]?.model_version, version);
      assert.ok(profile.rows[0]!.updated_at >= started, "the user's profile was updated by the speed layer");
    } finally {
      await stores.close();
    }
  });

  it('--no-demo leaves an empty folder empty: no model, popular answers', async () => {
    const empty = tempDir('recsys-no-demo-');
    const run = await launch(['start', '--port', '0', '--no-demo', '--data-dir', empty.dir], {});
    try {
      assert.doesNotMatch(run.stdout(), /Demo data/);
      assert.match(run.stdout(), /no model yet/);
      const ready = await fetch(`${run.url}/readyz`);
      assert.equal(ready.status, 503);
      const a = await getJson<Answer>(`${run.url}/v1/recommendations/1?k=5`);
      assert.equal(a.source, 'popular');
    } finally {
      const { code, stderr } = await run.stop();
      empty.cleanup();
      assert.equal(code, 0, stderr.slice(-2000));
    }
  });
});
