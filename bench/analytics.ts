/**
 * bench/analytics: the analytics layer at 10 M recommendation_logs rows on real PostgreSQL
 * (scripts/services.sh), in a database of its own.
 *
 * Data (made by SQL inside PostgreSQL, seeded): 10 M answers over 30 days (10 items each from a
 * 27 000-item catalog, popularity skewed; 3 model versions in turn; sources as a cache-heavy
 * server serves them), clicks on 3 % of served items' answers, some purchases after them,
 * `impression` feedback from a tenth of answers, and rating feedback. Kept between runs
 * (BENCH_ANALYTICS_FRESH=1 makes it again).
 *
 * Measured, in one run:
 *   - the first pass over all 10 M rows (catch-up), and a steady pass after 100 000 new answers
 *     with their feedback (what each interval does under ~30 answers/s... to ~10 000/s);
 *   - the report (GET /v1/admin/metrics's query work) over 24 h, 7 d and 30 d from the rollups,
 *     against the same figures (CTR, coverage, online RMSE) computed from the raw tables,
 *     interleaved: rollup, raw, rollup, … per window.
 */
import { analyticsReport, parseWindow, rollUp } from '../src/analytics/index.js';
import { silentLogger } from '../src/logger.js';
import { migrate } from '../src/stores/relational/migrate.js';
import type { RelationalStore } from '../src/stores/relational/port.js';
import { openPostgres } from '../src/stores/relational/postgres.js';
import { machine, median, servicesEnv, table } from './lib.js';

const DB_NAME = 'recsys_bench_analytics';
const ANSWERS = Number(process.env.BENCH_ANALYTICS_ROWS ?? 10_000_000);
const DAYS = 30;
const ITEMS = 27_000;
const END = Date.parse('2026-12-01T00:00:00Z');
const START = END - DAYS * 86_400_000;
const STEADY = 100_000;
const ROUNDS = 5;

