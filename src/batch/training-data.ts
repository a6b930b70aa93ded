/**
 * A batch run's training data: the archive's Parquet parts of the window's days, read one part
 * at a time record batch by record batch, then the `rt_user_interactions` rows of the window
 * (the last hours, not all archived yet; rows already archived but not yet deleted are met
 * twice and kept once) — deduplicated by event id and weighted per event type by the shared
 * event contract. The result is one COO with times over fresh id maps.
 *
 * Explicit models learn ratings, so only `rating` events with a value count there (as in the
 * speed layer's fold-in); implicit ones count every event at its type's weight × value.
 */
import * as arrow from 'apache-arrow';
import { dayOf } from '../data/archive-format.js';
import { BytesInterner, HashSet64 } from '../data/byte-keys.js';
import { DataError } from '../data/errors.js';
import { IdMap } from '../data/ids.js';
import type { Coo } from '../data/matrix.js';
import { decodeParquet } from '../data/parquet-loader.js';
import { EVENT_TYPES, type EventWeights, eventWeight, isEventType } from '../events/index.js';
import type { AlsMode } from '../model/params.js';
import type { Stores } from '../stores/index.js';
import { listArchive } from './archive.js';

export interface TrainingDataOptions {
  /** Oldest event time taken (epoch ms); null: everything. */
  fromMs: number | null;
  mode: AlsMode;
  weights: EventWeights;
  /** After each archive part: parts read so far and in all. */
  onPart?: (done: number, total: number) => void;
}

export interface TrainingData {
  coo: Coo & { ts: Float64Array };
  stats: {
    parts: number;
    archived: number;
    recent: number;
    duplicates: number;
    /** Events that do not count for this mode (weight 0, or not a rating in explicit mode). */
    ignored: number;
  };
}

const RT_PAGE = 100_000;
const encoder = new TextEncoder();

export async function readTrainingData(
  stores: Pick<Stores, 'db' | 'objects'>,
  opts: TrainingDataOptions,
): Promise<TrainingData> {
  const acc = new Accumulator(opts);
  const keys = await listArchive(stores.objects, opts.fromMs === null ? {} : { fromDay: dayOf(opts.fromMs) });
  let parts = 0;
  for (const key of keys) {
    const table = await decodeParquet(await stores.objects.get(key), key);
    acc.addTable(table, key);
    parts++;
    opts.onPart?.(parts, keys.length);
  }
  const archived = acc.rows;
  await readRecent(stores.db, opts.fromMs, acc);
  return {
    coo: acc.finish(),
    stats: {
      parts,
      archived,
      recent: acc.rows - archived,
      duplicates: acc.duplicates,
      ignored: acc.ignored,
    },
  };
}

interface RtRow {
  event_id: string;
  user_id: string;
  item_id: string;
  type: string;
  value: number | null;
  ts: number;
}

async function readRecent(db: Stores['db'], fromMs: number | null, acc: Accumulator): Promise<void> {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    // Keyset pages by event id: bounded memory whatever the last hours held.
    const { rows } = await db.query<RtRow>(
      `SELECT event_id::text AS event_id, user_id, item_id, type, value,
              (extract(epoch FROM ts) * 1000)::float8 AS ts
         FROM rt_user_interactions
        WHERE event_id > $1::uuid AND ($2::float8 IS NULL OR ts >= to_timestamp($2::float8 / 1000))
        ORDER BY event_id LIMIT ${RT_PAGE}`,
      [after, fromMs],
    );
    for (const r of rows) {
      const id = encoder.encode(r.event_id);
      acc.addOne(id, r.user_id, r.item_id, r.type, r.value, Math.round(r.ts));
    }
    if (rows.length < RT_PAGE) return;
    after = rows[rows.length - 1]!.event_id;
  }
}

