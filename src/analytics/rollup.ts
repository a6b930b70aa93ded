/**
 * One incremental rollup pass: recommendation_logs ⋈ recommendation_feedback (and `rating`
 * events) folded into the hourly tables of migrations/0008_analytics.sql.
 *
 * Which rows are new: every log, feedback and rating-event row carries the id of the
 * transaction that wrote it (`tx`). A pass takes its snapshot (xmax, and xip: the transactions
 * still running) and folds in the rows of transactions that have ended since the last pass's:
 * tx from the last xmax on, or among the last pass's running ones, but below this xmax and not
 * running now. The running ones are kept with the watermark for the next pass. So each row is
 * counted exactly once however concurrent writers interleave their commits, a long
 * transaction elsewhere on the server holds back nobody else's rows, and the watermark moves
 * in the same transaction as the counts.
 *
 * Additive counts (answers, items served, latency) are added. Feedback lands in
 * analytics_outcomes, one row per served (answer, item), merged idempotently (earliest click,
 * latest purchase, latest rating); the hours whose outcomes changed are then recounted from
 * it. Feedback that arrives before its answer's log row is picked up when the log row comes
 * (new logs are joined to all their feedback), so the order they are written in does not
 * matter. A rating event counts against the latest answer to that user, served in the 24 h
 * before it, that held the item.
 */
import type { Queryable, RelationalStore } from '../stores/relational/port.js';
import { bitsOf, orInto } from './item-bits.js';

/** The model_version of the bitmaps that hold every version's items. */
export const ALL_VERSIONS = '*';

/** Upper bounds of the latency buckets, µs; the last one catches everything. */
export const LATENCY_BOUNDS_US = [
  50,
  100,
  250,
  500,
  1000,
  2500,
  5000,
  10_000,
  25_000,
  50_000,
  100_000,
  250_000,
  1_000_000,
  2 ** 31 - 1,
];

const WATERMARK = 'rollup';

export interface RollupResult {
  /** Log rows folded in. */
  answers: number;
  /** Outcome rows (served item × answer) created or changed by feedback and rating events. */
  outcomes: number;
  /** Hours recounted from their outcomes. */
  hours: number;
  ms: number;
}

// Rows of transactions that ended since the last pass: $1, $2 the last pass's xmax and running
// transactions, $3, $4 this pass's.
const isNew = (a: string) =>
  `(${a}.tx >= $1::xid8 OR ${a}.tx = ANY ($2::xid8[])) AND ${a}.tx < $3::xid8 AND NOT ${a}.tx = ANY ($4::xid8[])`;
const HOUR = "date_trunc('hour', l.served_at, 'UTC')";
const VERSION = "coalesce(l.model_version, '')";

// The new log rows, scanned once and grouped down to (hour, version, source, items per answer,
// latency bucket): answers, positions and latency all follow from these few rows.
const STAGE_LOGS = `
  CREATE TEMP TABLE analytics_new_logs ON COMMIT DROP AS
  SELECT ${HOUR} AS hour, ${VERSION} AS model_version, l.source,
         cardinality(l.item_ids) AS n_items,
         width_bucket(l.latency_us - 1, $5::int[]) + 1 AS bucket,
         count(*) AS answers, coalesce(sum(l.latency_us), 0) AS latency_us_sum
    FROM recommendation_logs l WHERE ${isNew('l')}
   GROUP BY 1, 2, 3, 4, 5`;

const ADD_ANSWERS = `
  INSERT INTO analytics_answers_hourly AS a (hour, model_version, source, answers, impressions, latency_us_sum)
  SELECT hour, model_version, source, sum(answers), sum(answers * n_items), sum(latency_us_sum)
    FROM analytics_new_logs GROUP BY 1, 2, 3
  ON CONFLICT (hour, model_version, source) DO UPDATE SET
    answers = a.answers + excluded.answers,
    impressions = a.impressions + excluded.impressions,
    latency_us_sum = a.latency_us_sum + excluded.latency_us_sum`;

const ADD_POSITIONS = `
  INSERT INTO analytics_positions_hourly AS a (hour, model_version, source, position, impressions)
  SELECT hour, model_version, source, p.position, sum(answers)
    FROM analytics_new_logs, generate_series(1, n_items) AS p(position)
   GROUP BY 1, 2, 3, 4
  ON CONFLICT (hour, model_version, source, position) DO UPDATE SET impressions = a.impressions + excluded.impressions`;

// bucket: 1-based index of the first bound ≥ the latency (width_bucket counts the bounds below it).
const ADD_LATENCY = `
  INSERT INTO analytics_latency_hourly AS a (hour, source, le_us, answers)
  SELECT hour, source, ($1::int[])[bucket], sum(answers)
    FROM analytics_new_logs WHERE bucket IS NOT NULL
   GROUP BY 1, 2, 3
  ON CONFLICT (hour, source, le_us) DO UPDATE SET answers = a.answers + excluded.answers`;

