/**
 * MovieLens 100K item metadata (u.item): id|title|release date|video release date|IMDb
 * URL|19 genre flags, in Latin-1.
 *
 * The serving layer shows titles and filters by category; the category is the first
 * flagged genre in u.genre's order (so "unknown" only when that is the sole flag).
 */
import { DataError } from './errors.js';
import { forEachLine } from './lines.js';

/** u.genre, in file order (genre index = flag position). */
export const MOVIELENS_GENRES = [
  'unknown',
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
] as const;

export interface MovieLensItem {
  item_id: string;
  title: string;
  /** First genre in u.genre order, null when no genre flag is set. */
  category: string | null;
  attributes: {
    genres: string[];
    /** ISO date (YYYY-MM-DD), null when the file leaves it blank. */
    release_date: string | null;
  };
}

const MONTHS: Record<string, string> = {
  jan: '01',
  feb: '02',
  mar: '03',
  apr: '04',
  may: '05',
  jun: '06',
  jul: '07',
  aug: '08',
  sep: '09',
  oct: '10',
  nov: '11',
  dec: '12',
};

/** "01-Jan-1995" → "1995-01-01"; null when not in that form. */
function isoDate(s: string): string | null {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
  const month = m ? MONTHS[m[2]!.toLowerCase()] : undefined;
  if (!m || !month) return null;
  return `${m[3]}-${month}-${m[1]!.padStart(2, '0')}`;
}

export async function loadItemsMovieLens(file: string): Promise<MovieLensItem[]> {
  const items: MovieLensItem[] = [];
  const seen = new Set<string>();
  const nFields = 5 + MOVIELENS_GENRES.length;
  await forEachLine(
    file,
    (text, start, end, lineNo) => {
      if (text.slice(start, end).trim() === '') return;
      const f = text.slice(start, end).split('|');
      if (f.length !== nFields) {
        throw new DataError(file, lineNo, `expected ${nFields} '|'-separated fields, got ${f.length}`);
      }
      const id = f[0]!.trim();
      if (id === '') throw new DataError(file, lineNo, 'empty item id');
      if (seen.has(id)) throw new DataError(file, lineNo, `duplicate item id ${JSON.stringify(id)}`);
      seen.add(id);
      const genres: string[] = [];
      for (let g = 0; g < MOVIELENS_GENRES.length; g++) {
        const flag = f[5 + g]!.trim();
        if (flag === '1') genres.push(MOVIELENS_GENRES[g]!);
        else if (flag !== '0') {
          throw new DataError(
            file,
            lineNo,
            `genre flag ${MOVIELENS_GENRES[g]} is ${JSON.stringify(flag)}, expected 0 or 1`,
          );
        }
      }
      const rawDate = f[2]!.trim();
      const release = rawDate === '' ? null : isoDate(rawDate);
      if (rawDate !== '' && release === null) {
        throw new DataError(file, lineNo, `release date ${JSON.stringify(rawDate)} is not DD-Mon-YYYY`);
      }
      items.push({
        item_id: id,
        title: f[1]!.trim(),
        category: genres[0] ?? null,
        attributes: { genres, release_date: release },
      });
    },
    { encoding: 'latin1' },
  );
  if (items.length === 0) throw new DataError(file, undefined, 'empty file');
  return items;
}
