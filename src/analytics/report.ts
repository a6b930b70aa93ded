/**
 * The analytics report over a window, read from the rollup tables only (never the raw logs),
 * so it costs the same at 10 M log rows as at 10 K: GET /v1/admin/metrics, /dashboard and the
 * Prometheus gauges all show this. Definitions (README "Analytics"):
 *   CTR          served items clicked / items served (each served item counts once, however
 *                often it was clicked); "viewed" CTR: the same over items the client reported
 *                with `impression` feedback
 *   conversions  clicked served items purchased at or after the first click, / clicks
 *   coverage     distinct items served in the window / active items
 *   RMSE online  served score vs the user's later rating of the item (rating feedback or event);
 *                offline: each model's held-out metrics (models.metrics)
 * Ratios with nothing to divide by are null.
 */
import type { Queryable } from '../stores/relational/port.js';
import { orInto, popcount } from './item-bits.js';
import { ALL_VERSIONS } from './rollup.js';
import type { Window } from './window.js';

export interface Ratio {
  value: number | null;
}
export interface CtrPart extends Ratio {
  clicks: number;
  impressions: number;
}
export interface SeriesPoint {
  bucket: string;
  /** null: every version together. */
  model_version: string | null;
  answers: number;
  impressions: number;
  clicks: number;
  ctr: number | null;
  conversions: number;
  items: number;
  coverage: number | null;
  ratings: number;
  rmse: number | null;
}
export interface OfflineModel {
  model_version: string;
  status: string;
  created_at: string;
  rmse: number | null;
  mae: number | null;
  metrics: Record<string, number>;
}
export interface AnalyticsReport {
  from: string;
  to: string;
  granularity: 'hour' | 'day';
  /** When the last rollup pass ran (null before the first). */
  rolled_up_at: string | null;
  ctr: CtrPart & {
    viewed: CtrPart;
    by_model_version: Array<CtrPart & { model_version: string }>;
    by_source: Array<CtrPart & { source: string }>;
    by_position: Array<CtrPart & { position: number }>;
  };
  conversions: Ratio & {
    conversions: number;
    clicks: number;
    by_model_version: Array<Ratio & { model_version: string; conversions: number; clicks: number }>;
  };
  coverage: Ratio & {
    items: number;
    active_items: number;
    by_model_version: Array<Ratio & { model_version: string; items: number }>;
  };
  rmse: {
    online: Ratio & {
      mae: number | null;
      ratings: number;
      by_model_version: Array<Ratio & { model_version: string; mae: number | null; ratings: number }>;
    };
    offline: OfflineModel[];
  };
  answers: { total: number; by_source: Array<{ source: string; answers: number }> };
  /** Upper bounds of the latency buckets (ms) where the quantile falls; null without answers. */
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  series: SeriesPoint[];
}

const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);
const ctrPart = (clicks: number, impressions: number): CtrPart => ({
  value: ratio(clicks, impressions),
  clicks,
  impressions,
});

/** What analytics_outcomes_hourly sums, per row and in total. */
interface OutcomeSums {
  clicks: number;
  conversions: number;
  viewed: number;
  viewed_clicks: number;
  ratings: number;
  sq_error: number;
  abs_error: number;
}
interface Totals extends OutcomeSums {
  answers: number;
  impressions: number;
  items: number;
}
const zero = (): Totals => ({
  answers: 0,
  impressions: 0,
  clicks: 0,
  conversions: 0,
  viewed: 0,
  viewed_clicks: 0,
  ratings: 0,
  sq_error: 0,
  abs_error: 0,
  items: 0,
});

// Every query reads [$1, $2) and buckets by $3 ('hour' | 'day'); grouping sets give the totals,
// per version, per bucket and per bucket × version in one scan.
const SERVED = `
  SELECT date_trunc($3, hour, 'UTC') AS bucket, model_version, source,
         sum(answers)::float8 AS answers, sum(impressions)::float8 AS impressions
    FROM analytics_answers_hourly WHERE hour >= $1 AND hour < $2
   GROUP BY 1, 2, 3`;
const OUTCOMES = `
  SELECT date_trunc($3, hour, 'UTC') AS bucket, model_version, source, position,
         sum(clicks)::float8 AS clicks, sum(conversions)::float8 AS conversions,
         sum(viewed)::float8 AS viewed, sum(viewed_clicks)::float8 AS viewed_clicks,
         sum(ratings)::float8 AS ratings, sum(sq_error) AS sq_error, sum(abs_error) AS abs_error
    FROM analytics_outcomes_hourly WHERE hour >= $1 AND hour < $2
   GROUP BY 1, 2, 3, 4`;
const POSITIONS = `
  SELECT position, sum(impressions)::float8 AS impressions
    FROM analytics_positions_hourly WHERE hour >= $1 AND hour < $2
   GROUP BY 1 ORDER BY 1`;
