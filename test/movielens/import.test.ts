// `recsys start --import-movielens` on the real MovieLens 100K (opt-in: RECSYS_ML100K_DIR, see
// dataset.ts): the import into the embedded stores, a training run on the archive, and the
// precomputed answers for every user.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listArchive } from '../../src/batch/archive.js';
import { importMovieLens } from '../../src/batch/import-movielens.js';
import { startBatchRun } from '../../src/batch/pipeline.js';
import { batchDeps } from '../../src/cli/batch-deps.js';
import { ComputePool } from '../../src/compute/pool.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
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

  it('a batch run on the archive holds out the latest 10 %, scores RMSE under 1.0, precomputes all 943 users', async () => {
    const config = loadConfig({ env: { RECSYS_TRAIN_WINDOW_DAYS: 'all', RECSYS_ALS_ITERATIONS: '5' } });
    const deps = batchDeps(config, stores, { pool, backend: 'native' }, silentLogger);
    const r = await (await startBatchRun(deps, { trigger: 'cli' })).done;
    assert.equal(r.status, 'succeeded', r.error);
    const gate = r.metrics.gate as { candidate: { rmse: number; test_interactions: number } };
    assert.ok(gate.candidate.rmse < 1.0, `holdout RMSE ${gate.candidate.rmse}`);
    // The latest 10 % by time are mostly ratings of users who joined then (not in training):
    // about 2800 of those 10 000 pairs have a user and item the model knows.
    assert.ok(gate.candidate.test_interactions > 2000, `${gate.candidate.test_interactions} held out`);
    assert.equal(r.metrics.precomputed, 943);
    const recs = await stores.db.query<{ item_ids: string[] }>(
      `SELECT item_ids FROM batch_recommendations WHERE user_id = '196'`,
    );
    assert.equal(recs.rows[0].item_ids.length, 100);
  });
});
