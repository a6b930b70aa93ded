/**
 * Imports: interactions from a file into the archive (and ids into `users`/`items`, titles and
 * categories into `items` where the source has them), on whichever stores are configured. One
 * run for every format; each format is a source (import-movielens.ts, import-csv.ts,
 * import-parquet.ts) that reads its rows into ImportRows, which checks each one against the
 * event contract.
 *
 * Idempotent and crash-safe:
 * - the interactions file's SHA-256 names the import; a marker object
 *   `imports/<format>-<sha256>.json`, written last, makes a second import of the same bytes a
 *   no-op (the catalog is still applied: the same catalog changes nothing);
 * - every row is read and checked before anything is written; a refused row stops the import
 *   with its line number unless the caller skips refused rows;
 * - archive parts have deterministic keys, `dt=DAY/import-<sha256:16>-<n>.parquet` (rows of a
 *   day in file order, at most PART_ROWS a part), and events without an id get one derived from
 *   their content, so a rerun after a crash overwrites the same objects with the same bytes;
 * - rows without a time get the import's start time, kept in `imports/<format>-<sha256>.pending.json`
 *   from the first write until the marker, so a rerun stamps them alike; a rerun also removes
 *   parts of this import that it did not write again.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ARCHIVE_PREFIX, dayOf, encodeArchivePart, partKey } from '../data/archive-format.js';
import type { DataError } from '../data/errors.js';
import { registerIds } from '../data/id-rows.js';
import { statFile } from '../data/lines.js';
import type { Stores } from '../stores/index.js';
import type { ObjectStore } from '../stores/objects/port.js';
import { type CatalogItem, upsertCatalog } from './catalog.js';
import { type DerivedIdInput, ImportRows, Rejections, type RowPolicy } from './import-rows.js';

export type ImportFormat = 'movielens' | 'csv' | 'parquet';

/** A file to import, as a format reads it. */
export interface ImportSource {
  readonly format: ImportFormat;
  /** The interactions file: its SHA-256 identifies the import. */
  readonly file: string;
  /** Every file the import reads (the interactions file first). */
  readonly files: readonly string[];
  /** How rows without a type or time are read (the time itself comes from the import). */
  readonly policy: Omit<RowPolicy, 'now'>;
  /** What `read` reports its progress in. */
  readonly progressUnit: 'bytes' | 'rows';
  /**
   * Reads every interaction into `rows`, reporting `progress(done, total)` as it goes; answers
   * the file's columns that no event field reads.
   */
  read(rows: ImportRows, progress: (done: number, total: number) => void): Promise<{ ignored: string[] }>;
  /** The catalog (titles, categories), when the source has one; refused rows go to `rejections`. */
  catalog?(rejections: Rejections): Promise<CatalogItem[]>;
  /** The name a row without an event id gets its id from (stableUuid); `digest`: the file's SHA-256. */
  eventName(row: DerivedIdInput, digest: string): string;
}

/**
 * What the id of an event without one (CSV, Parquet) derives from: its content when it has a
 * time, so the same event in two files (an overlapping export, a CSV and its Parquet copy) is
 * one event to the batch layer, which dedupes by event_id; the file and line when it has none
 * (its time is the import's, so its content does not identify it).
 */
export function contentEventName(row: DerivedIdInput, digest: string): string {
  return row.hasTs
    ? `event\0${row.user}\0${row.item}\0${row.type}\0${row.value ?? ''}\0${row.ts}`
    : `row\0${digest}\0${row.line}`;
}

export interface ImportOptions {
  /** Import the valid rows and report the refused ones, instead of failing with nothing written. */
  skipInvalid?: boolean;
  onProgress?: (p: ImportProgress) => void;
}

export interface ImportProgress {
  phase: 'read' | 'write';
  done: number;
  total: number;
  /** What done/total count: bytes or rows read, rows written. */
  unit: 'bytes' | 'rows';
}

/** What an import did; with `--json` the CLI prints it as it is. */
export interface ImportSummary {
  format: ImportFormat;
  file: string;
  sha256: string;
  /** Files read (the interactions file, u.item or --items). */
  files: number;
  /** Events written to the archive. */
  rows: number;
  /** Rows refused by the event contract and left out (only with skipInvalid). */
  skipped_rows: number;
  /** Distinct users and items of the file (and catalog). */
  users: number;
  items: number;
  /** Ids this run added to `users` and `items`. */
  new_users: number;
  new_items: number;
  /** Archive objects written, and the days they cover. */
  parts: number;
  days: number;
  first_day: string | null;
  last_day: string | null;
  /** The same file was imported before: nothing but the catalog was applied. */
  already_imported: boolean;
  /** The marker object that records this import. */
  marker: string;
  /** The first refused rows, as `file:line: reason`. */
  refused: string[];
  /** Columns of the file that no event field reads (a misspelt `type` shows here). */
  ignored_columns: string[];
  /** What looks wrong without being refused (times that look like seconds read as ms). */
  warnings: string[];
}

