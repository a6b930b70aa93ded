// Every SQL query of the Grafana dashboard, its macros expanded for a real time range as Grafana
// expands them, runs on the real PostgreSQL in a fresh migrated schema holding known rollup rows
// (migrations/0008_analytics.sql): each returns the columns its panel reads (a "time" column first
// and numeric values for time series, sorted by time) and the values the seed makes known.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { silentLogger } from '../../src/logger.js';
import { migrate } from '../../src/stores/index.js';
import { openPostgres } from '../../src/stores/relational/postgres.js';
import { loadDashboard, sqlQueries } from '../grafana/dashboard.js';
import { expandMacros } from '../grafana/sql-macros.js';
import { uid } from '../stores/support/wait.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';

// The dashboard's range: two UTC days. Rows an hour before and at the first instant after it
// must not count (Grafana's BETWEEN includes both ends).
const RANGE = { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-01-02T23:59:59Z') };
const H1 = '2026-01-01T10:00:00.000Z';
const H2 = '2026-01-01T11:00:00.000Z';
const H3 = '2026-01-02T09:00:00.000Z';
const H4 = '2026-01-02T10:00:00.000Z';
const BEFORE = '2025-12-31T23:00:00.000Z';
const AFTER = '2026-01-03T00:00:00.000Z';
const DAY1 = '2026-01-01T00:00:00.000Z';
const DAY2 = '2026-01-02T00:00:00.000Z';

const SEED = `
INSERT INTO items (item_id, idx, active)
  SELECT 'i' || n, n, n <= 8 FROM generate_series(1, 10) n;               -- 8 active items
INSERT INTO models (version, algorithm, metrics, status, created_at) VALUES
  ('v1', 'als-explicit', '{"rmse": 0.9, "mae": 0.7}', 'retired', '2025-12-30T00:00Z'),
  ('v2', 'als-explicit', '{"rmse": 0.8, "mae": 0.6}', 'active', '2026-01-01T12:00Z'),
  ('v3', 'als-implicit', '{"precision_at_10": 0.1}', 'candidate', '2026-01-02T12:00Z');
INSERT INTO analytics_answers_hourly (hour, model_version, source, answers, impressions, latency_us_sum) VALUES
  ('${H1}', 'v1', 'l2', 10, 100, 20000), ('${H1}', 'v1', 'l0', 5, 50, 500), ('${H1}', '', 'popular', 2, 20, 900),
  ('${H2}', 'v1', 'l2', 4, 40, 8000),
  ('${H3}', 'v2', 'batch', 6, 60, 6000), ('${H3}', 'v2', 'l1', 4, 40, 4000),
  ('${H4}', 'v2', 'l1', 1, 10, 1000),
  ('${BEFORE}', 'v1', 'l2', 100, 1000, 1), ('${AFTER}', 'v2', 'batch', 100, 1000, 1);
INSERT INTO analytics_outcomes_hourly
  (hour, model_version, source, position, clicks, conversions, viewed, viewed_clicks, ratings, sq_error, abs_error) VALUES
  ('${H1}', 'v1', 'l2', 1, 5, 1, 20, 4, 2, 0.5, 0.8), ('${H1}', 'v1', 'l0', 2, 3, 0, 10, 1, 0, 0, 0),
  ('${H1}', '', 'popular', 1, 2, 1, 0, 0, 0, 0, 0),
  ('${H2}', 'v1', 'l2', 1, 2, 0, 0, 0, 2, 1.5, 1.2),
  ('${H3}', 'v2', 'batch', 1, 6, 3, 30, 6, 4, 1.0, 1.6), ('${H3}', 'v2', 'l1', 3, 0, 0, 0, 0, 0, 0, 0),
  ('${BEFORE}', 'v1', 'l2', 1, 50, 50, 50, 50, 50, 50, 50), ('${AFTER}', 'v2', 'batch', 2, 50, 50, 50, 50, 50, 50, 50);
INSERT INTO analytics_positions_hourly (hour, model_version, source, position, impressions) VALUES
  ('${H1}', 'v1', 'l2', 1, 40), ('${H1}', 'v1', 'l2', 2, 40), ('${H1}', 'v1', 'l2', 3, 20),
  ('${H3}', 'v2', 'batch', 1, 60), ('${H3}', 'v2', 'batch', 2, 40), ('${H3}', 'v2', 'batch', 3, 40),
  ('${BEFORE}', 'v1', 'l2', 1, 1000), ('${AFTER}', 'v2', 'batch', 4, 1000);
-- Item bitmaps (bit i = the item with idx i, least significant bit first): day 1 served
-- i1-i4 under v1 and i9 without a model, day 2 i1 and i5 under v2; '*' is every version.
INSERT INTO analytics_items_daily (day, model_version, items) VALUES
  ('${DAY1}', 'v1', '\\x1e'), ('${DAY1}', '', '\\x0002'), ('${DAY1}', '*', '\\x1e02'),
  ('${DAY2}', 'v2', '\\x22'), ('${DAY2}', '*', '\\x22'),
  ('2025-12-31T00:00:00.000Z', 'v1', '\\xc0'), ('2025-12-31T00:00:00.000Z', '*', '\\xc0'),
  ('${AFTER}', 'v2', '\\x0001'), ('${AFTER}', '*', '\\x0001');
INSERT INTO analytics_latency_hourly (hour, source, le_us, answers) VALUES
  ('${H1}', 'l0', 100, 5), ('${H1}', 'l2', 1000, 5), ('${H1}', 'l2', 2000, 4), ('${H1}', 'l2', 5000, 1),
  ('${H2}', 'l2', 2000, 4),
  ('${BEFORE}', 'l2', 1000, 100), ('${AFTER}', 'l2', 100, 100);
`;

type Cell = string | number | null;

/** What each panel's query must return on the seed: its columns, and its rows where the seed fixes them. */
const EXPECTED: Record<string, { columns: string[]; rows: Cell[][] }> = {
  'CTR per hour / A': {
    columns: ['time', 'CTR', 'viewed CTR'],
    rows: [
      [H1, 10 / 170, 5 / 30],
      [H2, 2 / 40, null],
      [H3, 6 / 100, 6 / 30],
      [H4, 0, null],
    ],
  },
  'CTR per day by model version / A': {
    columns: ['time', 'metric', 'CTR'],
    rows: [
      [DAY1, 'none', 2 / 20],
      [DAY1, 'v1', 10 / 190],
      [DAY2, 'v2', 6 / 110],
    ],
  },
  'CTR by position / A': {
    columns: ['position', 'CTR'],
    rows: [
      ['1', 15 / 100],
      ['2', 3 / 80],
      ['3', 0],
    ],
  },
  'CTR by source / A': {
    columns: ['source', 'CTR'],
    rows: [
      ['batch', 6 / 60],
      ['l0', 3 / 50],
      ['l1', 0],
      ['l2', 7 / 140],
      ['popular', 2 / 20],
    ],
  },
  'Conversions per hour / A': {
    columns: ['time', 'clicks', 'conversions', 'conversion rate'],
    rows: [
      [H1, 10, 2, 0.2],
      [H2, 2, 0, 0],
      [H3, 6, 3, 0.5],
    ],
  },
  'Catalog coverage per day / A': {
    columns: ['time', 'metric', 'coverage'],
    rows: [
      [DAY1, 'all', 5 / 8],
      [DAY1, 'none', 1 / 8],
      [DAY1, 'v1', 4 / 8],
      [DAY2, 'all', 2 / 8],
      [DAY2, 'v2', 2 / 8],
    ],
  },
  'Online RMSE per day by model version / A': {
    columns: ['time', 'metric', 'RMSE'],
    rows: [
      [DAY1, 'v1', Math.sqrt((0.5 + 1.5) / 4)],
      [DAY2, 'v2', Math.sqrt(1.0 / 4)],
    ],
  },
  'Offline RMSE per model / A': {
    columns: ['model version', 'status', 'created', 'RMSE', 'MAE'],
    rows: [
      ['v1', 'retired', '2025-12-30T00:00:00.000Z', 0.9, 0.7],
      ['v2', 'active', '2026-01-01T12:00:00.000Z', 0.8, 0.6],
    ],
  },
  'Answers per hour by source / A': {
    columns: ['time', 'metric', 'answers'],
    rows: [
      [H1, 'l0', 5],
      [H1, 'l2', 10],
      [H1, 'popular', 2],
      [H2, 'l2', 4],
      [H3, 'batch', 6],
      [H3, 'l1', 4],
      [H4, 'l1', 1],
    ],
  },
  'Answer latency per hour / A': {
    columns: ['time', 'p50', 'p95', 'p99'],
    rows: [
      [H1, 1, 5, 5],
      [H2, 2, 2, 2],
    ],
  },
};

// PostgreSQL type ids: what Grafana reads as a time, as a number, as a label.
const TIMESTAMPTZ = 1184;
const NUMERIC_TYPES = new Set([20, 21, 23, 700, 701, 1700]); // int8, int2, int4, float4, float8, numeric
const TEXT = 25;

/** A cell as the test compares it: times as ISO strings, numbers as numbers. */
function cell(value: unknown, typeId: number, isTime: boolean): Cell {
  if (value === null) return null;
  if (value instanceof Date) return value.toISOString();
  if (isTime) return new Date(Number(value) * 1000).toISOString(); // epoch seconds ($__timeGroupAlias)
  if (NUMERIC_TYPES.has(typeId)) return Number(value);
  return value as string;
}

function assertRows(name: string, got: Cell[][], want: Cell[][]): void {
  assert.equal(got.length, want.length, `${name}: ${JSON.stringify(got)}`);
  for (const [i, row] of want.entries())
    for (const [j, w] of row.entries()) {
      const g = got[i]![j]!;
      const same = typeof w === 'number' && typeof g === 'number' ? Math.abs(g - w) < 1e-9 : g === w;
      assert.ok(same, `${name}: row ${i} column ${j} is ${g}, expected ${w}; rows ${JSON.stringify(got)}`);
    }
}

describe('the Grafana dashboard’s SQL on the real PostgreSQL', () => {
  const schema = uid('grafana_').toLowerCase();
  let admin: pg.Client;
  let client: pg.Client;

  before(async () => {
    admin = new pg.Client({
      connectionString: servers.databaseUrl,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const db = await openPostgres({
      url: servers.databaseUrl,
      schema,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    });
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    client = new pg.Client({
      connectionString: servers.databaseUrl,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      options: `-c search_path=${schema}`,
    });
    await client.connect();
    await client.query(SEED);
  });

  after(async () => {
    await client?.end();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
  });

  const queries = sqlQueries(loadDashboard());

  it('has an expectation for every SQL query and a query for every expectation', () => {
    assert.deepEqual(queries.map((q) => q.name).sort(), Object.keys(EXPECTED).sort());
  });

  for (const { name, query } of queries) {
    it(`${name}: runs and returns the panel's columns and the seeded values`, async () => {
      const sql = expandMacros(query.rawSql, RANGE);
      const res = await client.query({ text: sql, rowMode: 'array' });
      const want = EXPECTED[name];
      assert.ok(want, `no expectation for ${name}`);
      assert.deepEqual(
        res.fields.map((f) => f.name),
        want.columns,
        name,
      );
      const timeSeries = query.format === 'time_series';
      if (timeSeries) {
        const [time, ...values] = res.fields;
        assert.ok(
          time!.dataTypeID === TIMESTAMPTZ || NUMERIC_TYPES.has(time!.dataTypeID),
          `${name}: time column of type ${time!.dataTypeID}`,
        );
        for (const f of values) {
          const ok = f.name === 'metric' ? f.dataTypeID === TEXT : NUMERIC_TYPES.has(f.dataTypeID);
          assert.ok(ok, `${name}: column ${f.name} of type ${f.dataTypeID}`);
        }
      }
      const rows = (res.rows as unknown[][]).map((r) =>
        r.map((v, j) => cell(v, res.fields[j]!.dataTypeID, timeSeries && j === 0)),
      );
      if (timeSeries) {
        const times = rows.map((r) => r[0] as string);
        assert.deepEqual(times, [...times].sort(), `${name}: not sorted by time`);
      }
      assertRows(name, rows, want.rows);
    });
  }
});
