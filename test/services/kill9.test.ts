// kill -9 under load, each role in turn (issue 14, test 2): two `recsys serve` behind one port
// (SO_REUSEPORT), two `recsys stream` in one consumer group and a `recsys scheduler`, with the
// reliability client's mixed load on the shared port throughout. One server killed: reads keep
// answering from the other. One stream process killed: the other takes its partitions. The
// scheduler killed in the middle of a batch run: the active model (version and artifact) is
// untouched, the dead run is marked failed and a later run succeeds. At the end every accepted
// event is stored exactly once (rt_user_interactions or the archive).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { drainAndAudit } from '../reliability/audit.js';
import { type Cluster, freePort, openCluster, type Proc } from '../reliability/cluster.js';
import { MixedLoad } from '../reliability/load.js';
import { delay, waitFor } from '../stores/support/wait.js';

/** A daily cron slot `s` seconds from now (UTC): the scheduler starts one run then. */
function slotIn(s: number): string {
  const at = new Date(Date.now() + s * 1000);
  return `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
}

/** Reads answered and failed from second `from` (of the load) on. */
function readsFrom(load: MixedLoad, from: number): { ok: number; failed: number } {
  return load.readsBySecond
    .slice(Math.ceil(from))
    .reduce((a, s) => ({ ok: a.ok + s.ok, failed: a.failed + s.failed }), { ok: 0, failed: 0 });
}

describe('kill -9 under load: serve, stream, scheduler in turn', { timeout: 240_000 }, () => {
  let cluster: Cluster;
  let load: MixedLoad;
  let serves: Proc[];
  let streams: Proc[];

  before(async () => {
    cluster = await openCluster({ name: 'kill' });
    const port = await freePort();
    serves = [
      await cluster.start('serve', 'serve-a', { port }),
      await cluster.start('serve', 'serve-b', { port }),
    ];
    streams = await Promise.all([cluster.start('stream', 'stream-1'), cluster.start('stream', 'stream-2')]);
    const base = `http://127.0.0.1:${port}`;
    const popular = (await (await fetch(`${base}/v1/items/popular?k=100`)).json()) as {
      items: Array<{ item_id: string }>;
    };
    load = new MixedLoad({
      base,
      rps: 60,
      users: cluster.users,
      items: popular.items.map((i) => i.item_id),
      subscribers: 10,
    });
    load.start();
    await delay(3000);
  });

  after(async () => {
    await load?.stop();
    await cluster?.close();
  });

  it('one serve killed: reads keep answering from the other behind the same port', async () => {
    const before = readsFrom(load, 0);
    assert.ok(before.ok > 0 && before.failed === 0, `reads before the kill: ${JSON.stringify(before)}`);
    const killedAt = load.elapsed();
    await serves[0]!.kill9();
    await delay(8000);
    // Requests in flight on the killed server's connections fail; from 2 s on every read answers.
    const afterKill = readsFrom(load, killedAt + 2);
    assert.ok(afterKill.ok >= 100, `reads after the kill: ${JSON.stringify(afterKill)}`);
    assert.equal(afterKill.failed, 0, `reads failed after the kill: ${JSON.stringify(load.outcomes)}`);
    assert.ok(serves[1]!.alive(), 'the other server runs');
  });

  it('one stream killed: the other consumes every partition', async () => {
    await streams[0]!.kill9();
    await delay(8000);
    assert.ok(streams[1]!.alive(), cluster.tails());
  });

  it('scheduler killed mid-run: the active model is untouched and a later run succeeds', async () => {
    const db = cluster.stores.db;
    const active = async () => {
      const { rows } = await db.query<{ version: string; artifact_uri: string }>(
        `SELECT version, artifact_uri FROM models WHERE status = 'active'`,
      );
      const m = rows[0]!;
      const hash = createHash('sha256');
      for (const key of (await cluster.stores.objects.list(m.artifact_uri)).sort())
        hash.update(key).update(await cluster.stores.objects.get(key));
      return { version: m.version, artifact_uri: m.artifact_uri, sha256: hash.digest('hex') };
    };
    const model = await active();
    // A longer training, so that the kill lands inside it.
    const scheduler = await cluster.start('scheduler', 'scheduler-1', {
      env: { RECSYS_BATCH_SCHEDULE: slotIn(4), RECSYS_ALS_ITERATIONS: '60' },
    });
    let runId = '';
    await waitFor(
      async () => {
        const { rows } = await db.query<{ run_id: string }>(
          `SELECT run_id FROM batch_runs WHERE trigger = 'scheduler' AND status = 'running'`,
        );
        runId = rows[0]?.run_id ?? '';
        return runId !== '';
      },
      'the scheduled run to start',
      60_000,
    );
    await delay(1500);
    await scheduler.kill9();
    const { rows: killed } = await db.query<{ status: string }>(
      'SELECT status FROM batch_runs WHERE run_id = $1',
      [runId],
    );
    assert.equal(killed[0]!.status, 'running', 'the run was killed in progress (not already finished)');
    assert.deepEqual(await active(), model, 'the active model after the kill');
    // The servers still answer from it.
    const r = await fetch(`${load.base}/readyz`);
    assert.equal(((await r.json()) as { model_version: string }).model_version, model.version);

    const next = await cluster.start('scheduler', 'scheduler-2', {
      env: { RECSYS_BATCH_SCHEDULE: slotIn(4) },
    });
    let last: unknown;
    await waitFor(
      async () => {
        const { rows } = await db.query<{ run_id: string; status: string }>(
          `SELECT run_id, status FROM batch_runs WHERE trigger = 'scheduler' ORDER BY started_at`,
        );
        last = rows;
        // A run is 'queued' before it is 'running': wait for an end (succeeded, failed, rejected).
        return rows.length === 2 && !['queued', 'running'].includes(rows[1]!.status);
      },
      'the later run to end',
      120_000,
    ).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(last)}\n${cluster.tails()}`));
    const { rows } = await db.query<{ run_id: string; status: string }>(
      `SELECT run_id, status FROM batch_runs WHERE trigger = 'scheduler' ORDER BY started_at`,
    );
    assert.deepEqual(
      rows.map((x) => x.status),
      ['failed', 'succeeded'],
      'the killed run marked failed, the later one succeeded',
    );
    await next.stop();
  });

  it('no accepted event lost or stored twice', async (t) => {
    const report = await load.stop();
    const a = await drainAndAudit(cluster.stores, load);
    const msg = JSON.stringify({ report, audit: a });
    t.diagnostic(`kill -9 counts: ${msg}`);
    assert.ok(report.events.accepted > 1000, msg);
    assert.equal(a.accepted.lost, 0, msg);
    assert.equal(a.accepted.duplicated + a.others.duplicated, 0, msg);
    // Everything but reads and writes cut by the serve kill answered 2xx.
    const bad = Object.entries(report.outcomes).filter(([k]) => !/ (2\d\d|429)$/.test(k));
    const cut = bad.reduce((n, [, c]) => n + c, 0);
    assert.ok(cut <= 60, `failed requests: ${JSON.stringify(bad)}`);
  });
});
