/**
 * Train the `implicit` library's ALS on a training COO and bring its factors back, so the
 * quality bench can rank them with recsys's own top-K and metrics code (one definition for
 * both sides). Goes through the interchange folder of bench/peers/_interchange.py.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Coo } from '../src/data/matrix.js';
import type { AlsParams } from '../src/model/params.js';
import { repoRoot, runJson, venvPython } from './lib.js';

export interface PeerFactors {
  version: string;
  userFactors: Float32Array;
  itemFactors: Float32Array;
}

const raw = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function readF32(file: string, length: number): Float32Array {
  const bytes = readFileSync(file);
  if (bytes.byteLength !== length * 4)
    throw new Error(`${file}: expected ${length * 4} bytes, found ${bytes.byteLength}`);
  // Copy into a fresh buffer: a Buffer's offset in its pool need not be 4-byte aligned.
  return new Float32Array(new Uint8Array(bytes).buffer);
}

/**
 * Fit implicit's CPU ALS (conjugate gradient, 3 steps as recsys's cgSteps must be) on `train`
 * with the factors, λ, α, iterations and seed of `params`. `values` and `alpha` replace
 * train.values and params.alpha when given (the diagnosis feeds it recsys's confidences).
 * The folder is rewritten on every call.
 */
export async function fitImplicitPeer(
  train: Coo,
  params: AlsParams,
  dir: string,
  opts: { threads: number; values?: Float32Array; alpha?: number },
): Promise<PeerFactors> {
  if (params.cgSteps !== 3) throw new Error(`implicit runs 3 CG steps; params.cgSteps is ${params.cgSteps}`);
  mkdirSync(dir, { recursive: true });
  const nUsers = train.userIds.size;
  const nItems = train.itemIds.size;
  writeFileSync(path.join(dir, 'users.i32'), raw(train.rows));
  writeFileSync(path.join(dir, 'items.i32'), raw(train.cols));
  writeFileSync(path.join(dir, 'values.f32'), raw(opts.values ?? train.values));
  const meta = {
    nUsers,
    nItems,
    nnz: train.rows.length,
    factors: params.factors,
    iterations: params.iterations,
    threads: opts.threads,
    mode: 'implicit',
    alpha: opts.alpha ?? params.alpha,
    lambda: params.lambda,
    seed: params.seed,
  };
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta));
  const peer = await runJson<{ version: string }>(
    venvPython,
    [path.join(repoRoot, 'bench/peers/implicit_als.py'), dir, '--save-factors'],
    { OPENBLAS_NUM_THREADS: '1' },
  );
  return {
    version: peer.version,
    userFactors: readF32(path.join(dir, 'userfactors.f32'), nUsers * params.factors),
    itemFactors: readF32(path.join(dir, 'itemfactors.f32'), nItems * params.factors),
  };
}
