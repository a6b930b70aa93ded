/**
 * The batch run — one pipeline, started by `recsys batch run`, POST /v1/admin/train and the
 * scheduler alike (Oryx's batch layer: read the window, build, evaluate, publish):
 *
 *   read        archive Parquet of the window + recent rt rows → one deduplicated, weighted COO
 *   train       ALS on all but the held-out latest interactions, by the run's engine (engine.ts):
 *               the built-in one on the pool, or a Spark job (spark-engine.ts)
 *   evaluate    the candidate and the active model on the same holdout → the promotion gate
 *   refit       (published runs) ALS again on the whole window, so the model knows the latest data
 *               (built-in: warm-started from the candidate, a quarter of the iterations)
 *   save        the artifact under models/<version>/ and a `models` row (candidate)
 *   precompute  top-N for every user, written beside the answers being served
 *   activate    one transaction switches the active model (and with it the answers served),
 *               announced to every process; versions beyond the kept ones are deleted
 *
 * A rejected candidate is saved (it can still be activated by hand) and the run ends `rejected`.
 * The run's row records each phase's seconds; a failure records the phase and the error, and
 * the active model and its answers are untouched until the activation's transaction.
 */
import type { BackendName } from '../compute/kernels.js';
import type { ComputePool } from '../compute/pool.js';
import type { RecsysConfig } from '../config/index.js';
import type { EventWeights } from '../events/index.js';
import type { Logger } from '../logger.js';
import { newModelVersion } from '../model/fit.js';
import type { AlsModel } from '../model/model.js';
import { type AlsParams, DEFAULT_PARAMS, validateParams } from '../model/params.js';
import { activateModel, activeVersion, loadModel, publishModel } from '../model/registry.js';
import { openRun, type RunStatus, type RunTrigger } from '../model/runs.js';
import { Scorer } from '../model/scorer.js';
import type { Stores } from '../stores/index.js';
import type { EngineRequest, TopLists } from './engine.js';
import { selectEngine } from './engines.js';
import { defaultGateMetric, type GateResult, judge, splitByTime } from './gate.js';
import { precomputeRecommendations, writeTopLists } from './precompute.js';
import type { ObjectLocation } from './spark-engine.js';
import { readTrainingData } from './training-data.js';
import { pruneModels } from './versions.js';

export type BatchSettings = RecsysConfig['batch'];

export interface BatchDeps {
  stores: Pick<Stores, 'db' | 'objects' | 'cache'>;
  pool: ComputePool;
  backend: BackendName;
  settings: BatchSettings;
  weights: EventWeights;
  logger: Logger;
  /** Phase changes and progress within a phase (parts read, iterations done). */
  onProgress?: (p: Progress) => void;
  /** The clock the window is measured from (tests move it). */
  now?: () => number;
  /** Where the object store's keys are, for an engine that reads them itself (Spark). */
  objectsAt?: ObjectLocation;
}

export interface Progress {
  phase: string;
  done?: number;
  total?: number;
}

export interface RunOutcome {
  run_id: string;
  status: Exclude<RunStatus, 'queued' | 'running'>;
  model_version: string | null;
  published: boolean;
  phases: Record<string, number>;
  metrics: Record<string, unknown>;
  error?: string;
}

export class NoTrainingDataError extends Error {
  constructor(window: string, ignored: number, mode: string) {
    super(
      ignored > 0 && mode === 'explicit'
        ? `no rating events to train on in ${window} (${ignored} other events there): explicit models learn ratings; set RECSYS_TRAIN_MODE=implicit to learn from views, clicks and purchases`
        : `no interactions to train on in ${window}: import data (recsys import …) or send events first`,
    );
    this.name = 'NoTrainingDataError';
  }
}

const DAY_MS = 86_400_000;

/** A published run's phases, in order (a rejected one stops after `save`). */
export const PHASES = ['read', 'train', 'evaluate', 'refit', 'save', 'precompute', 'activate'] as const;
export type Phase = (typeof PHASES)[number];

/** The ALS parameters a run trains with: the mode's defaults, overridden by the settings. */
export function batchParams(s: BatchSettings): AlsParams {
  const base = DEFAULT_PARAMS[s.mode];
  return validateParams({
    ...base,
    factors: s.factors,
    iterations: s.iterations,
    lambda: s.lambda ?? base.lambda,
    alpha: s.alpha ?? base.alpha,
  });
}

/**
 * Opens a run (or throws RunInProgressError / SlotTakenError at once) and carries it out in the
 * background: `done` settles with the outcome, a failed run included (it never rejects).
 */
export async function startBatchRun(
  deps: BatchDeps,
  opts: { trigger: RunTrigger; scheduledFor?: Date },
): Promise<{ runId: string; done: Promise<RunOutcome> }> {
  const run = await openRun(deps.stores.db, opts);
  const done = (async (): Promise<RunOutcome> => {
    const metrics: Record<string, unknown> = {};
    let version: string | null = null;
    try {
      const r = await pipeline(deps, run.id, run.phase.bind(run), metrics);
      version = r.version;
      const status = r.published ? 'succeeded' : 'rejected';
      await run.finish({ status, modelVersion: version, published: r.published, metrics });
      return outcome(run.id, status, version, r.published, run.phaseSeconds, metrics);
    } catch (err) {
      const error = (err as Error).message ?? String(err);
      deps.logger.error({ err, run: run.id }, 'batch run failed');
      await run
        .finish({ status: 'failed', modelVersion: version, metrics, error })
        .catch((e) => deps.logger.error({ err: e, run: run.id }, 'could not record the failed run'));
      return { ...outcome(run.id, 'failed', version, false, run.phaseSeconds, metrics), error };
    }
  })();
  return { runId: run.id, done };
}

