/**
 * Import a MovieLens folder the user points at (u.item, u.data): the catalog into `items`,
 * users into `users`, ratings into the Parquet archive as `rating` events. Event ids are
 * derived from (user, item, time), and a marker object records each imported file's digest,
 * so importing the same folder twice changes nothing.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { registerIds } from '../data/id-rows.js';
import { loadInteractions, loadItemsMovieLens } from '../data/loaders.js';
import type { InteractionEvent } from '../events/index.js';
import type { Stores } from '../stores/index.js';
import { writeArchive } from './archive.js';

export interface ImportResult {
  items: number;
  users: number;
  ratings: number;
  skipped: boolean; // the same u.data was imported before
}

/** A stable UUID (version-5 layout) from a name, so re-imports produce the same event ids. */
export function stableUuid(name: string): string {
  const h = createHash('sha1').update(name).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

export async function importMovieLens(
  stores: Pick<Stores, 'db' | 'objects'>,
  dir: string,
): Promise<ImportResult> {
  const ratingsFile = path.join(dir, 'u.data');
  const itemsFile = path.join(dir, 'u.item');
  for (const f of [ratingsFile, itemsFile]) {
    await stat(f).catch(() => {
      throw new Error(`MovieLens import: ${f} not found (give the folder holding u.data and u.item)`);
    });
  }
  const digest = createHash('sha256')
    .update(await readFile(ratingsFile))
    .digest('hex');
  const marker = `imports/movielens-${digest}.json`;

  const items = await loadItemsMovieLens(itemsFile);
  await stores.db.transaction(async (tx) => {
    await registerIds(
      tx,
      'items',
      items.map((it) => it.item_id),
    );
    // One statement for the whole catalog: a re-import refreshes titles and genres in place.
    await tx.query(
      `UPDATE items AS i SET title = v.title, category = v.category, attributes = v.attributes::jsonb
       FROM (SELECT unnest($1::text[]) AS item_id, unnest($2::text[]) AS title,
                    unnest($3::text[]) AS category, unnest($4::text[]) AS attributes) AS v
       WHERE i.item_id = v.item_id`,
      [
        items.map((it) => it.item_id),
        items.map((it) => it.title),
        items.map((it) => it.category),
        items.map((it) => JSON.stringify(it.attributes)),
      ],
    );
  });

  const table = await loadInteractions(ratingsFile, 'movielens');
  const user = table.getChild('user')!;
  const item = table.getChild('item')!;
  const value = table.getChild('value')!;
  const ts = table.getChild('ts')!;
  const users = new Set<string>();
  for (let i = 0; i < table.numRows; i++) users.add(String(user.get(i)));
  await stores.db.transaction((tx) => registerIds(tx, 'users', users));

  if (await stores.objects.exists(marker)) {
    return { items: items.length, users: users.size, ratings: table.numRows, skipped: true };
  }
  const events: InteractionEvent[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const u = String(user.get(i));
    const it = String(item.get(i));
    const t = Number(ts.get(i));
    events.push({
      event_id: stableUuid(`movielens:${u}:${it}:${t}`),
      user_id: u,
      item_id: it,
      type: 'rating',
      value: Number(value.get(i)),
      ts: t,
    });
  }
  await writeArchive(stores.objects, events);
  await stores.objects.put(
    marker,
    Buffer.from(JSON.stringify({ file: ratingsFile, ratings: events.length })),
  );
  return { items: items.length, users: users.size, ratings: events.length, skipped: false };
}
