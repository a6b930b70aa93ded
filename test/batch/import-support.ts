// What the import tests generate and observe: event files made in the test (CSV text, Parquet
// from Arrow tables), and the state an import leaves (every object with its bytes' digest, the
// archive's rows, the id tables' counts) so that "a second import changes nothing" is checked on
// all of it.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as arrow from 'apache-arrow';
import { ARCHIVE_PREFIX, decodeArchivePart } from '../../src/data/archive-format.js';
import { encodeParquet } from '../../src/data/parquet-loader.js';
import type { InteractionEvent } from '../../src/events/index.js';
import type { Stores } from '../../src/stores/index.js';

/** Every object (key → SHA-256 of its bytes), and the users/items rows. */
export async function snapshot(stores: Pick<Stores, 'db' | 'objects'>): Promise<{
  objects: Record<string, string>;
  users: number;
  items: Array<{ item_id: string; idx: number; title: string | null; category: string | null }>;
}> {
  const objects: Record<string, string> = {};
  for (const key of await stores.objects.list()) {
    objects[key] = createHash('sha256')
      .update(await stores.objects.get(key))
      .digest('hex');
  }
  const users = await stores.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
  const items = await stores.db.query<{
    item_id: string;
    idx: number;
    title: string | null;
    category: string | null;
  }>('SELECT item_id, idx, title, category FROM items ORDER BY idx');
  return { objects, users: users.rows[0]!.n, items: items.rows.map((r) => ({ ...r })) };
}

/** Every archived row, sorted by event id, with the key of its part. */
export async function archived(
  objects: Stores['objects'],
): Promise<Array<InteractionEvent & { key: string }>> {
  const out: Array<InteractionEvent & { key: string }> = [];
  for (const key of await objects.list(ARCHIVE_PREFIX)) {
    const c = await decodeArchivePart(await objects.get(key), key);
    for (let i = 0; i < c.eventId.length; i++)
      out.push({
        key,
        event_id: c.eventId[i]!,
        user_id: c.userId[i]!,
        item_id: c.itemId[i]!,
        type: c.type[i] as InteractionEvent['type'],
        value: c.value[i] ?? null,
        ts: c.ts[i]!,
      });
  }
  return out.sort((a, b) => a.event_id.localeCompare(b.event_id));
}

/** Writes `lines` as a file (joined with '\n', with a final newline) and returns its path. */
export function writeLines(file: string, lines: readonly string[]): string {
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

export const DAY = 86_400_000;
/** The generated events' first day. */
export const T0 = Date.parse('2024-03-01T00:00:00.000Z');

/**
 * `n` well-formed CSV rows over `days` days: users u0..u29, items i0..i49, the types in turn,
 * a value for ratings and purchases, ts alternately ISO-8601 and epoch ms.
 */
export function eventLines(n: number, days = 3): string[] {
  const types = ['view', 'click', 'add_to_cart', 'purchase', 'rating', 'dismiss'];
  const lines = ['user_id,item_id,type,value,ts'];
  for (let i = 0; i < n; i++) {
    const type = types[i % types.length]!;
    const value = type === 'rating' ? String(1 + (i % 5)) : type === 'purchase' ? '19.5' : '';
    const t = T0 + Math.floor((i * days * DAY) / n);
    lines.push(`u${i % 30},i${(i * 7) % 50},${type},${value},${i % 2 ? new Date(t).toISOString() : t}`);
  }
  return lines;
}

/** A Parquet file of `table`, written through the same encoder as the archive's parts. */
export async function writeParquet(file: string, table: arrow.Table): Promise<string> {
  writeFileSync(file, await encodeParquet(table));
  return file;
}

/** A column of `type` from JS values (nulls allowed). */
export const column = <T extends arrow.DataType>(values: unknown[], type: T) =>
  arrow.vectorFromArray(values, type);