const LATENCY = `
  SELECT le_us, sum(answers)::float8 AS answers
    FROM analytics_latency_hourly WHERE hour >= $1 AND hour < $2
   GROUP BY 1 ORDER BY 1`;

export async function analyticsReport(db: Queryable, w: Window): Promise<AnalyticsReport> {
  const args = [w.from.toISOString(), w.to.toISOString(), w.granularity];
  const [served, outcomes, positions, coverage, latency, active, models, mark] = await Promise.all([
    db.query<ServedRow>(SERVED, args),
    db.query<OutcomeRow>(OUTCOMES, args),
    db.query<{ position: number; impressions: number }>(POSITIONS, args.slice(0, 2)),
    coverageBitmaps(db, w),
    db.query<{ le_us: number; answers: number }>(LATENCY, args.slice(0, 2)),
    db.query<{ n: number }>('SELECT count(*)::int AS n FROM items WHERE active'),
    db.query<ModelRow>('SELECT version, status, created_at, metrics FROM models ORDER BY created_at DESC'),
    db.query<{ at: Date }>("SELECT updated_at AS at FROM analytics_watermarks WHERE name = 'rollup'"),
  ]);
  const activeItems = active.rows[0].n;

  // Sums keyed by what they are grouped by; '' key = all.
  const all = zero();
  const byVersion = new Map<string, Totals>();
  const bySource = new Map<string, Totals>();
  // Keyed `${bucket}\t${version}`, the totals' version written as '\u0000'.
  const series = new Map<string, Totals>();
  const byPosition = new Map<number, Totals>();
  const at = <K>(m: Map<K, Totals>, k: K) => {
    let t = m.get(k);
    if (!t) {
      t = zero();
      m.set(k, t);
    }
    return t;
  };
  const seriesKey = (bucket: Date, version: string | null) =>
    `${bucket.toISOString()}\t${version ?? '\u0000'}`;
  // Every total a row adds to: the window's, its version's, its source's, its bucket's (all
  // versions and its own).
  const totalsOf = (r: ServedRow | OutcomeRow) => [
    all,
    at(byVersion, r.model_version),
    at(bySource, r.source),
    at(series, seriesKey(r.bucket, null)),
    at(series, seriesKey(r.bucket, r.model_version)),
  ];
  for (const r of served.rows) {
    for (const t of totalsOf(r)) {
      t.answers += r.answers;
      t.impressions += r.impressions;
    }
  }
  for (const r of outcomes.rows) {
    for (const t of [...totalsOf(r), at(byPosition, r.position)]) {
      t.clicks += r.clicks;
      t.conversions += r.conversions;
      t.viewed += r.viewed;
      t.viewed_clicks += r.viewed_clicks;
      t.ratings += r.ratings;
      t.sq_error += r.sq_error;
      t.abs_error += r.abs_error;
    }
  }
  // Distinct items: the OR of the window's bitmaps, per bucket and version ('*': all versions).
  const union = new Map<string, Uint8Array>();
  const merge = (key: string, bits: Uint8Array) => union.set(key, orInto(union.get(key), bits));
  for (const r of coverage) {
    const bits = new Uint8Array(r.items.buffer, r.items.byteOffset, r.items.length);
    const bucket = truncate(r.at, w.granularity);
    const everyVersion = r.model_version === ALL_VERSIONS;
    merge(everyVersion ? 'total' : `version\t${r.model_version}`, bits);
    merge(seriesKey(bucket, everyVersion ? null : r.model_version), bits);
  }
  for (const [key, bits] of union) {
    const n = popcount(bits);
    if (key === 'total') all.items = n;
    else if (key.startsWith('version\t')) at(byVersion, key.slice(8)).items = n;
    else at(series, key).items = n;
  }

  const rmse = (t: Totals) => (t.ratings > 0 ? Math.sqrt(t.sq_error / t.ratings) : null);
  const mae = (t: Totals) => ratio(t.abs_error, t.ratings);
  const versions = [...byVersion.entries()].sort(([a], [b]) => a.localeCompare(b));
  return {
    from: w.from.toISOString(),
    to: w.to.toISOString(),
    granularity: w.granularity,
    rolled_up_at: mark.rows[0]?.at.toISOString() ?? null,
    ctr: {
      ...ctrPart(all.clicks, all.impressions),
      viewed: ctrPart(all.viewed_clicks, all.viewed),
      by_model_version: versions.map(([v, t]) => ({ model_version: v, ...ctrPart(t.clicks, t.impressions) })),
      by_source: [...bySource.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([source, t]) => ({ source, ...ctrPart(t.clicks, t.impressions) })),
      by_position: positions.rows.map((p) => ({
        position: p.position,
        ...ctrPart(byPosition.get(p.position)?.clicks ?? 0, p.impressions),
      })),
    },
    conversions: {
      value: ratio(all.conversions, all.clicks),
      conversions: all.conversions,
      clicks: all.clicks,
      by_model_version: versions.map(([v, t]) => ({
        model_version: v,
        value: ratio(t.conversions, t.clicks),
        conversions: t.conversions,
        clicks: t.clicks,
      })),
    },
    coverage: {
      value: ratio(all.items, activeItems),
      items: all.items,
      active_items: activeItems,
      by_model_version: versions.map(([v, t]) => ({
        model_version: v,
        value: ratio(t.items, activeItems),
        items: t.items,
      })),
    },
    rmse: {
      online: {
        value: rmse(all),
        mae: mae(all),
        ratings: all.ratings,
        by_model_version: versions.map(([v, t]) => ({
          model_version: v,
          value: rmse(t),
          mae: mae(t),
          ratings: t.ratings,
        })),
      },
      offline: models.rows.map((m) => ({
        model_version: m.version,
        status: m.status,
        created_at: m.created_at.toISOString(),
        rmse: typeof m.metrics.rmse === 'number' ? m.metrics.rmse : null,
        mae: typeof m.metrics.mae === 'number' ? m.metrics.mae : null,
        metrics: m.metrics,
      })),
    },
    answers: {
      total: all.answers,
      by_source: [...bySource.entries()]
        .filter(([, t]) => t.answers > 0)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([source, t]) => ({ source, answers: t.answers })),
    },
    latency_ms: latencyQuantiles(latency.rows),
    series: [...series.entries()]
      .map(([key, t]) => {
        const [bucket, version] = key.split('\t');
        return seriesPoint(bucket, version === '\u0000' ? null : version, t, activeItems, rmse(t));
      })
      // Per bucket: the totals first, then each version.
      .sort(
        (a, b) =>
          a.bucket.localeCompare(b.bucket) ||
          Number(a.model_version !== null) - Number(b.model_version !== null) ||
          (a.model_version ?? '').localeCompare(b.model_version ?? ''),
      ),
  };
}

