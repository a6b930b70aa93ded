// `recsys import movielens` (and `recsys start --import-movielens`) as a library call on the
// embedded stores, on a generated MovieLens folder: the catalog, users and ratings, a second
// import that changes nothing, a marker from before imports kept summaries, bad lines by number.
import assert from 'node:assert/strict';
import { appendFileSync, cpSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileSha256, InvalidRowsError } from '../../src/batch/import.js';
import { importMovieLens } from '../../src/batch/import-movielens.js';
import { stableUuid } from '../../src/batch/import-rows.js';
import { DataError } from '../../src/data/errors.js';
import { syntheticMovieLens } from '../helpers.js';
import { embeddedStoresForSuite } from '../stores/support/pglite-dir.js';
import { archived, snapshot } from './import-support.js';

describe('MovieLens import (embedded stores)', () => {
  const suite = embeddedStoresForSuite();
  const ml = syntheticMovieLens({ users: 60, items: 80 });
  after(() => {
    ml.cleanup();
  });

  it('imports the catalog, users and ratings; a second import changes nothing', async () => {
    const r = await importMovieLens(suite.stores, ml.dir);
    assert.deepEqual(
      [r.format, r.files, r.rows, r.users, r.items, r.new_users, r.new_items, r.already_imported],
      ['movielens', 2, ml.ratings, ml.users, ml.items, ml.users, ml.items, false],
    );
    const { rows } = await suite.stores.db.query<{ title: string; category: string | null }>(
      `SELECT title, category FROM items WHERE item_id = '2'`,
    );
    assert.deepEqual({ ...rows[0] }, { title: ml.catalog[1]!.title, category: ml.catalog[1]!.category });
    const events = await archived(suite.stores.objects);
    assert.equal(events.length, ml.ratings);
    assert.ok(events.every((e) => e.type === 'rating' && e.value! >= 1 && e.value! <= 5));
    // Event ids as MovieLens imports always derived them: (user, item, time).
    const e = events[0]!;
    assert.equal(e.event_id, stableUuid(`movielens:${e.user_id}:${e.item_id}:${e.ts}`));

    const before = await snapshot(suite.stores);
    const again = await importMovieLens(suite.stores, ml.dir);
    assert.equal(again.already_imported, true);
    assert.equal(again.rows, ml.ratings);
    assert.deepEqual(await snapshot(suite.stores), before);
  });

  it('takes a marker written before imports kept summaries for a done import', async () => {
    const other = syntheticMovieLens({ users: 30, items: 40, seed: 9 });
    try {
      const marker = `imports/movielens-${await fileSha256(path.join(other.dir, 'u.data'))}.json`;
      await suite.stores.objects.put(
        marker,
        Buffer.from(JSON.stringify({ file: 'u.data', ratings: other.ratings })),
      );
      const parts = await suite.stores.objects.list('archive/');
      const r = await importMovieLens(suite.stores, other.dir);
      assert.deepEqual([r.already_imported, r.rows], [true, other.ratings]);
      assert.deepEqual(await suite.stores.objects.list('archive/'), parts);
    } finally {
      other.cleanup();
    }
  });

  it('refuses a u.data with bad lines, naming them, and a folder without u.data', async () => {
    const dir = path.join(suite.dir, 'bad-ml');
    cpSync(ml.dir, dir, { recursive: true });
    appendFileSync(path.join(dir, 'u.data'), '1\t2\tfive\t881250949\n1\t2\n');
    const before = await snapshot(suite.stores);
    await assert.rejects(importMovieLens(suite.stores, dir), (err: Error) => {
      assert.ok(err instanceof InvalidRowsError);
      assert.equal(err.count, 2);
      assert.match(err.message, new RegExp(`u\\.data:${ml.ratings + 1}: value: must be number`));
      assert.match(err.message, new RegExp(`u\\.data:${ml.ratings + 2}: expected 4 tab-separated fields`));
      return true;
    });
    assert.deepEqual(await snapshot(suite.stores), before);
    await assert.rejects(importMovieLens(suite.stores, suite.dir), (err: Error) => {
      assert.ok(err instanceof DataError);
      assert.match(err.message, /u\.data: not found \(give the MovieLens folder/);
      return true;
    });
  });
});
