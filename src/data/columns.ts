/**
 * Column builders for interaction tables.
 *
 * Loaders append one interaction at a time into growable typed arrays (amortised doubling)
 * and intern ids into dictionaries; the Arrow table is made once at the end. That keeps a
 * 20M-row load at a few bytes per row (two int32 codes, a float32, a float64) instead of
 * four JS values per row, and makes the id columns dictionary-encoded Utf8, which is what
 * matrix.ts turns into dense indices without hashing a string per row.
 */
import * as arrow from 'apache-arrow';
import type { Fields } from './fields.js';

type Typed = Uint8Array | Int32Array | Float32Array | Float64Array;

/** A typed array that grows by doubling; `view()` is the filled prefix. */
export class Growable<T extends Typed> {
  private buf: T;
  length = 0;

  constructor(
    private readonly make: (n: number) => T,
    capacity = 1024,
  ) {
    this.buf = make(Math.max(16, capacity));
  }

  push(v: number): void {
    if (this.length === this.buf.length) this.grow();
    this.buf[this.length++] = v;
  }

  private grow(): void {
    const next = this.make(this.buf.length * 2);
    next.set(this.buf as never);
    this.buf = next;
  }

  /** The filled prefix; copied down to size when the slack is large, so it can be freed. */
  view(): T {
    if (this.buf.length - this.length > 4096 && this.buf.length > this.length * 1.05) {
      const exact = this.make(this.length);
      exact.set(this.buf.subarray(0, this.length) as never);
      this.buf = exact;
    }
    return this.buf.subarray(0, this.length) as T;
  }
}

/**
 * String interning with insertion-ordered codes.
 *
 * Ids that are canonical decimal integers ("1", "4071", not "007") — the common case in
 * ratings files — are interned by value through a direct table, so a row costs no string
 * and no hash lookup; the string is made once per distinct id. Other ids go through a Map.
 * Both routes give the same code for the same text, whichever way it arrives.
 *
 * New string ids are copied flat so a stored id never pins the multi-megabyte chunk
 * string it was sliced from (V8 keeps the parent of a sliced string alive).
 */
export class Interner {
  readonly codes = new Map<string, number>();
  readonly values: string[] = [];
  private byInt = new Int32Array(1024).fill(-1); // canonical int id → code, −1 = unseen

  intern(s: string): number {
    const v = canonicalInt(s);
    if (v >= 0) return this.internInt(v);
    let code = this.codes.get(s);
    if (code === undefined) {
      code = this.values.length;
      const own = s.length >= 13 ? Buffer.from(s, 'utf8').toString('utf8') : s;
      this.codes.set(own, code);
      this.values.push(own);
    }
    return code;
  }

  /** Code of the id whose text is String(v), for a canonical integer 0 ≤ v < 1e9. */
  internInt(v: number): number {
    if (v >= INT_TABLE_MAX) return this.internBigInt(v);
    if (v >= this.byInt.length) {
      let size = this.byInt.length;
      while (size <= v) size *= 2;
      const next = new Int32Array(Math.min(size, INT_TABLE_MAX)).fill(-1);
      next.set(this.byInt);
      this.byInt = next;
    }
    let code = this.byInt[v]!;
    if (code < 0) {
      code = this.values.length;
      this.byInt[v] = code;
      this.values.push(String(v));
    }
    return code;
  }

  // Integer ids too large for the direct table share the string map (keyed by their text).
  private internBigInt(v: number): number {
    const s = String(v);
    let code = this.codes.get(s);
    if (code === undefined) {
      code = this.values.length;
      this.codes.set(s, code);
      this.values.push(s);
    }
    return code;
  }
}

/** Ids up to this value use the direct table (at most 16 MiB of int32). */
const INT_TABLE_MAX = 1 << 22;

/** v when `s` is a canonical decimal integer of 1–9 digits, else −1. */
function canonicalInt(s: string): number {
  const len = s.length;
  if (len < 1 || len > 9) return -1;
  let c = s.charCodeAt(0) - 48;
  if (c < 0 || c > 9 || (c === 0 && len > 1)) return -1;
  let v = c;
  for (let i = 1; i < len; i++) {
    c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** The schema every loader returns (see loaders.ts). */
export function interactionsSchema(): arrow.Schema {
  return new arrow.Schema([
    new arrow.Field('user', new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()), false),
    new arrow.Field('item', new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()), false),
    new arrow.Field('value', new arrow.Float32(), false),
    new arrow.Field('ts', new arrow.TimestampMillisecond('UTC'), true),
  ]);
}

