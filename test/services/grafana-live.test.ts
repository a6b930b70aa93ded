// The Grafana dashboard against live recsys processes: `recsys serve` and `recsys stream` run as
// processes on the real servers (a world of their own: database, bucket, topic, group), a real
// Prometheus scrapes them every second with the job and labels of deploy/prometheus/prometheus.yml,
// traffic goes through the HTTP API (answers, feedback, an event that the stream folds in and the
// server pushes over WebSocket), and the serve process's analytics rollup runs. Then every PromQL
// expression of the dashboard must be accepted and return series with numbers, the gauges must
// agree with the admin JSON API, every SQL query must find rows in the rollups the job wrote (and
// agree with the API too), and promtool must pass both processes' /metrics and the configs.
// (test/services/grafana-sql.test.ts checks the SQL's exact values on seeded rollups.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { launch, type Running } from '../cli/launch.js';
import { loadDashboard, promQueries, sqlQueries } from '../grafana/dashboard.js';
import { expandMacros } from '../grafana/sql-macros.js';
import { repoRoot } from '../helpers.js';
import { API_KEY, call, keyed } from '../serving/fixture.js';
import { connect } from '../serving/ws-client.js';
import { waitFor } from '../stores/support/wait.js';
import { promtool, type RunningPrometheus, type ScrapeJob, startPrometheus } from './prometheus.js';
import { openWorld, type StreamProcess, type World } from './stream-harness.js';

const DEPLOYED_CONFIG = 'deploy/prometheus/prometheus.yml';
// Grafana's $__rate_interval, fixed for the test: longer than the whole test, so every rate()
// sees all of the traffic.
const RATE_INTERVAL = '10m';
const REC_ROUTE = 'route="GET /v1/recommendations/:userId"';
const USERS = Array.from({ length: 8 }, (_, i) => `u${i + 1}`);

/** The deployed config's recsys job, its targets replaced by the test's processes (by `role` label). */
function recsysJob(addresses: Record<string, string>): ScrapeJob {
  const config = parse(readFileSync(path.join(repoRoot, DEPLOYED_CONFIG), 'utf8')) as {
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ labels?: Record<string, string> }> }>;
  };
  const job = config.scrape_configs.find((j) => j.job_name === 'recsys');
  assert.ok(job, `${DEPLOYED_CONFIG} has no job "recsys"`);
  return {
    job: job.job_name,
    targets: job.static_configs.map((s) => {
      const role = s.labels?.role ?? '';
      const address = addresses[role];
      assert.ok(address, `${DEPLOYED_CONFIG}: no test process for role "${role}"`);
      return { address, labels: s.labels };
    }),
  };
}

const hostPort = (url: string) => new URL(url).host;

