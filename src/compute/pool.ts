/**
 * The compute pool: Piscina workers (default one per core) that run kernel calls over
 * disjoint row ranges of matrices living in a shared arena.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { Arena } from './arena.js';
import { type KernelArtifacts, kernelArtifacts } from './backends.js';
import type { BackendName } from './kernels.js';
import { encodeTask, type KernelOp } from './tasks.js';

const WORKER = new URL('../../workers/compute-entry.cjs', import.meta.url);

/** What each worker gets at start. */
export interface ComputeWorkerData {
  artifacts: KernelArtifacts;
}

export class ComputePool {
  private readonly piscina: Piscina;

  /** @param artifacts where workers load kernels from (default: this thread's, see useKernelArtifacts) */
  constructor(
    readonly threads = availableParallelism(),
    artifacts: KernelArtifacts = kernelArtifacts(),
  ) {
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`threads must be ≥ 1, got ${threads}`);
    this.piscina = new Piscina({
      filename: WORKER.href,
      workerData: { artifacts } satisfies ComputeWorkerData,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
    });
  }

  run(backend: BackendName, arena: Arena, call: KernelOp): Promise<void> {
    return this.piscina.run(encodeTask(backend, arena, call));
  }

  async destroy(): Promise<void> {
    await this.piscina.destroy();
  }
}

/**
 * Split rows [0, indptr.length-1) into about `parts` contiguous shards of similar work,
 * counting each row as (entries + 1) so empty rows still cost something.
 */
export function shardRows(indptr: Int32Array, parts: number): Array<[number, number]> {
  const nRows = indptr.length - 1;
  const total = indptr[nRows] + nRows;
  const target = Math.max(1, total / Math.max(1, parts));
  const shards: Array<[number, number]> = [];
  let start = 0;
  for (let r = 0; r < nRows; r++) {
    const work = indptr[r + 1] + (r + 1) - (indptr[start] + start);
    if (work >= target || r === nRows - 1) {
      shards.push([start, r + 1]);
      start = r + 1;
    }
  }
  return shards;
}
