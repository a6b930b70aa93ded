// `recsys simulate` against a real server (`recsys start` on a small demo): the simulated users'
// events are accepted, their clicks are feedback rows naming answers the server served, the
// subscribed ones get WebSocket pushes, and the analytics report shows a CTR.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SimulateSummary } from '../../src/cli/simulate.js';
import { loadConfig } from '../../src/config/index.js';
import { openStores } from '../../src/stores/index.js';
import { until } from '../helpers.js';
import { API_KEY, DEMO, demoServer, metric, runCli } from './sim-helpers.js';

describe('recsys simulate', () => {
  let server: Awaited<ReturnType<typeof demoServer>>;
  before(async () => {
    server = await demoServer();
  });
  after(() => server.cleanup());

  it('counts and shows failures, and exits 1, when the server refuses writes without a key', async () => {
    const run = await runCli([
      'simulate',
      ...['--url', server.url, '--users', '5', '--rate', '5', '--duration', '2'],
      ...['--demo-users', String(DEMO.users), '--demo-items', String(DEMO.items), '--subscribe', '0'],
    ]);
    assert.equal(run.code, 1, run.stderr);
    // Reads are public, so the users get answers; their events and clicks are refused.
    assert.match(run.stdout, /events {4}0 accepted/);
    assert.match(run.stdout, /errors {4}[1-9]\d*: .*POST \/v1\/events \d+/);
    assert.match(run.stdout, /POST \/v1\/events: 401 /);
  });

  it('drives users whose events, clicks and pushes reach the server, and the CTR shows', async (t) => {
    const metricsText = () => fetch(`${server.url}/metrics`).then((r) => r.text());
    const acceptedBefore = metric(await metricsText(), 'recsys_events_accepted_total');
    const args = ['--url', server.url, '--api-key', API_KEY, '--demo-users', String(DEMO.users)];
    args.push('--demo-items', String(DEMO.items), '--users', '40', '--rate', '25', '--duration', '6');
    const run = await runCli(['simulate', ...args, '--subscribe', '0.5', '--seed', '3', '--json']);
    t.diagnostic(run.stderr.slice(-500));
    assert.equal(run.code, 0, run.stderr);
    const s = JSON.parse(run.stdout) as SimulateSummary;
    t.diagnostic(JSON.stringify(s.counts));
    assert.deepEqual(s.errors, {});
    assert.equal(s.categories, 8, 'the demo genres are found in the catalog over HTTP');
    // About the rate asked for (25/s for 6 s), every one accepted by the server.
    assert.ok(s.counts.events >= 100 && s.counts.events <= 200, `events ${s.counts.events}`);
    const acceptedAfter = metric(await metricsText(), 'recsys_events_accepted_total');
    assert.equal(acceptedAfter - acceptedBefore, s.counts.events);
    assert.equal(s.requests['POST /v1/feedback'], s.counts.feedback);
    assert.ok(s.counts.clicks > 0 && s.counts.feedback >= s.counts.clicks);
    assert.ok(s.counts.favouriteClicks >= s.counts.clicks / 2, 'users click mostly their favourite genres');
    // 20 users subscribed; events fold in every 300 ms and push their new lists.
    assert.equal(s.counts.subscribed, 20);
    assert.ok(s.counts.pushes > 0, 'pushes received on /v1/stream');
    assert.ok(s.ctr !== null && s.ctr > 0);

    // A rollup (every 500 ms) brings the clicks into the report.
    const report = await until('clicks in the analytics report', async () => {
      const r = (await fetch(`${server.url}/v1/admin/metrics`, { headers: { 'x-api-key': API_KEY } }).then(
        (x) => x.json(),
      )) as { ctr: { value: number | null; clicks: number }; coverage: { value: number | null } };
      return r.ctr.clicks >= s.counts.clicks ? r : null;
    });
    assert.ok(report.ctr.value !== null && report.ctr.value > 0);
    assert.ok(report.coverage.value !== null && report.coverage.value > 0);

    // Every feedback row names an answer the server logged, holding the clicked item.
    await server.stop();
    const stores = await openStores(
      loadConfig({ env: {}, overrides: { mode: 'embedded', dataDir: server.dataDir } }),
    );
    try {
      const { rows } = await stores.db.query<{ n: number; joined: number; held: number }>(
        `SELECT count(*)::int AS n, count(l.rec_id)::int AS joined,
                count(*) FILTER (WHERE f.item_id = ANY (l.item_ids))::int AS held
           FROM recommendation_feedback f LEFT JOIN recommendation_logs l USING (rec_id)`,
      );
      assert.deepEqual(rows[0], { n: s.counts.feedback, joined: s.counts.feedback, held: s.counts.feedback });
    } finally {
      await stores.close();
    }
  });
});
