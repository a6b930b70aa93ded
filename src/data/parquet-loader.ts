/**
 * Parquet interaction files, read through parquet-wasm into Arrow.
 *
 * parquet-wasm decodes the file into its own Arrow table in wasm memory; its IPC stream is
 * then read by apache-arrow (the documented hand-off between the two libraries). The
 * columns are found by the same names as CSV headers, so both the archive schema
 * (event_id, user_id, item_id, type, value, ts) and ad-hoc exports (userId, movieId,
 * rating, timestamp) load, with string or integer ids and any numeric value column; the
 * result is normalised into the same table every loader returns.
 */
import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as arrow from 'apache-arrow';
import {
  findColumn,
  ITEM_HINT,
  ITEM_NAMES,
  TS_NAMES,
  USER_HINT,
  USER_NAMES,
  VALUE_NAMES,
} from './column-names.js';
import { InteractionsBuilder, type Interner } from './columns.js';
import { DataError } from './errors.js';
import { statFile } from './lines.js';

// parquet-wasm instantiates its wasm module on import; load it only when a Parquet file
// is actually read.
type ParquetWasm = typeof import('parquet-wasm');
let parquetWasm: Promise<ParquetWasm> | null = null;
function loadParquetWasm(): Promise<ParquetWasm> {
  parquetWasm ??= import('parquet-wasm');
  return parquetWasm;
}

/** Decode a Parquet file to an apache-arrow Table (DataError when it is not Parquet). */
export async function readParquetTable(file: string): Promise<arrow.Table> {
  await statFile(file);
  return decodeParquet(await readFile(file), file);
}

/** Decode Parquet bytes (`label` names them in errors: a file or an object key). */
export async function decodeParquet(bytes: Uint8Array, label: string): Promise<arrow.Table> {
  if (bytes.length === 0) throw new DataError(label, undefined, 'empty file');
  const pq = await loadParquetWasm();
  let wasmTable: ReturnType<ParquetWasm['readParquet']>;
  try {
    wasmTable = pq.readParquet(bytes);
  } catch (err) {
    throw new DataError(label, undefined, `not a readable Parquet file (${errorText(err)})`, { cause: err });
  }
  // intoIPCStream consumes (frees) the wasm-side table; the bytes are copied out to JS.
  return arrow.tableFromIPC(wasmTable.intoIPCStream());
}

/** A Parquet file read a record batch at a time (imports of files larger than memory wants). */
export interface ParquetBatches {
  schema: arrow.Schema;
  numRows: number;
  /** The rows, `columns` only, in record batches of at most `batchRows`, in file order. */
  batches(columns: readonly string[], batchRows?: number): AsyncGenerator<arrow.RecordBatch>;
  close(): void;
}

/** Opens `file` for reading in record batches (DataError when it is not Parquet). */
export async function openParquetBatches(file: string): Promise<ParquetBatches> {
  await statFile(file);
  const pq = await loadParquetWasm();
  let pf: import('parquet-wasm').ParquetFile;
  let schema: arrow.Schema;
  let numRows: number;
  try {
    pf = await pq.ParquetFile.fromFile(await openAsBlob(file));
    schema = arrow.tableFromIPC(pf.schema().intoIPCStream()).schema;
    numRows = pf.metadata().fileMetadata().numRows();
  } catch (err) {
    throw new DataError(file, undefined, `not a readable Parquet file (${errorText(err)})`, { cause: err });
  }
  return {
    schema,
    numRows,
    async *batches(columns, batchRows = 65_536) {
      let stream: ReadableStream;
      try {
        stream = await pf.stream({ columns: [...columns], batchSize: batchRows });
      } catch (err) {
        throw new DataError(file, undefined, `not a readable Parquet file (${errorText(err)})`, {
          cause: err,
        });
      }
      const reader = stream.getReader();
      try {
        for (;;) {
          let next: ReadableStreamReadResult<import('parquet-wasm').RecordBatch>;
          try {
            next = await reader.read();
          } catch (err) {
            throw new DataError(file, undefined, `not a readable Parquet file (${errorText(err)})`, {
              cause: err,
            });
          }
          if (next.done) return;
          yield* arrow.tableFromIPC(next.value.intoIPCStream()).batches;
        }
      } finally {
        reader.releaseLock();
      }
    },
    close: () => pf.free(),
  };
}

