/**
 * The `users` and `items` rows: every id the system has met, each with a dense `idx` given
 * once, in the order ids were first seen. Only new ids take a number, so the index stays
 * dense (0..n-1) however often an import or the stream sees the same ids again.
 */
import type { Queryable } from '../stores/relational/port.js';

export type IdTable = 'users' | 'items';

const KEY: Record<IdTable, string> = { users: 'user_id', items: 'item_id' };

/**
 * Adds the ids of `ids` not yet in `table`, numbered from its largest idx + 1; returns how
 * many were added. Run it in a transaction: the table lock makes concurrent registrations
 * (two importers, several stream processors) take turns instead of colliding on idx.
 */
export async function registerIds(tx: Queryable, table: IdTable, ids: Iterable<string>): Promise<number> {
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return 0;
  const key = KEY[table];
  await tx.query(`LOCK TABLE ${table} IN SHARE ROW EXCLUSIVE MODE`);
  const known = await tx.query<{ id: string }>(`SELECT ${key} AS id FROM ${table} WHERE ${key} = ANY($1)`, [
    wanted,
  ]);
  const seen = new Set(known.rows.map((r) => r.id));
  const fresh = wanted.filter((id) => !seen.has(id));
  if (fresh.length === 0) return 0;
  const { rows } = await tx.query<{ n: number }>(`SELECT COALESCE(MAX(idx) + 1, 0)::int AS n FROM ${table}`);
  const first = rows[0]!.n;
  return tx.copyRows(
    table,
    [key, 'idx'],
    fresh.map((id, i) => [id, first + i]),
  );
}
