// `recsys loadtest` against a real server (`recsys start` on a small demo): the requests it
// prints per endpoint are the ones the server counted, at about the rate asked for; refused
// requests are shown per endpoint and make the exit status 1.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EndpointResult } from '../../src/cli/sim/load.js';
import { API_KEY, DEMO, demoServer, metric, runCli } from './sim-helpers.js';

const ROUTES = ['GET /v1/recommendations/:userId', 'POST /v1/events', 'POST /v1/feedback'];

describe('recsys loadtest', () => {
  let server: Awaited<ReturnType<typeof demoServer>>;
  before(async () => {
    server = await demoServer();
  });
  after(() => server.cleanup());

  const counters = async () => {
    const text = await fetch(`${server.url}/metrics`).then((r) => r.text());
    return Object.fromEntries(
      ROUTES.map((route) => [route, metric(text, 'recsys_http_requests_total', { route })]),
    );
  };

  it('prints per-endpoint counts equal to the server counters, and latency percentiles', async (t) => {
    const before = await counters();
    const run = await runCli([
      'loadtest',
      ...['--url', server.url, '--api-key', API_KEY, '--users', String(DEMO.users)],
      ...['--rps', '60', '--duration', '4', '--read-ratio', '0.7', '--connections', '6', '--json'],
    ]);
    t.diagnostic(run.stdout);
    assert.equal(run.code, 0, run.stderr);
    const { endpoints } = JSON.parse(run.stdout) as { endpoints: EndpointResult[] };
    const after = await counters();
    assert.deepEqual(
      endpoints.map((e) => e.route),
      ROUTES,
    );
    for (const e of endpoints) {
      assert.equal(e.answered, after[e.route]! - before[e.route]!, `${e.route}: printed vs server counter`);
      assert.equal(e.non2xx + e.errors + e.unfinished, 0, e.route);
      assert.ok(e.latency_ms.p50 <= e.latency_ms.p90 && e.latency_ms.p90 <= e.latency_ms.p99);
      assert.ok(e.latency_ms.p99 <= e.latency_ms.max && e.latency_ms.max > 0);
    }
    // 60 req/s: 42 reads, 18 writes (6 of them feedback), for 4 s.
    const [reads, events, feedback] = endpoints;
    assert.equal(reads!.answered, 42 * 4);
    assert.equal(events!.answered, 12 * 4);
    assert.ok(feedback!.answered >= 6 * 3 && feedback!.answered <= 6 * 4, `feedback ${feedback!.answered}`);
  });

  it('shows refused requests per endpoint and exits 1 (writes without a key)', async () => {
    const before = await counters();
    const run = await runCli([
      'loadtest',
      ...['--url', server.url, '--users', String(DEMO.users), '--rps', '20', '--duration', '2'],
    ]);
    assert.equal(run.code, 1, run.stderr);
    const after = await counters();
    // The table: reads answered 200, every event batch and feedback refused (401, then 429).
    const row = (route: string) => {
      const line = run.stdout.split('\n').find((l) => l.startsWith(route));
      assert.ok(line, `${route} in ${run.stdout}`);
      const cells = line.slice(route.length).trim().split(/\s+/);
      return { requests: Number(cells.at(-8) ?? cells[0]), non2xx: Number(cells.at(-2)) };
    };
    const reads = row('GET /v1/recommendations/:userId');
    assert.equal(reads.non2xx, 0);
    assert.equal(reads.requests, after[ROUTES[0]!]! - before[ROUTES[0]!]!);
    const events = row('POST /v1/events');
    assert.ok(events.non2xx > 0);
    assert.equal(events.non2xx, events.requests);
    assert.equal(events.requests, after[ROUTES[1]!]! - before[ROUTES[1]!]!);
    assert.match(run.stdout, /POST \/v1\/events: (\d+ × 40[13](, )?)+/);
  });
});