/** Encode an apache-arrow Table as Parquet (zstd), e.g. an archive partition. */
export async function encodeParquet(table: arrow.Table): Promise<Uint8Array> {
  const pq = await loadParquetWasm();
  const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).build();
  return pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function loadParquet(file: string): Promise<arrow.Table> {
  return interactionsFromParquet(await readParquetTable(file), file);
}

/** Parquet bytes → the loaders' interactions table (user, item, value, ts). */
export async function loadParquetBytes(bytes: Uint8Array, label: string): Promise<arrow.Table> {
  return interactionsFromParquet(await decodeParquet(bytes, label), label);
}

function interactionsFromParquet(table: arrow.Table, file: string): arrow.Table {
  const names = table.schema.fields.map((f) => f.name);
  const userCol = findColumn(names, USER_NAMES);
  const itemCol = findColumn(names, ITEM_NAMES);
  if (userCol < 0 || itemCol < 0) {
    const missing = userCol < 0 ? USER_HINT : ITEM_HINT;
    throw new DataError(
      file,
      undefined,
      `no ${missing}; columns are ${names.map((n) => JSON.stringify(n)).join(', ')}`,
    );
  }
  const valueCol = findColumn(names, VALUE_NAMES);
  const tsCol = findColumn(names, TS_NAMES);
  checkType(file, table.schema.fields[userCol]!, 'id');
  checkType(file, table.schema.fields[itemCol]!, 'id');
  if (valueCol >= 0) checkType(file, table.schema.fields[valueCol]!, 'value');
  if (tsCol >= 0) checkType(file, table.schema.fields[tsCol]!, 'ts');

  if (table.numRows === 0) throw new DataError(file, undefined, 'no rows');
  const builder = new InteractionsBuilder(table.numRows);
  const userIds = new IdColumnReader(file, names[userCol]!, builder.users);
  const itemIds = new IdColumnReader(file, names[itemCol]!, builder.items);
  let rowBase = 0;
  for (const batch of table.batches) {
    const users = batch.getChildAt(userCol)!.data[0]!;
    const items = batch.getChildAt(itemCol)!.data[0]!;
    const values = valueCol >= 0 ? numericReader(batch.getChildAt(valueCol)!.data[0]!) : null;
    const tsVec = tsCol >= 0 ? batch.getChildAt(tsCol)! : null;
    const userCodes = userIds.codes(users, rowBase);
    const itemCodes = itemIds.codes(items, rowBase);
    for (let i = 0; i < batch.numRows; i++) {
      // A null value (e.g. a view event in the archive) counts as one interaction.
      let v = 1.0;
      if (values !== null) {
        const x = values(i);
        if (x !== null) {
          v = x;
          if (!Number.isFinite(v) || Math.abs(v) > 3.4028234663852886e38) {
            throw new DataError(file, undefined, `value is not a finite number: ${v}`, {
              row: rowBase + i + 1,
            });
          }
        }
      }
      let ts = Number.NaN;
      if (tsVec !== null) {
        const raw = tsVec.get(i) as unknown;
        if (raw !== null && raw !== undefined) {
          ts = toEpochMs(raw, tsVec.type);
          if (Number.isNaN(ts)) {
            throw new DataError(file, undefined, `timestamp is not valid: ${JSON.stringify(String(raw))}`, {
              row: rowBase + i + 1,
            });
          }
        }
      }
      builder.addCodes(userCodes[i]!, itemCodes[i]!, v, ts);
    }
    rowBase += batch.numRows;
  }
  return builder.finish();
}

/**
 * Row → number (or null) for a numeric column. Float32/Float64 and ≤32-bit ints read the
 * typed array directly; int64 goes through Number(); half floats through Arrow's getter.
 */
export function numericReader(data: arrow.Data): (i: number) => number | null {
  const t = data.type;
  const direct =
    (arrow.DataType.isFloat(t) && t.precision !== arrow.Precision.HALF) || arrow.DataType.isInt(t);
  const valid = data.nullCount > 0 ? (i: number) => data.getValid(i) : () => true;
  if (direct) {
    const values = data.values as ArrayLike<number | bigint>;
    return (i) => (valid(i) ? Number(values[i]) : null);
  }
  const vec = arrow.makeVector(data);
  return (i) => {
    const x = vec.get(i) as unknown;
    return x === null || x === undefined ? null : Number(x);
  };
}

