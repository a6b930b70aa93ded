// `recsys start --import-movielens` on the real MovieLens 100K (opt-in: RECSYS_ML100K_DIR, see
// dataset.ts): the import into the embedded stores, a training run on the archive, and the
// precomputed answers for every user.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listArchive } from '../../src/batch/archive.js';
import { importMovieLens } from '../../src/batch/import-movielens.js';
import { runTraining } from '../../src/batch/train-job.js';
import { ComputePool } from '../../src/compute/pool.js';
import { DEFAULT_PARAMS } from '../../src/model/params.js';
import type { Stores } from '../../src/stores/index.js';
import { tempDir } from '../helpers.js';
import { openEmbeddedStores } from '../stores/support/pglite-dir.js';
import { ml100kDir } from './dataset.js';

const dir = ml100kDir();

describe('MovieLens 100K import and training run (embedded)', () => {
  const tmp = tempDir();
  let stores: Stores;
  let pool: ComputePool;
  before(async () => {
    stores = await openEmbeddedStores(tmp.dir);
    pool = new ComputePool(2);
  });
  after(async () => {
    await pool.destroy();
    await stores.close();
    tmp.cleanup();
  });

  it('imports 1682 items, 943 users and 100000 ratings into 1997-98 day partitions', async () => {
    const { items, users, rows, already_imported } = await importMovieLens(stores, dir);
    assert.deepEqual(
      { items, users, rows, already_imported },
      { items: 1682, users: 943, rows: 100000, already_imported: false },
    );
    const title = await stores.db.query<{ title: string; category: string }>(
      `SELECT title, category FROM items WHERE item_id = '1'`,
    );
    assert.deepEqual({ ...title.rows[0] }, { title: 'Toy Story (1995)', category: 'Animation' });
    const parts = await listArchive(stores.objects);
    assert.ok(parts.length > 100, `${parts.length} day partitions`);
    assert.ok(parts.every((k) => /dt=199[78]-\d\d-\d\d\/import-[0-9a-f]{16}-0\.parquet$/.test(k)));
    assert.equal((await importMovieLens(stores, dir)).already_imported, true);
  });

  it('trains from the archive under RMSE 1.0 and precomputes all 943 users', async () => {
    const r = await runTraining(stores, {
      params: { ...DEFAULT_PARAMS.explicit, iterations: 5 },
      backend: 'native',
      pool,
    });
    assert.ok(r.metrics.rmse < 1.0, `holdout RMSE ${r.metrics.rmse}`);
    assert.equal(r.precomputed, 943);
    const recs = await stores.db.query<{ item_ids: string[] }>(
      `SELECT item_ids FROM batch_recommendations WHERE user_id = '196'`,
    );
    assert.equal(recs.rows[0].item_ids.length, 50);
  });
});