/** Rows a Parquet part holds at most (a day with more gets several parts). */
export const PART_ROWS = 1_000_000;
/** Archive parts being written at once. */
const PUTS_IN_FLIGHT = 4;
/** Ids registered per transaction. */
const ID_BATCH = 50_000;
/** How many refused rows an error or a summary lists. */
const LISTED = 20;
const DAY_MS = 86_400_000;

/** Some rows were refused and skipping them was not asked for: nothing was written. */
export class InvalidRowsError extends Error {
  constructor(
    readonly file: string,
    readonly count: number,
    readonly first: readonly DataError[],
  ) {
    const more = count > first.length ? `\n  … and ${count - first.length} more` : '';
    super(
      `${file}: ${count} invalid row${count === 1 ? '' : 's'}, nothing imported (--skip-invalid imports the others):\n` +
        `${first.map((e) => `  ${e.message}`).join('\n')}${more}`,
    );
    this.name = 'InvalidRowsError';
  }
}

export async function runImport(
  stores: Pick<Stores, 'db' | 'objects'>,
  source: ImportSource,
  opts: ImportOptions = {},
): Promise<ImportSummary> {
  const { db, objects } = stores;
  const size = await statFile(source.file);
  const sha256 = await fileSha256(source.file);
  const marker = `imports/${source.format}-${sha256}.json`;
  const pendingKey = `imports/${source.format}-${sha256}.pending.json`;
  const options: ReadOptions = { type: source.policy.defaultType ?? null, ts_unit: source.policy.tsUnit };
  const summary = emptySummary(source, sha256, marker);
  const rejections = new Rejections(LISTED);
  const catalog = source.catalog ? await source.catalog(rejections) : [];

  const before = await readJson<MarkerRecord>(objects, marker);
  // Markers without options are from MovieLens imports made before there were any to vary.
  if (before !== null && (!before.options || sameOptions(before.options, options))) {
    if (rejections.count > 0 && !opts.skipInvalid) throw refusal(source, rejections);
    return {
      ...summary,
      rows: before.rows ?? before.ratings ?? 0,
      skipped_rows: before.skipped_rows ?? 0,
      users: before.users ?? 0,
      items: before.items ?? catalog.length,
      new_items: await upsertCatalog(db, catalog),
      parts: before.parts ?? 0,
      days: before.days ?? 0,
      first_day: before.first_day ?? null,
      last_day: before.last_day ?? null,
      already_imported: true,
      refused: rejections.first.map((e) => e.message),
    };
  }

  const pending = await readJson<{ now: number }>(objects, pendingKey);
  const now = pending?.now ?? Date.now();
  // Sized for ~32 bytes a line, so most files never regrow the columns.
  const rows = new ImportRows(
    { ...source.policy, now },
    rejections,
    Math.min(Math.max(1024, Math.floor(size / 32)), 1 << 26),
  );
  const { ignored } = await source.read(rows, (done, total) =>
    opts.onProgress?.({ phase: 'read', done, total, unit: source.progressUnit }),
  );
  if (rejections.count > 0 && !opts.skipInvalid) throw refusal(source, rejections);

  // Everything is read and checked: from here on, writes, each one repeatable. The pending
  // record goes first and the marker last, so an interrupted import is never taken for a done one.
  if (!pending) await putJson(objects, pendingKey, { now, started_at: new Date().toISOString() });
  if (before !== null) await objects.delete(marker); // the file read again with other options
  opts.onProgress?.({ phase: 'write', done: 0, total: rows.length, unit: 'rows' });
  let newItems = await upsertCatalog(db, catalog);
  newItems += await registerAll(db, 'items', rows.items.values);
  const newUsers = await registerAll(db, 'users', rows.users.values);
  const parts = await writeParts(objects, rows, source, sha256, opts);
  if (pending !== null || before !== null) await removeLeftovers(objects, sha256, parts.keys);

  Object.assign(summary, {
    rows: rows.length,
    skipped_rows: rejections.count,
    users: rows.users.values.length,
    items: new Set([...catalog.map((it) => it.item_id), ...rows.items.values]).size,
    new_users: newUsers,
    new_items: newItems,
    parts: parts.keys.size,
    days: parts.days.length,
    first_day: parts.days[0] ?? null,
    last_day: parts.days.at(-1) ?? null,
    refused: rejections.first.map((e) => e.message),
    ignored_columns: ignored,
    warnings: warnings(rows),
  } satisfies Partial<ImportSummary>);
  const kept = Object.fromEntries(MARKER_FIELDS.map((k) => [k, summary[k]]));
  await putJson(objects, marker, { ...kept, options, imported_at: new Date().toISOString() });
  await objects.delete(pendingKey);
  return summary;
}

