// The analytics rollups and report, written once against a known seed; each store's test file
// supplies a fresh migrated database (PGlite embedded, PostgreSQL in the services suite).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { analyticsReport, parseWindow, rollUp } from '../../src/analytics/index.js';
import type { RelationalStore } from '../../src/stores/relational/port.js';

export interface AnalyticsHarness {
  /** A fresh database, migrated. */
  db: RelationalStore;
  /** Another connection to it, as another process has (PostgreSQL only: PGlite has one). */
  peer?: () => Promise<RelationalStore>;
  cleanup(): Promise<void>;
}

const H0 = Date.parse('2026-11-30T10:00:00Z');
const H1 = H0 + 3_600_000;
const min = (m: number) => m * 60_000;
const at = (ms: number) => new Date(ms).toISOString();
const WINDOW = parseWindow({ from: at(H0), to: at(H1 + min(60)) });

interface Answer {
  user: string;
  version: string | null;
  source: string;
  items: string[];
  scores: number[];
  served: number;
  latencyUs: number;
}
// The seed (README "Analytics" defines each figure checked below).
const ANSWERS = {
  a1: {
    user: 'u1',
    version: 'v1',
    source: 'l0',
    items: ['i1', 'i2', 'i3'],
    scores: [4.5, 4, 3.5],
    served: H0 + min(5),
    latencyUs: 300,
  },
  a2: {
    user: 'u2',
    version: 'v1',
    source: 'l2',
    items: ['i2', 'i4'],
    scores: [4.2, 3.9],
    served: H0 + min(10),
    latencyUs: 1200,
  },
  a3: {
    user: 'u1',
    version: 'v2',
    source: 'realtime',
    items: ['i5', 'i6', 'i1'],
    scores: [4.8, 4.1, 3],
    served: H1 + min(1),
    latencyUs: 80,
  },
  a4: {
    user: 'u3',
    version: null,
    source: 'popular',
    items: ['i7', 'i8'],
    scores: [50, 40],
    served: H1 + min(2),
    latencyUs: 40,
  },
  a5: { user: 'u4', version: 'v2', source: 'l1', items: [], scores: [], served: H1 + min(3), latencyUs: 60 },
} satisfies Record<string, Answer>;
type Name = keyof typeof ANSWERS;

