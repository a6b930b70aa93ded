// Model quality on the real MovieLens 100K u1 split (opt-in: RECSYS_ML100K_DIR, see
// dataset.ts): explicit ALS against the item means, implicit ALS against popularity, and
// `recsys train` end to end, within the bounds the defaults were tuned to (bench/RESULTS.md).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ComputePool } from '../../src/compute/pool.js';
import { loadInteractions } from '../../src/data/loaders.js';
import { type Coo, cooFromTable } from '../../src/data/matrix.js';
import { loadHoldout } from '../../src/data/split.js';
import { evaluateRanking, evaluateRatings } from '../../src/model/evaluate.js';
import { fitAls } from '../../src/model/fit.js';
import { DEFAULT_PARAMS } from '../../src/model/params.js';
import { repoRoot } from '../helpers.js';
import { meanBaselines, popularityRanking } from '../model/baselines.js';
import { ml100kDir } from './dataset.js';

const dir = ml100kDir();
const run = promisify(execFile);

describe('MovieLens 100K u1: quality', () => {
  let pool: ComputePool;
  let train: Coo;
  let test: Coo;
  before(async () => {
    pool = new ComputePool(2);
    train = cooFromTable(await loadInteractions(path.join(dir, 'u1.base')));
    test = (await loadHoldout(path.join(dir, 'u1.test'), train)).test;
  });
  after(() => pool.destroy());

  it('explicit ALS with the defaults: RMSE under 0.93, well below the item means', async (t) => {
    const { model } = await fitAls(train, DEFAULT_PARAMS.explicit, { backend: 'native', pool });
    const als = evaluateRatings(model, test).rmse!;
    const base = meanBaselines(train, test, train.itemIds.size);
    t.diagnostic(
      `RMSE: ALS ${als.toFixed(4)}, item mean ${base.itemMean.toFixed(4)}, global ${base.global.toFixed(4)}`,
    );
    // Measured: 0.919 against 1.031 (item means) and 1.152 (global mean).
    assert.ok(als < 0.93, `RMSE ${als}`);
    assert.ok(als < 0.92 * base.itemMean, `ALS RMSE ${als} vs the item means' ${base.itemMean}`);
  });

  it('implicit ALS ranks u1.test well above popularity', async (t) => {
    const params = { ...DEFAULT_PARAMS.implicit, factors: 32, iterations: 10, alpha: 1, lambda: 5 };
    const { model } = await fitAls(train, params, { backend: 'native', pool });
    const als = await evaluateRanking(model, test, 10, 'native', pool);
    const pop = popularityRanking(train, test, train.userIds.size, train.itemIds.size, 10);
    t.diagnostic(
      `precision@10: ALS ${als.precision_at_k!.toFixed(4)}, popularity ${pop.precision.toFixed(4)}; ` +
        `NDCG@10: ALS ${als.ndcg_at_k!.toFixed(4)}, popularity ${pop.ndcg.toFixed(4)}`,
    );
    // Measured: precision@10 0.501 against 0.325, NDCG@10 0.515 against 0.325.
    assert.ok(
      als.precision_at_k! > 1.3 * pop.precision,
      `precision@10 ${als.precision_at_k} vs ${pop.precision}`,
    );
    assert.ok(als.ndcg_at_k! > 1.3 * pop.ndcg, `NDCG@10 ${als.ndcg_at_k} vs ${pop.ndcg}`);
  });

  it('`recsys train` on u1.base with u1.test as holdout: RMSE under 0.96', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        path.join(repoRoot, 'bin/recsys.js'),
        'train',
        '--ratings',
        path.join(dir, 'u1.base'),
        '--holdout',
        path.join(dir, 'u1.test'),
        '--iterations',
        '8',
        '--threads',
        '2',
        '--json',
      ],
      { maxBuffer: 1 << 24 },
    );
    const out = JSON.parse(stdout);
    assert.equal(out.users, 943);
    assert.ok(out.rmse < 0.96, `rmse ${out.rmse}`);
    assert.ok(out.mae < out.rmse);
  });
});