describe('the Grafana dashboard on live recsys processes and a real Prometheus', () => {
  let world: World;
  let stream: StreamProcess;
  let serve: Running;
  let prom: RunningPrometheus;
  /** Clicks sent as feedback on served items. */
  let clicks = 0;

  before(async () => {
    world = await openWorld('prometheus');
    // An offline RMSE for the active model, as an explicit batch run records it.
    await world.stores.db.query(
      `UPDATE models SET metrics = metrics || '{"rmse": 0.75, "mae": 0.5}' WHERE version = $1`,
      [world.version],
    );
    stream = await world.startStream('stream');
    serve = await launch(['serve', '--port', '0'], {
      ...world.env,
      RECSYS_API_KEYS: API_KEY,
      RECSYS_ANALYTICS_INTERVAL_MS: '500',
      RECSYS_LOG_LEVEL: 'warn',
    });
    prom = await startPrometheus([
      recsysJob({ serve: hostPort(serve.url), stream: hostPort(stream.opsUrl) }),
    ]);
    // Prometheus hands new targets to its scrapers every 5 s; the traffic starts once both
    // processes have been scraped twice, so every counter has a sample from before it.
    await waitFor(
      async () => {
        const t = await prom.targets();
        return t.length === 2 && t.every((x) => x.health === 'up');
      },
      'Prometheus scraping both processes',
      30_000,
    );
    await waitFor(
      async () => (await prom.query('count_over_time(up{job="recsys"}[1m]) >= 2')).length === 2,
      'two scrapes of each process',
      30_000,
    );
    clicks = await traffic();
  });

  after(async () => {
    await prom?.stop();
    await serve?.stop();
    await world?.close();
  });

  /**
   * Answers for known and unknown users (from the model, then from L0, and popular items) with
   * feedback on them (impressions, clicks, purchases, ratings), twice: the latency histogram's
   * series of a source appears with its first answer, so only the second round is an increase
   * Prometheus can see. Then an event that the stream folds in and the server pushes to a
   * WebSocket subscriber. Returns the clicks sent.
   */
  async function traffic(): Promise<number> {
    const client = await connect(`${serve.url.replace('http', 'ws')}/v1/stream`);
    const users = [...USERS, ...USERS, 'nobody-knows'];
    let sentClicks = 0;
    const round = async () => {
      for (const [u, user] of users.entries()) {
        const r = await call(serve.url, 'GET', `/v1/recommendations/${user}?k=5`);
        assert.equal(r.status, 200, r.text);
        const items = r.body.items as Array<{ item_id: string }>;
        const feedback = async (action: string, position: number, value?: number) => {
          const body = {
            rec_id: r.body.rec_id,
            item_id: items[position - 1]!.item_id,
            action,
            position,
            value,
          };
          const f = await call(serve.url, 'POST', '/v1/feedback', body, keyed);
          assert.equal(f.status, 201, f.text);
        };
        for (let p = 1; p <= items.length; p++) await feedback('impression', p);
        if (u % 2 === 0) {
          await feedback('click', 1);
          sentClicks++;
          if (u % 4 === 0) await feedback('purchase', 1);
        }
        if (u % 3 === 0) await feedback('rating', 2, 4);
      }
    };
    try {
      client.send({ subscribe: USERS[0] });
      assert.deepEqual(await client.next(10_000), { subscribed: USERS[0] });
      await round();
      await waitFor(
        async () =>
          (await prom.query(`sum(recsys_http_request_duration_seconds_count{${REC_ROUTE}})`))[0]?.value ===
          users.length,
        'the first round of answers scraped',
        30_000,
      );
      await round();
      const ev = await call(
        serve.url,
        'POST',
        '/v1/events',
        { user_id: USERS[0], item_id: world.model.itemIds[3], type: 'click' },
        keyed,
      );
      assert.equal(ev.status, 202, ev.text);
      const push = (await client.next(60_000)) as { type: string; user_id: string };
      assert.deepEqual([push.type, push.user_id], ['recommendations', USERS[0]], JSON.stringify(push));
    } finally {
      client.ws.close();
    }
    return sentClicks;
  }

  it('scrapes the analytics gauges once the rollup has folded the feedback in', async () => {
    await waitFor(
      async () => {
        const [c] = await prom.query('max by (model_version) (recsys_analytics_clicks{model_version="all"})');
        return c?.value === clicks;
      },
      `recsys_analytics_clicks{model_version="all"} = ${clicks} in Prometheus`,
      60_000,
    );
    await waitFor(
      async () =>
        ((await prom.query('sum(recsys_stream_freshness_seconds_count)'))[0]?.value ?? 0) > 0 &&
        ((await prom.query('sum(recsys_push_freshness_seconds_count)'))[0]?.value ?? 0) > 0,
      'both freshness histograms observed in Prometheus',
      30_000,
    );
  });

  it('accepts every PromQL expression of the dashboard, each returning series with numbers', async () => {
    const queries = promQueries(loadDashboard());
    assert.ok(queries.length >= 15, `${queries.length} PromQL queries`);
    const problems: string[] = [];
    for (const { name, query } of queries) {
      const expr = query.expr.replaceAll('$__rate_interval', RATE_INTERVAL);
      const series = await prom.query(expr).catch((err: Error) => err);
      if (series instanceof Error) problems.push(`${name}: ${series.message}`);
      else if (series.length === 0) problems.push(`${name}: no series for ${expr}`);
      else if (series.some((s) => !Number.isFinite(s.value)))
        problems.push(`${name}: ${expr} = ${JSON.stringify(series)}`);
    }
    assert.deepEqual(problems, [], prom.tail());
  });

  it('shows in Prometheus the numbers the admin JSON API reports for the same window', async () => {
    const one = async (expr: string) => {
      const series = await prom.query(expr);
      return series.length === 1 ? series[0]!.value : Number.NaN;
    };
    /** Where Prometheus and the API disagree (a scrape lags a rollup pass by up to a second). */
    const gaps = async (): Promise<string[]> => {
      const api = await call(serve.url, 'GET', '/v1/admin/metrics', undefined, keyed);
      assert.equal(api.status, 200, api.text);
      const pairs: Array<[string, number, number]> = [
        ['CTR', await one('max by (model_version) (recsys_ctr{model_version="all"})'), api.body.ctr.value],
        [
          'conversion rate',
          await one('max by (model_version) (recsys_conversion_rate{model_version="all"})'),
          api.body.conversions.value,
        ],
        [
          'coverage',
          await one('max by (model_version) (recsys_catalog_coverage{model_version="all"})'),
          api.body.coverage.value,
        ],
        [
          'online RMSE',
          await one('max by (model_version) (recsys_rmse{kind="online", model_version="all"})'),
          api.body.rmse.online.value,
        ],
        [
          'offline RMSE',
          await one(`max by (model_version) (recsys_rmse{kind="offline", model_version="${world.version}"})`),
          0.75,
        ],
        [
          'clicks',
          await one('max by (model_version) (recsys_analytics_clicks{model_version="all"})'),
          clicks,
        ],
      ];
      const bySource = await prom.query('max by (source) (recsys_analytics_answers)');
      for (const s of api.body.answers.by_source as Array<{ source: string; answers: number }>)
        pairs.push([
          `answers from ${s.source}`,
          bySource.find((b) => b.metric.source === s.source)?.value ?? Number.NaN,
          s.answers,
        ]);
      pairs.push(['sources', bySource.length, api.body.answers.by_source.length]);
      return pairs.filter(([, p, a]) => !(Math.abs(p - a) < 1e-9)).map(([w, p, a]) => `${w}: ${p} vs ${a}`);
    };
    // The last comparison is the verdict: asking again after they agreed can meet a rollup pass
    // that has just folded in a late answer (the push's, from the realtime source) before the
    // next scrape (a CI run saw CTR, coverage and sources move between two such calls).
    let last: string[] = [];
    await waitFor(
      async () => {
        last = await gaps();
        return last.length === 0;
      },
      'Prometheus agreeing with the API',
      15_000,
    ).catch(() => undefined);
    assert.deepEqual(last, []);
    assert.deepEqual(
      (await prom.query('sum by (role) (up{job="recsys"})')).map((s) => [s.metric.role, s.value]).sort(),
      [
        ['serve', 1],
        ['stream', 1],
      ],
    );
  });

  it('finds rows for every SQL query in the rollups the serve process wrote, as the API reports them', async () => {
    const now = Date.now();
    const range = { from: new Date(now - 24 * 3600_000), to: new Date(now + 3600_000) };
    const api = await call(serve.url, 'GET', '/v1/admin/metrics', undefined, keyed);
    assert.equal(api.status, 200, api.text);
    const results = new Map<string, Array<Record<string, unknown>>>();
    for (const { name, query } of sqlQueries(loadDashboard())) {
      const { rows } = await world.stores.db.query<Record<string, unknown>>(
        expandMacros(query.rawSql, range),
      );
      assert.ok(rows.length > 0, `${name}: no rows`);
      results.set(name, rows);
    }
    const byKey = (rows: Array<Record<string, unknown>>, key: string, value: string) =>
      Object.fromEntries(rows.map((r) => [String(r[key]), r[value]]));
    assert.deepEqual(
      byKey(results.get('CTR by position / A')!, 'position', 'CTR'),
      byKey(api.body.ctr.by_position, 'position', 'value'),
    );
    assert.deepEqual(
      byKey(results.get('CTR by source / A')!, 'source', 'CTR'),
      byKey(api.body.ctr.by_source, 'source', 'value'),
    );
    assert.deepEqual(byKey(results.get('Offline RMSE per model / A')!, 'model version', 'RMSE'), {
      [world.version]: 0.75,
    });
  });

  it('passes promtool check metrics on the /metrics of both processes', async () => {
    for (const url of [`${serve.url}/metrics`, `${stream.opsUrl}/metrics`]) {
      const text = await (await fetch(url)).text();
      assert.match(text, /_bucket\{/, `${url}: histograms with observations`);
      const { code, output } = await promtool(['check', 'metrics'], text);
      assert.equal(code, 0, `promtool check metrics on ${url}:\n${output}`);
    }
  });

  it('passes promtool check config on the deployed Prometheus config and the test’s', async () => {
    for (const file of [path.join(repoRoot, DEPLOYED_CONFIG), prom.configFile]) {
      const { code, output } = await promtool(['check', 'config', file]);
      assert.equal(code, 0, `promtool check config ${file}:\n${output}`);
    }
  });
});
