/**
 * The interaction archive's format (DESIGN.md §4), shared by the layer that writes it (speed:
 * retention → archive) and the ones that read it (batch: training, imports). Files live in the
 * object store under one folder per UTC day of the event,
 *   archive/interactions/dt=YYYY-MM-DD/<name>.parquet
 * (Hive-style, so DuckDB, Spark and pyarrow datasets see a `dt` partition column), with the columns
 *   event_id string, user_id string, item_id string, type string   (required)
 *   value float32                                                  (null for an event without one)
 *   ts timestamp[ms, UTC]                                          (required)
 * A part is built from column arrays (no object per row) and encoded with parquet-wasm (zstd).
 */
import * as arrow from 'apache-arrow';
import { DataError } from './errors.js';
import { decodeParquet, encodeParquet } from './parquet-loader.js';

export const ARCHIVE_PREFIX = 'archive/interactions/';

/** The UTC day (YYYY-MM-DD) of an epoch-ms timestamp: the event's partition. */
export const dayOf = (ts: number) => new Date(ts).toISOString().slice(0, 10);

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const KEY_DAY = /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//;

/** The folder of one day's parts: `archive/interactions/dt=YYYY-MM-DD/`. */
export function partitionPrefix(day: string): string {
  if (!DAY.test(day)) throw new RangeError(`not a YYYY-MM-DD day: ${JSON.stringify(day)}`);
  return `${ARCHIVE_PREFIX}dt=${day}/`;
}

/** The key of a part named `name` (letters, digits, '-', '_') in a day's partition. */
export function partKey(day: string, name: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new RangeError(`not a part name: ${JSON.stringify(name)}`);
  return `${partitionPrefix(day)}${name}.parquet`;
}

/** The day a key's partition stands for, or null when the key is not in a day partition. */
export function dayOfKey(key: string): string | null {
  return KEY_DAY.exec(key)?.[1] ?? null;
}

/** The archive's Arrow schema (field order as in the files). */
export const ARCHIVE_SCHEMA = new arrow.Schema([
  new arrow.Field('event_id', new arrow.Utf8(), false),
  new arrow.Field('user_id', new arrow.Utf8(), false),
  new arrow.Field('item_id', new arrow.Utf8(), false),
  new arrow.Field('type', new arrow.Utf8(), false),
  new arrow.Field('value', new arrow.Float32(), true),
  new arrow.Field('ts', new arrow.TimestampMillisecond('UTC'), false),
]);

/** One part's rows as columns: row i is (eventId[i], userId[i], …). */
export interface ArchiveColumns {
  eventId: readonly string[];
  userId: readonly string[];
  itemId: readonly string[];
  type: readonly string[];
  /** float32 values; null where the event had none. */
  value: ArrayLike<number | null>;
  /** Epoch milliseconds, UTC (integers). */
  ts: ArrayLike<number>;
}

/** A string column already in UTF-8: row i is bytes[offsets[i], offsets[i + 1]). */
export interface Utf8Column {
  offsets: Int32Array;
  bytes: Uint8Array;
}

/**
 * ArchiveColumns whose string columns may come already encoded (imports build them from
 * interned ids without a string per row).
 */
export type EncodedArchiveColumns = {
  [K in 'eventId' | 'userId' | 'itemId' | 'type']: readonly string[] | Utf8Column;
} & Pick<ArchiveColumns, 'value' | 'ts'>;

const rowsOf = (c: ArrayLike<unknown> | Utf8Column): number =>
  'offsets' in c ? c.offsets.length - 1 : c.length;

export function archiveRowCount(cols: EncodedArchiveColumns): number {
  const n = rowsOf(cols.eventId);
  for (const [name, c] of Object.entries(cols) as [string, ArrayLike<unknown> | Utf8Column][]) {
    if (rowsOf(c) !== n) throw new RangeError(`archive column ${name} has ${rowsOf(c)} rows, event_id ${n}`);
  }
  return n;
}

/**
 * The columns as one Arrow table with ARCHIVE_SCHEMA (one record batch). A null value — or NaN,
 * which no event's value can be — is stored as null.
 */
export function archiveTableFromColumns(cols: EncodedArchiveColumns): arrow.Table {
  const n = archiveRowCount(cols);
  const values = new Float32Array(n);
  const validity = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  const ts = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const v = cols.value[i];
    if (v === null || v === undefined || Number.isNaN(v)) nulls++;
    else {
      values[i] = v;
      validity[i >> 3]! |= 1 << (i & 7);
    }
    const t = cols.ts[i]!;
    if (!Number.isSafeInteger(t)) throw new RangeError(`archive row ${i}: ts ${t} is not an integer ms`);
    ts[i] = BigInt(t);
  }
  const [eventId, userId, itemId, type, value, tsField] = ARCHIVE_SCHEMA.fields as [
    arrow.Field<arrow.Utf8>,
    arrow.Field<arrow.Utf8>,
    arrow.Field<arrow.Utf8>,
    arrow.Field<arrow.Utf8>,
    arrow.Field<arrow.Float32>,
    arrow.Field<arrow.TimestampMillisecond>,
  ];
  const children = [
    utf8Data(eventId.type, cols.eventId),
    utf8Data(userId.type, cols.userId),
    utf8Data(itemId.type, cols.itemId),
    utf8Data(type.type, cols.type),
    arrow.makeData({
      type: value.type,
      length: n,
      nullCount: nulls,
      data: values,
      nullBitmap: nulls > 0 ? validity : undefined,
    }),
    arrow.makeData({ type: tsField.type, length: n, nullCount: 0, data: ts }),
  ];
  const struct = arrow.makeData({
    type: new arrow.Struct(ARCHIVE_SCHEMA.fields),
    length: n,
    nullCount: 0,
    children,
  });
  return new arrow.Table([new arrow.RecordBatch(ARCHIVE_SCHEMA, struct)]);
}

