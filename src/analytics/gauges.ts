/**
 * The analytics gauges on /metrics, set from the report over the trailing window after each
 * rollup pass (never computed per scrape). Every serve process exports the same values, so
 * dashboards take max by (model_version), not sum. model_version "all" is the whole window;
 * "none" labels answers served without a model.
 */
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { AnalyticsReport } from './report.js';

const label = (version: string) => (version === '' ? 'none' : version);

export class AnalyticsGauges {
  private readonly ctr: Gauge<'model_version'>;
  private readonly conversion: Gauge<'model_version'>;
  private readonly coverage: Gauge<'model_version'>;
  private readonly rmse: Gauge<'model_version' | 'kind'>;
  private readonly impressions: Gauge<'model_version'>;
  private readonly clicks: Gauge<'model_version'>;
  private readonly answers: Gauge<'source'>;
  private readonly lastRollup: Gauge;
  readonly rollupDuration: Histogram;

  constructor(registry: Registry, windowHours: number) {
    const gauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Gauge<L>({ name, help, labelNames, registers: [registry] });
    const over = `over the last ${windowHours} h`;
    this.ctr = gauge('recsys_ctr', `Served items clicked / items served, ${over}`, ['model_version']);
    this.conversion = gauge(
      'recsys_conversion_rate',
      `Clicked served items purchased after the click / clicks, ${over}`,
      ['model_version'],
    );
    this.coverage = gauge('recsys_catalog_coverage', `Distinct items served / active items, ${over}`, [
      'model_version',
    ]);
    this.rmse = gauge(
      'recsys_rmse',
      `RMSE: online (served score vs later rating, ${over}) or offline (the model's held-out metric)`,
      ['model_version', 'kind'],
    );
    this.impressions = gauge('recsys_analytics_impressions', `Items served, ${over}`, ['model_version']);
    this.clicks = gauge('recsys_analytics_clicks', `Served items clicked, ${over}`, ['model_version']);
    this.answers = gauge('recsys_analytics_answers', `Answers served by source, ${over}`, ['source']);
    this.lastRollup = new Gauge({
      name: 'recsys_analytics_last_rollup_timestamp_seconds',
      help: 'When the analytics rollup last ran (Unix time)',
      registers: [registry],
    });
    this.rollupDuration = new Histogram({
      name: 'recsys_analytics_rollup_duration_seconds',
      help: 'Time of one analytics rollup pass in this process',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
  }

  set(r: AnalyticsReport): void {
    for (const g of [
      this.ctr,
      this.conversion,
      this.coverage,
      this.rmse,
      this.impressions,
      this.clicks,
      this.answers,
    ])
      g.reset();
    const put = (g: Gauge<'model_version'>, version: string, value: number | null) => {
      if (value !== null) g.set({ model_version: version }, value);
    };
    put(this.ctr, 'all', r.ctr.value);
    put(this.conversion, 'all', r.conversions.value);
    put(this.coverage, 'all', r.coverage.value);
    put(this.impressions, 'all', r.ctr.impressions);
    put(this.clicks, 'all', r.ctr.clicks);
    for (const v of r.ctr.by_model_version) {
      put(this.ctr, label(v.model_version), v.value);
      put(this.impressions, label(v.model_version), v.impressions);
      put(this.clicks, label(v.model_version), v.clicks);
    }
    for (const v of r.conversions.by_model_version) put(this.conversion, label(v.model_version), v.value);
    for (const v of r.coverage.by_model_version) put(this.coverage, label(v.model_version), v.value);
    if (r.rmse.online.value !== null)
      this.rmse.set({ model_version: 'all', kind: 'online' }, r.rmse.online.value);
    for (const v of r.rmse.online.by_model_version)
      if (v.value !== null) this.rmse.set({ model_version: label(v.model_version), kind: 'online' }, v.value);
    for (const m of r.rmse.offline)
      if (m.rmse !== null) this.rmse.set({ model_version: m.model_version, kind: 'offline' }, m.rmse);
    for (const s of r.answers.by_source) this.answers.set({ source: s.source }, s.answers);
    if (r.rolled_up_at) this.lastRollup.set(Date.parse(r.rolled_up_at) / 1000);
  }
}
