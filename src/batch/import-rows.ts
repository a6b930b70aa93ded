/**
 * The rows of one import, each checked against the event contract (src/events) as it is read
 * and then held as columns until the whole file is read: ids interned (a code per row), type
 * and flags in a byte, value float32, ts and source line as numbers, an event id given by the
 * file as 16 bytes. That is about 30 bytes a row (46 with event ids), so a 20M-row file holds
 * in well under a GB, and nothing is written before every row has been checked.
 *
 * Rows the contract refuses are counted and the first few kept with their line (text) or row
 * (Parquet) number; the import decides whether they stop it.
 */
import crypto from 'node:crypto';
import type { EncodedArchiveColumns, Utf8Column } from '../data/archive-format.js';
import { Growable, Interner } from '../data/columns.js';
import { DataError } from '../data/errors.js';
import {
  checkEvent,
  EVENT_TYPES,
  type EventType,
  isDateTime,
  isEventTime,
  isFloat32,
  isUuid,
  isValidId,
} from '../events/index.js';

/** SHA-1 as hex in one call (crypto.hash, Node 20.12+), else through a Hash object. */
const sha1Hex: (name: string) => string =
  typeof crypto.hash === 'function'
    ? (name) => crypto.hash('sha1', name, 'hex')
    : (name) => crypto.createHash('sha1').update(name).digest('hex');

/** A stable UUID (version-5 layout) from a name, so re-imports produce the same event ids. */
export function stableUuid(name: string): string {
  const bytes = new Uint8Array(36);
  writeStableUuid(name, bytes, 0);
  return Buffer.from(bytes).toString('latin1');
}

const DASH = 45;
const HEX_DIGITS = new TextEncoder().encode('0123456789abcdef');

/** Writes stableUuid(name) as 36 ASCII bytes at `at`. */
function writeStableUuid(name: string, out: Uint8Array, at: number): void {
  const h = sha1Hex(name);
  for (let k = 0; k < 32; k++) {
    if (k === 8 || k === 12 || k === 16 || k === 20) out[at++] = DASH;
    let c = h.charCodeAt(k);
    if (k === 12)
      c = 53; // '5': the version nibble
    else if (k === 16) c = HEX_DIGITS[(HEX[c]! & 0x3) | 0x8]!; // the RFC 4122 variant
    out[at++] = c;
  }
}

/** Writes 16 bytes as a UUID's 36 ASCII bytes at `at`. */
function writeUuid(bytes: Uint8Array, from: number, out: Uint8Array, at: number): void {
  for (let k = 0; k < 16; k++) {
    if (k === 4 || k === 6 || k === 8 || k === 10) out[at++] = DASH;
    const b = bytes[from + k]!;
    out[at++] = HEX_DIGITS[b >> 4]!;
    out[at++] = HEX_DIGITS[b & 15]!;
  }
}

/**
 * One row as a reader found it, before the contract's checks: a field the row does not have is
 * undefined. `value` and `ts` are numbers when the source has them as numbers, else the text
 * (which the contract then judges); a numeric ts is epoch time in the import's unit.
 */
export interface RawEvent {
  user_id: string | undefined;
  item_id: string | undefined;
  type: string | undefined;
  value: number | string | undefined;
  ts: number | string | undefined;
  /** A numeric ts is epoch ms whatever the import's unit (it comes from a timestamp column). */
  tsIsMs: boolean;
  event_id: string | undefined;
}

export const emptyRawEvent = (): RawEvent => ({
  user_id: undefined,
  item_id: undefined,
  type: undefined,
  value: undefined,
  ts: undefined,
  tsIsMs: false,
  event_id: undefined,
});

/** How rows without a type or a time are read, and what a numeric time counts. */
export interface RowPolicy {
  /** The type of rows without one; by default `rating` when the row has a value, else `view`. */
  defaultType?: EventType;
  /** Numeric times are epoch milliseconds (the event contract) or seconds (MovieLens). */
  tsUnit: 'ms' | 's';
  /** The time of rows without one (epoch ms): the import's start, kept across a rerun. */
  now: number;
}

/** What an event id derivation sees of a row. */
export interface DerivedIdInput {
  user: string;
  item: string;
  type: EventType;
  value: number | null;
  ts: number;
  /** The row had its own time (else `ts` is the import's). */
  hasTs: boolean;
  /** 1-based line (text) or row (Parquet). */
  line: number;
}

/** Refused rows: every one counted, the first `keep` kept for the report. */
export class Rejections {
  count = 0;
  readonly first: DataError[] = [];
  constructor(readonly keep = 20) {}

  add(err: DataError): void {
    this.count++;
    if (this.first.length < this.keep) this.first.push(err);
  }
}

const TYPE_CODE: ReadonlyMap<string, number> = new Map(EVENT_TYPES.map((t, i) => [t, i]));
const TYPE_MASK = 0x07;
const HAS_TS = 0x08;
const HAS_ID = 0x10;
const DAY_MS = 86_400_000;
/** Hex digit values by character code (a UUID is checked before it is read). */
const HEX = new Uint8Array(128);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

