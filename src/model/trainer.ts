/**
 * ALS training on the compute pool. Both CSR directions and both factor matrices live in
 * one shared arena; each half-step is split into shards of similar work and every shard is
 * one pool task, so a row's solve never depends on how rows were sharded — results are the
 * same for any thread count.
 */
import { Arena } from '../compute/arena.js';
import { loadKernels } from '../compute/backends.js';
import type { BackendName, Csr } from '../compute/kernels.js';
import { type ComputePool, shardRows } from '../compute/pool.js';
import { Rng } from '../compute/random.js';
import { toCsr, transposeCsr } from '../data/matrix.js';
import { type AlsParams, validateParams } from './params.js';
import { rowPenalties } from './penalty.js';

export interface TrainInput {
  nUsers: number;
  nItems: number;
  rows: Int32Array; // user index per interaction
  cols: Int32Array; // item index per interaction
  values: Float32Array;
}

export interface TrainOptions {
  backend: BackendName;
  pool: ComputePool;
  /** Train in this arena (sized with arenaBytes); input arrays placed in it are recycled. */
  arena?: Arena;
  /** Compute the training loss after each iteration (costs one pass over the data). */
  computeLoss?: boolean;
  onIteration?: (iteration: number, seconds: number, loss: number | null) => void;
  /**
   * A warm start: item i begins at row index[i] of these factors (and biases) instead of at
   * random (−1: random), e.g. a model trained on most of the same data.
   */
  warmItems?: { index: Int32Array; factors: Float32Array; bias: Float32Array };
}

export interface TrainedFactors {
  arena: Arena;
  userFactors: Float32Array; // nUsers × factors
  itemFactors: Float32Array; // nItems × factors
  userBias: Float32Array;
  itemBias: Float32Array;
  globalMean: number;
  /** User → item CSR of the training data (implicit: confidences), for excluding seen items. */
  userItems: Csr;
  iterationSeconds: number[];
}

/** Bytes the arena needs: both CSR directions, factors, biases, and kernel scratch
 * (plus the input's 12 bytes per interaction when the caller builds the input in it). */
export function arenaBytes(
  input: Pick<TrainInput, 'nUsers' | 'nItems' | 'values'>,
  factors: number,
  threads: number,
): number {
  const nnz = input.values.length;
  const csr = 2 * (nnz * 8) + (input.nUsers + input.nItems + 2) * 4;
  const dense = (input.nUsers + input.nItems) * (factors + 1) * 4 + factors * factors * 4;
  const scratch = (threads + 1) * (4 << 20);
  return csr + dense + scratch;
}