export class InteractionsBuilder {
  readonly users = new Interner();
  readonly items = new Interner();
  private readonly userCodes: Growable<Int32Array>;
  private readonly itemCodes: Growable<Int32Array>;
  private readonly values: Growable<Float32Array>;
  private readonly ts: Growable<Float64Array>; // epoch ms, NaN = null
  private tsNulls = 0;

  constructor(capacity = 1 << 16) {
    this.userCodes = new Growable((n) => new Int32Array(n), capacity);
    this.itemCodes = new Growable((n) => new Int32Array(n), capacity);
    this.values = new Growable((n) => new Float32Array(n), capacity);
    this.ts = new Growable((n) => new Float64Array(n), capacity);
  }

  get length(): number {
    return this.values.length;
  }

  /** Append one interaction; `tsMs` NaN means no timestamp. */
  add(user: string, item: string, value: number, tsMs: number): void {
    this.addCodes(this.users.intern(user), this.items.intern(item), value, tsMs);
  }

  /** Append with ids given as field spans: canonical integer ids skip string creation. */
  addFields(fields: Fields, userField: number, itemField: number, value: number, tsMs: number): void {
    const u = fields.canonicalInt(userField);
    const i = fields.canonicalInt(itemField);
    this.addCodes(
      u >= 0 ? this.users.internInt(u) : this.users.intern(fields.str(userField)),
      i >= 0 ? this.items.internInt(i) : this.items.intern(fields.str(itemField)),
      value,
      tsMs,
    );
  }

  /** Append with already-interned codes (the Parquet dictionary fast path). */
  addCodes(user: number, item: number, value: number, tsMs: number): void {
    this.userCodes.push(user);
    this.itemCodes.push(item);
    this.values.push(value);
    this.ts.push(tsMs);
    if (Number.isNaN(tsMs)) this.tsNulls++;
  }

  finish(): arrow.Table {
    const schema = interactionsSchema();
    const n = this.length;
    const [userField, itemField, valueField, tsField] = schema.fields as [
      arrow.Field<arrow.Dictionary<arrow.Utf8, arrow.Int32>>,
      arrow.Field<arrow.Dictionary<arrow.Utf8, arrow.Int32>>,
      arrow.Field<arrow.Float32>,
      arrow.Field<arrow.TimestampMillisecond>,
    ];
    const userData = arrow.makeData({
      type: userField.type,
      length: n,
      nullCount: 0,
      data: this.userCodes.view(),
      dictionary: arrow.vectorFromArray(this.users.values, new arrow.Utf8()),
    });
    const itemData = arrow.makeData({
      type: itemField.type,
      length: n,
      nullCount: 0,
      data: this.itemCodes.view(),
      dictionary: arrow.vectorFromArray(this.items.values, new arrow.Utf8()),
    });
    const valueData = arrow.makeData({
      type: valueField.type,
      length: n,
      nullCount: 0,
      data: this.values.view(),
    });
    const tsData = timestampData(tsField.type, this.ts.view(), this.tsNulls);
    const struct = arrow.makeData({
      type: new arrow.Struct(schema.fields),
      length: n,
      nullCount: 0,
      children: [userData, itemData, valueData, tsData],
    });
    return new arrow.Table([new arrow.RecordBatch(schema, struct)]);
  }
}

/**
 * Float64 epoch-ms (NaN = null) → Arrow timestamp data. Arrow stores int64; the values are
 * written as two int32 halves instead of through BigInt, which would allocate per row.
 */
function timestampData(type: arrow.TimestampMillisecond, ms: Float64Array, nulls: number): arrow.Data {
  const n = ms.length;
  const out = new BigInt64Array(n);
  const halves = new Int32Array(out.buffer);
  const bitmap = nulls > 0 ? new Uint8Array((n + 7) >> 3) : undefined;
  for (let i = 0; i < n; i++) {
    const x = ms[i]!;
    if (Number.isNaN(x)) continue; // null: value stays 0, validity bit stays 0
    const hi = Math.floor(x / 4294967296);
    halves[2 * i] = (x - hi * 4294967296) | 0;
    halves[2 * i + 1] = hi | 0;
    if (bitmap) bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return arrow.makeData({ type, length: n, nullCount: nulls, nullBitmap: bitmap, data: out });
}
