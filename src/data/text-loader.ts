/**
 * Delimited text interaction files: MovieLens u.data (tab), ratings.dat ('::') and CSV
 * with a header (MovieLens ratings.csv is just a CSV whose header names the columns).
 *
 * Each line is split into field spans (fields.ts), validated, and appended to an
 * InteractionsBuilder; the first problem stops the load with a DataError naming the file
 * and the 1-based line, because a silently skipped line would change the model.
 */
import type * as arrow from 'apache-arrow';
import {
  findColumn,
  ITEM_HINT,
  ITEM_NAMES,
  TS_NAMES,
  USER_HINT,
  USER_NAMES,
  VALUE_NAMES,
} from './column-names.js';
import { InteractionsBuilder } from './columns.js';
import { DataError } from './errors.js';
import { Fields, parseTimestamp } from './fields.js';
import { forEachLine, statFile } from './lines.js';

export type TextKind = 'movielens-tab' | 'movielens-dat' | 'csv';

/** Where the columns are in a line, and what a valid line looks like. */
interface Layout {
  delim: string;
  quotes: boolean;
  user: number;
  item: number;
  value: number; // -1: no value column, every interaction weighs 1.0
  ts: number; // -1: no timestamp column
  valueName: string;
  minFields: number;
  maxFields: number;
  secondsOnly: boolean; // MovieLens timestamps are always epoch seconds
  headerless: boolean; // CSV whose first line is already data
  countError: (got: number) => string;
}

const MOVIELENS_COUNT = (got: number) =>
  `expected 3 or 4 columns (user, item, rating[, timestamp]), got ${got}`;

function movielensLayout(delim: string): Layout {
  return {
    delim,
    quotes: false,
    user: 0,
    item: 1,
    value: 2,
    ts: 3,
    valueName: 'rating',
    minFields: 3,
    maxFields: 4,
    secondsOnly: true,
    headerless: false,
    countError: MOVIELENS_COUNT,
  };
}

/** Pick the CSV delimiter from the header line: the most frequent of ',', tab and ';'. */
export function sniffDelimiter(header: string): string {
  let best = ',';
  let bestCount = 0;
  for (const d of [',', '\t', ';']) {
    const count = header.split(d).length - 1;
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}

/**
 * Layout from a CSV header line. When the line is itself data (every field a number and no
 * known column name) the file is read positionally as user, item[, value[, ts]].
 */
function csvLayout(file: string, text: string, start: number, end: number, lineNo: number): Layout {
  const line = text.slice(start, end);
  const delim = sniffDelimiter(line);
  const fields = new Fields();
  if (!fields.split(line, 0, line.length, delim, true)) {
    throw new DataError(file, lineNo, 'unterminated quoted field in header');
  }
  const names: string[] = [];
  for (let k = 0; k < fields.count; k++) names.push(fields.str(k));
  let user = findColumn(names, USER_NAMES);
  let item = findColumn(names, ITEM_NAMES);
  let value = findColumn(names, VALUE_NAMES);
  let ts = findColumn(names, TS_NAMES);
  let headerless = false;
  if (user < 0 || item < 0) {
    if (names.length >= 2 && names.every((_, k) => !Number.isNaN(fields.num(k)))) {
      headerless = true;
      user = 0;
      item = 1;
      value = names.length > 2 ? 2 : -1;
      ts = names.length > 3 ? 3 : -1;
    } else {
      const missing = user < 0 ? USER_HINT : ITEM_HINT;
      throw new DataError(
        file,
        lineNo,
        `header has no ${missing}; columns are ${names.map((n) => JSON.stringify(n)).join(', ')}`,
      );
    }
  }
  const needed = Math.max(user, item, value) + 1;
  const layout: Layout = {
    delim,
    quotes: true,
    user,
    item,
    value,
    ts,
    valueName: value >= 0 ? (headerless ? 'value' : names[value]!) : 'value',
    minFields: needed,
    maxFields: Number.POSITIVE_INFINITY,
    secondsOnly: false,
    headerless,
    countError: (got) => `expected ${needed}+ columns, got ${got}`,
  };
  return layout;
}

const F32_MAX = 3.4028234663852886e38;

export async function loadDelimited(file: string, kind: TextKind): Promise<arrow.Table> {
  const size = await statFile(file);
  // Start near the expected row count (~20 bytes a line) to avoid most regrowth.
  const builder = new InteractionsBuilder(Math.min(Math.max(1024, Math.floor(size / 32)), 1 << 26));
  const fields = new Fields();
  let layout: Layout | null =
    kind === 'movielens-tab'
      ? movielensLayout('\t')
      : kind === 'movielens-dat'
        ? movielensLayout('::')
        : null;
  let sawHeader = false;

  const onLine = (text: string, start: number, end: number, lineNo: number) => {
    // Blank (or whitespace-only) lines are skipped, e.g. a trailing empty line.
    if (start === end) return;
    const c0 = text.charCodeAt(start);
    if ((c0 === 32 || c0 === 9) && text.slice(start, end).trim() === '') return;

    if (layout === null) {
      sawHeader = true;
      layout = csvLayout(file, text, start, end, lineNo);
      if (!layout.headerless) return;
    }
    const L = layout;
    if (!fields.split(text, start, end, L.delim, L.quotes)) {
      throw new DataError(file, lineNo, 'unterminated quoted field');
    }
    const n = fields.count;
    if (n < L.minFields || n > L.maxFields) throw new DataError(file, lineNo, L.countError(n));

    if (fields.isEmpty(L.user)) throw new DataError(file, lineNo, 'empty user id');
    if (fields.isEmpty(L.item)) throw new DataError(file, lineNo, 'empty item id');

    let value = 1.0;
    if (L.value >= 0) {
      value = fields.num(L.value);
      if (Number.isNaN(value) || Math.abs(value) > F32_MAX) {
        throw new DataError(
          file,
          lineNo,
          `${L.valueName} is not a finite number: ${JSON.stringify(fields.str(L.value))}`,
        );
      }
    }

    let ts = Number.NaN;
    if (L.ts >= 0 && L.ts < n && !fields.isEmpty(L.ts)) {
      ts = parseTimestamp(fields.text[L.ts]!, fields.start[L.ts]!, fields.end[L.ts]!, L.secondsOnly);
      if (Number.isNaN(ts)) {
        const expected = L.secondsOnly ? 'epoch seconds' : 'epoch seconds, epoch milliseconds or ISO-8601';
        throw new DataError(
          file,
          lineNo,
          `timestamp is not valid: ${JSON.stringify(fields.str(L.ts))} (expected ${expected})`,
        );
      }
    }

    builder.addFields(fields, L.user, L.item, value, ts);
  };

  await forEachLine(file, onLine);

  if (builder.length === 0) {
    throw new DataError(file, undefined, sawHeader ? 'no data rows after the header' : 'empty file');
  }
  return builder.finish();
}