export async function benchAnalytics(): Promise<string> {
  const base = servicesEnv();
  const admin = await openPostgres({ url: base.DATABASE_URL, connectTimeoutMs: 5000, logger: silentLogger });
  const url = new URL(base.DATABASE_URL);
  url.pathname = `/${DB_NAME}`;
  const fresh = process.env.BENCH_ANALYTICS_FRESH === '1';
  const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB_NAME])).rowCount > 0;
  if (fresh && exists) await admin.query(`DROP DATABASE ${DB_NAME}`);
  if (fresh || !exists) await admin.query(`CREATE DATABASE ${DB_NAME}`);
  await admin.close();
  const db = await openPostgres({ url: url.toString(), connectTimeoutMs: 5000, logger: silentLogger });
  try {
    await migrate(db);
    const seeded = await seed(db);
    await resetRollups(db);
    const catchUp = await timed(() => rollUp(db));
    log(`catch-up pass: ${(catchUp.ms / 1000).toFixed(1)} s`);
    await addAnswers(db, STEADY, END, END + 3_600_000, 'steady');
    const steady = await timed(() => rollUp(db));
    log(`steady pass: ${steady.ms.toFixed(0)} ms`);
    const sizes = await tableSizes(db);

    const rows: Array<Array<string | number>> = [];
    for (const hours of [24, 7 * 24, DAYS * 24]) {
      const w = parseWindow({
        from: new Date(END - hours * 3_600_000).toISOString(),
        to: new Date(END).toISOString(),
      });
      const rollupMs: number[] = [];
      const rawMs: number[] = [];
      let check: string[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const a = await timed(() => analyticsReport(db, w));
        rollupMs.push(a.ms);
        // The raw query scans the window's logs: its first rounds are enough above a few million rows.
        if (r < (hours > 24 * 7 ? 2 : ROUNDS)) {
          const b = await timed(() => rawFigures(db, w.from, w.to));
          rawMs.push(b.ms);
          check = agree(a.value, b.value);
        }
        log(
          `window ${hours} h round ${r + 1}: rollups ${a.ms.toFixed(1)} ms, raw ${rawMs.at(-1)?.toFixed(0)} ms`,
        );
      }
      const inWindow = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM recommendation_logs WHERE served_at >= $1 AND served_at < $2',
        [w.from, w.to],
      );
      rows.push([
        hours >= 48 ? `${hours / 24} d` : `${hours} h`,
        inWindow.rows[0].n.toLocaleString('en-US'),
        median(rollupMs).toFixed(1),
        (median(rawMs) / 1000).toFixed(2),
        `${Math.round(median(rawMs) / median(rollupMs)).toLocaleString('en-US')}×`,
        check.length === 0 ? 'equal' : check.join('; '),
      ]);
    }

    return [
      `## Analytics (${machine()})`,
      '',
      `Real PostgreSQL (scripts/services.sh), database \`${DB_NAME}\`. Data made inside PostgreSQL (seeded): ${seeded.answers.toLocaleString('en-US')} recommendation_logs rows over ${DAYS} days (10 items each from ${ITEMS.toLocaleString('en-US')}, popularity skewed; 3 model versions; sources l0/l1/l2/realtime/popular), ${seeded.feedback.toLocaleString('en-US')} recommendation_feedback rows (clicks, purchases after some, impressions, ratings). Rollup tables after the passes: ${sizes}.`,
      '',
      '| pass | rows folded in | time |',
      '|---|---|---|',
      `| catch-up: every row, into empty rollups | ${catchUp.value.answers.toLocaleString('en-US')} answers, ${catchUp.value.outcomes.toLocaleString('en-US')} outcomes | ${(catchUp.ms / 1000).toFixed(1)} s |`,
      `| steady: after ${STEADY.toLocaleString('en-US')} new answers and their feedback | ${steady.value.answers.toLocaleString('en-US')} answers, ${steady.value.outcomes.toLocaleString('en-US')} outcomes | ${(steady.ms / 1000).toFixed(2)} s |`,
      '',
      `The report (what GET /v1/admin/metrics, /dashboard and the gauges run: CTR by version, source and position, conversions, coverage with distinct items per bucket, online and offline RMSE, latency, the series) from the rollups, against CTR, coverage and online RMSE alone computed from the raw tables (logs ⋈ feedback over the window); medians of ${ROUNDS} interleaved rounds (2 raw rounds for 30 d). "Figures": the two agree on CTR, coverage and online RMSE.`,
      '',
      table(
        ['window', 'answers in it', 'report from rollups, ms', 'raw tables, s', 'raw ÷ rollups', 'figures'],
        rows,
      ),
    ].join('\n');
  } finally {
    await db.close();
  }
}

const log = (s: string) => process.stderr.write(`bench analytics: ${s}\n`);

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t };
}

/** Makes the data once (a marker row says it is there). */
async function seed(db: RelationalStore): Promise<{ answers: number; feedback: number }> {
  await db.exec('CREATE TABLE IF NOT EXISTS bench_seed (answers bigint, feedback bigint)');
  const done = await db.query<{ answers: number; feedback: number }>(
    'SELECT answers, feedback FROM bench_seed',
  );
  if (done.rows.length > 0 && done.rows[0].answers === ANSWERS) {
    // The steady pass's answers of the last run go, with their feedback.
    await db.query(
      'DELETE FROM recommendation_feedback WHERE rec_id IN (SELECT rec_id FROM recommendation_logs WHERE served_at >= $1)',
      [new Date(END)],
    );
    await db.query('DELETE FROM recommendation_logs WHERE served_at >= $1', [new Date(END)]);
    return done.rows[0];
  }
  await db.exec(
    'TRUNCATE recommendation_logs, recommendation_feedback, items, models, bench_seed, rt_user_interactions',
  );
  await db.query(
    `INSERT INTO items (item_id, idx, active) SELECT 'i' || g, g, g % 50 <> 0 FROM generate_series(0, $1::int - 1) g`,
    [ITEMS],
  );
  await db.query(
    `INSERT INTO models (version, algorithm, metrics, status, created_at) VALUES
       ('v1', 'als', '{"rmse": 0.93}', 'retired', $1), ('v2', 'als', '{"rmse": 0.92}', 'retired', $2),
       ('v3', 'als', '{"rmse": 0.91}', 'active', $3)`,
    [new Date(START), new Date(START + 10 * 86_400_000), new Date(START + 20 * 86_400_000)],
  );
  const chunk = 1_000_000;
  for (let i = 0; i < ANSWERS; i += chunk) {
    const n = Math.min(chunk, ANSWERS - i);
    const from = START + ((END - START) * i) / ANSWERS;
    const to = START + ((END - START) * (i + n)) / ANSWERS;
    await addAnswers(db, n, from, to, `c${i / chunk}`);
    log(`seeded ${(i + n).toLocaleString('en-US')} answers`);
  }
  await db.exec('ANALYZE');
  const counts = await db.query<{ a: number; f: number }>(
    'SELECT (SELECT count(*) FROM recommendation_logs)::float8 AS a, (SELECT count(*) FROM recommendation_feedback)::float8 AS f',
  );
  await db.query('INSERT INTO bench_seed VALUES ($1, $2)', [counts.rows[0].a, counts.rows[0].f]);
  return { answers: counts.rows[0].a, feedback: counts.rows[0].f };
}

