/**
 * How the dashboard writes numbers (browser and Node alike: no DOM here, so the page's test
 * formats the JSON report the same way and compares text for text). A missing value (a ratio
 * with nothing to divide by) is a dash.
 */

export const NONE = '—';

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** A ratio as a percentage: 0.0512 → "5.12 %". */
export const percent = (v: number | null | undefined): string =>
  finite(v) ? `${(v * 100).toFixed(2)} %` : NONE;

/** An error in rating units (RMSE, MAE): four decimals. */
export const error = (v: number | null | undefined): string => (finite(v) ? v.toFixed(4) : NONE);

/** Milliseconds: two decimals. */
export const ms = (v: number | null | undefined): string => (finite(v) ? `${v.toFixed(2)} ms` : NONE);

/** A count, whole. */
export const count = (v: number | null | undefined): string => (finite(v) ? String(Math.round(v)) : NONE);

/** A model version as shown: '' (answers without a model) is "none". */
export const version = (v: string): string => (v === '' ? 'none' : v);

/** Text for HTML: the five characters that matter escaped. */
export const escapeHtml = (s: unknown): string =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
