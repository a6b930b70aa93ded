// Bad input at volume on the real servers: two `recsys serve` sharing one port (SO_REUSEPORT,
// on by default in services mode) and a `recsys stream`, a valid load from `recsys loadtest`
// and a WebSocket subscriber, then the same load again with 10,000 malformed requests of every
// kind (test/reliability/malformed.ts) mixed in. No process exits, no answer is a 5xx, every
// malformed request is refused with a 4xx or a closed connection as documented, none writes a
// row (their user ids share a prefix), the valid load sees no error and its read latency stays
// within a bound of the same load's without the malformed traffic.
// The deployment (database, bucket, topic, demo model, processes) is test/reliability/cluster.ts's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EndpointResult } from '../../src/cli/sim/load.js';
import { type Cluster, freePort, openCluster, type Proc } from '../reliability/cluster.js';
import { type MalformedReport, sendMalformed } from '../reliability/malformed.js';
import { connect } from '../serving/ws-client.js';
import { delay, uid } from '../stores/support/wait.js';

const LOAD_KEY = 'bad-input-load-key';
/** The malformed traffic has a valid key of its own: its requests reach validation without spending the load's bucket. */
const MALFORMED_KEY = 'bad-input-malformed-key';
const USERS = 200;
const ITEMS = 300;
const MALFORMED = 10_000;
const LOAD = { rps: 100, seconds: 50 };
/** The malformed requests' pace: 10,000 in 40 s, within the load's 50 s. */
const MALFORMED_RPS = 250;
/**
 * The read p99 with the malformed traffic may be at most this many times the p99 without it,
 * plus a floor for the two shared cores' noise: the malformed client runs on the same cores.
 */
const P99_RATIO = 4;
const P99_FLOOR_MS = 50;

describe('bad input at volume: 10,000 malformed requests mixed into a valid load (services)', () => {
  const prefix = `malformed-${uid().toLowerCase()}-`;
  let cluster: Cluster | undefined;

  before(async () => {
    // openCluster imports demo data and asserts that the first batch run succeeds and publishes.
    cluster = await openCluster({
      name: 'badin',
      users: USERS,
      items: ITEMS,
      env: {
        RECSYS_API_KEYS: `${LOAD_KEY},${MALFORMED_KEY}`,
        RECSYS_ALS_ITERATIONS: '4',
        // 10,000 refusals logged at info would compete with the load for the two cores.
        RECSYS_LOG_LEVEL: 'warn',
        // The app's defaults, not the cluster's 30 s: no row may leave rt_user_interactions for
        // the archive before the no-row check below reads it.
        RECSYS_RT_RETENTION_HOURS: undefined,
        RECSYS_ARCHIVE_EVERY_MS: undefined,
        RECSYS_ARCHIVE_GRACE_MS: undefined,
      },
    });
  });

  after(async () => {
    await cluster?.close();
  });

  it('refuses every malformed request without a 5xx, a crash, a row or harm to the valid load', async () => {
    const c = cluster!;
    // Two serve on one port (port sharing is the services-mode default) and a stream.
    const port = await freePort();
    const stream = await c.start('stream', 'stream');
    const serves: Proc[] = await Promise.all([
      c.start('serve', 'serve-a', { port }),
      c.start('serve', 'serve-b', { port }),
    ]);
    const [a, b] = serves.map((s) => s.url);
    assert.equal(a, `http://127.0.0.1:${port}`);
    assert.equal(b, a);
    const base = a!;

    // A subscriber that must stay connected and answered throughout.
    const ws = await connect(`${base.replace('http:', 'ws:')}/v1/stream`, { 'x-api-key': LOAD_KEY });
    ws.send({ subscribe: '1' });
    assert.deepEqual(await ws.next(), { subscribed: '1' });

    const loadtest = async (name: string) => {
      const args = ['loadtest', '--url', base, '--api-key', LOAD_KEY, '--rps', String(LOAD.rps)];
      args.push('--duration', String(LOAD.seconds), '--users', String(USERS), '--connections', '8', '--json');
      const out = await c.run(name, args, { timeoutMs: (LOAD.seconds + 60) * 1000 });
      return (JSON.parse(out) as { endpoints: EndpointResult[] }).endpoints;
    };

    const baseline = await loadtest('load-baseline');
    const [mixed, report] = await Promise.all([
      loadtest('load-mixed'),
      // Starts a second in, so that the load is under way.
      delay(1000).then(() =>
        sendMalformed({
          port,
          apiKey: MALFORMED_KEY,
          userPrefix: prefix,
          count: MALFORMED,
          concurrency: 24,
          slow: 40,
          rps: MALFORMED_RPS,
        }),
      ),
    ]);
    const summary = {
      malformed: {
        total: report.total,
        seconds: report.seconds,
        byKind: report.byKind,
        slowestMs: report.slowestMs,
      },
      baseline: baseline.map((e) => ({ route: e.route, status: e.status, latency_ms: e.latency_ms })),
      mixed: mixed.map((e) => ({ route: e.route, status: e.status, latency_ms: e.latency_ms })),
    };
    console.log(JSON.stringify(summary));

    // No process went down.
    for (const p of [stream, ...serves]) assert.ok(p.alive(), `${p.name} exited:\n${p.tail()}`);
    // Every malformed request refused as documented: no 5xx, no hang, no acceptance.
    assert.equal(report.total, MALFORMED);
    assert.deepEqual(report.unexpected, [], JSON.stringify(report.byKind));
    assert.deepEqual(fives(report), 0);
    // The valid load: every request a 2xx, before and during.
    for (const e of [...baseline, ...mixed])
      assert.equal(e.non2xx + e.errors + e.unfinished, 0, `${e.route}: ${JSON.stringify(e)}`);
    const reads = (list: EndpointResult[]) => list.find((e) => e.route.startsWith('GET'))!.latency_ms.p99;
    const bound = Math.max(P99_RATIO * reads(baseline), reads(baseline) + P99_FLOOR_MS);
    assert.ok(reads(mixed) <= bound, `read p99 ${reads(mixed)} ms with malformed traffic, bound ${bound} ms`);
    // The subscriber is still connected and answered.
    ws.send({ subscribe: '2' });
    // Pushes for user 1 (the load's events move its list) may come first.
    let reply: unknown;
    do reply = await ws.next(5000);
    while ((reply as { type?: string }).type === 'recommendations');
    assert.deepEqual(reply, { subscribed: '2' });
    ws.ws.close();

    // No row from the malformed traffic, once the stream has had time to store what it got.
    await delay(3000);
    const rel = c.stores.db;
    for (const table of [
      'rt_user_interactions',
      'recommendation_logs',
      'recommendation_feedback',
      'users',
      'user_profiles',
    ]) {
      const { rows } = await rel.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} WHERE user_id LIKE $1`,
        [`${prefix}%`],
      );
      assert.equal(rows[0]!.n, 0, `${table} holds rows of the malformed traffic`);
    }
    // The valid load's events did arrive (the check above is not vacuous: the tables fill).
    const stored = await rel.query<{ n: number }>('SELECT count(*)::int AS n FROM rt_user_interactions');
    assert.ok(stored.rows[0]!.n > 0);
  });
});

/** Malformed requests answered 5xx. */
function fives(r: MalformedReport): number {
  let n = 0;
  for (const outcomes of Object.values(r.byKind))
    for (const [outcome, count] of Object.entries(outcomes)) if (/^5\d\d$/.test(outcome)) n += count;
  return n;
}
