/**
 * The analytics report the page reads from /dashboard/metrics.json (the same document as
 * GET /v1/admin/metrics): the fields the page shows. Types only; nothing of this file reaches
 * the browser.
 */

export type Ratio = number | null;

export interface CtrCounts {
  value: Ratio;
  clicks: number;
  impressions: number;
}

export interface Report {
  from: string;
  to: string;
  granularity: 'hour' | 'day';
  rolled_up_at: string | null;
  ctr: CtrCounts & {
    viewed: CtrCounts;
    by_model_version: Array<CtrCounts & { model_version: string }>;
    by_source: Array<CtrCounts & { source: string }>;
    by_position: Array<CtrCounts & { position: number }>;
  };
  conversions: {
    value: Ratio;
    conversions: number;
    clicks: number;
    by_model_version: Array<{ model_version: string; value: Ratio; conversions: number; clicks: number }>;
  };
  coverage: {
    value: Ratio;
    items: number;
    active_items: number;
    by_model_version: Array<{ model_version: string; value: Ratio; items: number }>;
  };
  rmse: {
    online: {
      value: Ratio;
      mae: Ratio;
      ratings: number;
      by_model_version: Array<{ model_version: string; value: Ratio; mae: Ratio; ratings: number }>;
    };
    offline: Array<{
      model_version: string;
      status: string;
      created_at: string;
      rmse: number | null;
      mae: number | null;
    }>;
  };
  answers: { total: number; by_source: Array<{ source: string; answers: number }> };
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  series: SeriesRow[];
}

/** One bucket of one model version; `model_version` null: the totals. */
export interface SeriesRow {
  bucket: string;
  model_version: string | null;
  answers: number;
  impressions: number;
  clicks: number;
  ctr: Ratio;
  conversions: number;
  coverage: Ratio;
  items: number;
  rmse: Ratio;
  ratings: number;
}
