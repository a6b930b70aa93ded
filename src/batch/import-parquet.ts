/**
 * Parquet files as import sources, read a record batch at a time: the archive's own schema
 * (event_id, user_id, item_id, type, value, ts — parts written by recsys, pyarrow or Spark) and
 * plain tables of user/item/value/ts columns, found by the same names as CSV headers
 * (import-csv.ts). Column types:
 *   user, item     strings (plain, large, view or dictionary-encoded) or integers
 *   type, event_id strings (event_id also 16-byte binary UUIDs)
 *   value          integers or floats
 *   ts             timestamps of any unit (a zone-less one is read as UTC) or dates; integers or
 *                  floats as epoch milliseconds (seconds with tsUnit 's'); strings as in CSV
 * A null is a field the row does not have. Every row is checked by the event contract.
 */
import * as arrow from 'apache-arrow';
import { DataError } from '../data/errors.js';
import { numericReader, openParquetBatches } from '../data/parquet-loader.js';
import { contentEventName, type ImportSource } from './import.js';
import { eventColumns, readItemsCsv, type TableOptions } from './import-csv.js';
import { emptyRawEvent } from './import-rows.js';

type Reader<T> = (i: number) => T | undefined;

const isString = (t: arrow.DataType): boolean =>
  arrow.DataType.isUtf8(t) ||
  arrow.DataType.isLargeUtf8(t) ||
  arrow.DataType.isUtf8View(t) ||
  (arrow.DataType.isDictionary(t) && isString(t.dictionary));
const isInteger = (t: arrow.DataType): boolean =>
  arrow.DataType.isInt(t) || (arrow.DataType.isDictionary(t) && isInteger(t.dictionary));
const isUuidBinary = (t: arrow.DataType): boolean =>
  arrow.DataType.isFixedSizeBinary(t) && t.byteWidth === 16;

const ROLES = {
  id: { ok: (t: arrow.DataType) => isString(t) || isInteger(t), want: 'strings or integers' },
  type: { ok: isString, want: 'strings' },
  eventId: { ok: (t: arrow.DataType) => isString(t) || isUuidBinary(t), want: 'strings or 16-byte UUIDs' },
  value: {
    ok: (t: arrow.DataType) => arrow.DataType.isInt(t) || arrow.DataType.isFloat(t),
    want: 'integers or floats',
  },
  ts: {
    ok: (t: arrow.DataType) =>
      arrow.DataType.isTimestamp(t) ||
      arrow.DataType.isDate(t) ||
      arrow.DataType.isInt(t) ||
      arrow.DataType.isFloat(t) ||
      isString(t),
    want: 'timestamps, dates, numbers or strings',
  },
} as const;

function checkRole(file: string, field: arrow.Field, role: keyof typeof ROLES): void {
  if (!ROLES[role].ok(field.type))
    throw new DataError(
      file,
      undefined,
      `column ${JSON.stringify(field.name)} has type ${field.type}; expected ${ROLES[role].want}`,
    );
}

function stringReader(vec: arrow.Vector): Reader<string> {
  return (i) => {
    const x = vec.get(i) as unknown;
    return x === null || x === undefined ? undefined : typeof x === 'string' ? x : String(x);
  };
}

function uuidReader(vec: arrow.Vector): Reader<string> {
  if (!isUuidBinary(vec.type)) return stringReader(vec);
  return (i) => {
    const b = vec.get(i) as Uint8Array | null;
    if (b === null) return undefined;
    const x = Buffer.from(b.buffer, b.byteOffset, 16).toString('hex');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
  };
}

/** ts as the row gives it: epoch ms for timestamp and date columns (`ms`), else the number or text. */
function tsReader(vec: arrow.Vector): { read: Reader<number | string>; ms: boolean } {
  const t = vec.type;
  if (arrow.DataType.isTimestamp(t) || arrow.DataType.isDate(t)) {
    // Arrow gives epoch ms for every unit (fractional below a ms: dropped, as the contract does).
    return {
      read: (i) => {
        const x = vec.get(i) as number | bigint | null;
        return x === null ? undefined : Math.floor(Number(x));
      },
      ms: true,
    };
  }
  if (isString(t)) {
    return {
      read: (i) => {
        const s = vec.get(i) as string | null;
        if (s === null || s === '') return undefined;
        return /^[-+]?\d+(\.\d+)?$/.test(s) ? Number(s) : s;
      },
      ms: false,
    };
  }
  const num = numericReader(vec.data[0]!);
  return { read: (i) => num(i) ?? undefined, ms: false };
}

export function parquetSource(file: string, opts: TableOptions = {}): ImportSource {
  return {
    format: 'parquet',
    file,
    files: opts.items ? [file, opts.items] : [file],
    policy: { defaultType: opts.type, tsUnit: opts.tsUnit ?? 'ms' },
    progressUnit: 'rows',
    async read(rows, progress) {
      const pf = await openParquetBatches(file);
      try {
        const fields = pf.schema.fields;
        const names = fields.map((f) => f.name);
        const cols = eventColumns(file, names);
        const read = (
          [
            ['user', cols.user, 'id'],
            ['item', cols.item, 'id'],
            ['type', cols.type, 'type'],
            ['value', cols.value, 'value'],
            ['ts', cols.ts, 'ts'],
            ['eventId', cols.eventId, 'eventId'],
          ] as const
        ).filter(([, at]) => at >= 0);
        for (const [, at, role] of read) checkRole(file, fields[at]!, role);
        const raw = emptyRawEvent();
        let done = 0;
        progress(0, pf.numRows);
        for await (const batch of pf.batches(read.map(([, at]) => names[at]!))) {
          const column = (name: string) => batch.getChild(name)!;
          const user = stringReader(column(names[cols.user]!));
          const item = stringReader(column(names[cols.item]!));
          const type = cols.type >= 0 ? stringReader(column(names[cols.type]!)) : null;
          const valueData = cols.value >= 0 ? numericReader(column(names[cols.value]!).data[0]!) : null;
          const ts = cols.ts >= 0 ? tsReader(column(names[cols.ts]!)) : null;
          const eventId = cols.eventId >= 0 ? uuidReader(column(names[cols.eventId]!)) : null;
          raw.tsIsMs = ts?.ms ?? false;
          for (let i = 0; i < batch.numRows; i++) {
            raw.user_id = user(i);
            raw.item_id = item(i);
            raw.type = type?.(i);
            raw.value = valueData?.(i) ?? undefined;
            raw.ts = ts?.read(i);
            raw.event_id = eventId?.(i);
            rows.add(raw, file, done + i + 1, 'row');
          }
          done += batch.numRows;
          progress(done, pf.numRows);
        }
        return { ignored: cols.ignored };
      } finally {
        pf.close();
      }
    },
    catalog: opts.items ? (rejections) => readItemsCsv(opts.items!, rejections) : undefined,
    eventName: contentEventName,
  };
}