function seriesPoint(
  bucket: string,
  version: string | null,
  t: Totals,
  activeItems: number,
  rmse: number | null,
): SeriesPoint {
  return {
    bucket,
    model_version: version,
    answers: t.answers,
    impressions: t.impressions,
    clicks: t.clicks,
    ctr: ratio(t.clicks, t.impressions),
    conversions: t.conversions,
    items: t.items,
    coverage: ratio(t.items, activeItems),
    ratings: t.ratings,
    rmse,
  };
}

function latencyQuantiles(rows: Array<{ le_us: number; answers: number }>): AnalyticsReport['latency_ms'] {
  const total = rows.reduce((s, r) => s + r.answers, 0);
  const q = (p: number): number | null => {
    if (total === 0) return null;
    let seen = 0;
    for (const r of rows) {
      seen += r.answers;
      if (seen >= p * total) return r.le_us / 1000;
    }
    return rows[rows.length - 1].le_us / 1000;
  };
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99) };
}

interface ServedRow {
  bucket: Date;
  model_version: string;
  source: string;
  answers: number;
  impressions: number;
}
interface OutcomeRow extends Omit<ServedRow, 'answers' | 'impressions'>, OutcomeSums {
  position: number;
}
interface BitmapRow {
  at: Date;
  model_version: string;
  items: Buffer;
}

const DAY_MS = 86_400_000;
const truncate = (t: Date, g: 'hour' | 'day') =>
  new Date(Math.floor(t.getTime() / (g === 'day' ? DAY_MS : 3_600_000)) * (g === 'day' ? DAY_MS : 3_600_000));

/**
 * The item bitmaps covering the window: daily rows for the whole UTC days inside it when the
 * buckets are days, hourly rows for the rest.
 */
async function coverageBitmaps(db: Queryable, w: Window): Promise<BitmapRow[]> {
  const hourly = (from: number, to: number) =>
    from < to
      ? db.query<BitmapRow>(
          'SELECT hour AS at, model_version, items FROM analytics_items_hourly WHERE hour >= $1 AND hour < $2',
          [new Date(from), new Date(to)],
        )
      : Promise.resolve({ rows: [] as BitmapRow[], rowCount: 0 });
  const from = w.from.getTime();
  const to = w.to.getTime();
  const firstDay = Math.ceil(from / DAY_MS) * DAY_MS;
  const lastDay = Math.floor(to / DAY_MS) * DAY_MS;
  if (w.granularity === 'hour' || firstDay >= lastDay) return (await hourly(from, to)).rows;
  const [head, days, tail] = await Promise.all([
    hourly(from, firstDay),
    db.query<BitmapRow>(
      'SELECT day AS at, model_version, items FROM analytics_items_daily WHERE day >= $1 AND day < $2',
      [new Date(firstDay), new Date(lastDay)],
    ),
    hourly(lastDay, to),
  ]);
  return [...head.rows, ...days.rows, ...tail.rows];
}
interface ModelRow {
  version: string;
  status: string;
  created_at: Date;
  metrics: Record<string, number>;
}
