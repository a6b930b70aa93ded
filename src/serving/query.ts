/**
 * Query parameters of the list endpoints, validated into a typed query (400 on anything
 * malformed rather than a silent default), and the key that tells answers to different
 * queries apart in the in-process cache.
 */
import { MAX_ID_LENGTH } from '../events/index.js';
import { badRequest } from './errors.js';
import { MAX_EXCLUDE, MAX_K } from './schemas.js';

export interface ListQuery {
  k: number;
  /** Leave out items the user already interacted with (default true). */
  excludeSeen: boolean;
  category: string | null;
  /** Item ids never to return. */
  exclude: string[];
}

export function parseListQuery(params: URLSearchParams): ListQuery {
  const k = parseK(params.get('k'));
  const seen = params.get('exclude_seen');
  let excludeSeen = true;
  if (seen !== null) {
    if (seen === 'true' || seen === '1') excludeSeen = true;
    else if (seen === 'false' || seen === '0') excludeSeen = false;
    else
      throw badRequest(
        'invalid_query',
        `exclude_seen must be true or false, got ${JSON.stringify(seen.slice(0, 20))}`,
      );
  }
  const category = params.get('category');
  if (category !== null && category.length > MAX_ID_LENGTH)
    throw badRequest('invalid_query', `category is at most ${MAX_ID_LENGTH} characters`);
  const exclude: string[] = [];
  for (const value of params.getAll('exclude')) {
    for (const id of value.split(',')) {
      if (id === '') continue;
      if (id.length > MAX_ID_LENGTH)
        throw badRequest('invalid_query', `exclude ids are at most ${MAX_ID_LENGTH} characters`);
      exclude.push(id);
    }
  }
  if (exclude.length > MAX_EXCLUDE)
    throw badRequest('invalid_query', `exclude lists at most ${MAX_EXCLUDE} ids`);
  return { k, excludeSeen, category: category === '' ? null : category, exclude };
}

export function parseK(raw: string | null): number {
  if (raw === null || raw === '') return 10;
  const k = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isInteger(k) || k < 1 || k > MAX_K)
    throw badRequest(
      'invalid_query',
      `k must be an integer from 1 to ${MAX_K}, got ${JSON.stringify(raw.slice(0, 20))}`,
    );
  return k;
}

/** Tells apart the cached answers of one user to different queries. */
export function variantKey(q: ListQuery): string {
  const ex = q.exclude.length === 0 ? '' : [...new Set(q.exclude)].sort().join('\u0001');
  return `${q.k}\u0002${q.excludeSeen ? 1 : 0}\u0002${q.category ?? ''}\u0002${ex}`;
}