/** n answers served evenly over [from, to), with their feedback, in one transaction. */
async function addAnswers(
  db: RelationalStore,
  n: number,
  from: number,
  to: number,
  seed: string,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('SELECT setseed($1)', [(hash(seed) % 2000) / 1000 - 1]);
    await tx.query(
      `CREATE TEMP TABLE new_answers ON COMMIT DROP AS
       SELECT gen_random_uuid() AS rec_id,
              'u' || floor(200000 * random())::int AS user_id,
              g, to_timestamp(($2::float8 + ($3::float8 - $2::float8) * g::float8 / $1::int) / 1000) AS served_at
         FROM generate_series(0, $1::int - 1) g`,
      [n, from, to],
    );
    await tx.query(
      `INSERT INTO recommendation_logs (rec_id, user_id, model_version, source, item_ids, scores, served_at, latency_us)
       SELECT rec_id, user_id,
              CASE WHEN random() < 0.03 THEN NULL
                   WHEN served_at < $1::timestamptz THEN 'v1' WHEN served_at < $2::timestamptz THEN 'v2' ELSE 'v3' END,
              (ARRAY['l0','l0','l0','l1','l1','l2','realtime','popular'])[1 + floor(8 * random())::int],
              ARRAY(SELECT 'i' || floor($3::int * power(random(), 3))::int FROM generate_series(1, 10 + 0 * g)),
              ARRAY(SELECT (5 - k * 0.2 + random() * 0.1)::real FROM generate_series(1, 10 + 0 * g) k),
              served_at, 50 + floor(2000 * power(random(), 4))::int
         FROM new_answers`,
      [new Date(START + 10 * 86_400_000), new Date(START + 20 * 86_400_000), ITEMS],
    );
    // Feedback on the answers just written: clicks on 3 % (position skewed to the top), a
    // purchase after a fifth of the clicks, impressions from a tenth, ratings on 1 %.
    await tx.query(
      `INSERT INTO recommendation_feedback (rec_id, user_id, item_id, position, action, value, ts)
       SELECT l.rec_id, l.user_id, l.item_ids[p], p, a.action, a.value, l.served_at + a.after
         FROM recommendation_logs l
         JOIN new_answers n ON n.rec_id = l.rec_id
         -- (l.g in each pick makes PostgreSQL draw per row, not once)
         CROSS JOIN LATERAL (SELECT 1 + floor(10 * power(random(), 2))::int + 0 * n.g AS p, random() + 0 * n.g AS r) pick
         CROSS JOIN LATERAL (VALUES
             ('click', NULL::real, interval '20 seconds', pick.r < 0.03),
             ('purchase', NULL::real, interval '5 minutes', pick.r < 0.006),
             ('impression', NULL::real, interval '1 second', pick.r > 0.9),
             ('rating', (1 + floor(5 * random()))::real, interval '1 hour', pick.r BETWEEN 0.5 AND 0.51)
           ) AS a(action, value, after, chosen)
        WHERE a.chosen`,
    );
  });
}

