/**
 * The analytics half's numbers, from the report: the window's headline figures and the
 * tables by model version, by source and by position. Every number is an element with
 * `data-metric` (what it is) and `data-value` (the report's number as JSON wrote it, empty
 * for null) beside the text a reader sees, so a test can match the page to the report.
 */
import { count, error, escapeHtml, ms, percent, version } from './format.js';
import type { Report } from './report.js';

type Format = (v: number | null | undefined) => string;

/** The markup of one number. */
export function metricHtml(metric: string, value: number | null | undefined, format: Format): string {
  const raw = typeof value === 'number' ? String(value) : '';
  return `<span data-metric="${escapeHtml(metric)}" data-value="${raw}">${escapeHtml(format(value))}</span>`;
}

/** The headline figures: [metric, value, format], in their elements' order in the page. */
export function headline(r: Report): Array<[string, number | null, Format]> {
  return [
    ['ctr', r.ctr.value, percent],
    ['clicks', r.ctr.clicks, count],
    ['impressions', r.ctr.impressions, count],
    ['viewed-ctr', r.ctr.viewed.value, percent],
    ['viewed-clicks', r.ctr.viewed.clicks, count],
    ['viewed-impressions', r.ctr.viewed.impressions, count],
    ['conversion-rate', r.conversions.value, percent],
    ['conversions', r.conversions.conversions, count],
    ['conversion-clicks', r.conversions.clicks, count],
    ['coverage', r.coverage.value, percent],
    ['coverage-items', r.coverage.items, count],
    ['active-items', r.coverage.active_items, count],
    ['rmse-online', r.rmse.online.value, error],
    ['mae-online', r.rmse.online.mae, error],
    ['ratings', r.rmse.online.ratings, count],
    ['answers', r.answers.total, count],
    ['latency-p50', r.latency_ms.p50, ms],
    ['latency-p95', r.latency_ms.p95, ms],
    ['latency-p99', r.latency_ms.p99, ms],
  ];
}

interface Column<T> {
  label: string;
  metric: string;
  value: (row: T) => number | null | undefined;
  format: Format;
}

/** Table rows, each marked with `key` (e.g. data-model-version) and its cells with data-metric. */
function rows<T>(
  items: T[],
  key: string,
  keyOf: (row: T) => string,
  label: (row: T) => string,
  columns: Array<Column<T>>,
): string {
  const head = `<tr><th></th>${columns.map((c) => `<th>${escapeHtml(c.label)}</th>`).join('')}</tr>`;
  if (items.length === 0)
    return `${head}<tr><td colspan="${columns.length + 1}" class="empty">nothing in this window</td></tr>`;
  const body = items.map(
    (row) =>
      `<tr data-${key}="${escapeHtml(keyOf(row))}"><th>${escapeHtml(label(row))}</th>${columns
        .map((c) => `<td class="n">${metricHtml(c.metric, c.value(row), c.format)}</td>`)
        .join('')}</tr>`,
  );
  return head + body.join('');
}

interface VersionRow {
  version: string;
  status: string;
  ctr?: number | null;
  impressions?: number;
  clicks?: number;
  conversion?: number | null;
  coverage?: number | null;
  items?: number;
  online?: number | null;
  ratings?: number;
  offline?: number | null;
}

/** One row per model version seen in the window or kept in the registry, newest first. */
function byVersion(r: Report): VersionRow[] {
  const out = new Map<string, VersionRow>();
  const at = (v: string) => {
    let row = out.get(v);
    if (!row) {
      row = { version: v, status: '' };
      out.set(v, row);
    }
    return row;
  };
  for (const m of r.rmse.offline) Object.assign(at(m.model_version), { status: m.status, offline: m.rmse });
  for (const m of r.ctr.by_model_version)
    Object.assign(at(m.model_version), { ctr: m.value, impressions: m.impressions, clicks: m.clicks });
  for (const m of r.conversions.by_model_version) at(m.model_version).conversion = m.value;
  for (const m of r.coverage.by_model_version)
    Object.assign(at(m.model_version), { coverage: m.value, items: m.items });
  for (const m of r.rmse.online.by_model_version)
    Object.assign(at(m.model_version), { online: m.value, ratings: m.ratings });
  return [...out.values()].sort((a, b) => (a.version < b.version ? 1 : a.version > b.version ? -1 : 0));
}

export function renderAnalytics(r: Report, el: (id: string) => HTMLElement): void {
  for (const [metric, value, format] of headline(r))
    el(`m-${metric}`).innerHTML = metricHtml(metric, value, format);
  el('by-version').innerHTML = rows(
    byVersion(r),
    'model-version',
    (v) => v.version,
    (v) => version(v.version) + (v.status ? ` (${v.status})` : ''),
    [
      { label: 'CTR', metric: 'ctr', value: (v) => v.ctr, format: percent },
      { label: 'items served', metric: 'impressions', value: (v) => v.impressions, format: count },
      { label: 'clicks', metric: 'clicks', value: (v) => v.clicks, format: count },
      { label: 'conversion', metric: 'conversion-rate', value: (v) => v.conversion, format: percent },
      { label: 'coverage', metric: 'coverage', value: (v) => v.coverage, format: percent },
      { label: 'online RMSE', metric: 'rmse-online', value: (v) => v.online, format: error },
      { label: 'ratings', metric: 'ratings', value: (v) => v.ratings, format: count },
      { label: 'offline RMSE', metric: 'rmse-offline', value: (v) => v.offline, format: error },
    ],
  );
  const ctrBySource = new Map(r.ctr.by_source.map((s) => [s.source, s]));
  el('by-source').innerHTML = rows(
    r.answers.by_source,
    'source',
    (s) => s.source,
    (s) => s.source,
    [
      { label: 'answers', metric: 'answers', value: (s) => s.answers, format: count },
      { label: 'CTR', metric: 'ctr', value: (s) => ctrBySource.get(s.source)?.value, format: percent },
    ],
  );
  el('by-position').innerHTML = rows(
    r.ctr.by_position,
    'position',
    (p) => String(p.position),
    (p) => String(p.position),
    [
      { label: 'CTR', metric: 'ctr', value: (p) => p.value, format: percent },
      { label: 'items served', metric: 'impressions', value: (p) => p.impressions, format: count },
      { label: 'clicks', metric: 'clicks', value: (p) => p.clicks, format: count },
    ],
  );
}