// Catalog indexes of the items each (hour, version) of the new rows served.
const NEW_ITEMS = `
  SELECT s.hour, s.model_version, array_agg(it.idx) AS idx
    FROM (SELECT DISTINCT ${HOUR} AS hour, ${VERSION} AS model_version, i.item_id
            FROM recommendation_logs l, unnest(l.item_ids) AS i(item_id) WHERE ${isNew('l')}) s
    JOIN items it ON it.item_id = s.item_id
   GROUP BY 1, 2`;

/**
 * Merges per (answer, item) what `src` (rec_id, item_id, action, value, ts) says, for items the
 * answer served. The predicted score is the one served, except for popular answers, whose
 * scores are counts, not predictions of a rating.
 */
const mergeOutcomes = (src: string) => `
  WITH fb AS (${src}),
  per_item AS (
    SELECT rec_id, item_id,
           min(ts) FILTER (WHERE action = 'impression') AS impression_at,
           min(ts) FILTER (WHERE action = 'click') AS clicked_at,
           max(ts) FILTER (WHERE action = 'purchase') AS purchased_at,
           (array_agg(value ORDER BY ts DESC) FILTER (WHERE action = 'rating' AND value IS NOT NULL))[1] AS rating,
           max(ts) FILTER (WHERE action = 'rating' AND value IS NOT NULL) AS rated_at
      FROM fb GROUP BY rec_id, item_id
  )
  INSERT INTO analytics_outcomes AS o (rec_id, item_id, hour, model_version, source, position, predicted,
                                       impression_at, clicked_at, purchased_at, rating, rated_at)
  SELECT p.rec_id, p.item_id, ${HOUR}, ${VERSION}, l.source, k.position,
         CASE WHEN l.source <> 'popular' THEN l.scores[k.position] END,
         p.impression_at, p.clicked_at, p.purchased_at, p.rating, p.rated_at
    FROM per_item p
    JOIN recommendation_logs l ON l.rec_id = p.rec_id
    CROSS JOIN LATERAL (SELECT array_position(l.item_ids, p.item_id) AS position) k
   WHERE k.position IS NOT NULL
  ON CONFLICT (rec_id, item_id) DO UPDATE SET
    impression_at = LEAST(o.impression_at, excluded.impression_at),
    clicked_at = LEAST(o.clicked_at, excluded.clicked_at),
    purchased_at = GREATEST(o.purchased_at, excluded.purchased_at),
    rating = CASE WHEN excluded.rated_at IS NOT NULL AND (o.rated_at IS NULL OR excluded.rated_at >= o.rated_at)
                  THEN excluded.rating ELSE o.rating END,
    rated_at = GREATEST(o.rated_at, excluded.rated_at)
  RETURNING hour`;

// Feedback written since the last pass, and all feedback of answers logged since then.
const FEEDBACK_OUTCOMES = mergeOutcomes(`
    SELECT f.rec_id, f.item_id, f.action, f.value, f.ts
      FROM recommendation_feedback f WHERE ${isNew('f')} AND f.rec_id IS NOT NULL
    UNION ALL
    SELECT f.rec_id, f.item_id, f.action, f.value, f.ts
      FROM recommendation_logs l2 JOIN recommendation_feedback f ON f.rec_id = l2.rec_id
     WHERE ${isNew('l2')}`);

// Rating events written since the last pass, each against the latest answer before it that served the item.
const RATING_EVENT_OUTCOMES = mergeOutcomes(`
    SELECT m.rec_id, e.item_id, 'rating'::text AS action, e.value, e.ts
      FROM rt_user_interactions e
      CROSS JOIN LATERAL (
        SELECT l3.rec_id FROM recommendation_logs l3
         WHERE l3.user_id = e.user_id AND l3.served_at <= e.ts AND l3.served_at > e.ts - interval '24 hours'
           AND e.item_id = ANY (l3.item_ids)
         ORDER BY l3.served_at DESC LIMIT 1) m
     WHERE e.type = 'rating' AND e.value IS NOT NULL AND ${isNew('e')}`);

const RECOUNT_HOURS = `
  INSERT INTO analytics_outcomes_hourly (hour, model_version, source, position, clicks, conversions,
                                         viewed, viewed_clicks, ratings, sq_error, abs_error)
  SELECT hour, model_version, source, position,
         count(clicked_at),
         count(*) FILTER (WHERE purchased_at >= clicked_at),
         count(impression_at),
         count(*) FILTER (WHERE impression_at IS NOT NULL AND clicked_at IS NOT NULL),
         count(*) FILTER (WHERE rating IS NOT NULL AND predicted IS NOT NULL),
         coalesce(sum((predicted - rating)::float8 ^ 2), 0),
         coalesce(sum(abs(predicted - rating)::float8), 0)
    FROM analytics_outcomes WHERE hour = ANY ($1::timestamptz[])
   GROUP BY 1, 2, 3, 4`;

/**
 * Runs one pass in one transaction. Concurrent passes (several serve processes) queue on the
 * watermark row; callers that would rather skip take a lock first (job.ts).
 */