export class ImportRows {
  readonly users = new Interner();
  readonly items = new Interner();
  private readonly user: Growable<Int32Array>;
  private readonly item: Growable<Int32Array>;
  private readonly flags: Growable<Uint8Array>;
  private readonly value: Growable<Float32Array>; // NaN: no value (a float32 value is never NaN)
  private readonly ts: Growable<Float64Array>;
  private readonly line: Growable<Float64Array>;
  private ids: Uint8Array | null = null; // 16 bytes a row once any row has an event id
  private readonly userBytes = new EncodedIds(this.users);
  private readonly itemBytes = new EncodedIds(this.items);
  /** Earliest and latest event time of the rows that had one (epoch ms). */
  minTs = Number.POSITIVE_INFINITY;
  maxTs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly policy: Readonly<RowPolicy>,
    readonly rejections = new Rejections(),
    capacity = 1 << 16,
  ) {
    this.user = new Growable((n) => new Int32Array(n), capacity);
    this.item = new Growable((n) => new Int32Array(n), capacity);
    this.flags = new Growable((n) => new Uint8Array(n), capacity);
    this.value = new Growable((n) => new Float32Array(n), capacity);
    this.ts = new Growable((n) => new Float64Array(n), capacity);
    this.line = new Growable((n) => new Float64Array(n), capacity);
  }

  get length(): number {
    return this.flags.length;
  }

  /**
   * Checks `raw` against the event contract and keeps it, or counts it refused (reported as
   * `file:line` for text, `file: row N` for Parquet). Returns whether it was kept.
   */
  add(raw: RawEvent, file: string, line: number, unit: 'line' | 'row' = 'line'): boolean {
    const { user_id: u, item_id: i } = raw;
    if (u === undefined || i === undefined || !isValidId(u) || !isValidId(i))
      return this.refuse(raw, file, line, unit);
    let typeCode: number | undefined;
    if (raw.type === undefined)
      typeCode = TYPE_CODE.get(this.policy.defaultType ?? (raw.value === undefined ? 'view' : 'rating'));
    else typeCode = TYPE_CODE.get(raw.type);
    if (typeCode === undefined) return this.refuse(raw, file, line, unit);
    let value = Number.NaN;
    if (raw.value !== undefined) {
      if (typeof raw.value !== 'number' || !isFloat32(raw.value)) return this.refuse(raw, file, line, unit);
      value = raw.value;
    }
    let ts = this.policy.now;
    let flags = typeCode;
    if (raw.ts !== undefined) {
      const ms = this.tsMs(raw.ts, raw.tsIsMs);
      if (Number.isNaN(ms)) return this.refuse(raw, file, line, unit);
      ts = ms;
      flags |= HAS_TS;
      if (ms < this.minTs) this.minTs = ms;
      if (ms > this.maxTs) this.maxTs = ms;
    }
    if (raw.event_id !== undefined) {
      if (!isUuid(raw.event_id)) return this.refuse(raw, file, line, unit);
      this.putId(raw.event_id);
      flags |= HAS_ID;
    }
    this.user.push(this.users.intern(u));
    this.item.push(this.items.intern(i));
    this.flags.push(flags);
    this.value.push(value);
    this.ts.push(ts);
    this.line.push(line);
    return true;
  }

  /** A row refused before it could be read as an event (a bad quote, a wrong field count). */
  reject(err: DataError): void {
    this.rejections.add(err);
  }

  /** A valid event time in ms, or NaN. */
  private tsMs(ts: number | string, isMs: boolean): number {
    if (typeof ts === 'string') return isDateTime(ts) ? Date.parse(ts) : Number.NaN;
    const ms = this.policy.tsUnit === 's' && !isMs ? Math.round(ts * 1000) : ts;
    return isEventTime(ms) ? ms : Number.NaN;
  }

  /** The event as the contract sees it, for its reason. */
  private refuse(raw: RawEvent, file: string, line: number, unit: 'line' | 'row'): false {
    const event: Record<string, unknown> = {};
    if (raw.event_id !== undefined) event.event_id = raw.event_id;
    if (raw.user_id !== undefined) event.user_id = raw.user_id;
    if (raw.item_id !== undefined) event.item_id = raw.item_id;
    event.type = raw.type ?? this.policy.defaultType ?? (raw.value === undefined ? 'view' : 'rating');
    if (raw.value !== undefined) event.value = raw.value;
    if (raw.ts !== undefined)
      event.ts =
        typeof raw.ts === 'number' && this.policy.tsUnit === 's' && !raw.tsIsMs
          ? Math.round(raw.ts * 1000)
          : raw.ts;
    const check = checkEvent(event);
    const reason = check.ok ? 'refused by the event contract' : check.message;
    this.reject(
      unit === 'line'
        ? new DataError(file, line, reason)
        : new DataError(file, undefined, reason, { row: line }),
    );
    return false;
  }

  private putId(id: string): void {
    const row = this.length;
    if (this.ids === null) this.ids = new Uint8Array(Math.max(1024, (row + 1) * 2) * 16);
    else if (this.ids.length < (row + 1) * 16) {
      const next = new Uint8Array(this.ids.length * 2);
      next.set(this.ids);
      this.ids = next;
    }
    let at = row * 16;
    for (let k = 0; k < id.length; k += 2) {
      if (id.charCodeAt(k) === 45 /* - */) k++; // the dashes of 8-4-4-4-12 fall where a pair would start
      this.ids[at++] = (HEX[id.charCodeAt(k)]! << 4) | HEX[id.charCodeAt(k + 1)]!;
    }
  }

  /**
   * The rows grouped by UTC day (days in order, rows of a day in file order), cut into parts
   * of at most `maxRows`: what the archive's day partitions receive.
   */
  *parts(maxRows: number): Generator<{ day: number; rows: Int32Array }> {
    const n = this.length;
    if (n === 0) return;
    const ts = this.ts.view();
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let r = 0; r < n; r++) {
      const d = Math.floor(ts[r]! / DAY_MS);
      if (d < lo) lo = d;
      if (d > hi) hi = d;
    }
    // A counting sort over the day range (at most 3.65M days: years 0000–9999).
    const starts = new Int32Array(hi - lo + 2);
    for (let r = 0; r < n; r++) starts[Math.floor(ts[r]! / DAY_MS) - lo + 1]!++;
    for (let d = 1; d < starts.length; d++) starts[d]! += starts[d - 1]!;
    const next = starts.slice(0, -1);
    const order = new Int32Array(n);
    for (let r = 0; r < n; r++) order[next[Math.floor(ts[r]! / DAY_MS) - lo]!++] = r;
    for (let d = 0; d + 1 < starts.length; d++) {
      for (let a = starts[d]!; a < starts[d + 1]!; a += maxRows)
        yield { day: lo + d, rows: order.subarray(a, Math.min(a + maxRows, starts[d + 1]!)) };
    }
  }

  /**
   * The archive columns of `rows`, strings written straight as UTF-8 from the interned ids; an
   * event the file gave no id gets stableUuid(eventName(row)).
   */
  columns(rows: Int32Array, eventName: (row: DerivedIdInput) => string): EncodedArchiveColumns {
    const m = rows.length;
    const flags = this.flags.view();
    const value = this.value.view();
    const ts = this.ts.view();
    const line = this.line.view();
    const user = this.user.view();
    const item = this.item.view();
    const eventId: Utf8Column = { offsets: new Int32Array(m + 1), bytes: new Uint8Array(36 * m) };
    const types: string[] = new Array(m);
    const values = new Float32Array(m);
    const times = new Float64Array(m);
    const input: DerivedIdInput = {
      user: '',
      item: '',
      type: 'view',
      value: null,
      ts: 0,
      hasTs: false,
      line: 0,
    };
    for (let k = 0; k < m; k++) {
      const r = rows[k]!;
      const f = flags[r]!;
      types[k] = EVENT_TYPES[f & TYPE_MASK]!;
      values[k] = value[r]!;
      times[k] = ts[r]!;
      eventId.offsets[k + 1] = 36 * (k + 1);
      if (f & HAS_ID) writeUuid(this.ids!, r * 16, eventId.bytes, 36 * k);
      else {
        input.user = this.users.values[user[r]!]!;
        input.item = this.items.values[item[r]!]!;
        input.type = types[k] as EventType;
        input.value = Number.isNaN(value[r]!) ? null : value[r]!;
        input.ts = ts[r]!;
        input.hasTs = (f & HAS_TS) !== 0;
        input.line = line[r]!;
        writeStableUuid(eventName(input), eventId.bytes, 36 * k);
      }
    }
    return {
      eventId,
      userId: this.userBytes.column(user, rows),
      itemId: this.itemBytes.column(item, rows),
      type: types,
      value: values,
      ts: times,
    };
  }
}

/** The UTF-8 bytes of each interned id, encoded once, and string columns gathered from them. */
class EncodedIds {
  private readonly bytes: (Uint8Array | undefined)[] = [];
  constructor(private readonly ids: Interner) {}

  column(codes: Int32Array, rows: Int32Array): Utf8Column {
    const m = rows.length;
    const offsets = new Int32Array(m + 1);
    let size = 0;
    for (let k = 0; k < m; k++) {
      const code = codes[rows[k]!]!;
      let b = this.bytes[code];
      if (b === undefined) {
        b = Buffer.from(this.ids.values[code]!, 'utf8');
        this.bytes[code] = b;
      }
      size += b.length;
      offsets[k + 1] = size;
    }
    const out = new Uint8Array(size);
    for (let k = 0; k < m; k++) {
      const b = this.bytes[codes[rows[k]!]!]!;
      let at = offsets[k]!;
      for (let j = 0; j < b.length; j++) out[at++] = b[j]!;
    }
    return { offsets, bytes: out };
  }
}