/** `interleaved`: the store has several connections, so a pass can run while a write is open. */
export function analyticsContract(
  name: string,
  create: () => Promise<AnalyticsHarness>,
  opts: { interleaved: boolean },
): void {
  describe(`analytics rollups: ${name}`, () => {
    let h: AnalyticsHarness;
    afterEach(async () => h?.cleanup());

    const ids = {} as Record<Name, string>;
    for (const k of Object.keys(ANSWERS) as Name[]) ids[k] = randomUUID();

    const logAnswers = async (db: Pick<RelationalStore, 'query'>, names: Name[]) => {
      for (const n of names) {
        const a: Answer = ANSWERS[n];
        await db.query(
          `INSERT INTO recommendation_logs (rec_id, user_id, model_version, source, item_ids, scores, served_at, latency_us)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [ids[n], a.user, a.version, a.source, a.items, a.scores, new Date(a.served), a.latencyUs],
        );
      }
    };
    const feedback = async (rows: Array<[Name | null, string, string, number, number?]>) => {
      for (const [answer, item, action, ts, value] of rows)
        await h.db.query(
          `INSERT INTO recommendation_feedback (rec_id, user_id, item_id, action, value, ts) VALUES ($1, $2, $3, $4, $5, $6)`,
          [
            answer ? ids[answer] : null,
            answer ? ANSWERS[answer].user : 'u9',
            item,
            action,
            value ?? null,
            new Date(ts),
          ],
        );
    };
    const rated = async (user: string, item: string, value: number, ts: number) =>
      h.db.query(
        `INSERT INTO rt_user_interactions (event_id, user_id, item_id, type, value, ts) VALUES ($1, $2, $3, 'rating', $4, $5)`,
        [randomUUID(), user, item, value, new Date(ts)],
      );
    const seedCatalog = async () => {
      for (let i = 1; i <= 11; i++)
        await h.db.query('INSERT INTO items (item_id, idx, active) VALUES ($1, $2, $3)', [
          `i${i}`,
          i,
          i <= 10,
        ]);
      await h.db.query(
        `INSERT INTO models (version, algorithm, metrics, status, created_at) VALUES
           ('v1', 'als', '{"rmse": 0.9, "mae": 0.7}', 'retired', '2026-11-29T02:00:00Z'),
           ('v2', 'als', '{"rmse": 0.85, "mae": 0.66, "ndcg_at_10": 0.1}', 'active', '2026-11-30T02:00:00Z')`,
      );
    };
    const report = () => analyticsReport(h.db, WINDOW);
    const close = (actual: number | null, expected: number, what: string) => {
      assert.ok(actual !== null && Math.abs(actual - expected) < 1e-5, `${what}: ${actual} ≠ ${expected}`);
    };

    /** Everything of the seed, written in an order that puts feedback before its answer's log row. */
    const seedInTwoPasses = async () => {
      await seedCatalog();
      await logAnswers(h.db, ['a1', 'a2']);
      await feedback([
        ['a1', 'i1', 'click', H0 + min(6)],
        ['a1', 'i2', 'impression', H0 + min(6)],
        ['a1', 'i3', 'impression', H0 + min(6)],
        ['a2', 'i4', 'purchase', H0 + min(11)], // before the click: not a conversion
        // a3 is served but its log row is not written yet (another process's queue).
        ['a3', 'i5', 'click', H1 + min(2)],
      ]);
      await rated('u2', 'i2', 5, H0 + min(20));
      const first = await rollUp(h.db);
      assert.equal(first.answers, 2);
      await logAnswers(h.db, ['a3', 'a4', 'a5']);
      await feedback([
        ['a1', 'i1', 'click', H0 + min(7)], // a second click on the same served item
        ['a1', 'i1', 'purchase', H0 + min(8)],
        ['a1', 'i2', 'click', H0 + min(9)],
        ['a2', 'i4', 'click', H0 + min(12)],
        ['a3', 'i5', 'rating', H1 + min(3), 4],
        ['a4', 'i7', 'click', H1 + min(4)],
        ['a2', 'i9', 'click', H0 + min(13)], // not in the answer
        [null, 'i1', 'click', H0 + min(14)], // no answer
      ]);
      await rated('u1', 'i1', 3.5, H1 + min(30)); // the latest answer to u1 with i1 is a3
      await rated('u9', 'i1', 2, H1 + min(30)); // nobody served u9
      const second = await rollUp(h.db);
      assert.equal(second.answers, 3);
    };

    test('every figure of a seeded window, exactly', async () => {
      h = await create();
      await seedInTwoPasses();
      const r = await report();
      assert.equal(r.from, at(H0));
      assert.equal(r.to, at(H1 + min(60)));
      assert.deepEqual(
        { clicks: r.ctr.clicks, impressions: r.ctr.impressions, value: r.ctr.value },
        { clicks: 5, impressions: 10, value: 0.5 },
      );
      assert.deepEqual(r.ctr.viewed, { value: 0.5, clicks: 1, impressions: 2 });
      assert.deepEqual(r.ctr.by_model_version, [
        { model_version: '', value: 0.5, clicks: 1, impressions: 2 },
        { model_version: 'v1', value: 0.6, clicks: 3, impressions: 5 },
        { model_version: 'v2', value: 1 / 3, clicks: 1, impressions: 3 },
      ]);
      assert.deepEqual(r.ctr.by_source, [
        { source: 'l0', value: 2 / 3, clicks: 2, impressions: 3 },
        { source: 'l1', value: null, clicks: 0, impressions: 0 },
        { source: 'l2', value: 0.5, clicks: 1, impressions: 2 },
        { source: 'popular', value: 0.5, clicks: 1, impressions: 2 },
        { source: 'realtime', value: 1 / 3, clicks: 1, impressions: 3 },
      ]);
      assert.deepEqual(r.ctr.by_position, [
        { position: 1, value: 0.75, clicks: 3, impressions: 4 },
        { position: 2, value: 0.5, clicks: 2, impressions: 4 },
        { position: 3, value: 0, clicks: 0, impressions: 2 },
      ]);
      assert.deepEqual(
        { value: r.conversions.value, conversions: r.conversions.conversions, clicks: r.conversions.clicks },
        { value: 0.2, conversions: 1, clicks: 5 },
      );
      assert.deepEqual(
        r.conversions.by_model_version.map((v) => [v.model_version, v.conversions, v.clicks]),
        [
          ['', 0, 1],
          ['v1', 1, 3],
          ['v2', 0, 1],
        ],
      );
      assert.deepEqual(
        { value: r.coverage.value, items: r.coverage.items, active: r.coverage.active_items },
        { value: 0.8, items: 8, active: 10 },
      );
      assert.deepEqual(
        r.coverage.by_model_version.map((v) => [v.model_version, v.items, v.value]),
        [
          ['', 2, 0.2],
          ['v1', 4, 0.4],
          ['v2', 3, 0.3],
        ],
      );
      // Rated served items: a2/i2 4.2 vs 5 (event), a3/i5 4.8 vs 4 (feedback), a3/i1 3.0 vs 3.5 (event).
      const online = r.rmse.online;
      assert.equal(online.ratings, 3);
      close(online.value, Math.sqrt((0.64 + 0.64 + 0.25) / 3), 'online RMSE');
      close(online.mae, (0.8 + 0.8 + 0.5) / 3, 'online MAE');
      const [none, v1, v2] = online.by_model_version;
      assert.deepEqual([none.model_version, none.ratings, none.value], ['', 0, null]);
      close(v1.value, 0.8, 'v1 RMSE');
      close(v2.value, Math.sqrt((0.64 + 0.25) / 2), 'v2 RMSE');
      assert.deepEqual(
        r.rmse.offline.map((m) => [m.model_version, m.status, m.rmse, m.mae]),
        [
          ['v2', 'active', 0.85, 0.66],
          ['v1', 'retired', 0.9, 0.7],
        ],
      );
      assert.deepEqual(r.answers, {
        total: 5,
        by_source: ['l0', 'l1', 'l2', 'popular', 'realtime'].map((source) => ({ source, answers: 1 })),
      });
      // Latencies 40, 60, 80, 300, 1200 µs fall in the buckets up to 50, 100, 100, 500, 2500 µs.
      assert.deepEqual(r.latency_ms, { p50: 0.1, p95: 2.5, p99: 2.5 });
      const totals = r.series.filter((p) => p.model_version === null);
      assert.deepEqual(
        totals.map((p) => [p.bucket, p.answers, p.impressions, p.clicks, p.conversions, p.items, p.ratings]),
        [
          [at(H0), 2, 5, 3, 1, 4, 1],
          [at(H1), 3, 5, 2, 0, 5, 2],
        ],
      );
      close(totals[0].ctr, 0.6, 'ctr at H0');
      close(totals[1].coverage, 0.5, 'coverage at H1');
      close(totals[1].rmse, Math.sqrt((0.64 + 0.25) / 2), 'rmse at H1');
      assert.deepEqual(
        r.series
          .filter((p) => p.bucket === at(H1))
          .map((p) => [p.model_version, p.impressions, p.clicks, p.items]),
        [
          [null, 5, 2, 5],
          ['', 2, 1, 2],
          ['v2', 3, 1, 3],
        ],
      );
      const daily = await analyticsReport(h.db, { ...WINDOW, granularity: 'day' });
      assert.deepEqual(
        daily.series
          .filter((p) => p.model_version === null)
          .map((p) => [p.bucket, p.impressions, p.clicks, p.items]),
        [['2026-11-30T00:00:00.000Z', 10, 5, 8]],
      );
    });

    test('a pass with nothing new changes nothing; a window outside the data is empty', async () => {
      h = await create();
      await seedInTwoPasses();
      const before = await report();
      const again = await rollUp(h.db);
      assert.deepEqual([again.answers, again.outcomes, again.hours], [0, 0, 0]);
      const after = await report();
      assert.deepEqual({ ...after, rolled_up_at: null }, { ...before, rolled_up_at: null });
      const empty = await analyticsReport(
        h.db,
        parseWindow({ from: at(H0 - min(600)), to: at(H0 - min(60)) }),
      );
      assert.deepEqual([empty.ctr.value, empty.coverage.value, empty.rmse.online.value], [null, 0, null]);
      assert.deepEqual([empty.answers.total, empty.series.length, empty.latency_ms.p50], [0, 0, null]);
    });

    test('the report is the same however the rows were split between passes', async () => {
      h = await create();
      await seedInTwoPasses();
      const split = await report();
      // The same rows again in one pass, in a second database.
      const other = h;
      h = await create();
      try {
        await seedCatalog();
        await h.db.query(
          `INSERT INTO recommendation_logs (rec_id, user_id, model_version, source, item_ids, scores, served_at, latency_us)
           SELECT rec_id, user_id, model_version, source, item_ids, scores, served_at, latency_us FROM json_populate_recordset(NULL::recommendation_logs, $1)`,
          [JSON.stringify((await other.db.query('SELECT * FROM recommendation_logs')).rows)],
        );
        await h.db.query(
          `INSERT INTO recommendation_feedback (rec_id, user_id, item_id, action, value, ts)
           SELECT rec_id, user_id, item_id, action, value, ts FROM json_populate_recordset(NULL::recommendation_feedback, $1)`,
          [JSON.stringify((await other.db.query('SELECT * FROM recommendation_feedback')).rows)],
        );
        await h.db.query(
          `INSERT INTO rt_user_interactions (event_id, user_id, item_id, type, value, ts)
           SELECT event_id, user_id, item_id, type, value, ts FROM json_populate_recordset(NULL::rt_user_interactions, $1)`,
          [
            JSON.stringify(
              (
                await other.db.query(
                  'SELECT event_id, user_id, item_id, type, value, ts FROM rt_user_interactions',
                )
              ).rows,
            ),
          ],
        );
        await rollUp(h.db);
        const once = await report();
        assert.deepEqual({ ...once, rolled_up_at: null }, { ...split, rolled_up_at: null });
      } finally {
        await other.cleanup();
      }
    });

    // PGlite runs one connection: no write is ever open while a pass runs.
    if (!opts.interleaved) return;
    test('rows of a transaction still open when a pass runs are taken by the next pass, once', async () => {
      h = await create();
      assert.ok(h.peer, 'an interleaved store has a peer');
      await seedCatalog();
      const peer = await h.peer();
      let release: () => void = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      try {
        let inserted!: () => void;
        const wrote = new Promise<void>((r) => {
          inserted = r;
        });
        // The slow writer starts first (the lower transaction id) and commits last.
        const slow = peer.transaction(async (tx) => {
          await logAnswers(tx, ['a1']);
          inserted();
          await held;
        });
        await wrote;
        await logAnswers(h.db, ['a2']);
        const first = await rollUp(h.db);
        assert.equal(first.answers, 1, 'the committed answer, not the open one');
        release();
        await slow;
        const second = await rollUp(h.db);
        assert.equal(second.answers, 1, 'the late commit, in the next pass');
        assert.equal((await rollUp(h.db)).answers, 0);
        const r = await report();
        assert.deepEqual([r.answers.total, r.ctr.impressions], [2, 5]);
      } finally {
        release();
        await peer.close();
      }
    });
  });
}
