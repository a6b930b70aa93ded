/**
 * Train a model from interactions: runs the pool trainer, then copies the factors out of
 * the shared arena into an AlsModel (so the arena and its CSR copies can be freed).
 */
import { randomUUID } from 'node:crypto';
import type { BackendName } from '../compute/kernels.js';
import type { ComputePool } from '../compute/pool.js';
import type { IdMap } from '../data/ids.js';
import { AlsModel } from './model.js';
import type { AlsParams } from './params.js';
import { trainAls } from './trainer.js';

export interface Interactions {
  userIds: IdMap;
  itemIds: IdMap;
  rows: Int32Array;
  cols: Int32Array;
  values: Float32Array;
  /** Epoch ms per interaction (NaN where unknown), when the data has times. */
  ts?: Float64Array | null;
}

export interface FitOptions {
  backend: BackendName;
  pool: ComputePool;
  computeLoss?: boolean;
  onIteration?: (iteration: number, seconds: number, loss: number | null) => void;
  version?: string;
  /** Start the items where this model (same factors) has them: see TrainOptions.warmItems. */
  warmStart?: AlsModel;
}

export interface FitResult {
  model: AlsModel;
  iterationSeconds: number[];
}

export async function fitAls(data: Interactions, params: AlsParams, opts: FitOptions): Promise<FitResult> {
  const trained = await trainAls(
    {
      nUsers: data.userIds.size,
      nItems: data.itemIds.size,
      rows: data.rows,
      cols: data.cols,
      values: data.values,
    },
    params,
    { ...opts, warmItems: opts.warmStart ? warmItems(opts.warmStart, data.itemIds) : undefined },
  );
  const { lo, hi, until } = dataExtent(data);
  // The trainer turned implicit values into confidences 1 + α·v; the model keeps v.
  const seenValues = trained.userItems.values.slice();
  if (params.mode === 'implicit')
    for (let e = 0; e < seenValues.length; e++)
      seenValues[e] = params.alpha > 0 ? (seenValues[e] - 1) / params.alpha : 1;
  const model = new AlsModel(
    {
      version: opts.version ?? newModelVersion(),
      algorithm: 'als',
      params,
      metrics: {},
      globalMean: trained.globalMean,
      valueRange: [lo, hi],
      shapes: {
        users: data.userIds.size,
        items: data.itemIds.size,
        factors: params.factors,
        interactions: trained.userItems.indices.length,
      },
      createdAt: new Date().toISOString(),
      ...(Number.isFinite(until) ? { dataUntil: new Date(until).toISOString() } : {}),
    },
    data.userIds.toJSON(),
    data.itemIds.toJSON(),
    trained.userFactors.slice(),
    trained.itemFactors.slice(),
    trained.userBias.slice(),
    trained.itemBias.slice(),
    trained.userItems.indptr.slice(),
    trained.userItems.indices.slice(),
    seenValues,
  );
  return { model, iterationSeconds: trained.iterationSeconds };
}

/** Sortable, unique: 20261130T021500Z-1a2b3c4d. */
export function newModelVersion(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomUUID().slice(0, 8)}`;
}

function warmItems(
  from: AlsModel,
  items: IdMap,
): { index: Int32Array; factors: Float32Array; bias: Float32Array } {
  const index = Int32Array.from(items.ids(), (id) => from.itemIdx(id) ?? -1);
  return { index, factors: from.itemFactors, bias: from.itemBias };
}

/** The values' range and the latest timestamp of a training set (what a model records of its data). */
export function dataExtent(data: { values: ArrayLike<number>; ts?: ArrayLike<number> | null }): {
  lo: number;
  hi: number;
  until: number;
} {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < data.values.length; k++) {
    const v = data.values[k]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  let until = Number.NEGATIVE_INFINITY;
  if (data.ts) for (let k = 0; k < data.ts.length; k++) if (data.ts[k]! > until) until = data.ts[k]!;
  return { lo, hi, until };
}
