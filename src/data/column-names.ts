/**
 * Which header / schema column is the user, the item, the value and the timestamp.
 *
 * CSV headers and Parquet schemas come from many tools, so names are compared after
 * lower-casing and dropping '_', '-' and spaces: user_id, userId and "User ID" all match.
 * The archive schema (event_id, user_id, item_id, type, value, ts) and MovieLens
 * ratings.csv (userId, movieId, rating, timestamp) are both covered.
 */
export const USER_NAMES = ['user', 'userid'];
export const ITEM_NAMES = ['item', 'itemid', 'movie', 'movieid'];
export const VALUE_NAMES = ['value', 'rating', 'weight'];
export const TS_NAMES = ['ts', 'timestamp'];

export const USER_HINT = 'user column (user, user_id or userId)';
export const ITEM_HINT = 'item column (item, item_id, itemId or movieId)';

export function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[\s_-]+/g, '');
}

/** Index of the first column whose normalised name is in `wanted`, or -1. */
export function findColumn(names: readonly string[], wanted: readonly string[]): number {
  for (let i = 0; i < names.length; i++) if (wanted.includes(normaliseName(names[i]!))) return i;
  return -1;
}
