/**
 * A synthetic MovieLens 100K look-alike, written as the real folder is laid out, so tests and
 * demos run on a fresh clone (the real set's licence forbids shipping it):
 *
 * - u.data: user \t item \t rating \t unix seconds, ratings integers 1..5, rows in time order;
 * - u.item: id|title|release date|video release date|IMDb URL|19 genre flags, Latin-1;
 * - u.genre: the genre list, as in MovieLens;
 * - u1.base/u1.test … u5.base/u5.test: a seeded 5-fold split of u.data (disjoint tests that
 *   cover it), each file sorted by user then item, as MovieLens' own.
 *
 * The structure is planted: a rank-r taste model, rating = round(2.5 + b_u + b_i + p_u·q_i + noise)
 * clamped to 1..5, and each user picks which items to rate with probability
 * ∝ popularity_i · exp(2 p_u·q_i) (people watch what they expect to like), so the
 * ratings come out as MovieLens' do: mean 3.6, a fifth of them 5s, few 1s. So a factor model
 * beats the item-mean baseline on ratings and popularity on ranking, by a clear margin.
 * Latent dimension d is genre d + 1 of u.genre (Action, Adventure, …): an item carries its
 * strongest dimension's genre and any other on which it scores high.
 *
 * The demo of `recsys start` (writeDemoMovieLens) asks for plainer structure, so that
 * recommendations visibly make sense to a person: `tastes: 'focused'` gives each user two favourite
 * genres and each item one genre (its title drawn from that genre's words: "Haunted Cellar",
 * "Orbital Signal"), `popularityExponent` makes item popularity a power law (Zipf) instead of
 * log-normal, and `end`/`spanDays` move the ratings to the last few weeks before now.
 *
 * Everything is drawn from one seeded Rng: the same options give byte-identical files.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '../compute/random.js';
import { MOVIELENS_GENRES, type MovieLensItem } from './movielens-items.js';

export interface SyntheticMovieLensOptions {
  /** Default 300. */
  users?: number;
  /**
   * Default 400; the last item is an "unknown" one with no release date, as item 267 of ML-100K
   * (except with `focused` tastes).
   */
  items?: number;
  /** Latent dimensions, at most 18 (one per genre); default 8. */
  rank?: number;
  /** Mean ratings per user; every user rates at least 20, as in MovieLens. Default 50. */
  meanPerUser?: number;
  /** Standard deviation of the rating noise before rounding; default 0.3. */
  noise?: number;
  seed?: number;
  /**
   * `spread` (default): tastes and traits drawn N(0, ·) on every dimension, as above. `focused`:
   * each user leans strongly to two dimensions (genres), each item belongs to one, and
   * dimension d is genre FOCUSED_GENRES[d] (rank at most 8).
   */
  tastes?: 'spread' | 'focused';
  /** Item popularity ∝ 1/rank^exponent over a seeded order of the items; default: log-normal. */
  popularityExponent?: number;
  /** Unix seconds of the newest possible rating; default ML-100K's last (1998-04-23). */
  end?: number;
  /** Days the ratings span, up to `end`; default ML-100K's (about 215). */
  spanDays?: number;
}

/** Write a folder with writeSyntheticMovieLens for the demo of `recsys start`. */
export interface DemoOptions {
  /** Default 1000. */
  users?: number;
  /** Default 600. */
  items?: number;
  /** Default 1. */
  seed?: number;
  /** Unix seconds the ratings end at (default now): the demo happened over the 28 days before. */
  end?: number;
}

export const DEMO_DEFAULTS = { users: 1000, items: 600, seed: 1 } as const;

/**
 * The demo catalog and history of `recsys start` on an empty data folder: focused tastes, a
 * power law of popularity, ratings over the last four weeks (inside the default training
 * window), genre-flavoured titles.
 */
export function writeDemoMovieLens(dir: string, opts: DemoOptions = {}): SyntheticMovieLens {
  return writeSyntheticMovieLens(dir, {
    users: opts.users ?? DEMO_DEFAULTS.users,
    items: opts.items ?? DEMO_DEFAULTS.items,
    seed: opts.seed ?? DEMO_DEFAULTS.seed,
    meanPerUser: 40,
    rank: FOCUSED_GENRES.length,
    tastes: 'focused',
    popularityExponent: 0.8,
    end: opts.end ?? Math.floor(Date.now() / 1000),
    spanDays: 28,
  });
}

