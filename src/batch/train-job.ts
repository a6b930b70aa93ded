/**
 * One training run: the archive (plus recent real-time rows) → ALS on the pool → evaluated
 * on a seeded holdout → published, top-N precomputed for every user, then activated.
 * Precomputing before activating matters: once servers switch to the new model, its batch
 * rows must already be there, or they would score users themselves and cache those lists
 * in L1 (where they would hide the batch rows for the cache's TTL).
 * The scheduled batch job (cron, gate, run history) builds on this.
 */
import type { BackendName } from '../compute/kernels.js';
import type { ComputePool } from '../compute/pool.js';
import { IdMap } from '../data/ids.js';
import { randomSplit, selectCoo } from '../data/split.js';
import type { LoadedModel } from '../model/active.js';
import { evaluateRanking, evaluateRatings, modelMetrics } from '../model/evaluate.js';
import { fitAls } from '../model/fit.js';
import type { AlsModel } from '../model/model.js';
import type { AlsParams } from '../model/params.js';
import { activateModel, publishModel } from '../model/registry.js';
import { Scorer } from '../model/scorer.js';
import type { Stores } from '../stores/index.js';
import { type ArchiveRange, readArchiveCoo } from './archive.js';
import { precomputeRecommendations } from './precompute.js';

export interface TrainJobOptions {
  params: AlsParams;
  backend: BackendName;
  pool: ComputePool;
  range?: ArchiveRange;
  holdoutFraction?: number;
  topN?: number;
  /**
   * Precompute and activate (default true). False leaves the model a candidate and the
   * active model's batch rows untouched.
   */
  activate?: boolean;
}

export interface TrainJobResult {
  model: AlsModel;
  loaded: LoadedModel;
  metrics: Record<string, number>;
  precomputed: number;
}

export class NoTrainingDataError extends Error {
  constructor() {
    super(
      'no interactions to train on: import data (recsys start --import-movielens DIR) or send events first',
    );
    this.name = 'NoTrainingDataError';
  }
}

export async function runTraining(
  stores: Pick<Stores, 'db' | 'objects' | 'cache'>,
  opts: TrainJobOptions,
): Promise<TrainJobResult> {
  const ids = { userIds: new IdMap(), itemIds: new IdMap() };
  const all = await readArchiveCoo(stores.objects, opts.range ?? {}, ids);
  if (all.rows.length === 0) throw new NoTrainingDataError();
  const split = randomSplit(all, opts.holdoutFraction ?? 0.1, opts.params.seed);
  const { model } = await fitAls(selectCoo(all, split.train), opts.params, {
    backend: opts.backend,
    pool: opts.pool,
  });
  const test = selectCoo(all, split.test);
  const e =
    opts.params.mode === 'explicit'
      ? evaluateRatings(model, test)
      : await evaluateRanking(model, test, 10, opts.backend, opts.pool);
  const metrics = modelMetrics(e);
  Object.assign(model.meta.metrics, metrics);
  await publishModel(stores, model, { activate: false });
  const scorer = await Scorer.create(
    opts.backend,
    model.scoringItems(),
    model.itemIds.length,
    model.scoringDims,
    {
      maxK: 1000,
      slots: opts.pool.threads,
    },
  );
  const loaded = { model, scorer };
  let precomputed = 0;
  if (opts.activate ?? true) {
    precomputed = await precomputeRecommendations(stores, loaded, opts.topN ?? 50, opts.pool);
    await activateModel(stores, model.meta.version);
  }
  return { model, loaded, metrics, precomputed };
}
