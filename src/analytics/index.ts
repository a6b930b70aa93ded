/**
 * The analytics layer (DESIGN.md §1): recommendation_logs ⋈ recommendation_feedback (and
 * rating events) rolled up hourly into CTR, conversions, catalog coverage and RMSE, shown on
 * /metrics, GET /v1/admin/metrics, Grafana and /dashboard.
 */
export { AnalyticsGauges } from './gauges.js';
export { ANALYTICS_LOCK, AnalyticsJob, type AnalyticsJobOptions } from './job.js';
export { type AnalyticsReport, analyticsReport } from './report.js';
export { LATENCY_BOUNDS_US, type RollupResult, rollUp } from './rollup.js';
export { type Granularity, parseWindow, trailingWindow, type Window, WindowError } from './window.js';
