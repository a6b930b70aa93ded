/**
 * The rules each field of an event obeys, as plain functions. schema.ts states the same rules
 * as JSON Schema (for ajv and /openapi.json), built from the constants here; a test holds the
 * two to agreement.
 */

/** Longest user or item id accepted anywhere (event, feedback, path, query), in code points. */
export const MAX_ID_LENGTH = 128;

/**
 * What an id may not hold: U+0000, which a PostgreSQL text column cannot store (the insert
 * failed with a 500, and a NUL user id in a served answer's log row made the whole batch of
 * log rows fail), and unpaired surrogates, which UTF-8 cannot carry (they were stored as
 * U+FFFD, so distinct ids became one). As JSON Schema reads it: with the `u` flag, so a paired
 * surrogate (one astral code point, e.g. an emoji) is allowed.
 */
export const ID_PATTERN = '^[^\\u0000\\ud800-\\udfff]*$';
const ID_CHARS = new RegExp(ID_PATTERN, 'u');

/** A user or item id: 1 to MAX_ID_LENGTH code points (as JSON Schema counts), none of them refused. */
export function isValidId(s: unknown): s is string {
  if (typeof s !== 'string' || s.length === 0 || s.length > 2 * MAX_ID_LENGTH) return false;
  if (!ID_CHARS.test(s)) return false;
  let codePoints = 0;
  for (const _ of s) codePoints++;
  return codePoints <= MAX_ID_LENGTH;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** An event id: a UUID in any case (normalizeEvent lower-cases it). */
export const isUuid = (s: string) => UUID.test(s);

/**
 * Values are stored as PostgreSQL real and used as float32 by the model, so they must be
 * float32s (OpenAPI's number format "float"): beyond its range, or so small they round to
 * zero, PostgreSQL refuses them (a feedback value of 1e300 or 1e-46 was a 500), and in a
 * fold-in they would turn into Infinity. Non-finite numbers are never float32s.
 */
export const FLOAT32_MAX = 3.4028234663852886e38;
/** What PostgreSQL's real input accepts: finite in float32, and zero only when zero. */
export const isFloat32 = (v: number) => {
  const f = Math.fround(v);
  return Number.isFinite(f) && (f !== 0 || v === 0);
};

/**
 * Event times lie in years 0000–9999, so that every one has an ISO-8601 form (the bus carries
 * ts as one; a later year would need the expanded "+010000-…" form no date-time parser here
 * accepts). Epoch milliseconds are integers from 0 (1970) to the last millisecond of 9999.
 */
export const MIN_EVENT_TIME_MS = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
export const MAX_EPOCH_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

// RFC 3339 date-time (ISO 8601 profile): date, time, optional fraction, Z or offset.
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/**
 * An ISO-8601 (RFC 3339) date-time on a day the calendar has (Date.parse would read
 * "2024-02-30" as March 1st), in years 0000–9999 once the offset is applied.
 */
export function isDateTime(s: string): boolean {
  const m = DATE_TIME.exec(s);
  if (m === null) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  // Day 0 of the next month is this month's last day.
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(2000, month, 0)).getUTCDate())
    return false;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return false;
  const ms = Date.parse(s);
  return ms >= MIN_EVENT_TIME_MS && ms <= MAX_EPOCH_MS;
}

/** An event's ts as sent: an ISO-8601 date-time, or integer epoch milliseconds from 0 to MAX_EPOCH_MS. */
export function isEventTime(ts: unknown): ts is string | number {
  if (typeof ts === 'string') return isDateTime(ts);
  return typeof ts === 'number' && Number.isInteger(ts) && ts >= 0 && ts <= MAX_EPOCH_MS;
}

/** A valid ts (isEventTime) as epoch milliseconds; ISO fractions below a millisecond are dropped. */
export const eventTimeMs = (ts: string | number): number => (typeof ts === 'number' ? ts : Date.parse(ts));
