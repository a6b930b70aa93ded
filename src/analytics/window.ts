/**
 * The window of a report: `from`/`to` (ISO 8601, or epoch milliseconds) rounded out to whole
 * UTC hours — the rollups' grain — and the series' bucket. Defaults: the last 24 hours, hourly
 * buckets up to 7 days and daily ones beyond.
 */
const HOUR_MS = 3_600_000;
/** The longest window a report covers (about 5 years). */
const MAX_HOURS = 5 * 366 * 24;

export type Granularity = 'hour' | 'day';

export interface Window {
  from: Date;
  to: Date;
  granularity: Granularity;
}

export class WindowError extends Error {}

export interface WindowQuery {
  from?: string | null;
  to?: string | null;
  granularity?: string | null;
}

export function parseWindow(q: WindowQuery, now = Date.now()): Window {
  const to = q.to ? instant(q.to, 'to') : now;
  const from = q.from ? instant(q.from, 'from') : to - 24 * HOUR_MS;
  if (from >= to) throw new WindowError('`from` must be before `to`');
  const start = Math.floor(from / HOUR_MS) * HOUR_MS;
  const end = Math.ceil(to / HOUR_MS) * HOUR_MS;
  if ((end - start) / HOUR_MS > MAX_HOURS)
    throw new WindowError(`the window is longer than ${MAX_HOURS} hours`);
  let granularity: Granularity = end - start > 7 * 24 * HOUR_MS ? 'day' : 'hour';
  if (q.granularity) {
    if (q.granularity !== 'hour' && q.granularity !== 'day')
      throw new WindowError('`granularity` must be `hour` or `day`');
    granularity = q.granularity;
  }
  return { from: new Date(start), to: new Date(end), granularity };
}

/** The trailing window of the gauges: the last `hours` whole hours, the current one included. */
export function trailingWindow(hours: number, now = Date.now()): Window {
  const end = Math.ceil((now + 1) / HOUR_MS) * HOUR_MS;
  return { from: new Date(end - hours * HOUR_MS), to: new Date(end), granularity: 'hour' };
}

function instant(text: string, name: string): number {
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  // Date.parse takes many shapes; ask for a date first so that "1" or "x" is not a year.
  if (!Number.isFinite(ms) || (!/^\d{1,15}$/.test(text) && !/^\d{4}-\d{2}-\d{2}/.test(text)))
    throw new WindowError(
      `\`${name}\` must be an ISO 8601 time (2026-12-03T10:00:00Z) or epoch milliseconds`,
    );
  return ms;
}