export interface SyntheticMovieLens {
  dir: string;
  users: number;
  items: number;
  ratings: number;
  /** Distinct items with at least one rating (≤ items). */
  ratedItems: number;
  /** u.item's rows as loadItemsMovieLens reads them back. */
  catalog: MovieLensItem[];
  /** Row counts of u1.base/u1.test … u5.base/u5.test. */
  folds: Array<{ base: number; test: number }>;
  /**
   * Each user's favourite genres, strongest first (user u + 1 at index u): the two planted ones
   * with `focused` tastes, the genre of the strongest taste dimension otherwise.
   */
  tastes: string[][];
}

/** The genres of the focused dimensions, one per dimension, each with words for its titles. */
export const FOCUSED_GENRES = [
  'Action',
  'Animation',
  'Comedy',
  'Documentary',
  'Horror',
  'Romance',
  'Sci-Fi',
  'Western',
] as const satisfies readonly (typeof MOVIELENS_GENRES)[number][];

const TITLE_WORDS: Record<(typeof FOCUSED_GENRES)[number], [string[], string[]]> = {
  Action: [
    ['Maximum', 'Deadly', 'Final', 'Rogue', 'Iron', 'Zero Hour'],
    ['Strike', 'Siege', 'Payback', 'Pursuit', 'Velocity', 'Extraction'],
  ],
  Animation: [
    ['Little', 'Paper', 'Magic', 'Tiny', 'Brave', 'Sleepy'],
    ['Fox', 'Kite', 'Robot', 'Dragon', 'Lantern', 'Penguin'],
  ],
  Comedy: [
    ['Awkward', 'Crazy', 'Accidental', 'Wedding', 'Office', 'Totally Normal'],
    ['Party', 'Roommates', 'Road Trip', 'Vacation', 'Mix-Up', 'Reunion'],
  ],
  Documentary: [
    ['Inside the', 'Wild', 'Hidden', 'Deep', 'Frozen', 'Secret'],
    ['Oceans', 'Planet', 'Kitchens', 'Rivers', 'Factories', 'Bees'],
  ],
  Horror: [
    ['Haunted', 'Silent', 'Cursed', 'Bleeding', 'Midnight', 'Hollow'],
    ['House', 'Asylum', 'Woods', 'Mirror', 'Cellar', 'Doll'],
  ],
  Romance: [
    ['Summer', 'Paris', 'Second', 'Sweet', 'Forever', 'Moonlit'],
    ['Kiss', 'Letters', 'Promise', 'Serenade', 'Hearts', 'Waltz'],
  ],
  'Sci-Fi': [
    ['Quantum', 'Orbital', 'Android', 'Galactic', 'Neon', 'Last'],
    ['Frontier', 'Station', 'Protocol', 'Odyssey', 'Signal', 'Colony'],
  ],
  Western: [
    ['Dusty', 'Lone', 'Outlaw', 'Red River', 'High Noon', 'Silver'],
    ['Rider', 'Trail', 'Ranch', 'Gunslinger', 'Canyon', 'Sheriff'],
  ],
};

/** ML-100K's time span: 1997-09-20 to 1998-04-23 (UTC). */
const START = 874724710;
const END = 893286638;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const ADJECTIVES = ['Silent', 'Crimson', 'Last', 'Hidden', 'Broken', 'Golden', 'Lonely', 'Wild'];
const NOUNS = ['Harbor', 'Garden', 'Café', 'Mirror', 'Frontier', 'Summer', 'Kingdom', 'Station', 'Rêve'];

