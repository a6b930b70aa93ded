/**
 * CSV files as import sources: interactions, and an optional catalog of items.
 *
 * Interactions: a header row naming the columns (',', tab or ';' separated, quotes as in RFC
 * 4180; names compared without case, '_', '-' or spaces):
 *   user_id, item_id      required (also user/userId, item/itemId/movieId)
 *   type                  view|click|add_to_cart|purchase|rating|dismiss; when empty or absent,
 *                         the --type given, else `rating` for a row with a value and `view` without
 *   value                 a float32 (also rating/weight); empty: none
 *   ts                    ISO-8601 date-time with a zone, or epoch milliseconds (epoch seconds
 *                         with tsUnit 's'); also timestamp; empty: the import's time
 *   event_id              a UUID; empty or absent: derived (import.ts contentEventName)
 * Other columns are ignored (and listed by `ignoredColumns`). Every row is checked by the event
 * contract; a row with another number of fields than the header is refused.
 *
 * Catalog (--items): a header with item_id (or item/itemId/movieId), and title and category
 * (also name; genre/genres) where the file has them; an empty cell keeps what the item has.
 */
import { stat } from 'node:fs/promises';
import {
  findColumn,
  ITEM_HINT,
  ITEM_NAMES,
  TS_NAMES,
  USER_HINT,
  USER_NAMES,
  VALUE_NAMES,
} from '../data/column-names.js';
import { DataError } from '../data/errors.js';
import { Fields } from '../data/fields.js';
import { forEachLine } from '../data/lines.js';
import { sniffDelimiter } from '../data/text-loader.js';
import { type EventType, ID_PATTERN, isValidId } from '../events/index.js';
import type { CatalogItem } from './catalog.js';
import { contentEventName, type ImportSource } from './import.js';
import { emptyRawEvent, type Rejections } from './import-rows.js';

export const TYPE_NAMES = ['type', 'eventtype'];
export const EVENT_ID_NAMES = ['eventid'];
const TITLE_NAMES = ['title', 'name'];
const CATEGORY_NAMES = ['category', 'genre', 'genres'];

export interface TableOptions {
  /** The type of rows without one (default: rating with a value, view without). */
  type?: EventType;
  /** What a numeric ts counts: epoch milliseconds (default, the event contract) or seconds. */
  tsUnit?: 'ms' | 's';
  /** A catalog CSV: item_id, title, category. */
  items?: string;
}

/** A CSV file's header and rows, with each row's fields (spans, see data/fields.ts). */
interface CsvReader {
  onHeader(names: string[], line: number): void;
  onRow(fields: Fields, line: number): void;
}

/**
 * Reads `file` as CSV: the first non-blank line is the header (its delimiter is the file's),
 * blank lines are skipped, a row whose quote never closes or whose field count differs from
 * the header's is refused into `rejections`.
 */
async function readCsv(
  file: string,
  reader: CsvReader,
  rejections: Rejections,
  onChunk?: (bytes: number) => void,
): Promise<void> {
  const fields = new Fields();
  let delim: string | null = null;
  let columns = 0;
  await forEachLine(
    file,
    (text, start, end, line) => {
      if (start === end || text.slice(start, end).trim() === '') return;
      if (delim === null) {
        const header = text.slice(start, end);
        delim = sniffDelimiter(header);
        if (!fields.split(header, 0, header.length, delim, true))
          throw new DataError(file, line, 'unterminated quoted field in the header');
        columns = fields.count;
        const names: string[] = [];
        for (let k = 0; k < fields.count; k++) names.push(fields.str(k));
        reader.onHeader(names, line);
        return;
      }
      if (!fields.split(text, start, end, delim, true)) {
        rejections.add(new DataError(file, line, 'unterminated quoted field'));
        return;
      }
      if (fields.count !== columns) {
        rejections.add(
          new DataError(file, line, `expected ${columns} fields as the header has, got ${fields.count}`),
        );
        return;
      }
      reader.onRow(fields, line);
    },
    { onChunk },
  );
  if (delim === null) throw new DataError(file, undefined, 'empty file (expected a header row)');
}

/** Where the event fields are in a header (−1: absent). */
export interface EventColumns {
  user: number;
  item: number;
  type: number;
  value: number;
  ts: number;
  eventId: number;
  /** Columns no event field reads. */
  ignored: string[];
}