/** Growing column arrays, the id maps and the event-id set. */
class Accumulator {
  /**
   * Event ids seen, one set per UTC day of the event: copies of an event share its time, so
   * they meet in the same day's set, and a day's set is small enough to stay in cache while
   * its partition is read (one set of 20M ids is mostly cache misses).
   */
  private readonly seenByDay = new Map<number, HashSet64>();
  private seenDay = Number.NaN;
  private seen = new HashSet64();
  private readonly users = new BytesInterner();
  private readonly items = new BytesInterner();
  private readonly typeWeight: Float32Array;
  private readonly explicit: boolean;
  private readonly fromMs: number;
  private u = new Int32Array(1 << 16);
  private i = new Int32Array(1 << 16);
  private v = new Float32Array(1 << 16);
  private t = new Float64Array(1 << 16);
  rows = 0;
  duplicates = 0;
  ignored = 0;

  constructor(opts: TrainingDataOptions) {
    this.explicit = opts.mode === 'explicit';
    this.fromMs = opts.fromMs ?? Number.NEGATIVE_INFINITY;
    this.typeWeight = Float32Array.from(EVENT_TYPES, (type) => eventWeight(type, 1, opts.weights));
  }

  addTable(table: arrow.Table, file: string): void {
    const col = (name: string) => {
      const i = table.schema.fields.findIndex((f) => f.name === name);
      if (i < 0) throw new DataError(file, undefined, `not an archive part: no column "${name}"`);
      return i;
    };
    const [eid, uid, iid, typ, val, ts] = ['event_id', 'user_id', 'item_id', 'type', 'value', 'ts'].map(col);
    const types = new BytesInterner();
    let typeCode: Int32Array = new Int32Array(0);
    let rowBase = 0;
    for (const batch of table.batches) {
      const n = batch.numRows;
      const ev = utf8(batch.getChildAt(eid!)!.data[0]!, file, 'event_id');
      const us = codes(batch.getChildAt(uid!)!.data[0]!, this.users, file, 'user_id', rowBase);
      const it = codes(batch.getChildAt(iid!)!.data[0]!, this.items, file, 'item_id', rowBase);
      const ty = codes(batch.getChildAt(typ!)!.data[0]!, types, file, 'type', rowBase);
      if (types.size > typeCode.length) typeCode = typeCodes(types, file);
      const value = batch.getChildAt(val!)!.data[0]!;
      const time = millis(batch.getChildAt(ts!)!.data[0]!, file);
      for (let r = 0; r < n; r++) {
        if (time[r]! < this.fromMs) continue;
        if (!this.seenOn(time[r]!).add(ev.bytes, ev.offsets[r]!, ev.offsets[r + 1]!)) {
          this.duplicates++;
          continue;
        }
        const x = value.getValid(r) ? (value.values[r] as number) : Number.NaN;
        this.push(us[r]!, it[r]!, typeCode[ty[r]!]!, x, time[r]!);
      }
      rowBase += n;
    }
  }

  addOne(eventId: Uint8Array, user: string, item: string, type: string, value: number | null, ts: number) {
    if (ts < this.fromMs) return;
    if (!this.seenOn(ts).add(eventId, 0, eventId.length)) {
      this.duplicates++;
      return;
    }
    const code = EVENT_TYPES.indexOf(type as (typeof EVENT_TYPES)[number]);
    if (code < 0) {
      this.ignored++;
      return;
    }
    const ub = encoder.encode(user);
    const ib = encoder.encode(item);
    this.push(
      this.users.code(ub, 0, ub.length),
      this.items.code(ib, 0, ib.length),
      code,
      value ?? Number.NaN,
      ts,
    );
  }

  private seenOn(ts: number): HashSet64 {
    const day = Math.floor(ts / 86_400_000);
    if (day !== this.seenDay) {
      let set = this.seenByDay.get(day);
      if (!set) {
        set = new HashSet64();
        this.seenByDay.set(day, set);
      }
      this.seen = set;
      this.seenDay = day;
    }
    return this.seen;
  }

