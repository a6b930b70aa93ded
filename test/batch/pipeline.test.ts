// The batch pipeline on the embedded stores (PGlite, local folder): a MovieLens-format archive
// (generated) → read → train → evaluate and gate → refit → save → precompute → activate, with
// the run recorded in batch_runs; then the gate rejecting a worse model, rollback to a kept
// version, pruning beyond the kept ones, and a corrupt archive part failing the run by name.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listArchive } from '../../src/batch/archive.js';
import { importMovieLens } from '../../src/batch/import-movielens.js';
import { type BatchSettings, PHASES, type RunOutcome, startBatchRun } from '../../src/batch/pipeline.js';
import { batchDeps } from '../../src/cli/batch-deps.js';
import { ComputePool } from '../../src/compute/pool.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { activateModel, activeVersion, listModels } from '../../src/model/registry.js';
import { getRun } from '../../src/model/runs.js';
import type { Stores } from '../../src/stores/index.js';
import { syntheticMovieLens, tempDir } from '../helpers.js';
import { openEmbeddedStores } from '../stores/support/pglite-dir.js';

describe('batch pipeline (embedded)', () => {
  const tmp = tempDir();
  const ml = syntheticMovieLens();
  let stores: Stores;
  let pool: ComputePool;
  const config = loadConfig({
    env: {
      RECSYS_TRAIN_WINDOW_DAYS: 'all',
      RECSYS_ALS_ITERATIONS: '5',
      RECSYS_ALS_FACTORS: '16',
      RECSYS_TOP_N: '20',
    },
  });
  const run = async (settings: Partial<BatchSettings> = {}): Promise<RunOutcome> => {
    const deps = batchDeps(
      { ...config, batch: { ...config.batch, ...settings } },
      stores,
      { pool, backend: 'native' },
      silentLogger,
    );
    const { runId, done } = await startBatchRun(deps, { trigger: 'cli' });
    const o = await done;
    assert.equal(o.run_id, runId);
    return o;
  };
  const versionsWithAnswers = async () =>
    (
      await stores.db.query<{ v: string; n: number }>(
        'SELECT model_version AS v, count(*)::int AS n FROM batch_recommendations GROUP BY 1 ORDER BY 1',
      )
    ).rows.map((r) => ({ ...r }));

  before(async () => {
    stores = await openEmbeddedStores(tmp.dir);
    pool = new ComputePool(2);
    await importMovieLens(stores, ml.dir);
  });
  after(async () => {
    await pool.destroy();
    await stores.close();
    tmp.cleanup();
    ml.cleanup();
  });

  let first: RunOutcome;
  it('a first run trains, evaluates on the latest interactions, publishes and precomputes every user', async () => {
    first = await run();
    assert.equal(first.status, 'succeeded', first.error);
    assert.equal(first.published, true);
    assert.deepEqual(Object.keys(first.phases), PHASES);
    const data = first.metrics.data as Record<string, number>;
    assert.equal(data.interactions, ml.ratings);
    assert.equal(data.duplicates, 0);
    const gate = first.metrics.gate as { reason: string; candidate: Record<string, number> };
    assert.equal(gate.reason, 'no active model');
    assert.ok(gate.candidate.rmse > 0 && gate.candidate.rmse < 1.1, `holdout RMSE ${gate.candidate.rmse}`);
    assert.equal(first.metrics.precomputed, ml.users);
    assert.equal(await activeVersion(stores), first.model_version);
    assert.deepEqual(await versionsWithAnswers(), [{ v: first.model_version, n: ml.users }]);
    const row = await getRun(stores.db, first.run_id);
    assert.equal(row?.status, 'succeeded');
    assert.equal(row?.trigger, 'cli');
    assert.equal(row?.phase, null);
    assert.deepEqual(Object.keys(row!.phases), Object.keys(first.phases));
    assert.equal(row?.model_version, first.model_version);
    assert.ok(row?.started_at && row.finished_at && row.finished_at >= row.started_at);
  });

  let rejected: RunOutcome;
  it('a worse model is rejected by the gate: saved as a candidate, nothing served changes', async () => {
    // New ratings after the active model's data, so that there is something it never saw.
    const { rows } = await stores.db.query<{ user_id: string; item_id: string }>(
      `SELECT user_id, item_ids[1] AS item_id FROM batch_recommendations LIMIT 200`,
    );
    const t0 = Date.parse('1998-06-01T00:00:00Z');
    await stores.db.copyRows(
      'rt_user_interactions',
      ['event_id', 'user_id', 'item_id', 'type', 'value', 'ts'],
      rows.map((r, k) => [
        crypto.randomUUID(),
        r.user_id,
        r.item_id,
        'rating',
        4 + (k % 2),
        new Date(t0 + k * 60_000),
      ]),
    );
    const before = await versionsWithAnswers();
    // An absurd penalty: every prediction collapses toward the mean.
    const worse = await run({ lambda: 1e5, holdoutFraction: 0.5 });
    rejected = worse;
    assert.equal(worse.status, 'rejected', worse.error);
    assert.equal(worse.published, false);
    assert.deepEqual(Object.keys(worse.phases), ['read', 'train', 'evaluate', 'save']);
    const gate = worse.metrics.gate as {
      metric: string;
      candidate: Record<string, number>;
      active: Record<string, number>;
      active_version: string;
    };
    assert.equal(gate.metric, 'rmse');
    assert.equal(gate.active_version, first.model_version);
    assert.ok(gate.candidate.rmse > gate.active.rmse * 1.01, JSON.stringify(gate));
    assert.equal(await activeVersion(stores), first.model_version);
    assert.deepEqual(await versionsWithAnswers(), before);
    const candidate = (await listModels(stores)).find((m) => m.version === worse.model_version);
    assert.equal(candidate?.status, 'candidate');
    assert.equal((await getRun(stores.db, worse.run_id))?.status, 'rejected');
  });

  let second: RunOutcome;
  it('a good model is published beside the old one; activating the old one rolls back to its answers', async () => {
    second = await run({ holdoutFraction: 0.5 });
    assert.equal(second.status, 'succeeded', second.error);
    const gate = second.metrics.gate as { active: Record<string, number>; reason: string };
    assert.ok(gate.active, `compared with the active model: ${gate.reason}`);
    assert.equal(await activeVersion(stores), second.model_version);
    const answers = await versionsWithAnswers();
    assert.deepEqual(
      answers.map((a) => a.v).sort(),
      [first.model_version, second.model_version].sort(),
      'the previous version keeps its answers',
    );
    await activateModel(stores, first.model_version!);
    assert.equal(await activeVersion(stores), first.model_version);
    await activateModel(stores, second.model_version!);
  });

  it('versions beyond the kept ones are deleted: registry row, answers and artifact', async () => {
    const third = await run({ keepModels: 2 });
    assert.equal(third.status, 'succeeded', third.error);
    const versions = (await listModels(stores)).map((m) => m.version);
    assert.deepEqual(versions, [third.model_version, second.model_version]);
    assert.deepEqual(
      (third.metrics.pruned as string[]).sort(),
      [rejected.model_version, first.model_version].sort(),
    );
    assert.deepEqual(
      (await versionsWithAnswers()).map((a) => a.v).sort(),
      [second.model_version, third.model_version].sort(),
    );
    assert.deepEqual(await stores.objects.list(`models/${first.model_version}/`), []);
  });

  it('a corrupt archive part fails the run in the read phase, naming the file; nothing is published', async () => {
    const before = await activeVersion(stores);
    const models = (await listModels(stores)).length;
    const [key] = await listArchive(stores.objects);
    const good = await stores.objects.get(key!);
    await stores.objects.put(key!, Buffer.from('PAR1 this is not parquet'));
    try {
      const o = await run();
      assert.equal(o.status, 'failed');
      assert.ok(o.error?.includes(key!), o.error);
      const row = await getRun(stores.db, o.run_id);
      assert.equal(row?.phase, 'read');
      assert.equal(await activeVersion(stores), before);
      assert.equal((await listModels(stores)).length, models);
    } finally {
      await stores.objects.put(key!, good);
    }
  });
});
