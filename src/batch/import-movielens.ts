/**
 * A MovieLens 100K folder (u.data, u.item) as an import source: u.data's ratings (user \t item
 * \t rating \t unix seconds) become `rating` events, u.item's titles and genres the catalog.
 * Event ids are derived from (user, item, time), as they always were, so a folder imported
 * before imports had markers of their own is recognised by its u.data digest.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DataError } from '../data/errors.js';
import { Fields } from '../data/fields.js';
import { forEachLine } from '../data/lines.js';
import { loadItemsMovieLens } from '../data/loaders.js';
import type { Stores } from '../stores/index.js';
import { type ImportOptions, type ImportSource, type ImportSummary, runImport } from './import.js';
import { emptyRawEvent } from './import-rows.js';

export async function movieLensSource(dir: string): Promise<ImportSource> {
  const ratingsFile = path.join(dir, 'u.data');
  const itemsFile = path.join(dir, 'u.item');
  for (const f of [ratingsFile, itemsFile]) {
    const info = await stat(f).catch(() => null);
    if (!info?.isFile())
      throw new DataError(f, undefined, 'not found (give the MovieLens folder holding u.data and u.item)');
  }
  return {
    format: 'movielens',
    file: ratingsFile,
    files: [ratingsFile, itemsFile],
    policy: { defaultType: 'rating', tsUnit: 's' },
    progressUnit: 'bytes',
    async read(rows, progress) {
      const total = (await stat(ratingsFile)).size;
      const fields = new Fields();
      const raw = emptyRawEvent();
      raw.type = 'rating';
      await forEachLine(
        ratingsFile,
        (text, start, end, line) => {
          if (start === end || text.slice(start, end).trim() === '') return;
          fields.split(text, start, end, '\t', false);
          if (fields.count < 3 || fields.count > 4) {
            rows.reject(
              new DataError(
                ratingsFile,
                line,
                `expected 4 tab-separated fields (user, item, rating, timestamp), got ${fields.count}`,
              ),
            );
            return;
          }
          raw.user_id = fields.str(0);
          raw.item_id = fields.str(1);
          const value = fields.num(2);
          raw.value = Number.isNaN(value) ? fields.str(2) : value;
          const ts = fields.count === 4 ? fields.num(3) : Number.NaN;
          raw.ts = fields.count < 4 || fields.isEmpty(3) ? undefined : Number.isNaN(ts) ? fields.str(3) : ts;
          rows.add(raw, ratingsFile, line);
        },
        { onChunk: (bytes) => progress(bytes, total) },
      );
      return { ignored: [] };
    },
    async catalog() {
      return (await loadItemsMovieLens(itemsFile)).map((it) => ({
        item_id: it.item_id,
        title: it.title,
        category: it.category,
        attributes: it.attributes,
      }));
    },
    eventName: (row, digest) =>
      row.hasTs ? `movielens:${row.user}:${row.item}:${row.ts}` : `movielens-row\0${digest}\0${row.line}`,
  };
}

/** Imports a MovieLens 100K folder (see runImport in import.ts for what a rerun does). */
export async function importMovieLens(
  stores: Pick<Stores, 'db' | 'objects'>,
  dir: string,
  opts: ImportOptions = {},
): Promise<ImportSummary> {
  return runImport(stores, await movieLensSource(dir), opts);
}
