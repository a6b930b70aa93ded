// Services mode end to end, every role its own process on the real servers (a database, bucket,
// topic and consumer group of the test's own): `recsys demo-data` writes a MovieLens-format folder,
// `recsys import movielens` loads it into PostgreSQL and MinIO, `recsys batch run` trains and
// publishes a model, then two `recsys serve`, two `recsys stream` (one consumer group) and one
// `recsys scheduler` run side by side. Both servers answer from the model; an event posted to one
// server is folded into the user's profile by a stream process and pushed over the *other* server's
// WebSocket; a click on that push shows as CTR on /metrics, equal to the admin report, on both
// servers; and when one stream process is killed the other takes over its partitions and folds in
// the events that land there. (test/cli/first-run.test.ts runs the same flow in embedded mode.)
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { type Cluster, openCluster, type Proc } from '../reliability/cluster.js';
import { API_KEY, call, keyed } from '../serving/fixture.js';
import { connect } from '../serving/ws-client.js';
import { waitFor } from '../stores/support/wait.js';
import { servers } from './env.js';

// kafkajs is CommonJS: Node sees only its default export.
const { AssignerProtocol, Kafka, logLevel, Partitioners } = kafkajs;

const PARTITIONS = 4;
const USERS = 300;
const ITEMS = 400;
const K = 10;

interface Answer {
  type?: string;
  rec_id: string;
  user_id: string;
  model_version: string;
  source: string;
  items: Array<{ item_id: string; score: number }>;
}

/** A gauge's value on a /metrics page (NaN when absent). */
function gauge(text: string, series: string): number {
  const at = text.split('\n').find((l) => l.startsWith(`${series} `));
  return at === undefined ? Number.NaN : Number(at.slice(series.length + 1));
}