/**
 * The rows into their day partitions under keys that depend on the file and the rows alone:
 * `dt=DAY/import-<sha256:16>-<n>.parquet`, n counting the parts of that day.
 */
async function writeParts(
  objects: ObjectStore,
  rows: ImportRows,
  source: ImportSource,
  sha256: string,
  opts: ImportOptions,
): Promise<{ keys: Set<string>; days: string[] }> {
  const keys = new Set<string>();
  const days: string[] = [];
  const name = (row: DerivedIdInput) => source.eventName(row, sha256);
  // Encoding the next part overlaps the uploads (or fsyncs) of the last few.
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  let done = 0;
  try {
    for (const part of rows.parts(PART_ROWS)) {
      const day = dayOf(part.day * DAY_MS);
      n = day === days.at(-1) ? n + 1 : 0;
      if (n === 0) days.push(day);
      const key = partKey(day, `import-${sha256.slice(0, 16)}-${n}`);
      const bytes = await encodeArchivePart(rows.columns(part.rows, name));
      const put: Promise<void> = objects.put(key, bytes).then(() => {
        inFlight.delete(put);
        keys.add(key);
        done += part.rows.length;
        opts.onProgress?.({ phase: 'write', done, total: rows.length, unit: 'rows' });
      });
      put.catch(() => undefined); // awaited below; a failure while another is awaited is not unhandled
      inFlight.add(put);
      if (inFlight.size >= PUTS_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } catch (err) {
    await Promise.allSettled(inFlight); // nothing of this run is still being written once it fails
    throw err;
  }
  return { keys, days };
}

/** Parts of this file's imports that the last run did not write (a crashed run's, another reading's). */
async function removeLeftovers(objects: ObjectStore, sha256: string, written: Set<string>): Promise<void> {
  const mine = new RegExp(`/import-${sha256.slice(0, 16)}-\\d+\\.parquet$`);
  for (const key of await objects.list(ARCHIVE_PREFIX))
    if (mine.test(key) && !written.has(key)) await objects.delete(key);
}

/** Times that look like epoch seconds read as milliseconds: every one before 1973-03-03. */
function warnings(rows: ImportRows): string[] {
  if (rows.policy.tsUnit !== 'ms' || !(rows.maxTs < 1e11)) return [];
  return [
    `every ts is before ${new Date(1e11).toISOString()} read as epoch milliseconds: if the file's times are ` +
      'epoch seconds, import it again with --ts-unit s (that replaces this import)',
  ];
}

/** What the marker keeps of the summary (what a second import of the file reports). */
const MARKER_FIELDS = [
  'format',
  'file',
  'sha256',
  'files',
  'rows',
  'skipped_rows',
  'users',
  'items',
  'parts',
  'days',
  'first_day',
  'last_day',
] as const satisfies readonly (keyof ImportSummary)[];

/** The marker's content: the import's summary, and the options it read the file with. */
type MarkerRecord = Partial<ImportSummary> & {
  options?: ReadOptions;
  imported_at?: string;
  ratings?: number; // markers written before imports kept their summary
};
type ReadOptions = { type: string | null; ts_unit: string };

const sameOptions = (a: ReadOptions, b: ReadOptions) => a.type === b.type && a.ts_unit === b.ts_unit;

async function readJson<T>(objects: ObjectStore, key: string): Promise<T | null> {
  if (!(await objects.exists(key))) return null;
  return JSON.parse((await objects.get(key)).toString('utf8')) as T;
}

function putJson(objects: ObjectStore, key: string, value: unknown): Promise<void> {
  return objects.put(key, Buffer.from(`${JSON.stringify(value)}\n`));
}

function emptySummary(source: ImportSource, sha256: string, marker: string): ImportSummary {
  return {
    format: source.format,
    file: source.file,
    sha256,
    files: source.files.length,
    rows: 0,
    skipped_rows: 0,
    users: 0,
    items: 0,
    new_users: 0,
    new_items: 0,
    parts: 0,
    days: 0,
    first_day: null,
    last_day: null,
    already_imported: false,
    marker,
    refused: [],
    ignored_columns: [],
    warnings: [],
  };
}

function refusal(source: ImportSource, rejections: Rejections): InvalidRowsError {
  return new InvalidRowsError(source.file, rejections.count, rejections.first);
}

async function registerAll(
  db: Stores['db'],
  table: 'users' | 'items',
  ids: readonly string[],
): Promise<number> {
  let added = 0;
  for (let at = 0; at < ids.length; at += ID_BATCH) {
    const batch = ids.slice(at, at + ID_BATCH);
    added += await db.transaction((tx) => registerIds(tx, table, batch));
  }
  return added;
}

export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