/** A Utf8 column straight from strings (one pass for the byte length, one to write) or bytes. */
function utf8Data(type: arrow.Utf8, strings: readonly string[] | Utf8Column): arrow.Data<arrow.Utf8> {
  if ('offsets' in strings) {
    const { offsets, bytes } = strings;
    return arrow.makeData({
      type,
      length: offsets.length - 1,
      nullCount: 0,
      valueOffsets: offsets,
      data: bytes,
    });
  }
  const n = strings.length;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const s = strings[i];
    if (typeof s !== 'string') throw new TypeError(`archive row ${i}: expected a string, got ${s}`);
    bytes += Buffer.byteLength(s, 'utf8');
  }
  const data = new Uint8Array(bytes);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const valueOffsets = new Int32Array(n + 1);
  let at = 0;
  for (let i = 0; i < n; i++) {
    at += buf.write(strings[i]!, at, 'utf8');
    valueOffsets[i + 1] = at;
  }
  return arrow.makeData({ type, length: n, nullCount: 0, valueOffsets, data });
}

/** One part as Parquet bytes. */
export function encodeArchivePart(cols: EncodedArchiveColumns): Promise<Uint8Array> {
  return encodeParquet(archiveTableFromColumns(cols));
}

/** Writable columns for n rows, to fill in place (readers, generators). */
export function archiveColumnsFor(n: number) {
  return {
    eventId: new Array<string>(n),
    userId: new Array<string>(n),
    itemId: new Array<string>(n),
    type: new Array<string>(n),
    value: new Array<number | null>(n),
    ts: new Float64Array(n),
  };
}

/**
 * Parquet bytes of a part → its columns, after checking the schema is the archive's (names, and
 * types as a Parquet round trip gives them back). `label` names the file in errors.
 */
export async function decodeArchivePart(bytes: Uint8Array, label: string): Promise<ArchiveColumns> {
  const table = await decodeParquet(bytes, label);
  checkArchiveSchema(table.schema, label);
  const n = table.numRows;
  const out = archiveColumnsFor(n);
  const strings = [out.eventId, out.userId, out.itemId, out.type];
  let base = 0;
  for (const batch of table.batches) {
    for (let c = 0; c < 4; c++) {
      const vec = batch.getChildAt(c)!;
      const col = strings[c]!;
      for (let i = 0; i < batch.numRows; i++) {
        const s = vec.get(i) as string | null;
        if (s === null)
          throw new DataError(label, undefined, `null ${ARCHIVE_SCHEMA.fields[c]!.name}`, {
            row: base + i + 1,
          });
        col[base + i] = s;
      }
    }
    const value = batch.getChildAt(4)!;
    for (let i = 0; i < batch.numRows; i++) out.value[base + i] = value.get(i) as number | null;
    const ts = batch.getChildAt(5)!;
    for (let i = 0; i < batch.numRows; i++) {
      const t = ts.get(i) as number | bigint | null;
      if (t === null) throw new DataError(label, undefined, 'null ts', { row: base + i + 1 });
      out.ts[base + i] = Number(t);
    }
    base += batch.numRows;
  }
  return out;
}

/** Throws a DataError unless `schema` has the archive's columns, in order, with its types. */
export function checkArchiveSchema(schema: arrow.Schema, label: string): void {
  const got = schema.fields.map((f) => `${f.name}: ${f.type}`);
  const want = ARCHIVE_SCHEMA.fields.map((f) => `${f.name}: ${f.type}`);
  const same =
    got.length === want.length &&
    schema.fields.every((f, i) => {
      const w = ARCHIVE_SCHEMA.fields[i]!;
      return f.name === w.name && sameType(f.type, w.type);
    });
  if (!same) {
    throw new DataError(
      label,
      undefined,
      `not an archive part: columns are ${got.join(', ')}; expected ${want.join(', ')}`,
    );
  }
}

function sameType(got: arrow.DataType, want: arrow.DataType): boolean {
  if (arrow.DataType.isUtf8(want)) return arrow.DataType.isUtf8(got) || arrow.DataType.isLargeUtf8(got);
  if (arrow.DataType.isFloat(want)) return arrow.DataType.isFloat(got) && got.precision === want.precision;
  if (arrow.DataType.isTimestamp(want)) {
    return (
      arrow.DataType.isTimestamp(got) &&
      got.unit === want.unit &&
      (got.timezone === 'UTC' || got.timezone === '+00:00')
    );
  }
  return false;
}
