// /dashboard in a real browser: headless Chromium (the Debian package `chromium`, installed by
// scripts/services.sh, driven by playwright-core) against a real server on embedded stores
// serving two model versions. Answers and feedback with known outcomes go in through the HTTP
// API (the first model's, moved two hours back before any rollup pass, so that the series has
// two buckets and the last hour differs from the last day); once the rollup has them, the page
// must show the JSON report's numbers (GET /v1/admin/metrics) for each window, draw its
// charts, and load nothing from anywhere but the server. A screenshot is kept in
// test-artifacts/dashboard.png. Never skipped: without Chromium it fails and says how to
// install it.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { AnalyticsReport } from '../../src/analytics/index.js';
import { publishModel } from '../../src/model/registry.js';
import * as format from '../../src/serving/dashboard/client/format.js';
import { call, type Fixture, keyed, N_ITEMS, startFixture, trainModel } from '../serving/fixture.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
const SCREENSHOT = path.join(ARTIFACTS, 'dashboard.png');
const V2 = 'dashboard-test-v2';
/** How far back the first model's answers and their feedback are moved. */
const EARLIER = '2 hours';
const HOUR = 3_600_000;

interface Served {
  recId: string;
  version: string;
  source: string;
  items: Array<{ item_id: string; score: number }>;
}

/** What the seeded traffic must come to, counted here from what the server answered. */
class Expected {
  readonly answers: Served[] = [];
  clicks = 0;
  conversions = 0;
  viewed = 0;
  viewedClicks = 0;
  readonly errors: number[] = [];
  /** Answers served in the last hour (the rest are two hours old). */
  lastHour = 0;
  readonly byVersion = new Map<string, { impressions: number; clicks: number }>();

  impressions(): number {
    return this.answers.reduce((n, a) => n + a.items.length, 0);
  }

  items(): number {
    return new Set(this.answers.flatMap((a) => a.items.map((i) => i.item_id))).size;
  }

  version(v: string) {
    let entry = this.byVersion.get(v);
    if (!entry) {
      entry = { impressions: 0, clicks: 0 };
      this.byVersion.set(v, entry);
    }
    return entry;
  }
}

