/**
 * The page's entry: polls the serving metrics every 2 s and the analytics report for the
 * chosen window every 5 s, and redraws. The analytics section says how far it got in
 * `data-state` (loading, ready, error) and which window it shows in `data-window` (hours) and
 * `data-from`/`data-to` (the report's, whole hours).
 */
import { renderAnalytics } from './analytics-panel.js';
import { CHARTS, Chart } from './charts.js';
import { OpsPanel } from './ops-panel.js';
import type { Report } from './report.js';

const OPS_MS = 2000;
const ANALYTICS_MS = 5000;
const HOUR_MS = 3_600_000;

function el(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e;
}

const ops = new OpsPanel(el);
const charts = CHARTS.map((spec) => new Chart(spec, el(`chart-${spec.field}`)));
const section = el('analytics');
const windowSelect = el('window') as HTMLSelectElement;

let busy = false;
let again = false;
/** One report at a time; a call while one is on its way (the window changed) asks for another after it. */
async function refreshAnalytics(): Promise<void> {
  if (busy) {
    again = true;
    return;
  }
  busy = true;
  const hours = windowSelect.value;
  try {
    const to = new Date();
    const from = new Date(to.getTime() - Number(hours) * HOUR_MS);
    const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
    const res = await fetch(`/dashboard/metrics.json?${query}`);
    if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
    const report = (await res.json()) as Report;
    renderAnalytics(report, el);
    for (const chart of charts) chart.render(report.series, report.from, report.to);
    el('range').textContent =
      `${new Date(report.from).toLocaleString()} – ${new Date(report.to).toLocaleString()}, ` +
      `by ${report.granularity}; rolled up ${report.rolled_up_at ? new Date(report.rolled_up_at).toLocaleTimeString() : 'not yet'}`;
    el('analytics-error').textContent = '';
    Object.assign(section.dataset, {
      state: 'ready',
      window: hours,
      from: report.from,
      to: report.to,
      rolledUpAt: report.rolled_up_at ?? '',
    });
  } catch (err) {
    el('analytics-error').textContent = `analytics unavailable: ${(err as Error).message}`;
    section.dataset.state = 'error';
  } finally {
    busy = false;
    if (again) {
      again = false;
      void refreshAnalytics();
    }
  }
}

windowSelect.addEventListener('change', () => {
  section.dataset.state = 'loading';
  void refreshAnalytics();
});
window.addEventListener('resize', () => {
  for (const chart of charts) chart.resize();
});

void ops.refresh();
void refreshAnalytics();
setInterval(() => void ops.refresh(), OPS_MS);
setInterval(() => void refreshAnalytics(), ANALYTICS_MS);