/** The event columns of a header or schema; DataError when the user or item column is missing. */
export function eventColumns(file: string, names: readonly string[], line?: number): EventColumns {
  const user = findColumn(names, USER_NAMES);
  const item = findColumn(names, ITEM_NAMES);
  if (user < 0 || item < 0) {
    const missing = user < 0 ? USER_HINT : ITEM_HINT;
    const found = names.map((n) => JSON.stringify(n)).join(', ');
    throw new DataError(file, line, `no ${missing}; the columns are ${found}`);
  }
  const cols = {
    user,
    item,
    type: findColumn(names, TYPE_NAMES),
    value: findColumn(names, VALUE_NAMES),
    ts: findColumn(names, TS_NAMES),
    eventId: findColumn(names, EVENT_ID_NAMES),
  };
  const used = new Set(Object.values(cols));
  return { ...cols, ignored: names.filter((_, k) => !used.has(k)) };
}

export function csvSource(file: string, opts: TableOptions = {}): ImportSource {
  return {
    format: 'csv',
    file,
    files: opts.items ? [file, opts.items] : [file],
    policy: { defaultType: opts.type, tsUnit: opts.tsUnit ?? 'ms' },
    progressUnit: 'bytes',
    async read(rows, progress) {
      const total = (await stat(file)).size;
      const raw = emptyRawEvent();
      let cols: EventColumns | null = null;
      const text = (fields: Fields, k: number) => (k < 0 || fields.isEmpty(k) ? undefined : fields.str(k));
      const num = (fields: Fields, k: number) => {
        if (k < 0 || fields.isEmpty(k)) return undefined;
        const x = fields.num(k);
        return Number.isNaN(x) ? fields.str(k) : x;
      };
      await readCsv(
        file,
        {
          onHeader(names, line) {
            cols = eventColumns(file, names, line);
          },
          onRow(fields, line) {
            const c = cols!;
            raw.user_id = fields.str(c.user);
            raw.item_id = fields.str(c.item);
            raw.type = text(fields, c.type);
            raw.value = num(fields, c.value);
            raw.ts = num(fields, c.ts);
            raw.event_id = text(fields, c.eventId);
            rows.add(raw, file, line);
          },
        },
        rows.rejections,
        (bytes) => progress(bytes, total),
      );
      return { ignored: (cols as EventColumns | null)?.ignored ?? [] };
    },
    catalog: opts.items ? (rejections) => readItemsCsv(opts.items!, rejections) : undefined,
    eventName: contentEventName,
  };
}

const TEXT_CHARS = new RegExp(ID_PATTERN, 'u');

/** A catalog CSV (item_id, title, category): one item per id, the last row of an id winning. */
export async function readItemsCsv(file: string, rejections: Rejections): Promise<CatalogItem[]> {
  const items = new Map<string, CatalogItem>();
  let item = -1;
  let title = -1;
  let category = -1;
  await readCsv(
    file,
    {
      onHeader(names, line) {
        item = findColumn(names, ITEM_NAMES);
        if (item < 0)
          throw new DataError(
            file,
            line,
            `no ${ITEM_HINT}; the columns are ${names.map((n) => JSON.stringify(n)).join(', ')}`,
          );
        title = findColumn(names, TITLE_NAMES);
        category = findColumn(names, CATEGORY_NAMES);
      },
      onRow(fields, line) {
        const id = fields.str(item);
        if (!isValidId(id)) {
          rejections.add(
            new DataError(
              file,
              line,
              `item_id ${JSON.stringify(id)} is not an id (1-128 characters, no U+0000)`,
            ),
          );
          return;
        }
        const field = (k: number, name: string): string | null | false => {
          if (k < 0 || fields.isEmpty(k)) return null;
          const s = fields.str(k);
          if (TEXT_CHARS.test(s)) return s;
          rejections.add(new DataError(file, line, `${name} must not contain U+0000 or unpaired surrogates`));
          return false;
        };
        const t = field(title, 'title');
        const c = field(category, 'category');
        if (t === false || c === false) return;
        items.set(id, { item_id: id, title: t, category: c, attributes: null });
      },
    },
    rejections,
  );
  return [...items.values()];
}
