// MovieLens import → Parquet archive → training run → registry → precomputed answers, on
// the embedded stores (PGlite, local folder), as `recsys start --import-movielens` runs it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listArchive } from '../../src/batch/archive.js';
import { importMovieLens } from '../../src/batch/import-movielens.js';
import { runTraining } from '../../src/batch/train-job.js';
import { ComputePool } from '../../src/compute/pool.js';
import { MODEL_CHANNEL } from '../../src/events/index.js';
import { DEFAULT_PARAMS } from '../../src/model/params.js';
import { activeVersion, listModels, loadModel } from '../../src/model/registry.js';
import type { Stores } from '../../src/stores/index.js';
import { syntheticMovieLens, tempDir } from '../helpers.js';
import { openEmbeddedStores } from '../stores/support/pglite-dir.js';

describe('MovieLens import and training run (embedded)', () => {
  const tmp = tempDir();
  const ml = syntheticMovieLens();
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
    ml.cleanup();
  });

  it('imports the catalog, users and ratings into day partitions, once', async () => {
    const { items: i, users: u, rows, already_imported } = await importMovieLens(stores, ml.dir);
    assert.deepEqual(
      { items: i, users: u, rows, already_imported },
      { items: ml.items, users: ml.users, rows: ml.ratings, already_imported: false },
    );
    const items = await stores.db.query<{ n: number }>('SELECT count(*)::int AS n FROM items');
    assert.equal(items.rows[0].n, ml.items);
    const title = await stores.db.query<{ title: string; category: string }>(
      `SELECT title, category FROM items WHERE item_id = '1'`,
    );
    assert.deepEqual(
      { ...title.rows[0] },
      { title: ml.catalog[0]!.title, category: ml.catalog[0]!.category },
    );
    const parts = await listArchive(stores.objects);
    assert.ok(parts.length > 100, `${parts.length} day partitions`);
    assert.ok(parts.every((k) => /dt=199[78]-\d\d-\d\d\/import-[0-9a-f]{16}-0\.parquet$/.test(k)));
    const again = await importMovieLens(stores, ml.dir);
    assert.equal(again.already_imported, true);
    assert.equal((await listArchive(stores.objects)).length, parts.length);
    const users = await stores.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    assert.equal(users.rows[0].n, ml.users);
  });

  it('trains from the archive, precomputes every user, then activates the model', async () => {
    const params = { ...DEFAULT_PARAMS.explicit, iterations: 5 };
    // What a serving process would find in batch_recommendations the moment it hears of the
    // activation (the embedded store runs queries in the order they are issued).
    let atActivation: Promise<string[]> | undefined;
    let heard = () => {};
    const activated = new Promise<void>((resolve) => {
      heard = resolve;
    });
    const off = await stores.cache.subscribe(MODEL_CHANNEL, () => {
      atActivation ??= stores.db
        .query<{ v: string }>('SELECT DISTINCT model_version AS v FROM batch_recommendations')
        .then((q) => q.rows.map((row) => row.v));
      heard();
    });
    const r = await runTraining(stores, { params, backend: 'native', pool });
    await activated;
    await off();
    assert.deepEqual(await atActivation, [r.model.meta.version]);
    assert.ok(r.metrics.rmse < 0.85, `holdout RMSE ${r.metrics.rmse}`);
    assert.equal(r.precomputed, ml.users);
    assert.equal(await activeVersion(stores), r.model.meta.version);
    const [row] = await listModels(stores);
    assert.equal(row.status, 'active');
    assert.ok(row.metrics.rmse > 0);
    const recs = await stores.db.query<{ item_ids: string[]; scores: number[]; model_version: string }>(
      `SELECT item_ids, scores, model_version FROM batch_recommendations WHERE user_id = '1'`,
    );
    assert.equal(recs.rows[0].item_ids.length, 50);
    assert.equal(recs.rows[0].model_version, r.model.meta.version);
    // Loaded back from the object store, the model predicts exactly as trained.
    const loaded = await loadModel(stores, r.model.meta.version);
    assert.equal(loaded.predict(3, 7), r.model.predict(3, 7));
    // A second run retires the first.
    const r2 = await runTraining(stores, { params: { ...params, iterations: 2 }, backend: 'native', pool });
    const statuses = new Map((await listModels(stores)).map((m) => [m.version, m.status] as const));
    assert.equal(statuses.get(r.model.meta.version), 'retired');
    assert.equal(statuses.get(r2.model.meta.version), 'active');
    // A candidate only: the active model and its batch rows stay.
    const r3 = await runTraining(stores, {
      params: { ...params, iterations: 1 },
      backend: 'native',
      pool,
      activate: false,
    });
    assert.equal(r3.precomputed, 0);
    assert.equal(await activeVersion(stores), r2.model.meta.version);
    const versions = await stores.db.query<{ v: string }>(
      'SELECT DISTINCT model_version AS v FROM batch_recommendations',
    );
    assert.deepEqual(
      versions.rows.map((row) => row.v),
      [r2.model.meta.version],
    );
    assert.equal(
      (await listModels(stores)).find((m) => m.version === r3.model.meta.version)?.status,
      'candidate',
    );
  });
});