describe('/dashboard in headless Chromium', () => {
  let f: Fixture;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const expected = new Expected();
  /** Requests the page tried to send anywhere but the server (all refused). */
  const outside: string[] = [];
  const failed: string[] = [];
  const pageErrors: string[] = [];

  const serve = async (user: string): Promise<Served> => {
    const r = await call(f.base, 'GET', `/v1/recommendations/${user}?k=5`);
    assert.equal(r.status, 200, r.text);
    const served: Served = {
      recId: r.body.rec_id,
      version: r.body.model_version ?? '',
      source: r.body.source,
      items: r.body.items,
    };
    expected.answers.push(served);
    expected.version(served.version).impressions += served.items.length;
    return served;
  };
  const feedback = async (a: Served, position: number, action: string, value?: number) => {
    const body = { rec_id: a.recId, item_id: a.items[position - 1].item_id, action, position, value };
    const r = await call(f.base, 'POST', '/v1/feedback', body, keyed);
    assert.equal(r.status, 201, r.text);
  };
  const click = async (a: Served, position: number) => {
    await feedback(a, position, 'click');
    expected.clicks++;
    expected.version(a.version).clicks++;
  };
  const rate = async (a: Served, position: number, rating: number) => {
    await feedback(a, position, 'rating', rating);
    expected.errors.push(a.items[position - 1].score - rating);
  };
  const report = async (query = ''): Promise<AnalyticsReport> => {
    const r = await call(f.base, 'GET', `/v1/admin/metrics${query}`, undefined, keyed);
    assert.equal(r.status, 200, r.text);
    return r.body;
  };

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `no Chromium at ${CHROMIUM}: install it with \`bash scripts/services.sh tools\` (Debian package chromium) or set CHROMIUM_PATH`,
    );
    // No rollup pass until the first model's answers are moved back (below).
    f = await startFixture({ mode: 'explicit', options: { analytics: { intervalMs: HOUR } } });
    // The first model's holdout metrics, as a batch run would have recorded them.
    await f.stores.db.query(`UPDATE models SET metrics = '{"rmse": 0.93, "mae": 0.74}' WHERE version = $1`, [
      f.model.meta.version,
    ]);

    // Model 1: six users, one of them twice (the second answer from the in-process cache).
    const first = [];
    for (let u = 0; u < 6; u++) first.push(await serve(`u${u}`));
    await serve('u0');
    for (const a of first.slice(0, 4)) {
      for (let p = 1; p <= a.items.length; p++) await feedback(a, p, 'impression');
      expected.viewed += a.items.length;
    }
    await click(first[0], 1);
    await feedback(first[0], 1, 'click'); // the same served item clicked again counts once
    await feedback(first[0], 1, 'purchase');
    expected.conversions++;
    await click(first[1], 2);
    await click(first[2], 1);
    expected.viewedClicks += 3;
    await feedback(first[3], 3, 'purchase'); // bought without a click: no conversion
    await rate(first[4], 1, 4);
    await rate(first[5], 2, 2);

    // Model 2, activated through the admin API: four more users.
    const v2 = await trainModel(V2, 'explicit');
    v2.meta.metrics = { rmse: 0.87, mae: 0.69 };
    await publishModel(f.stores, v2, { activate: false });
    const activated = await call(f.base, 'POST', `/v1/admin/models/${V2}/activate`, undefined, keyed);
    assert.ok(activated.status === 200 || activated.status === 202, activated.text);
    const loaded = Date.now() + 30_000;
    while ((await call(f.base, 'GET', '/v1/admin/models', undefined, keyed)).body.serving !== V2) {
      assert.ok(Date.now() < loaded, `${V2} did not load within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const second = [];
    for (let u = 6; u < 10; u++) second.push(await serve(`u${u}`));
    assert.equal(second[0].version, V2);
    await click(second[0], 1);
    await click(second[1], 4);
    await rate(second[2], 1, 5);

    const stranger = await serve('someone-new'); // popular items
    await click(stranger, 2);

    // Every answer logged, the first model's answers and their feedback two hours back, then a
    // rollup pass (the job's interval is an hour: this is the first).
    await f.server.flushLog();
    const earlier = expected.answers.filter((a) => a.version !== V2 && a.source !== 'popular');
    assert.equal(earlier.length, 7);
    const ids = earlier.map((a) => a.recId);
    const moved = await f.stores.db.query(
      `UPDATE recommendation_logs SET served_at = served_at - interval '${EARLIER}' WHERE rec_id = ANY($1)`,
      [ids],
    );
    assert.equal(moved.rowCount, ids.length);
    await f.stores.db.query(
      `UPDATE recommendation_feedback SET ts = ts - interval '${EARLIER}' WHERE rec_id = ANY($1)`,
      [ids],
    );
    expected.lastHour = expected.answers.length - earlier.length;
    const pass = await f.server.analytics.runOnce();
    assert.equal(pass?.answers, expected.answers.length);

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const origin = new URL(f.base).origin;
    // Offline: only the server answers; anything else is refused and noted.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      outside.push(url);
      return route.abort('blockedbyclient');
    });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.url()}: ${r.status()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await f?.close();
  });

  it('the report has the seeded outcomes', async () => {
    const r = await report();
    const impressions = expected.impressions();
    assert.equal(r.ctr.impressions, impressions);
    assert.equal(r.ctr.value, expected.clicks / impressions);
    assert.deepEqual(r.ctr.viewed, {
      value: expected.viewedClicks / expected.viewed,
      clicks: expected.viewedClicks,
      impressions: expected.viewed,
    });
    assert.equal(r.conversions.value, expected.conversions / expected.clicks);
    assert.equal(r.coverage.items, expected.items());
    assert.equal(r.coverage.active_items, N_ITEMS - 1);
    const rmse = Math.sqrt(expected.errors.reduce((s, e) => s + e * e, 0) / expected.errors.length);
    assert.ok(
      Math.abs((r.rmse.online.value ?? Number.NaN) - rmse) < 1e-5,
      `${r.rmse.online.value} vs ${rmse}`,
    );
    for (const [version, want] of expected.byVersion) {
      const got = r.ctr.by_model_version.find((m) => m.model_version === version);
      assert.deepEqual(
        { impressions: got?.impressions, clicks: got?.clicks },
        want,
        `version ${JSON.stringify(version)}`,
      );
    }
    const offline = new Map(r.rmse.offline.map((m) => [m.model_version, m.rmse]));
    assert.equal(offline.get(f.model.meta.version), 0.93);
    assert.equal(offline.get(V2), 0.87);
    // Hourly buckets of totals: the hours the answers were logged in (two hours apart, or three
    // hours when the seeding crossed an hour).
    const buckets = r.series.filter((p) => p.model_version === null).map((p) => Date.parse(p.bucket));
    const { rows } = await f.stores.db.query<{ hour: Date }>(
      `SELECT DISTINCT date_trunc('hour', served_at, 'UTC') AS hour FROM recommendation_logs ORDER BY 1`,
    );
    assert.deepEqual(
      buckets,
      rows.map((row) => new Date(row.hour).getTime()),
    );
    assert.ok(buckets.length >= 2 && buckets.at(-1)! - buckets[0] >= 2 * HOUR, JSON.stringify(buckets));
  });

  it('shows the JSON report of each window, with its charts, loading nothing from elsewhere', async () => {
    await page.goto(`${f.base}/dashboard`);
    await checkWindow(page, '24', report);
    // The serving half renders too.
    await page.waitForFunction(() => document.querySelectorAll('#rates tr').length > 1);
    assert.equal(await page.textContent('#model'), V2);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`dashboard screenshot: ${SCREENSHOT}`);

    await page.selectOption('#window', '1');
    const hour = await checkWindow(page, '1', report);
    assert.equal(hour.answers.total, expected.lastHour);
    await page.selectOption('#window', '720');
    const month = await checkWindow(page, '720', report);
    assert.equal(month.granularity, 'day');

    assert.deepEqual(outside, [], 'requests outside the server');
    assert.deepEqual(failed, [], 'failed requests');
    assert.deepEqual(pageErrors, [], 'errors in the page');
  });
});

/** Waits for the page to show window `hours`, then checks it against the report of the same window. */
async function checkWindow(
  page: Page,
  hours: string,
  report: (query: string) => Promise<AnalyticsReport>,
): Promise<AnalyticsReport> {
  await page.waitForSelector(`#analytics[data-state="ready"][data-window="${hours}"]`, { timeout: 20_000 });
  await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 3);
  const shown = await page.evaluate(readPage);
  const r = await report(`?${new URLSearchParams({ from: shown.from, to: shown.to })}`);
  assert.equal(r.from, shown.from);
  assert.equal(r.to, shown.to);
  const where = `window ${hours} h`;

  // The headline figures: the report's number in data-value, written the page's way.
  const headline: Array<[string, number | null, (v: number | null) => string]> = [
    ['ctr', r.ctr.value, format.percent],
    ['clicks', r.ctr.clicks, format.count],
    ['impressions', r.ctr.impressions, format.count],
    ['viewed-ctr', r.ctr.viewed.value, format.percent],
    ['viewed-clicks', r.ctr.viewed.clicks, format.count],
    ['viewed-impressions', r.ctr.viewed.impressions, format.count],
    ['conversion-rate', r.conversions.value, format.percent],
    ['conversions', r.conversions.conversions, format.count],
    ['conversion-clicks', r.conversions.clicks, format.count],
    ['coverage', r.coverage.value, format.percent],
    ['coverage-items', r.coverage.items, format.count],
    ['active-items', r.coverage.active_items, format.count],
    ['rmse-online', r.rmse.online.value, format.error],
    ['mae-online', r.rmse.online.mae, format.error],
    ['ratings', r.rmse.online.ratings, format.count],
    ['answers', r.answers.total, format.count],
    ['latency-p50', r.latency_ms.p50, format.ms],
    ['latency-p95', r.latency_ms.p95, format.ms],
    ['latency-p99', r.latency_ms.p99, format.ms],
  ];
  assert.deepEqual(
    Object.keys(shown.headline).sort(),
    headline.map(([m]) => m).sort(),
    `${where}: the headline figures`,
  );
  for (const [metric, value, fmt] of headline)
    assert.deepEqual(shown.headline[metric], cell(value, fmt), `${where}: ${metric}`);
  assert.ok(r.ctr.value !== null && r.rmse.online.value !== null && r.latency_ms.p99 !== null, where);

  // One row per model version (in the window or in the registry), one per source, one per position.
  const versions = new Set([
    ...r.ctr.by_model_version.map((m) => m.model_version),
    ...r.rmse.offline.map((m) => m.model_version),
  ]);
  assert.deepEqual(Object.keys(shown.byVersion).sort(), [...versions].sort(), `${where}: versions`);
  for (const m of r.ctr.by_model_version) {
    const row = shown.byVersion[m.model_version];
    assert.deepEqual(row.ctr, cell(m.value, format.percent), `${where}: CTR of ${m.model_version}`);
    assert.deepEqual(row.impressions, cell(m.impressions, format.count));
    assert.deepEqual(row.clicks, cell(m.clicks, format.count));
  }
  for (const m of r.conversions.by_model_version)
    assert.deepEqual(shown.byVersion[m.model_version]['conversion-rate'], cell(m.value, format.percent));
  for (const m of r.coverage.by_model_version)
    assert.deepEqual(shown.byVersion[m.model_version].coverage, cell(m.value, format.percent));
  for (const m of r.rmse.online.by_model_version)
    assert.deepEqual(shown.byVersion[m.model_version]['rmse-online'], cell(m.value, format.error));
  for (const m of r.rmse.offline)
    assert.deepEqual(shown.byVersion[m.model_version]['rmse-offline'], cell(m.rmse, format.error));
  assert.deepEqual(Object.keys(shown.bySource).sort(), r.answers.by_source.map((s) => s.source).sort());
  for (const s of r.answers.by_source)
    assert.deepEqual(
      shown.bySource[s.source].answers,
      cell(s.answers, format.count),
      `${where}: ${s.source}`,
    );
  for (const p of r.ctr.by_position)
    assert.deepEqual(shown.byPosition[String(p.position)].ctr, cell(p.value, format.percent));

  // The charts: three canvases with something drawn, one line per version in the series plus the totals.
  const inSeries = [...new Set(r.series.flatMap((s) => (s.model_version === null ? [] : [s.model_version])))];
  const lines = ['all', ...inSeries.sort().map(format.version)];
  assert.equal(shown.charts.length, 3);
  for (const chart of shown.charts) {
    assert.ok(chart.painted > 0, `${where}: ${chart.title} is blank`);
    assert.deepEqual(chart.series, lines, `${where}: the lines of ${chart.title}`);
  }
  assert.deepEqual(
    shown.charts.map((c) => c.title),
    ['CTR', 'Catalog coverage', 'Online RMSE'],
  );
  return r;
}

interface Cell {
  value: string;
  text: string;
}

const cell = (value: number | null, fmt: (v: number | null) => string): Cell => ({
  value: value === null ? '' : String(value),
  text: fmt(value),
});

/** Runs in the page: every number it shows, and what its charts drew. */
function readPage() {
  const cellOf = (e: Element) => ({
    value: (e as HTMLElement).dataset.value ?? '',
    text: e.textContent ?? '',
  });
  const table = (id: string, key: string) => {
    const out: Record<string, Record<string, { value: string; text: string }>> = {};
    for (const tr of document.querySelectorAll<HTMLElement>(`#${id} tr[data-${key}]`)) {
      const row: Record<string, { value: string; text: string }> = {};
      for (const e of tr.querySelectorAll<HTMLElement>('[data-metric]'))
        row[e.dataset.metric ?? ''] = cellOf(e);
      out[tr.getAttribute(`data-${key}`) ?? ''] = row;
    }
    return out;
  };
  const headline: Record<string, { value: string; text: string }> = {};
  for (const e of document.querySelectorAll<HTMLElement>('.stats [data-metric]'))
    headline[e.dataset.metric ?? ''] = cellOf(e);
  const charts = [...document.querySelectorAll<HTMLElement>('.chart')].map((chart) => {
    const canvas = chart.querySelector('canvas');
    let painted = 0;
    if (canvas) {
      const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? [];
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
    }
    return {
      title: chart.querySelector('.u-title')?.textContent ?? '',
      painted,
      series: [...chart.querySelectorAll('.u-legend .u-series')]
        .slice(1)
        .map((s) => s.querySelector('.u-label')?.textContent ?? ''),
    };
  });
  const section = document.getElementById('analytics') as HTMLElement;
  return {
    from: section.dataset.from ?? '',
    to: section.dataset.to ?? '',
    headline,
    byVersion: table('by-version', 'model-version'),
    bySource: table('by-source', 'source'),
    byPosition: table('by-position', 'position'),
    charts,
  };
}