export async function rollUp(db: RelationalStore): Promise<RollupResult> {
  const started = performance.now();
  await db.query('INSERT INTO analytics_watermarks (name) VALUES ($1) ON CONFLICT DO NOTHING', [WATERMARK]);
  return db.transaction(async (tx) => {
    const last = await tx.query<{ xmax: string; running: string[] }>(
      'SELECT tx::text AS xmax, running::text[] AS running FROM analytics_watermarks WHERE name = $1 FOR UPDATE',
      [WATERMARK],
    );
    // After the row lock, so a pass that waited on another starts where that one ended.
    const now = await tx.query<{ xmax: string; running: string[] }>(
      `SELECT pg_snapshot_xmax(s)::text AS xmax, ARRAY(SELECT pg_snapshot_xip(s)::text) AS running
         FROM (SELECT pg_current_snapshot() AS s) q`,
    );
    const window = [last.rows[0].xmax, last.rows[0].running, now.rows[0].xmax, now.rows[0].running];
    await tx.query(STAGE_LOGS, [...window, LATENCY_BOUNDS_US]);
    const staged = await tx.query<{ n: number | null }>(
      'SELECT sum(answers)::float8 AS n FROM analytics_new_logs',
    );
    const answers = staged.rows[0].n ?? 0;
    if (answers > 0) {
      await tx.query(ADD_ANSWERS);
      await tx.query(ADD_POSITIONS);
      await tx.query(ADD_LATENCY, [LATENCY_BOUNDS_US]);
      await addItems(tx, (await tx.query<ItemsRow>(NEW_ITEMS, window)).rows);
    }
    await tx.query('DROP TABLE analytics_new_logs');
    const changed = [
      ...(await tx.query<{ hour: Date }>(FEEDBACK_OUTCOMES, window)).rows,
      ...(await tx.query<{ hour: Date }>(RATING_EVENT_OUTCOMES, window)).rows,
    ];
    const hours = distinctHours(changed.map((r) => r.hour));
    if (hours.length > 0) await recount(tx, hours);
    await tx.query(
      'UPDATE analytics_watermarks SET tx = $2::xid8, running = $3::xid8[], updated_at = now() WHERE name = $1',
      [WATERMARK, now.rows[0].xmax, now.rows[0].running],
    );
    return { answers, outcomes: changed.length, hours: hours.length, ms: performance.now() - started };
  });
}

interface ItemsRow {
  hour: Date;
  model_version: string;
  idx: number[];
}

/**
 * ORs the new items into the hourly and daily bitmaps of their version and of '*' (all
 * versions). Passes are serialised by the watermark row, so read-modify-write is safe here.
 */
async function addItems(tx: Queryable, rows: ItemsRow[]): Promise<void> {
  const hourly = new Map<string, Uint8Array>();
  const daily = new Map<string, Uint8Array>();
  const add = (m: Map<string, Uint8Array>, at: Date, version: string, bits: Uint8Array) => {
    const key = `${at.toISOString()}\t${version}`;
    m.set(key, orInto(m.get(key), bits));
  };
  for (const r of rows) {
    const bits = bitsOf(r.idx);
    const day = new Date(Math.floor(r.hour.getTime() / 86_400_000) * 86_400_000);
    for (const version of [r.model_version, ALL_VERSIONS]) {
      add(hourly, r.hour, version, bits);
      add(daily, day, version, bits);
    }
  }
  await mergeBitmaps(tx, 'analytics_items_hourly', 'hour', hourly);
  await mergeBitmaps(tx, 'analytics_items_daily', 'day', daily);
}

async function mergeBitmaps(
  tx: Queryable,
  table: string,
  column: string,
  added: Map<string, Uint8Array>,
): Promise<void> {
  for (const [key, bits] of added) {
    const [at, version] = key.split('\t');
    const { rows } = await tx.query<{ items: Buffer }>(
      `SELECT items FROM ${table} WHERE ${column} = $1 AND model_version = $2`,
      [at, version],
    );
    const merged = rows.length > 0 ? orInto(new Uint8Array(rows[0].items), bits) : bits;
    await tx.query(
      `INSERT INTO ${table} (${column}, model_version, items) VALUES ($1, $2, $3)
       ON CONFLICT (${column}, model_version) DO UPDATE SET items = excluded.items`,
      [at, version, Buffer.from(merged.buffer, merged.byteOffset, merged.length)],
    );
  }
}

async function recount(tx: Queryable, hours: Date[]): Promise<void> {
  const iso = hours.map((h) => h.toISOString());
  await tx.query('DELETE FROM analytics_outcomes_hourly WHERE hour = ANY ($1::timestamptz[])', [iso]);
  await tx.query(RECOUNT_HOURS, [iso]);
}

function distinctHours(hours: Date[]): Date[] {
  const seen = new Map<number, Date>();
  for (const h of hours) seen.set(h.getTime(), h);
  return [...seen.values()];
}