function isIdType(t: arrow.DataType): boolean {
  return (
    arrow.DataType.isUtf8(t) ||
    arrow.DataType.isLargeUtf8(t) ||
    arrow.DataType.isInt(t) ||
    (arrow.DataType.isDictionary(t) && isIdType(t.dictionary))
  );
}

function checkType(file: string, field: arrow.Field, role: 'id' | 'value' | 'ts'): void {
  const t = field.type;
  const ok =
    role === 'id'
      ? isIdType(t) ||
        (arrow.DataType as unknown as { isUtf8View?: (x: unknown) => boolean }).isUtf8View?.(t) === true
      : role === 'value'
        ? arrow.DataType.isFloat(t) || arrow.DataType.isInt(t)
        : arrow.DataType.isTimestamp(t) ||
          arrow.DataType.isDate(t) ||
          arrow.DataType.isInt(t) ||
          arrow.DataType.isFloat(t) ||
          arrow.DataType.isUtf8(t) ||
          arrow.DataType.isLargeUtf8(t);
  if (!ok) {
    const want =
      role === 'id'
        ? 'string or integer'
        : role === 'value'
          ? 'integer or floating point'
          : 'timestamp, date, number or string';
    throw new DataError(
      file,
      undefined,
      `column ${JSON.stringify(field.name)} has type ${t}, expected ${want}`,
    );
  }
}

/** Timestamp/date columns come back from Arrow as epoch ms; plain numbers and strings are guessed. */
function toEpochMs(raw: unknown, type: arrow.DataType): number {
  if (arrow.DataType.isTimestamp(type) || arrow.DataType.isDate(type)) return Number(raw);
  if (typeof raw === 'number' || typeof raw === 'bigint') {
    const x = Number(raw);
    const ax = Math.abs(x);
    if (!Number.isFinite(x)) return Number.NaN;
    if (ax < 1e11) return Math.round(x * 1000);
    if (ax < 1e14) return Math.round(x);
    if (ax < 1e17) return Math.round(x / 1e3);
    return Math.round(x / 1e6);
  }
  if (typeof raw === 'string') {
    const s = /[zZ]|[-+]\d{2}:?\d{2}$/.test(raw) || !raw.includes(':') ? raw : `${raw}Z`;
    return Date.parse(s.replace(' ', 'T'));
  }
  return Number.NaN;
}

/**
 * Turns one id column, batch by batch, into builder codes. Dictionary-encoded columns are
 * mapped per distinct dictionary entry (one string conversion per id, not per row).
 */
class IdColumnReader {
  private readonly dictRemaps = new Map<object, Int32Array>();

  constructor(
    private readonly file: string,
    private readonly name: string,
    private readonly interner: Interner,
  ) {}

  codes(data: arrow.Data, rowBase: number): Int32Array {
    const n = data.length;
    const out = new Int32Array(n);
    if (arrow.DataType.isDictionary(data.type)) {
      const dict = data.dictionary!;
      let remap = this.dictRemaps.get(dict);
      if (remap === undefined) {
        remap = new Int32Array(dict.length).fill(-1);
        this.dictRemaps.set(dict, remap);
      }
      for (let i = 0; i < n; i++) {
        if (!data.getValid(i)) this.nullId(rowBase + i);
        const code = Number(data.values[i]);
        let mapped = remap[code]!;
        if (mapped < 0) {
          const s = dict.get(code);
          if (s === null || s === undefined) this.nullId(rowBase + i);
          mapped = remap[code] = this.intern(s, rowBase + i);
        }
        out[i] = mapped;
      }
      return out;
    }
    const vec = arrow.makeVector(data);
    for (let i = 0; i < n; i++) {
      const s = vec.get(i);
      if (s === null || s === undefined) this.nullId(rowBase + i);
      out[i] = this.intern(s, rowBase + i);
    }
    return out;
  }

  private intern(raw: unknown, row: number): number {
    const s = typeof raw === 'string' ? raw : String(raw);
    if (s === '') throw new DataError(this.file, undefined, `empty ${this.name}`, { row: row + 1 });
    return this.interner.intern(s);
  }

  private nullId(row: number): never {
    throw new DataError(this.file, undefined, `null ${this.name}`, { row: row + 1 });
  }
}
