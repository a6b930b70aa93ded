// The users/items registry on the embedded relational store: dense idx given once per id.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registerIds } from '../../src/data/id-rows.js';
import { embeddedStoresForSuite } from '../stores/support/pglite-dir.js';

describe('registerIds', () => {
  const suite = embeddedStoresForSuite();

  const rows = async (table: 'users' | 'items') =>
    (
      await suite.stores.db.query<{ id: string; idx: number }>(
        `SELECT ${table === 'users' ? 'user_id' : 'item_id'} AS id, idx FROM ${table} ORDER BY idx`,
      )
    ).rows.map((r) => [r.id, r.idx]);

  it('numbers new ids densely in first-seen order and leaves known ids as they are', async () => {
    const first = await suite.stores.db.transaction((tx) =>
      registerIds(tx, 'users', ['u1', 'u2', 'u1', 'u3']),
    );
    assert.equal(first, 3);
    const again = await suite.stores.db.transaction((tx) =>
      registerIds(tx, 'users', ['u3', 'u4', 'u2', 'u5']),
    );
    assert.equal(again, 2);
    assert.equal(await suite.stores.db.transaction((tx) => registerIds(tx, 'users', ['u1', 'u5'])), 0);
    assert.deepEqual(await rows('users'), [
      ['u1', 0],
      ['u2', 1],
      ['u3', 2],
      ['u4', 3],
      ['u5', 4],
    ]);
  });

  it('keeps each table its own numbering and rolls back with its transaction', async () => {
    await suite.stores.db.transaction((tx) => registerIds(tx, 'items', ['i1', 'i2']));
    await assert.rejects(
      suite.stores.db.transaction(async (tx) => {
        await registerIds(tx, 'items', ['i3']);
        throw new Error('abort');
      }),
      /abort/,
    );
    await suite.stores.db.transaction((tx) => registerIds(tx, 'items', ['i4']));
    assert.deepEqual(await rows('items'), [
      ['i1', 0],
      ['i2', 1],
      ['i4', 2],
    ]);
  });
});
