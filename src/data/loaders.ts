/**
 * Interaction loaders: one entry point for every ratings/events file the trainer accepts.
 *
 * Every loader returns the same Arrow table, so the rest of the pipeline (matrix.ts, the
 * trainer, evaluation) never cares where the data came from:
 *
 *   user  Dictionary<Int32, Utf8>   non-null  external user id (string even if numeric in the file)
 *   item  Dictionary<Int32, Utf8>   non-null  external item id
 *   value Float32                   non-null  rating or weight; 1.0 when the source has none
 *   ts    Timestamp(ms, UTC)        nullable  interaction time
 *
 * The id columns are Utf8 values, dictionary-encoded in order of first appearance: that
 * costs 4 bytes a row instead of a string each, and lets matrix.ts index them without
 * hashing a string per row. Reading `table.getChild('user')!.get(i)` gives the string.
 *
 * Nothing is downloaded: the caller gives a path. All input problems are DataErrors naming
 * the file and line (see errors.ts).
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import type * as arrow from 'apache-arrow';
import { DataError } from './errors.js';
import { statFile } from './lines.js';
import { loadParquet } from './parquet-loader.js';
import { loadDelimited, type TextKind } from './text-loader.js';

export { loadItemsMovieLens, MOVIELENS_GENRES, type MovieLensItem } from './movielens-items.js';

export type InteractionFormat = 'movielens' | 'csv' | 'parquet';

type Resolved = TextKind | 'parquet';

/**
 * Load (user, item, value, ts) interactions from `file`.
 *
 * Formats: 'movielens' — u.data and its u1.base/u1.test… splits (tab: user item rating
 * unix-seconds), ratings.dat ('::'), ratings.csv (header userId,movieId,rating,timestamp);
 * 'csv' — any delimited file with a header naming the columns (user/user_id/userId,
 * item/item_id/itemId/movieId, optional value/rating/weight, optional ts/timestamp as epoch
 * seconds, epoch ms or ISO-8601); 'parquet' — same column names, string or integer ids,
 * numeric values, also the archive schema. Without `format` the name decides (u.data,
 * *.data, *.base, *.test → MovieLens tab; *.dat → '::'; *.csv/*.tsv → CSV; *.parquet/*.pq
 * → Parquet), and otherwise the first bytes do.
 */
export async function loadInteractions(file: string, format?: InteractionFormat): Promise<arrow.Table> {
  const kind = await resolveFormat(file, format);
  return kind === 'parquet' ? loadParquet(file) : loadDelimited(file, kind);
}

/** The concrete reader `loadInteractions` would use for `file` (exported for tests and the CLI). */
export async function resolveFormat(file: string, format?: InteractionFormat): Promise<Resolved> {
  const name = path.basename(file).toLowerCase();
  const ext = path.extname(name);
  if (format === 'parquet') return 'parquet';
  if (format === 'csv') return 'csv';
  if (format === 'movielens') {
    if (ext === '.dat') return 'movielens-dat';
    if (ext === '.csv') return 'csv';
    return (await sniff(file)) === 'movielens-dat' ? 'movielens-dat' : 'movielens-tab';
  }
  if (format !== undefined)
    throw new TypeError(`unknown format ${JSON.stringify(format)} (movielens, csv or parquet)`);
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (ext === '.csv' || ext === '.tsv') return 'csv';
  if (ext === '.dat') return 'movielens-dat';
  if (ext === '.data' || ext === '.base' || ext === '.test') return 'movielens-tab';
  return sniff(file);
}

/**
 * Guess from the first bytes: Parquet magic "PAR1"; '::' → ratings.dat; a tab-separated
 * first line of numbers → MovieLens tab; anything else is treated as CSV with a header.
 */
async function sniff(file: string): Promise<Resolved> {
  const size = await statFile(file);
  if (size === 0) throw new DataError(file, undefined, 'empty file');
  const fh = await open(file, 'r');
  let head: string;
  try {
    const buf = Buffer.alloc(Math.min(size, 4096));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead >= 4 && buf.toString('latin1', 0, 4) === 'PAR1') return 'parquet';
    head = buf.toString('utf8', 0, bytesRead);
  } finally {
    await fh.close();
  }
  const firstLine = head.split('\n', 1)[0]!.replace(/\r$/, '');
  if (firstLine.includes('::')) return 'movielens-dat';
  const tabFields = firstLine.split('\t');
  if (tabFields.length >= 3 && tabFields.every((f) => /^\s*[-+]?[\d.]+\s*$/.test(f))) return 'movielens-tab';
  return 'csv';
}
