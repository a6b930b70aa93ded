/**
 * The bus codec's fast path, for consumers that read events by the hundred thousand (the speed
 * layer): it reads an event in the exact form encodeEvent writes — keys in that order, no
 * whitespace, ids without escapes, event_id in lower case, ts as toISOString() writes it —
 * into a reusable slot, without JSON.parse and without an object per event. It applies the
 * same rules as decodeEvent (rules.ts); anything else, valid or not, it declines (returns
 * false) and the caller falls back to decodeEvent, which decides. A property test holds the two
 * to agreement on every event the fast path accepts.
 */
import { isDateTime, isFloat32, isValidId, MAX_ID_LENGTH } from './rules.js';
import { EVENT_TYPES, type EventType } from './types.js';

/** One event's fields, overwritten by each scanEvent call that succeeds. */
export interface EventSlot {
  eventId: string;
  userId: string;
  itemId: string;
  type: EventType;
  /** NaN when the event has no value. */
  value: number;
  ts: number;
}

export const newEventSlot = (): EventSlot => ({
  eventId: '',
  userId: '',
  itemId: '',
  type: 'view',
  value: Number.NaN,
  ts: 0,
});

const UUID_LOWER = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const TYPES: ReadonlyMap<string, EventType> = new Map(EVENT_TYPES.map((t) => [t, t]));

/** isValidId, with a shortcut for the common case: printable ASCII, which the rules always allow. */
function validId(s: string): boolean {
  if (s.length === 0 || s.length > MAX_ID_LENGTH) return isValidId(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return isValidId(s);
  }
  return true;
}

/**
 * The events of a micro-batch share a handful of seconds: each second's date-time text is
 * checked (isDateTime) and parsed once, then only the milliseconds are read.
 */
let lastSecond = '';
let lastSecondMs = 0;
function isoMs(iso: string): number {
  const second = iso.slice(0, 19);
  if (second !== lastSecond) {
    if (!isDateTime(`${second}.000Z`)) return Number.NaN;
    lastSecond = second;
    lastSecondMs = Date.parse(`${second}Z`);
  }
  const a = iso.charCodeAt(20) - 48;
  const b = iso.charCodeAt(21) - 48;
  const c = iso.charCodeAt(22) - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9 || c < 0 || c > 9) return Number.NaN;
  return lastSecondMs + a * 100 + b * 10 + c;
}

/** Reads `"…"` (no escapes) starting at the quote at `at`; returns the end index past the closing quote, or -1. */
function plainString(text: string, at: number): number {
  if (text.charCodeAt(at) !== 34) return -1;
  for (let i = at + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) return i + 1;
    if (c === 92 || c < 0x20) return -1; // an escape or a raw control character: not canonical
  }
  return -1;
}

/**
 * Fills `slot` from a canonical event message and returns true; false when the text is not in
 * encodeEvent's form (or breaks a rule): then decodeEvent must judge it. `key`, when given,
 * must equal the user id.
 */
export function scanEvent(text: string, slot: EventSlot, key?: string): boolean {
  // U+FFFD may stand for bytes that were not UTF-8: decodeEvent's strict decoder tells.
  if (text.indexOf('\ufffd') >= 0) return false;
  let at = 0;
  const expect = (lit: string) => {
    if (!text.startsWith(lit, at)) return false;
    at += lit.length;
    return true;
  };
  if (!expect('{"event_id":')) return false;
  let end = plainString(text, at);
  if (end !== at + 38) return false;
  const eventId = text.slice(at + 1, end - 1);
  if (!UUID_LOWER.test(eventId)) return false;
  at = end;

  if (!expect(',"user_id":')) return false;
  end = plainString(text, at);
  if (end < 0) return false;
  const userId = text.slice(at + 1, end - 1);
  at = end;
  if (!validId(userId) || (key !== undefined && key !== userId)) return false;

  if (!expect(',"item_id":')) return false;
  end = plainString(text, at);
  if (end < 0) return false;
  const itemId = text.slice(at + 1, end - 1);
  at = end;
  if (!validId(itemId)) return false;

  if (!expect(',"type":')) return false;
  end = plainString(text, at);
  if (end < 0) return false;
  const type = TYPES.get(text.slice(at + 1, end - 1));
  if (type === undefined) return false;
  at = end;

  let value = Number.NaN;
  if (expect(',"value":')) {
    const comma = text.indexOf(',', at);
    if (comma < 0) return false;
    const num = text.slice(at, comma);
    if (!JSON_NUMBER.test(num)) return false;
    value = Number(num);
    if (!isFloat32(value)) return false;
    at = comma;
  }

  if (!expect(',"ts":')) return false;
  end = plainString(text, at);
  if (end !== at + 26 || end !== text.length - 1 || text.charCodeAt(end) !== 125) return false;
  const iso = text.slice(at + 1, end - 1);
  // toISOString's own form only (other offsets and precisions go to decodeEvent).
  if (iso.charCodeAt(23) !== 90 || iso.charCodeAt(19) !== 46) return false;
  const ts = isoMs(iso);
  if (Number.isNaN(ts)) return false;

  slot.eventId = eventId;
  slot.userId = userId;
  slot.itemId = itemId;
  slot.type = type;
  slot.value = value;
  slot.ts = ts;
  return true;
}
