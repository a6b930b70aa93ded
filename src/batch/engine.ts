/**
 * What trains a batch run's models: the built-in ALS on this process's compute pool, or a
 * Spark job (spark-engine.ts). The pipeline asks an engine for two models — the candidate,
 * trained on all but the holdout and judged by the gate, and, when the gate publishes, the
 * model trained on the whole window — and does everything else (read, evaluate, save,
 * precompute, activate) the same way whichever engine trained them.
 */
import type { BackendName } from '../compute/kernels.js';
import type { ComputePool } from '../compute/pool.js';
import type { Coo } from '../data/matrix.js';
import { fitAls } from '../model/fit.js';
import type { AlsModel } from '../model/model.js';
import type { AlsParams } from '../model/params.js';
import type { TimeSplit } from './gate.js';

export interface EngineRequest {
  runId: string;
  /** The version the published model will have (its artifacts go under models/<version>/). */
  version: string;
  params: AlsParams;
  /** The window's start (epoch ms; null: the whole archive) and its data, read by the pipeline. */
  fromMs: number | null;
  data: Coo & { ts: Float64Array };
  split: TimeSplit;
  /** Progress within the phase: steps done of total (iterations, or the job's stages). */
  onProgress: (done: number, total: number) => void;
}

export interface Refit {
  model: AlsModel;
  /** What to record about it in the run's metrics. */
  info: Record<string, unknown>;
  /** Each user's top-N as the engine computed it, to write instead of scoring (precompute). */
  lists?: TopLists;
}

/** Top-N lists by model index: row u holds user u's items best first, -1 past the list's end. */
export interface TopLists {
  n: number;
  /** model.userIds.length × n item indexes of the model. */
  items: Int32Array;
  /** Their scores, as `items`. */
  scores: Float32Array;
}

export interface TrainingEngine {
  readonly name: string;
  /** A model of split.train (the data before the holdout). */
  candidate(req: EngineRequest): Promise<AlsModel>;
  /** A model of the whole window, given the candidate the gate published. */
  refit(req: EngineRequest, candidate: AlsModel): Promise<Refit>;
  /** What to record about the engine's work in the run's metrics (null: nothing). */
  readonly metrics: Record<string, unknown> | null;
  /** Removes what the engine left for the run (called once, whatever the outcome). */
  cleanup?(req: Pick<EngineRequest, 'version'>): Promise<void>;
}

/** ALS on this process's compute pool (src/model/trainer.ts). */
export function builtinEngine(compute: { pool: ComputePool; backend: BackendName }): TrainingEngine {
  return {
    name: 'builtin',
    metrics: null,
    async candidate(req) {
      const { model } = await fitAls(req.split.train, req.params, {
        ...compute,
        version: req.version,
        onIteration: (it) => req.onProgress(it, req.params.iterations),
      });
      return model;
    },
    async refit(req, candidate) {
      // The held-out latest data goes into the published model: warm-started from the
      // candidate's items, a quarter of the iterations converge.
      const iterations = Math.max(2, Math.ceil(req.params.iterations / 4));
      const { model } = await fitAls(
        req.data,
        { ...req.params, iterations },
        {
          ...compute,
          version: req.version,
          warmStart: candidate,
          onIteration: (it) => req.onProgress(it, iterations),
        },
      );
      return { model, info: { iterations, warm_start: true } };
    },
  };
}