describe('services mode end to end: import, batch run, two serve, two stream, one scheduler', () => {
  // The processes, database, bucket, topic and group are test/reliability/cluster.ts's; the
  // demo data, import and first batch run are this test's own steps.
  let cluster: Cluster;
  let topic: string;
  let group: string;
  const admin = new Kafka({ brokers: servers.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  const tails = () => cluster.tails();

  let version = '';
  let serveA: { p: Proc; url: string };
  let serveB: { p: Proc; url: string };
  let streams: Array<{ p: Proc; opsUrl: string }>;
  let scheduler: Proc;

  before(async () => {
    cluster = await openCluster({
      name: 'e2e',
      users: USERS,
      items: ITEMS,
      prepare: false,
      env: {
        // The partitions the group checks count, the key `keyed` sends, quick CTR rollups for /metrics.
        RECSYS_BUS_PARTITIONS: String(PARTITIONS),
        RECSYS_API_KEYS: API_KEY,
        RECSYS_ANALYTICS_INTERVAL_MS: '300',
        // The app's defaults, not the cluster's: the default schedule (its slot already behind the
        // first run, so the scheduler starts none), and no row archived away before it is counted.
        RECSYS_BATCH_SCHEDULE: undefined,
        RECSYS_BATCH_TIMEZONE: undefined,
        RECSYS_RT_RETENTION_HOURS: undefined,
        RECSYS_ARCHIVE_EVERY_MS: undefined,
        RECSYS_ARCHIVE_GRACE_MS: undefined,
      },
    });
    ({ topic, group } = cluster);
    await admin.connect();
  });

  after(async () => {
    // Every process, then every resource the test made: database, bucket, topics, group, files.
    await admin.disconnect().catch(() => {});
    await cluster?.close();
    if (cluster) rmSync(cluster.logDir, { recursive: true, force: true });
  });

  it('imports demo data and trains a model with recsys batch run', async () => {
    // run fails unless the command exits 0.
    const data = path.join(cluster.logDir, 'ml');
    const wrote = await cluster.run('demo-data', [
      'demo-data',
      data,
      '--users',
      String(USERS),
      '--items',
      String(ITEMS),
    ]);
    assert.match(wrote, new RegExp(`by ${USERS} users of ${ITEMS} items`));
    const imported = JSON.parse(await cluster.run('import', ['import', 'movielens', data, '--json']));
    assert.equal(imported.users, USERS);
    assert.equal(imported.items, ITEMS);
    assert.equal(imported.already_imported, false);
    const run = JSON.parse(await cluster.run('batch', ['batch', 'run', '--json']));
    assert.deepEqual([run.status, run.published], ['succeeded', true], JSON.stringify(run));
    version = run.model_version;

    const { db } = await cluster.openStores();
    const { rows } = await db.query<{ version: string; n: number }>(
      `SELECT m.version, (SELECT count(*)::int FROM batch_recommendations b WHERE b.model_version = m.version) AS n
         FROM models m WHERE m.status = 'active'`,
    );
    assert.deepEqual(rows, [{ version, n: USERS }]);
  });

  it('starts two serve, two stream (one group, the partitions split) and one scheduler', async () => {
    assert.ok(version, 'the batch run published a model');
    const streamLine = /^stream: consuming (\S+) as group (\S+); ops on (http:\/\/\S+)$/;
    // The first stream creates the topic; the second joins its group.
    const s1 = await cluster.start('stream', 'stream-1');
    const m1 = streamLine.exec(s1.readyLine);
    assert.deepEqual([m1?.[1], m1?.[2]], [topic, group], s1.readyLine);
    const [s2, a, b] = await Promise.all([
      cluster.start('stream', 'stream-2'),
      cluster.start('serve', 'serve-a'),
      cluster.start('serve', 'serve-b'),
    ]);
    assert.match(s2.readyLine, streamLine);
    streams = [
      { p: s1, opsUrl: s1.url! },
      { p: s2, opsUrl: s2.url! },
    ];
    serveA = { p: a, url: a.url! };
    serveB = { p: b, url: b.url! };
    scheduler = await cluster.start('scheduler', 'scheduler');
    assert.match(scheduler.readyLine, /^scheduler: "0 2 \* \* \*" \(UTC\); next run \S+$/);

    for (const s of [serveA, serveB]) {
      const r = await call(s.url, 'GET', '/readyz');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual([r.body.status, r.body.model_version], ['ready', version]);
    }
    const members = await waitForMembers(2);
    assert.deepEqual(
      members.map((m) => m.length),
      [PARTITIONS / 2, PARTITIONS / 2],
      JSON.stringify(members),
    );
  });

  /** Waits until the group is stable with `n` members holding every partition; their partitions. */
  async function waitForMembers(n: number, timeoutMs = 45_000): Promise<number[][]> {
    let got: number[][] = [];
    await waitFor(
      async () => {
        const { groups } = await admin.describeGroups([group]);
        const g = groups[0];
        if (g?.state !== 'Stable' || g.members.length !== n) return false;
        got = g.members
          .map((m) =>
            [
              ...(AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[topic] ?? []),
            ].sort(),
          )
          .sort((x, y) => x[0]! - y[0]!);
        return got.flat().length === PARTITIONS;
      },
      `group ${group} stable with ${n} members holding all ${PARTITIONS} partitions`,
      timeoutMs,
    ).catch((err: Error) => assert.fail(`${err.message}\n${tails()}`));
    return got;
  }

  it('answers from the batch model on each serve process', async () => {
    for (const [name, s] of [
      ['a', serveA],
      ['b', serveB],
    ] as const) {
      const r = await call(s.url, 'GET', `/v1/recommendations/5?k=${K}`);
      assert.equal(r.status, 200, r.text);
      const answer = r.body as Answer;
      assert.equal(answer.model_version, version, name);
      // The first answer from the precomputed rows; the other server may find it in Redis.
      assert.ok(['batch', 'l1'].includes(answer.source), `${name}: ${answer.source}`);
      assert.equal(answer.items.length, K);
    }
  });

  let push: Answer;
  it("an event posted to one server updates the user's profile and is pushed by the other", async () => {
    const user = '17';
    const before = await call(serveA.url, 'GET', `/v1/recommendations/${user}?k=${K}`);
    assert.equal(before.status, 200, before.text);
    const rated = (before.body as Answer).items[0]!.item_id;
    const ws = await connect(`${serveB.url.replace('http:', 'ws:')}/v1/stream`);
    try {
      ws.send({ subscribe: user });
      assert.deepEqual(await ws.next(10_000), { subscribed: user });
      const t0 = new Date();
      const ev = await call(
        serveA.url,
        'POST',
        '/v1/events',
        { user_id: user, item_id: rated, type: 'rating', value: 5 },
        keyed,
      );
      assert.equal(ev.status, 202, ev.text);
      push = (await ws
        .next(60_000)
        .catch((err: Error) => assert.fail(`${err.message}: no push\n${tails()}`))) as Answer;
      assert.deepEqual(
        [push.type, push.user_id, push.model_version, push.source],
        ['recommendations', user, version, 'realtime'],
      );
      assert.equal(push.items.length, K);
      assert.ok(!push.items.some((i) => i.item_id === rated), 'the rated item is seen now');

      const { rows } = await cluster.stores.db.query<{
        model_version: string;
        n_interactions: number;
        updated_at: Date;
        bytes: number;
      }>(
        'SELECT model_version, n_interactions, updated_at, length(vector) AS bytes FROM user_profiles WHERE user_id = $1',
        [user],
      );
      assert.equal(rows.length, 1, 'a user_profiles row');
      assert.equal(rows[0]!.model_version, version);
      assert.ok(
        rows[0]!.updated_at >= new Date(t0.getTime() - 1000),
        `updated ${rows[0]!.updated_at.toISOString()}`,
      );
      assert.ok(rows[0]!.n_interactions > 1, 'the history the model knew plus the new rating');
      assert.ok(rows[0]!.bytes > 0);
      const stored = await cluster.stores.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM rt_user_interactions WHERE event_id = ANY($1::uuid[])',
        [ev.body.event_ids],
      );
      assert.equal(stored.rows[0]!.n, 1);
    } finally {
      ws.ws.close();
    }
    // The pushed answer is what the other server now serves too (its cached one was dropped).
    const after = await call(serveA.url, 'GET', `/v1/recommendations/${user}?k=${K}`);
    assert.ok(['realtime', 'l1'].includes(after.body.source), after.body.source);
    assert.deepEqual(
      (after.body as Answer).items.map((i) => i.item_id),
      push.items.map((i) => i.item_id),
    );
  });

  it('a click on the pushed answer shows as CTR on /metrics of both servers, equal to the admin report', async () => {
    assert.ok(push, 'the push came');
    const fb = await call(
      serveA.url,
      'POST',
      '/v1/feedback',
      {
        rec_id: push.rec_id,
        item_id: push.items[0]!.item_id,
        action: 'click',
        position: 1,
        user_id: push.user_id,
      },
      keyed,
    );
    assert.equal(fb.status, 201, fb.text);
    // Every answer the servers gave is logged; the rollup folds the logs and the click in.
    const logged = async () =>
      (
        await cluster.stores.db.query<{ answers: number; items: number }>(
          'SELECT count(*)::int AS answers, coalesce(sum(cardinality(item_ids)), 0)::int AS items FROM recommendation_logs',
        )
      ).rows[0]!;
    await waitFor(async () => (await logged()).answers === 5, 'the five answers logged', 20_000);
    const { items } = await logged();
    let seen = '';
    await waitFor(
      async () => {
        const report = await call(serveA.url, 'GET', '/v1/admin/metrics', undefined, keyed);
        assert.equal(report.status, 200, report.text);
        const ctr = report.body.ctr as { value: number; clicks: number; impressions: number };
        const pages = await Promise.all(
          [serveA, serveB].map(async (s) => (await call(s.url, 'GET', '/metrics')).text),
        );
        const onMetrics = pages.map((t) => [
          gauge(t, 'recsys_ctr{model_version="all"}'),
          gauge(t, 'recsys_analytics_clicks{model_version="all"}'),
          gauge(t, 'recsys_analytics_impressions{model_version="all"}'),
        ]);
        seen = JSON.stringify({ report: ctr, metrics: onMetrics });
        return (
          ctr.clicks === 1 &&
          ctr.impressions === items &&
          Math.abs(ctr.value - 1 / items) < 1e-12 &&
          onMetrics.every(
            ([c, clicks, imps]) => clicks === 1 && imps === items && Math.abs(c! - ctr.value) < 1e-12,
          )
        );
      },
      'CTR = 1 click / every served item, on both /metrics and in the report',
      30_000,
    ).catch((err: Error) => assert.fail(`${err.message}: ${seen}\n${tails()}`));
  });

  it('kill -9 one stream process: the other takes over its partitions and folds in what lands there', async () => {
    await waitForMembers(2);
    const victim = streams[0]!;
    const survivor = streams[1]!;
    const t0 = new Date();
    const gone = await victim.p.kill9();
    assert.equal(gone.signal, 'SIGKILL');
    const after = await waitForMembers(1);
    assert.deepEqual(after, [[...Array(PARTITIONS).keys()]], 'the survivor holds every partition');

    // One user per partition (the key is the user id, placed by the app's partitioner), so the
    // partitions the killed process held get events too.
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = [...Array(PARTITIONS).keys()].map((partitionId) => ({
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
      partitionErrorCode: 0,
    }));
    const byPartition = new Map<number, string>();
    for (let u = 100; byPartition.size < PARTITIONS && u <= USERS; u++)
      byPartition.set(
        partitioner({ topic, partitionMetadata, message: { key: String(u), value: null } }),
        String(u),
      );
    assert.equal(byPartition.size, PARTITIONS);
    const users = [...byPartition.values()];
    const stored0 = await storedOn(survivor.opsUrl);
    const ev = await call(
      serveB.url,
      'POST',
      '/v1/events',
      users.map((user_id, i) => ({ user_id, item_id: String(1 + i), type: 'rating', value: 4 })),
      keyed,
    );
    assert.equal(ev.status, 202, ev.text);
    await waitFor(
      async () => {
        const { rows } = await cluster.stores.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM user_profiles WHERE user_id = ANY($1) AND model_version = $2 AND updated_at >= $3`,
          [users, version, t0],
        );
        return rows[0]!.n === users.length;
      },
      `profiles of ${users.join(', ')} (partitions ${[...byPartition.keys()].join(', ')}) folded in by the survivor`,
      30_000,
    ).catch((err: Error) => assert.fail(`${err.message}\n${tails()}`));
    const { rows } = await cluster.stores.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM rt_user_interactions WHERE event_id = ANY($1::uuid[])',
      [ev.body.event_ids],
    );
    assert.equal(rows[0]!.n, users.length);
    assert.ok((await storedOn(survivor.opsUrl)) >= stored0 + users.length, 'the survivor stored them');
  });

  it('every process stops cleanly on SIGTERM; the scheduler started no run of its own', async () => {
    const { rows } = await cluster.stores.db.query<{ trigger: string; status: string }>(
      'SELECT trigger, status FROM batch_runs',
    );
    assert.deepEqual(rows, [{ trigger: 'cli', status: 'succeeded' }]);
    const live = [serveA.p, serveB.p, streams[1]!.p, scheduler];
    const ends = await Promise.all(live.map((p) => p.stop()));
    assert.deepEqual(
      ends.map((e, i) => [live[i]!.name, e.code, e.signal]),
      live.map((p) => [p.name, 0, null]),
      tails(),
    );
  });
});

/** Events the stream process has stored (its recsys_stream_events_total{outcome="stored"}). */
async function storedOn(opsUrl: string): Promise<number> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  return gauge(text, 'recsys_stream_events_total{outcome="stored"}') || 0;
}