export function writeSyntheticMovieLens(
  dir: string,
  opts: SyntheticMovieLensOptions = {},
): SyntheticMovieLens {
  const nUsers = opts.users ?? 300;
  const nItems = opts.items ?? 400;
  const rank = opts.rank ?? 8;
  const meanPerUser = opts.meanPerUser ?? 50;
  const noise = opts.noise ?? 0.3;
  const focused = opts.tastes === 'focused';
  const maxRank = focused ? FOCUSED_GENRES.length : MOVIELENS_GENRES.length - 1;
  if (!(rank >= (focused ? 2 : 1) && rank <= maxRank))
    throw new RangeError(`rank must be ${focused ? 2 : 1}..${maxRank}, got ${rank}`);
  if (!(nItems >= 40 && nUsers >= 1 && meanPerUser >= 20))
    throw new RangeError('need at least 40 items, 1 user and a mean of 20 ratings per user or more');
  const end = opts.end ?? END;
  const start = opts.spanDays === undefined ? START - END + end : end - opts.spanDays * 86400;
  if (!(Number.isFinite(end) && start < end)) throw new RangeError('need end > 0 and spanDays > 0');
  const rng = new Rng(opts.seed ?? 1);
  // Dimension d is this genre (an index of MOVIELENS_GENRES).
  const genreOf = (d: number) => (focused ? MOVIELENS_GENRES.indexOf(FOCUSED_GENRES[d]!) : d + 1);

  // The planted model: tastes p (scale 1/√r, so p·q ~ N(0, 1)), traits q, biases, popularity.
  let p: Float32Array;
  let q: Float32Array;
  const favourites: number[][] = [];
  if (focused) {
    // Two favourite dimensions a user leans to (1 and 0.6 over a little noise); one an item is (1.6).
    p = rng.fillNormal(new Float32Array(nUsers * rank), 0.25 / Math.sqrt(rank));
    for (let u = 0; u < nUsers; u++) {
      const first = rng.int(rank);
      const second = (first + 1 + rng.int(rank - 1)) % rank;
      p[u * rank + first]! += 1;
      p[u * rank + second]! += 0.6;
      favourites.push([first, second]);
    }
    q = rng.fillNormal(new Float32Array(nItems * rank), 0.3);
    for (let i = 0; i < nItems; i++) q[i * rank + rng.int(rank)]! += 1.6;
  } else {
    p = rng.fillNormal(new Float32Array(nUsers * rank), 1 / Math.sqrt(rank));
    q = rng.fillNormal(new Float32Array(nItems * rank), 1);
    for (let u = 0; u < nUsers; u++) {
      let top = 0;
      for (let d = 1; d < rank; d++) if (p[u * rank + d]! > p[u * rank + top]!) top = d;
      favourites.push([top]);
    }
  }
  const userBias = rng.fillNormal(new Float32Array(nUsers), 0.35);
  // Focused: items differ little in quality, so what a user is shown follows their genres.
  const itemBias = rng.fillNormal(new Float32Array(nItems), focused ? 0.15 : 0.5);
  let logPopularity: Float32Array;
  const exponent = opts.popularityExponent;
  if (exponent === undefined) {
    logPopularity = rng.fillNormal(new Float32Array(nItems), 0.5);
  } else {
    // Zipf: the item at popularity rank r (a seeded shuffle of the ids) weighs 1/r^exponent.
    logPopularity = new Float32Array(nItems);
    const byRank = Array.from({ length: nItems }, (_, i) => i);
    for (let j = nItems - 1; j > 0; j--) {
      const k = rng.int(j + 1);
      [byRank[j], byRank[k]] = [byRank[k]!, byRank[j]!];
    }
    byRank.forEach((i, r) => {
      logPopularity[i] = -exponent * Math.log(r + 1);
    });
  }
  const affinity = (u: number, i: number) => {
    let s = 0;
    for (let d = 0; d < rank; d++) s += p[u * rank + d]! * q[i * rank + d]!;
    return s;
  };

  const users: number[] = [];
  const items: number[] = [];
  const values: number[] = [];
  const times: number[] = [];
  const keys = new Float64Array(nItems);
  const order = Array.from({ length: nItems }, (_, i) => i);
  for (let u = 0; u < nUsers; u++) {
    const n = Math.min(nItems >> 1, 20 + Math.floor(-(meanPerUser - 20) * Math.log(1 - rng.next())));
    // Gumbel top-n: n distinct items, each drawn with probability ∝ popularity · exp(2 affinity).
    for (let i = 0; i < nItems; i++)
      keys[i] = logPopularity[i]! + 2 * affinity(u, i) - Math.log(-Math.log(rng.next() || 1e-12));
    order.sort((a, b) => keys[b]! - keys[a]!);
    // Active from a random day for a while (most users for weeks, a few for months).
    const from = start + rng.next() * (end - start) * 0.9;
    const to = Math.min(end, from + 86400 * (1 + -30 * Math.log(1 - rng.next())));
    for (const i of order.slice(0, n)) {
      const r = 2.5 + userBias[u]! + itemBias[i]! + affinity(u, i) + rng.normal() * noise;
      users.push(u);
      items.push(i);
      values.push(Math.min(5, Math.max(1, Math.round(r))));
      times.push(Math.floor(from + rng.next() * (to - from)));
    }
  }
  const nRatings = users.length;
  const line = (e: number) => `${users[e]! + 1}\t${items[e]! + 1}\t${values[e]}\t${times[e]}\n`;
  const byTime = Array.from({ length: nRatings }, (_, e) => e);
  byTime.sort((a, b) => times[a]! - times[b]! || users[a]! - users[b]! || items[a]! - items[b]!);
  writeFileSync(path.join(dir, 'u.data'), byTime.map(line).join(''));

  // Five folds: a seeded shuffle dealt round-robin; fold k is uk.test, the rest uk.base.
  const shuffled = Array.from({ length: nRatings }, (_, e) => e);
  for (let j = nRatings - 1; j > 0; j--) {
    const k = rng.int(j + 1);
    [shuffled[j], shuffled[k]] = [shuffled[k]!, shuffled[j]!];
  }
  const fold = new Int8Array(nRatings);
  shuffled.forEach((e, j) => {
    fold[e] = j % 5;
  });
  const byUser = Array.from({ length: nRatings }, (_, e) => e);
  byUser.sort((a, b) => users[a]! - users[b]! || items[a]! - items[b]!);
  const folds: SyntheticMovieLens['folds'] = [];
  for (let k = 0; k < 5; k++) {
    const test = byUser.filter((e) => fold[e] === k);
    const base = byUser.filter((e) => fold[e] !== k);
    writeFileSync(path.join(dir, `u${k + 1}.test`), test.map(line).join(''));
    writeFileSync(path.join(dir, `u${k + 1}.base`), base.map(line).join(''));
    folds.push({ base: base.length, test: test.length });
  }

  const catalog: MovieLensItem[] = [];
  const itemLines: string[] = [];
  for (let i = 0; i < nItems; i++) {
    const flags = new Array<number>(MOVIELENS_GENRES.length).fill(0);
    let title = 'unknown';
    let date = '';
    if (i === nItems - 1 && !focused) {
      flags[0] = 1;
    } else {
      let top = 0;
      for (let d = 0; d < rank; d++) {
        if (q[i * rank + d]! > q[i * rank + top]!) top = d;
        if (q[i * rank + d]! > 1) flags[genreOf(d)] = 1;
      }
      flags[genreOf(top)] = 1;
      const year = 1930 + rng.int(69);
      const [adjectives, nouns] = focused ? TITLE_WORDS[FOCUSED_GENRES[top]!] : [ADJECTIVES, NOUNS];
      title = `${adjectives[rng.int(adjectives.length)]} ${nouns[rng.int(nouns.length)]} (${year})`;
      date = `${String(1 + rng.int(28)).padStart(2, '0')}-${MONTHS[rng.int(12)]}-${year}`;
    }
    const url = `http://us.imdb.com/M/title-exact?${encodeURIComponent(title)}`;
    itemLines.push(`${i + 1}|${title}|${date}||${url}|${flags.join('|')}\n`);
    const genres = MOVIELENS_GENRES.filter((_, g) => flags[g] === 1);
    catalog.push({
      item_id: String(i + 1),
      title,
      category: genres[0] ?? null,
      attributes: { genres: [...genres], release_date: date === '' ? null : isoDate(date) },
    });
  }
  writeFileSync(path.join(dir, 'u.item'), Buffer.from(itemLines.join(''), 'latin1'));
  writeFileSync(path.join(dir, 'u.genre'), `${MOVIELENS_GENRES.map((g, k) => `${g}|${k}`).join('\n')}\n\n`);

  return {
    dir,
    users: nUsers,
    items: nItems,
    ratings: nRatings,
    ratedItems: new Set(items).size,
    catalog,
    folds,
    tastes: favourites.map((dims) => dims.map((d) => MOVIELENS_GENRES[genreOf(d)]!)),
  };
}

/** "07-Mar-1995" → "1995-03-07". */
function isoDate(s: string): string {
  const [day, month, year] = s.split('-');
  return `${year}-${String(MONTHS.indexOf(month!) + 1).padStart(2, '0')}-${day}`;
}
