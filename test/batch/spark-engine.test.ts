// The Spark engine's parts that need no Spark: its settings, the engine a run picks, factor
// Parquet as Spark writes it (a file Spark 4.0.1 wrote, test/fixtures), the model built from
// factors, and a run whose spark-submit is missing or whose job fails (a stand-in
// spark-submit script that fails the way the job does: its error line, exit status 1).
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { builtinEngine } from '../../src/batch/engine.js';
import { selectEngine } from '../../src/batch/engines.js';
import { startBatchRun } from '../../src/batch/pipeline.js';
import {
  factorParts,
  factorRowsFromParquet,
  modelFromFactors,
  topListsFor,
} from '../../src/batch/spark-factors.js';
import { batchDeps } from '../../src/cli/batch-deps.js';
import { ComputePool } from '../../src/compute/pool.js';
import { loadConfig } from '../../src/config/index.js';
import { IdMap } from '../../src/data/ids.js';
import { silentLogger } from '../../src/logger.js';
import { DEFAULT_PARAMS } from '../../src/model/params.js';
import { getRun } from '../../src/model/runs.js';
import type { Stores } from '../../src/stores/index.js';
import { repoRoot, tempDir } from '../helpers.js';
import { openEmbeddedStores } from '../stores/support/pglite-dir.js';

describe('Spark engine settings', () => {
  it('defaults to the built-in engine; RECSYS_BATCH_ENGINE and SPARK_MASTER select and place Spark', () => {
    const plain = loadConfig({ env: {} });
    assert.equal(plain.batch.engine, 'builtin');
    assert.equal(plain.batch.spark.master, 'local[*]');
    for (const master of [
      'local',
      'local[2]',
      'local[*]',
      'spark://10.0.0.5:7077',
      'yarn',
      'k8s://https://k8s:6443',
    ]) {
      const c = loadConfig({ env: { RECSYS_BATCH_ENGINE: 'spark', SPARK_MASTER: master } });
      assert.equal(c.batch.engine, 'spark');
      assert.equal(c.batch.spark.master, master);
    }
    const c = loadConfig({
      env: {
        RECSYS_SPARK_CONF: 'spark.executor.memory=8g, spark.driver.memory=2g',
        RECSYS_SPARK_JARS: '/a.jar,/b.jar',
      },
    });
    assert.deepEqual(c.batch.spark.conf, ['spark.executor.memory=8g', 'spark.driver.memory=2g']);
    assert.deepEqual(c.batch.spark.jars, ['/a.jar', '/b.jar']);
  });

  it('refuses an unknown engine, a master that is not one, and a property that is not spark.key=value', () => {
    assert.throws(() => loadConfig({ env: { RECSYS_BATCH_ENGINE: 'flink' } }), /RECSYS_BATCH_ENGINE/);
    assert.throws(() => loadConfig({ env: { SPARK_MASTER: 'localhost:7077' } }), /SPARK_MASTER/);
    assert.throws(
      () => loadConfig({ env: { RECSYS_SPARK_CONF: 'executor.memory=8g' } }),
      /RECSYS_SPARK_CONF/,
    );
    assert.throws(
      () => loadConfig({ env: { RECSYS_SPARK_S3_ENDPOINT: 'minio:9000' } }),
      /RECSYS_SPARK_S3_ENDPOINT/,
    );
  });
});

