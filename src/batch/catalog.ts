/**
 * The item catalog as imports fill it: ids into `items` (a dense idx each, data/id-rows.ts),
 * with the title, category and attributes the source has. A field the source leaves out
 * (null) keeps what the row holds, so importing the same catalog twice changes nothing and a
 * file with titles only does not erase categories.
 */
import { registerIds } from '../data/id-rows.js';
import type { RelationalStore } from '../stores/relational/port.js';

export interface CatalogItem {
  item_id: string;
  title: string | null;
  category: string | null;
  attributes: Record<string, unknown> | null;
}

/** Rows per statement: the catalog goes in as arrays, one UPDATE per batch. */
const BATCH = 10_000;

/** Registers the items and sets their fields; returns how many ids were new. */
export async function upsertCatalog(db: RelationalStore, items: readonly CatalogItem[]): Promise<number> {
  let added = 0;
  for (let at = 0; at < items.length; at += BATCH) {
    const batch = items.slice(at, at + BATCH);
    added += await db.transaction(async (tx) => {
      const n = await registerIds(
        tx,
        'items',
        batch.map((it) => it.item_id),
      );
      await tx.query(
        `UPDATE items AS i SET title = COALESCE(v.title, i.title), category = COALESCE(v.category, i.category),
                attributes = COALESCE(v.attributes::jsonb, i.attributes)
         FROM (SELECT unnest($1::text[]) AS item_id, unnest($2::text[]) AS title,
                      unnest($3::text[]) AS category, unnest($4::text[]) AS attributes) AS v
         WHERE i.item_id = v.item_id`,
        [
          batch.map((it) => it.item_id),
          batch.map((it) => it.title),
          batch.map((it) => it.category),
          batch.map((it) => (it.attributes === null ? null : JSON.stringify(it.attributes))),
        ],
      );
      return n;
    });
  }
  return added;
}
