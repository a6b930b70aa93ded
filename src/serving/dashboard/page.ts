/**
 * /dashboard: the page's markup and style. Its scripts (client/, compiled beside this file)
 * and uPlot come from the server itself under /dashboard/assets/ (assets.ts), so the page
 * needs nothing outside the server. The serving half polls /readyz and /metrics; the
 * analytics half reads /dashboard/metrics.json for the chosen window.
 */

/** The headline figures' slots: [element id suffix, label, detail line of other metrics]. */
const HEADLINE: Array<[string, string, string[]]> = [
  ['ctr', 'CTR', ['clicks', 'impressions']],
  ['viewed-ctr', 'viewed CTR', ['viewed-clicks', 'viewed-impressions']],
  ['conversion-rate', 'conversion rate', ['conversions', 'conversion-clicks']],
  ['coverage', 'catalog coverage', ['coverage-items', 'active-items']],
  ['rmse-online', 'online RMSE', ['mae-online', 'ratings']],
  ['answers', 'answers', []],
  ['latency-p50', 'latency p50', []],
  ['latency-p95', 'latency p95', []],
  ['latency-p99', 'latency p99', []],
];

const DETAIL_LABELS: Record<string, string> = {
  clicks: 'clicks',
  impressions: 'items served',
  'viewed-clicks': 'clicked',
  'viewed-impressions': 'seen',
  conversions: 'purchased',
  'conversion-clicks': 'of clicks',
  'coverage-items': 'items',
  'active-items': 'active',
  'mae-online': 'MAE',
  ratings: 'ratings',
};

const stat = ([id, label, details]: (typeof HEADLINE)[number]) =>
  `<div class="stat"><div class="label">${label}</div><div class="value" id="m-${id}">…</div>` +
  `<div class="detail">${details.map((d) => `${DETAIL_LABELS[d]} <span id="m-${d}">…</span>`).join(' · ')}</div></div>`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>recsys dashboard</title>
<link rel="stylesheet" href="/dashboard/assets/uplot.min.css">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1200px; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
  table { border-collapse: collapse; } td, th { padding: .2rem .8rem; border-bottom: 1px solid #ddd; text-align: left; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; } td.empty { color: #777; }
  .bad { color: #b00; } .ok { color: #070; }
  .stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: .6rem; }
  .stat { border: 1px solid #ddd; border-radius: 6px; padding: .5rem .7rem; }
  .stat .label { color: #555; } .stat .value { font-size: 1.5rem; font-variant-numeric: tabular-nums; }
  .stat .detail { color: #666; font-size: .85rem; min-height: 1.2em; }
  .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 1rem; }
  .tables { display: flex; flex-wrap: wrap; gap: 2rem; align-items: flex-start; }
  #range { color: #555; }
</style>
</head>
<body>
<h1>recsys</h1>
<p>Model: <b id="model">…</b> · readiness: <span id="ready">…</span> · updated <span id="at"></span></p>

<section id="analytics" data-state="loading">
<h2>Recommendations: outcomes</h2>
<p><label>Window <select id="window">
  <option value="1">last hour</option>
  <option value="24" selected>last 24 hours</option>
  <option value="168">last 7 days</option>
  <option value="720">last 30 days</option>
</select></label> <span id="range"></span> <span id="analytics-error" class="bad"></span></p>
<div class="stats">
${HEADLINE.map(stat).join('\n')}
</div>
<div class="charts">
  <div class="chart" id="chart-ctr"></div>
  <div class="chart" id="chart-coverage"></div>
  <div class="chart" id="chart-rmse"></div>
</div>
<div class="tables">
<div><h2>By model version</h2><table id="by-version"></table></div>
<div><h2>Answers by source</h2><table id="by-source"></table></div>
<div><h2>CTR by position</h2><table id="by-position"></table></div>
</div>
</section>

<h2>Requests per second</h2>
<table id="rates"><tr><th>route</th><th>req/s</th><th>p50 ms</th><th>p99 ms</th></tr></table>
<h2>Caches, logging and freshness</h2>
<table id="caches"></table>
<script src="/dashboard/assets/uplot.min.js"></script>
<script type="module" src="/dashboard/assets/main.js"></script>
</body>
</html>
`;
