/**
 * The serving half of the page, from /readyz and /metrics: the model being served and
 * readiness, request rates and latency per route (rates from the difference between two
 * polls, percentiles from the histogram's buckets), caches, the answer log, the speed layer's
 * freshness and the stores' circuits.
 */
import { escapeHtml, NONE } from './format.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, one sample a line (comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? ([^ ]+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) for (const p of m[3].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[p[1]] = p[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

/** The q-quantile's bucket bound, in ms, from cumulative [le seconds, count] pairs in order. */
function quantileMs(buckets: Array<[number, number]>, q: number): number {
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (!total) return Number.NaN;
  for (const [le, c] of buckets) if (c >= q * total) return le * 1000;
  return Number.NaN;
}

/** Cumulative buckets of a histogram summed over the labels other than `by` (and le), by `by`. */
function histograms(samples: Sample[], name: string, by?: string): Map<string, Array<[number, number]>> {
  const sums = new Map<string, Map<number, number>>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || s.labels.le === '+Inf') continue;
    const key = by ? s.labels[by] : '';
    let b = sums.get(key);
    if (!b) {
      b = new Map();
      sums.set(key, b);
    }
    const le = Number(s.labels.le);
    b.set(le, (b.get(le) ?? 0) + s.value);
  }
  const out = new Map<string, Array<[number, number]>>();
  for (const [key, b] of sums)
    out.set(
      key,
      [...b.entries()].sort((x, y) => x[0] - y[0]),
    );
  return out;
}

const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : NONE);

export class OpsPanel {
  private prev = new Map<string, number>();
  private prevAt = 0;

  constructor(private readonly el: (id: string) => HTMLElement) {}

  async refresh(): Promise<void> {
    try {
      const [ready, metrics] = await Promise.all([
        fetch('/readyz').then((r) => r.json()),
        fetch('/metrics').then((r) => r.text()),
      ]);
      this.renderReadiness(ready);
      const samples = parseMetrics(metrics);
      this.renderRates(samples);
      this.renderCaches(samples);
      this.el('at').textContent = new Date().toLocaleTimeString();
    } catch (err) {
      const ready = this.el('ready');
      ready.textContent = `unreachable: ${err}`;
      ready.className = 'bad';
    }
  }

  private renderReadiness(ready: { status: string; model_version: string | null; checks: unknown }): void {
    this.el('model').textContent = ready.model_version || 'none';
    const r = this.el('ready');
    r.textContent = `${ready.status} ${JSON.stringify(ready.checks)}`;
    r.className = ready.status === 'ready' ? 'ok' : 'bad';
  }

  private renderRates(samples: Sample[]): void {
    const now = performance.now();
    const counts = new Map<string, number>();
    for (const s of samples)
      if (s.name === 'recsys_http_requests_total')
        counts.set(s.labels.route, (counts.get(s.labels.route) ?? 0) + s.value);
    const latency = histograms(samples, 'recsys_http_request_duration_seconds', 'route');
    let rows = '<tr><th>route</th><th>req/s</th><th>p50 ms</th><th>p99 ms</th></tr>';
    for (const route of [...counts.keys()].sort()) {
      const n = counts.get(route) ?? 0;
      const rate = this.prevAt ? ((n - (this.prev.get(route) ?? 0)) * 1000) / (now - this.prevAt) : 0;
      const b = latency.get(route) ?? [];
      rows += `<tr><td>${escapeHtml(route)}</td><td class="n">${rate.toFixed(1)}</td><td class="n">${fixed(quantileMs(b, 0.5), 2)}</td><td class="n">${fixed(quantileMs(b, 0.99), 2)}</td></tr>`;
    }
    this.prev = counts;
    this.prevAt = now;
    this.el('rates').innerHTML = rows;
  }

  private renderCaches(samples: Sample[]): void {
    const pick = (name: string, key?: string) =>
      samples
        .filter((s) => s.name === name)
        .map((s) => escapeHtml((key ? `${s.labels[key]} ` : '') + s.value.toFixed(3)))
        .join(', ') || '0';
    const freshness = (name: string) => {
      const b = histograms(samples, name).get('') ?? [];
      return `p50 ${fixed(quantileMs(b, 0.5), 0)} ms, p99 ${fixed(quantileMs(b, 0.99), 0)} ms`;
    };
    const rows: Array<[string, string]> = [
      ['cache hit ratio', pick('recsys_cache_hit_ratio', 'level')],
      ['recommendation log rows written', pick('recsys_rec_log_written_total')],
      ['recommendation log rows dropped', pick('recsys_rec_log_dropped_total', 'reason')],
      ['events accepted', pick('recsys_events_accepted_total')],
      ['WebSocket connections', pick('recsys_ws_connections')],
      ['push freshness (event to WebSocket push)', freshness('recsys_push_freshness_seconds')],
      ['stream freshness (event to profile)', freshness('recsys_stream_freshness_seconds')],
      ['store circuit open', pick('recsys_store_circuit_open', 'store')],
    ];
    this.el('caches').innerHTML = rows
      .map(([label, value]) => `<tr><td>${escapeHtml(label)}</td><td>${value}</td></tr>`)
      .join('');
  }
}
