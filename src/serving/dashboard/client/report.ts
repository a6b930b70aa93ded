/**
 * The analytics report the page reads from /dashboard/metrics.json (the same document as
 * GET /v1/admin/metrics), as src/analytics defines it. Types only: nothing of this reaches the
 * browser.
 */
export type { AnalyticsReport as Report, SeriesPoint as SeriesRow } from '../../../analytics/report.js';
