/**
 * One archive part decoded for training, on a reader thread (workers/archive-reader.ts): the
 * Parquet bytes → columns of numbers the main thread merges without touching a string per
 * row — user and item ids as codes into the part's own dictionaries (each distinct id decoded
 * once), the event id as a 64-bit fingerprint, the type as its index in the event contract.
 */
import * as arrow from 'apache-arrow';
import { checkArchiveSchema } from '../data/archive-format.js';
import { BytesInterner, fingerprint } from '../data/byte-keys.js';
import { DataError } from '../data/errors.js';
import { decodeParquet } from '../data/parquet-loader.js';
import { EVENT_TYPES, isEventType } from '../events/index.js';

export interface DecodedPart {
  rows: number;
  users: string[];
  items: string[];
  user: Int32Array;
  item: Int32Array;
  /** Index into EVENT_TYPES. */
  type: Int8Array;
  /** NaN where the event has no value. */
  value: Float32Array;
  /** Epoch ms. */
  ts: Float64Array;
  /** Event-id fingerprints: row r is (id[2r], id[2r + 1]). */
  id: Int32Array;
}

/** (src/data/archive-format.ts has decodeArchivePart for the rows as they are; this one is for training.) */
export async function decodeTrainingPart(bytes: Uint8Array, file: string): Promise<DecodedPart> {
  const table = await decodeParquet(bytes, file);
  // The archive's columns in its order: event_id, user_id, item_id, type, value, ts.
  checkArchiveSchema(table.schema, file);
  const n = table.numRows;
  const users = new BytesInterner();
  const items = new BytesInterner();
  const types = new BytesInterner();
  const out: DecodedPart = {
    rows: n,
    users: users.strings,
    items: items.strings,
    user: new Int32Array(n),
    item: new Int32Array(n),
    type: new Int8Array(n),
    value: new Float32Array(n),
    ts: new Float64Array(n),
    id: new Int32Array(2 * n),
  };
  let base = 0;
  for (const batch of table.batches) {
    const col = (k: number) => batch.getChildAt(k)!.data[0]!;
    const ev = utf8(col(0), file, 'event_id');
    for (let r = 0; r < batch.numRows; r++)
      fingerprint(ev.bytes, ev.offsets[r]!, ev.offsets[r + 1]!, out.id, 2 * (base + r));
    out.user.set(codes(col(1), users, file, 'user_id', base), base);
    out.item.set(codes(col(2), items, file, 'item_id', base), base);
    const typeCode = codes(col(3), types, file, 'type', base);
    const index = Int8Array.from(types.strings, (name) => {
      if (!isEventType(name)) throw new DataError(file, undefined, `unknown event type "${name}"`);
      return EVENT_TYPES.indexOf(name);
    });
    for (let r = 0; r < batch.numRows; r++) out.type[base + r] = index[typeCode[r]!]!;
    const value = col(4);
    for (let r = 0; r < batch.numRows; r++)
      out.value[base + r] = value.getValid(r) ? (value.values[r] as number) : Number.NaN;
    out.ts.set(millis(col(5), file), base);
    base += batch.numRows;
  }
  return out;
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
    const map = codes(data.dictionary!.data[0]!, interner, file, name, rowBase);
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