  private push(user: number, item: number, typeCode: number, value: number, ts: number): void {
    let w: number;
    if (this.explicit) {
      if (EVENT_TYPES[typeCode] !== 'rating' || Number.isNaN(value)) {
        this.ignored++;
        return;
      }
      w = value;
    } else {
      w = this.typeWeight[typeCode]! * (Number.isNaN(value) ? 1 : value);
      if (w === 0 || !Number.isFinite(w)) {
        this.ignored++;
        return;
      }
    }
    if (this.rows === this.u.length) this.grow();
    const k = this.rows++;
    this.u[k] = user;
    this.i[k] = item;
    this.v[k] = w;
    this.t[k] = ts;
  }

  private grow(): void {
    const n = this.u.length * 2;
    const g = <T extends Int32Array | Float32Array | Float64Array>(a: T): T => {
      const out = new (a.constructor as new (n: number) => T)(n);
      out.set(a);
      return out;
    };
    this.u = g(this.u);
    this.i = g(this.i);
    this.v = g(this.v);
    this.t = g(this.t);
  }

  finish(): Coo & { ts: Float64Array } {
    const n = this.rows;
    return {
      userIds: IdMap.fromJSON(this.users.strings),
      itemIds: IdMap.fromJSON(this.items.strings),
      rows: this.u.slice(0, n),
      cols: this.i.slice(0, n),
      values: this.v.slice(0, n),
      ts: this.t.slice(0, n),
    };
  }
}

/** The raw bytes and offsets of a UTF-8 column (no nulls allowed). */
function utf8(data: arrow.Data, file: string, name: string): { bytes: Uint8Array; offsets: Int32Array } {
  if (!arrow.DataType.isUtf8(data.type))
    throw new DataError(file, undefined, `column ${name} is not a string column`);
  if (data.nullCount > 0) throw new DataError(file, undefined, `column ${name} has nulls`);
  return { bytes: data.values as Uint8Array, offsets: data.valueOffsets as Int32Array };
}

/** Codes per row of a string column (plain or dictionary-encoded) in `interner`. */
function codes(
  data: arrow.Data,
  interner: BytesInterner,
  file: string,
  name: string,
  rowBase: number,
): Int32Array {
  const out = new Int32Array(data.length);
  if (arrow.DataType.isDictionary(data.type)) {
    const dict = data.dictionary!.data[0]!;
    const map = codes(dict, interner, file, name, rowBase);
    for (let r = 0; r < data.length; r++) {
      if (!data.getValid(r)) throw new DataError(file, undefined, `null ${name}`, { row: rowBase + r + 1 });
      out[r] = map[Number(data.values[r])]!;
    }
    return out;
  }
  const { bytes, offsets } = utf8(data, file, name);
  for (let r = 0; r < data.length; r++) {
    const a = offsets[r]!;
    const b = offsets[r + 1]!;
    if (a === b) throw new DataError(file, undefined, `empty ${name}`, { row: rowBase + r + 1 });
    out[r] = interner.code(bytes, a, b);
  }
  return out;
}

/** The event-type index of each interned type name (a file may hold only some types). */
function typeCodes(types: BytesInterner, file: string): Int32Array {
  return Int32Array.from(types.strings, (name) => {
    if (!isEventType(name)) throw new DataError(file, undefined, `unknown event type "${name}"`);
    return EVENT_TYPES.indexOf(name);
  });
}

/** Epoch ms per row of a timestamp column (any unit). */
function millis(data: arrow.Data, file: string): Float64Array {
  if (!arrow.DataType.isTimestamp(data.type))
    throw new DataError(file, undefined, 'column ts is not a timestamp');
  if (data.nullCount > 0) throw new DataError(file, undefined, 'column ts has nulls');
  const unit = (data.type as arrow.Timestamp).unit;
  const scale = [1000, 1, 1e-3, 1e-6][unit]!; // SECOND, MILLISECOND, MICROSECOND, NANOSECOND
  const out = new Float64Array(data.length);
  const raw = data.values as BigInt64Array | Int32Array;
  if (raw instanceof BigInt64Array) for (let r = 0; r < out.length; r++) out[r] = Number(raw[r]!) * scale;
  else
    for (let r = 0; r < out.length; r++) out[r] = (raw[2 * r + 1]! * 2 ** 32 + (raw[2 * r]! >>> 0)) * scale;
  return out;
}