function hash(s: string): number {
  let h = 7;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h;
}

async function resetRollups(db: RelationalStore): Promise<void> {
  await db.exec(
    `TRUNCATE analytics_answers_hourly, analytics_positions_hourly, analytics_items_hourly,
              analytics_latency_hourly, analytics_outcomes, analytics_outcomes_hourly, analytics_watermarks`,
  );
}

async function tableSizes(db: RelationalStore): Promise<string> {
  const { rows } = await db.query<{ name: string; n: number }>(
    `SELECT relname AS name, n_live_tup::float8 AS n FROM pg_stat_user_tables
      WHERE relname LIKE 'analytics\\_%\\_hourly' OR relname = 'analytics_outcomes' ORDER BY relname`,
  );
  return rows.map((r) => `${r.name} ${Math.round(r.n).toLocaleString('en-US')}`).join(', ');
}

interface Figures {
  ctr: number | null;
  coverage: number | null;
  rmse: number | null;
}

/** CTR, coverage and online RMSE over [from, to) straight from the raw tables: the baseline. */
async function rawFigures(db: RelationalStore, from: Date, to: Date): Promise<Figures> {
  const { rows } = await db.query<{
    impressions: number;
    clicks: number;
    items: number;
    active: number;
    rmse: number | null;
  }>(
    `WITH l AS (
       SELECT rec_id, source, item_ids, scores FROM recommendation_logs WHERE served_at >= $1 AND served_at < $2
     ), fb AS (
       SELECT f.rec_id, f.item_id, bool_or(f.action = 'click') AS clicked,
              (array_agg(f.value ORDER BY f.ts DESC) FILTER (WHERE f.action = 'rating' AND f.value IS NOT NULL))[1] AS rating
         FROM l JOIN recommendation_feedback f ON f.rec_id = l.rec_id
        GROUP BY 1, 2
     ), rated AS (
       SELECT fb.clicked, CASE WHEN l.source <> 'popular' THEN l.scores[array_position(l.item_ids, fb.item_id)] END AS predicted, fb.rating
         FROM fb JOIN l ON l.rec_id = fb.rec_id WHERE fb.item_id = ANY (l.item_ids)
     )
     SELECT (SELECT sum(cardinality(item_ids)) FROM l)::float8 AS impressions,
            (SELECT count(*) FILTER (WHERE clicked) FROM rated)::float8 AS clicks,
            (SELECT count(DISTINCT i) FROM l, unnest(item_ids) i)::float8 AS items,
            (SELECT count(*) FROM items WHERE active)::float8 AS active,
            (SELECT sqrt(avg((predicted - rating)::float8 ^ 2)) FROM rated WHERE rating IS NOT NULL AND predicted IS NOT NULL) AS rmse`,
    [from, to],
  );
  const r = rows[0];
  return {
    ctr: r.impressions > 0 ? r.clicks / r.impressions : null,
    coverage: r.active > 0 ? r.items / r.active : null,
    rmse: r.rmse,
  };
}

function agree(report: Awaited<ReturnType<typeof analyticsReport>>, raw: Figures): string[] {
  const off: string[] = [];
  const same = (a: number | null, b: number | null) =>
    a === null ? b === null : b !== null && Math.abs(a - b) < 1e-9 * Math.max(1, Math.abs(a));
  if (!same(report.ctr.value, raw.ctr)) off.push(`CTR ${report.ctr.value} vs ${raw.ctr}`);
  if (!same(report.coverage.value, raw.coverage))
    off.push(`coverage ${report.coverage.value} vs ${raw.coverage}`);
  if (!same(report.rmse.online.value, raw.rmse)) off.push(`RMSE ${report.rmse.online.value} vs ${raw.rmse}`);
  return off;
}