describe('Spark factors read back', () => {
  const fixture = readFileSync(path.join(repoRoot, 'test/fixtures/spark-user-factors.parquet'));

  it('reads the ids and factors of a part Spark wrote (array<float>, snappy)', async () => {
    const rows = await factorRowsFromParquet(fixture, 'fixture', 'user_id', 3);
    assert.deepEqual(rows.ids, ['u1', 'u2', 'ü3']);
    assert.deepEqual([...rows.factors], [0.5, -1, 2, 1, 0, -0.25, 3, 1.5, 0.125]);
  });

  it('refuses factors of another rank and a missing id column', async () => {
    await assert.rejects(factorRowsFromParquet(fixture, 'fixture', 'user_id', 4), /3 factors, the model 4/);
    await assert.rejects(factorRowsFromParquet(fixture, 'fixture', 'item_id', 3), /lacks item_id/);
  });

  it("lists Spark's part files and leaves out its _SUCCESS and .crc files", async () => {
    const keys = [
      'm/users/_SUCCESS',
      'm/users/.part-0.parquet.crc',
      'm/users/part-0.parquet',
      'm/users/part-1.parquet',
    ];
    const objects = { list: async () => keys } as unknown as Parameters<typeof factorParts>[0];
    assert.deepEqual(await factorParts(objects, 'm/users/'), [
      'm/users/part-0.parquet',
      'm/users/part-1.parquet',
    ]);
  });

  it("builds the model in the run's id order, zero biases, seen pairs from the run's data", () => {
    const users = IdMap.from(['b', 'a']);
    const items = IdMap.from(['x', 'y', 'z']);
    const data = {
      userIds: users,
      itemIds: items,
      rows: Int32Array.from([0, 0, 1, 1]),
      cols: Int32Array.from([0, 1, 2, 2]),
      values: Float32Array.from([1, 2, 1, 3]),
      ts: Float64Array.from([1000, 2000, 3000, 4000]),
    };
    const params = { ...DEFAULT_PARAMS.implicit, factors: 2 };
    const { model, missing } = modelFromFactors(
      data,
      params,
      { ids: ['a', 'b'], factors: Float32Array.from([1, 1, 2, 2]) },
      { ids: ['z', 'x'], factors: Float32Array.from([3, 3, 4, 4]) },
      'v1',
    );
    assert.deepEqual(missing, { users: 0, items: 1 });
    assert.deepEqual(model.userIds, ['b', 'a']);
    assert.deepEqual([...model.userFactors], [2, 2, 1, 1]);
    assert.deepEqual([...model.itemFactors], [4, 4, 0, 0, 3, 3]);
    assert.equal(model.meta.params.useBias, false);
    assert.equal(model.meta.version, 'v1');
    assert.equal(model.meta.dataUntil, new Date(4000).toISOString());
    assert.deepEqual([...model.seen(1)], [2]);
    assert.deepEqual([...model.seenValues!], [1, 2, 4]); // implicit: repeated pairs add up
  });

  it("lays Spark's lists out in the model's user and item order", () => {
    const data = {
      userIds: IdMap.from(['b', 'a']),
      itemIds: IdMap.from(['x', 'y', 'z']),
      rows: Int32Array.from([0, 1]),
      cols: Int32Array.from([0, 1]),
      values: Float32Array.from([1, 1]),
      ts: Float64Array.from([1000, 2000]),
    };
    const params = { ...DEFAULT_PARAMS.implicit, factors: 1 };
    const one = (ids: string[]) => ({ ids, factors: new Float32Array(ids.length).fill(1) });
    const { model } = modelFromFactors(data, params, one(['a', 'b']), one(['x', 'y', 'z', 'w']), 'v1');
    // Rows as read from Spark (indexes into the job's items x, y, z, w; -1 past a list's end):
    // 'a' lists w, an item of the job's the run's data lacks, between z and x; 'c' is no user of
    // the model; 'b' has no row.
    const jobItems = ['x', 'y', 'z', 'w'];
    const rows = {
      users: ['a', 'c'],
      n: 3,
      items: Int32Array.from([2, 3, 0, 1, -1, -1]),
      scores: Float32Array.from([0.9, 0.8, 0.7, 0.5, 0, 0]),
    };
    const { lists, users } = topListsFor(model, rows, 2, jobItems);
    assert.equal(users, 1);
    assert.equal(lists.n, 2);
    // Model users b (0), a (1); items x (0), y (1), z (2).
    assert.deepEqual([...lists.items], [-1, -1, 2, 0]);
    assert.deepEqual([...lists.scores], [0, 0, Math.fround(0.9), Math.fround(0.7)]);
  });
});