function outcome(
  id: string,
  status: RunOutcome['status'],
  version: string | null,
  published: boolean,
  phases: Readonly<Record<string, number>>,
  metrics: Record<string, unknown>,
): RunOutcome {
  return { run_id: id, status, model_version: version, published, phases: { ...phases }, metrics };
}

async function pipeline(
  deps: BatchDeps,
  runId: string,
  phase: (name: string) => Promise<void>,
  metrics: Record<string, unknown>,
): Promise<{ version: string; published: boolean }> {
  const { stores, settings, pool, backend } = deps;
  const enter = async (name: Phase) => {
    await phase(name);
    deps.onProgress?.({ phase: name });
  };
  const params = batchParams(settings);
  const now = deps.now?.() ?? Date.now();
  const fromMs = settings.windowDays === 'all' ? null : now - settings.windowDays * DAY_MS;

  await enter('read');
  const data = await readTrainingData(stores, {
    fromMs,
    mode: settings.mode,
    weights: deps.weights,
    threads: pool.threads,
    onPart: (done, total) => deps.onProgress?.({ phase: 'read', done, total }),
  });
  metrics.data = { ...data.stats, interactions: data.coo.rows.length };
  if (data.coo.rows.length === 0)
    throw new NoTrainingDataError(
      fromMs === null ? 'the archive' : `the last ${settings.windowDays} days`,
      data.stats.ignored,
      settings.mode,
    );

  const activeName = await activeVersion(stores);
  const active = activeName ? await loadModel(stores, activeName) : null;
  const notBefore = active?.meta.dataUntil ? Date.parse(active.meta.dataUntil) : null;
  const split = splitByTime(data.coo, settings.holdoutFraction, notBefore);

  const engine = selectEngine(deps);
  metrics.engine = engine.name;
  const version = newModelVersion();
  const req = (name: Phase): EngineRequest => ({
    runId,
    version,
    params,
    fromMs,
    data: data.coo,
    split,
    onProgress: (done, total) => deps.onProgress?.({ phase: name, done, total }),
  });
  let model: AlsModel;
  let gate: GateResult;
  let lists: TopLists | undefined;
  try {
    await enter('train');
    model = await engine.candidate(req('train'));

    await enter('evaluate');
    gate = await judge(model, active, split.test, {
      mode: settings.mode,
      metric: settings.gateMetric ?? defaultGateMetric(settings.mode),
      tolerance: settings.gateTolerance,
      backend,
      pool,
    });
    metrics.gate = gateSummary(gate, split.cutMs, activeName);
    Object.assign(model.meta.metrics, gate.candidate);

    if (gate.publish && split.cutMs !== null) {
      // The held-out latest data goes into the published model: trained again on the whole window.
      await enter('refit');
      const holdoutMetrics = model.meta.metrics;
      const refit = await engine.refit(req('refit'), model);
      model = refit.model;
      lists = refit.lists;
      metrics.refit = refit.info;
      // Its metrics are the held-out ones of its twin.
      Object.assign(model.meta.metrics, holdoutMetrics);
    }
  } finally {
    if (engine.metrics) metrics[engine.name] = engine.metrics;
    await engine
      .cleanup?.({ version })
      .catch((err) =>
        deps.logger.warn({ err, run: runId }, 'could not remove what the training engine left'),
      );
  }
  return publish(deps, enter, metrics, model, gate, lists);
}

async function publish(
  deps: BatchDeps,
  enter: (name: Phase) => Promise<void>,
  metrics: Record<string, unknown>,
  model: AlsModel,
  gate: GateResult,
  lists: TopLists | undefined,
): Promise<{ version: string; published: boolean }> {
  const { stores, settings } = deps;
  await enter('save');
  await publishModel(stores, model, { activate: false });
  const version = model.meta.version;
  if (!gate.publish) {
    deps.logger.warn({ version, reason: gate.reason }, 'batch run rejected its model');
    return { version, published: false };
  }

  await enter('precompute');
  // The engine's own lists (Spark's recommendForAllUsers) when it made them, else scored here.
  metrics.precomputed = lists
    ? await writeTopLists(deps.stores, model, lists)
    : await precompute(deps, model);

  await enter('activate');
  await activateModel(stores, version);
  metrics.pruned = await pruneModels(stores, settings.keepModels);
  return { version, published: true };
}

async function precompute(deps: BatchDeps, model: AlsModel): Promise<number> {
  const scorer = await Scorer.create(
    deps.backend,
    model.scoringItems(),
    model.itemIds.length,
    model.scoringDims,
    {
      maxK: Math.max(1000, deps.settings.topN),
      slots: deps.pool.threads,
    },
  );
  return precomputeRecommendations(deps.stores, { model, scorer }, deps.settings.topN, deps.pool);
}

function gateSummary(g: GateResult, cutMs: number | null, active: string | null) {
  return {
    published: g.publish,
    reason: g.reason,
    metric: g.metric,
    holdout_from: cutMs === null ? null : new Date(cutMs).toISOString(),
    candidate: g.candidate,
    active_version: active,
    active: g.active,
  };
}
