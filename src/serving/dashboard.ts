/**
 * /dashboard: a self-contained page (no external assets) that polls /readyz and /metrics
 * every two seconds and shows the model being served, request rates per route, latency
 * percentiles from the histogram, cache hit ratios and log drops. The analytics layer will
 * extend it with CTR and coverage.
 */

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>recsys dashboard</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
  table { border-collapse: collapse; } td, th { padding: .2rem .8rem; border-bottom: 1px solid #ddd; text-align: left; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  .bad { color: #b00; } .ok { color: #070; }
</style>
</head>
<body>
<h1>recsys</h1>
<p>Model: <b id="model">…</b> · readiness: <span id="ready">…</span> · updated <span id="at"></span></p>
<h2>Requests per second</h2>
<table id="rates"><tr><th>route</th><th>req/s</th><th>p50 ms</th><th>p99 ms</th></tr></table>
<h2>Caches and logging</h2>
<table id="caches"></table>
<script>
const prev = {};
let prevAt = 0;
function parse(text) {
  const out = [];
  for (const line of text.split('\\n')) {
    if (!line || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][\\w:]*)(\\{(.*)\\})? ([^ ]+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const p of m[3].matchAll(/(\\w+)="((?:[^"\\\\]|\\\\.)*)"/g)) labels[p[1]] = p[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}
function quantile(buckets, q) {
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (!total) return NaN;
  for (const [le, c] of buckets) if (c >= q * total) return le * 1000;
  return NaN;
}
function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]); }
async function tick() {
  try {
    const [ready, metrics] = await Promise.all([fetch('/readyz').then((r) => r.json()), fetch('/metrics').then((r) => r.text())]);
    document.getElementById('model').textContent = ready.model_version || 'none';
    const r = document.getElementById('ready');
    r.textContent = ready.status + ' ' + JSON.stringify(ready.checks);
    r.className = ready.status === 'ready' ? 'ok' : 'bad';
    const samples = parse(metrics);
    const now = performance.now();
    const counts = {}, buckets = {};
    for (const s of samples) {
      if (s.name === 'recsys_http_requests_total') counts[s.labels.route] = (counts[s.labels.route] || 0) + s.value;
      if (s.name === 'recsys_http_request_duration_seconds_bucket' && s.labels.le !== '+Inf') {
        const b = (buckets[s.labels.route] ||= new Map());
        b.set(Number(s.labels.le), (b.get(Number(s.labels.le)) || 0) + s.value);
      }
    }
    let rows = '<tr><th>route</th><th>req/s</th><th>p50 ms</th><th>p99 ms</th></tr>';
    for (const route of Object.keys(counts).sort()) {
      const rate = prevAt ? ((counts[route] - (prev[route] || 0)) * 1000) / (now - prevAt) : 0;
      const b = [...(buckets[route] || new Map()).entries()].sort((x, y) => x[0] - y[0]);
      rows += '<tr><td>' + esc(route) + '</td><td class="n">' + rate.toFixed(1) + '</td><td class="n">' + quantile(b, 0.5).toFixed(2) + '</td><td class="n">' + quantile(b, 0.99).toFixed(2) + '</td></tr>';
    }
    Object.assign(prev, counts);
    prevAt = now;
    document.getElementById('rates').innerHTML = rows;
    const pick = (name, key) => samples.filter((s) => s.name === name).map((s) => esc((key ? s.labels[key] + ' ' : '') + s.value.toFixed(3))).join(', ') || '0';
    document.getElementById('caches').innerHTML =
      '<tr><td>cache hit ratio</td><td>' + pick('recsys_cache_hit_ratio', 'level') + '</td></tr>' +
      '<tr><td>recommendation log rows written</td><td>' + pick('recsys_rec_log_written_total') + '</td></tr>' +
      '<tr><td>recommendation log rows dropped</td><td>' + pick('recsys_rec_log_dropped_total', 'reason') + '</td></tr>' +
      '<tr><td>events accepted</td><td>' + pick('recsys_events_accepted_total') + '</td></tr>' +
      '<tr><td>WebSocket connections</td><td>' + pick('recsys_ws_connections') + '</td></tr>' +
      '<tr><td>store circuit open</td><td>' + pick('recsys_store_circuit_open', 'store') + '</td></tr>';
    document.getElementById('at').textContent = new Date().toLocaleTimeString();
  } catch (e) {
    document.getElementById('ready').textContent = 'unreachable: ' + e;
  }
}
tick();
setInterval(tick, 2000);
</script>
</body>
</html>
`;