describe('Spark engine in a batch run (embedded stores, no Spark)', () => {
  const tmp = tempDir();
  let stores: Stores;
  let pool: ComputePool;

  before(async () => {
    stores = await openEmbeddedStores(tmp.dir);
    pool = new ComputePool(1);
    const now = Date.now();
    const events = Array.from({ length: 200 }, (_, k) => ({
      event_id: `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`,
      user_id: `u${k % 20}`,
      item_id: `i${(k * 7) % 15}`,
      type: 'view',
      value: null,
      ts: new Date(now - (200 - k) * 60_000).toISOString(),
    }));
    for (const e of events)
      await stores.db.query(
        'INSERT INTO rt_user_interactions (event_id, user_id, item_id, type, value, ts) VALUES ($1, $2, $3, $4, $5, $6)',
        [e.event_id, e.user_id, e.item_id, e.type, e.value, e.ts],
      );
  });
  after(async () => {
    await pool.destroy();
    await stores.close();
    tmp.cleanup();
  });

  const config = (env: Record<string, string>) =>
    loadConfig({
      env: { RECSYS_TRAIN_MODE: 'implicit', RECSYS_BATCH_ENGINE: 'spark', SPARK_MASTER: 'local[1]', ...env },
    });

  it('picks the engine the settings name', () => {
    const deps = (c: ReturnType<typeof loadConfig>) =>
      batchDeps(c, stores, { pool, backend: 'js' }, silentLogger);
    assert.equal(selectEngine(deps(loadConfig({ env: {} }))).name, 'builtin');
    assert.equal(selectEngine(deps(config({}))).name, 'spark');
    assert.equal(builtinEngine({ pool, backend: 'js' }).name, 'builtin');
  });

  const runWith = async (env: Record<string, string>) => {
    const deps = batchDeps(config(env), stores, { pool, backend: 'js' }, silentLogger);
    deps.objectsAt = { kind: 'folder', dir: path.join(tmp.dir, 'objects') };
    const { done } = await startBatchRun(deps, { trigger: 'cli' });
    const o = await done;
    return { o, row: await getRun(stores.db, o.run_id) };
  };

  it('without spark-submit the run fails in its train phase, saying how to install it', async () => {
    const { o, row } = await runWith({ RECSYS_SPARK_SUBMIT: path.join(tmp.dir, 'no-such-spark-submit') });
    assert.equal(o.status, 'failed');
    assert.match(
      o.error ?? '',
      /needs spark-submit \(pyspark\).*run scripts\/spark\.sh, or set RECSYS_SPARK_SUBMIT/,
    );
    assert.equal(row?.phase, 'train');
    assert.equal(row?.error, o.error);
  });

  it("a failing job's error line becomes the run's error, and its driver log is kept beside the run", async () => {
    const submit = path.join(tmp.dir, 'spark-submit');
    writeFileSync(
      submit,
      [
        '#!/bin/sh',
        'echo \'{"phase": "read"}\'',
        'echo "26/12/03 13:00:00 WARN SomeLogger: the driver says something" >&2',
        'echo \'{"error": "AnalysisException: [PATH_NOT_FOUND] Path does not exist: s3a://b/archive/interactions"}\'',
        'exit 1',
      ].join('\n'),
    );
    chmodSync(submit, 0o755);
    const { o, row } = await runWith({ RECSYS_SPARK_SUBMIT: submit });
    assert.equal(o.status, 'failed');
    assert.match(
      o.error ?? '',
      /^the Spark job failed: AnalysisException: \[PATH_NOT_FOUND\] Path does not exist/,
    );
    assert.match(o.error ?? '', new RegExp(`driver log: runs/${o.run_id}/spark-candidate\\.log`));
    assert.equal(row?.phase, 'train');
    const log = (await stores.objects.get(`runs/${o.run_id}/spark-candidate.log`)).toString();
    assert.match(log, /WARN SomeLogger: the driver says something/);
    assert.match(log, /PATH_NOT_FOUND/);
    // The export of the rows not archived yet is removed with the run.
    assert.deepEqual(await stores.objects.list('models/'), []);
  });
});