export async function trainAls(
  input: TrainInput,
  params: AlsParams,
  opts: TrainOptions,
): Promise<TrainedFactors> {
  validateParams(params);
  const { nUsers, nItems } = input;
  const nnz = input.values.length;
  const f = params.factors;
  if (nnz === 0) throw new RangeError('no interactions to train on');
  const arena =
    opts.arena ?? Arena.create(arenaBytes(input, f, opts.pool.threads), { wasm: opts.backend === 'wasm' });
  const kernels = await loadKernels(opts.backend, arena);

  const duplicates = params.mode === 'explicit' ? 'last' : 'sum';
  // Memory: the item→user arrays double as scratch for the user→item build, and input
  // arrays that already live in the arena are recycled as the user→item output, so the
  // peak is the input plus one CSR direction (bench/RESULTS.md).
  const itemSide = { indices: arena.i32(nnz), values: arena.f32(nnz) };
  const inArena = input.cols.buffer === arena.buffer && input.values.buffer === arena.buffer;
  const userItems = toCsr(
    nUsers,
    input.rows,
    input.cols,
    input.values,
    {
      duplicates,
      nCols: nItems,
      scratch: { i32: itemSide.indices, f32: itemSide.values },
      into: inArena ? { indices: input.cols, values: input.values } : undefined,
    },
    arena,
  );
  const itemUsers = transposeCsr(userItems, nItems, arena, itemSide);

  let globalMean = 0;
  if (params.mode === 'explicit') {
    for (let e = 0; e < userItems.values.length; e++) globalMean += userItems.values[e];
    globalMean /= userItems.values.length;
  }
  // Implicit kernels take confidences c = 1 + α·r, converted in place (no extra copy).
  if (params.mode === 'implicit') {
    toConfidence(userItems.values, params.alpha);
    toConfidence(itemUsers.values, params.alpha);
  }

  const rng = new Rng(params.seed);
  const userFactors = arena.f32(nUsers * f);
  const itemFactors = arena.f32(nItems * f);
  const userBias = arena.f32(nUsers);
  const itemBias = arena.f32(nItems);
  // implicit starts both sides small and uniform (as the implicit library); explicit solves
  // users first, so only the item side needs a random start.
  if (params.mode === 'implicit') {
    for (let i = 0; i < userFactors.length; i++) userFactors[i] = rng.next() * 0.01;
    for (let i = 0; i < itemFactors.length; i++) itemFactors[i] = rng.next() * 0.01;
  } else {
    rng.fillNormal(itemFactors, 0.1);
  }
  const warm = opts.warmItems;
  if (warm) {
    for (let i = 0; i < nItems; i++) {
      const from = warm.index[i]!;
      if (from < 0) continue;
      itemFactors.set(warm.factors.subarray(from * f, from * f + f), i * f);
      itemBias[i] = warm.bias[from] ?? 0;
    }
  }
  const gram = arena.f32(f * f);
  const userReg = rowPenalties(userItems.indptr, params.lambda, params.regExponent, arena);
  const itemReg = rowPenalties(itemUsers.indptr, params.lambda, params.regExponent, arena);
  const parts = opts.pool.threads * 4;
  const userShards = shardRows(userItems.indptr, parts);
  const itemShards = shardRows(itemUsers.indptr, parts);

  const halfStep = async (
    csr: Csr,
    shards: Array<[number, number]>,
    other: Float32Array,
    otherBias: Float32Array,
    out: Float32Array,
    outBias: Float32Array,
    nOther: number,
  ) => {
    if (params.mode === 'implicit') {
      kernels.gramian(other, nOther, f, params.lambda, gram);
      await Promise.all(
        shards.map(([rowStart, rowEnd]) =>
          opts.pool.run(opts.backend, arena, {
            op: 'implicitHalfStep',
            args: { csr, rowStart, rowEnd, other, gram, out, factors: f, cgSteps: params.cgSteps },
          }),
        ),
      );
    } else {
      await Promise.all(
        shards.map(([rowStart, rowEnd]) =>
          opts.pool.run(opts.backend, arena, {
            op: 'explicitHalfStep',
            args: {
              csr,
              rowStart,
              rowEnd,
              other,
              otherBias,
              out,
              outBias,
              factors: f,
              rowReg: out === userFactors ? userReg : itemReg,
              biasReg: params.biasReg,
              globalMean,
              useBias: params.useBias,
            },
          }),
        ),
      );
    }
  };

  const iterationSeconds: number[] = [];
  for (let it = 0; it < params.iterations; it++) {
    const t0 = performance.now();
    await halfStep(userItems, userShards, itemFactors, itemBias, userFactors, userBias, nItems);
    await halfStep(itemUsers, itemShards, userFactors, userBias, itemFactors, itemBias, nUsers);
    const seconds = (performance.now() - t0) / 1000;
    iterationSeconds.push(seconds);
    const loss = opts.computeLoss
      ? trainingLoss(params, userItems, userFactors, itemFactors, userBias, itemBias, globalMean)
      : null;
    opts.onIteration?.(it + 1, seconds, loss);
  }
  return { arena, userFactors, itemFactors, userBias, itemBias, globalMean, userItems, iterationSeconds };
}

function toConfidence(values: Float32Array, alpha: number): void {
  for (let e = 0; e < values.length; e++) values[e] = 1 + alpha * values[e];
}

/**
 * Explicit: training RMSE. Implicit: the weighted squared error over observed entries
 * (Σ c·(1 − x·y)²) per observed entry — a cheap progress signal, not the full objective.
 */
function trainingLoss(
  params: AlsParams,
  csr: Csr,
  x: Float32Array,
  y: Float32Array,
  bu: Float32Array,
  bi: Float32Array,
  mu: number,
): number {
  const f = params.factors;
  let sum = 0;
  const n = csr.values.length;
  for (let u = 0; u + 1 < csr.indptr.length; u++) {
    for (let e = csr.indptr[u]; e < csr.indptr[u + 1]; e++) {
      const i = csr.indices[e];
      let dot = 0;
      for (let c = 0; c < f; c++) dot += x[u * f + c] * y[i * f + c];
      if (params.mode === 'explicit') {
        const err = csr.values[e] - (mu + bu[u] + bi[i] + dot);
        sum += err * err;
      } else {
        const err = 1 - dot;
        sum += csr.values[e] * err * err; // confidences in implicit mode
      }
    }
  }
  return params.mode === 'explicit' ? Math.sqrt(sum / n) : sum / n;
}
