/**
 * Piscina entry point: runs one kernel call on a row range. Kernels are instantiated once
 * per (arena, backend) in this thread and kept for the next tasks of the same job.
 */
import { workerData } from 'piscina';
import { Arena } from '../src/compute/arena.js';
import { loadKernels, useKernelArtifacts } from '../src/compute/backends.js';
import type { Kernels } from '../src/compute/kernels.js';
import type { ComputeWorkerData } from '../src/compute/pool.js';
import { decodeTask, type KernelTask } from '../src/compute/tasks.js';

// The pool's artifact paths (the configured RECSYS_WASM, RECSYS_NATIVE_ADDON).
useKernelArtifacts((workerData as ComputeWorkerData | undefined)?.artifacts ?? {});

const MAX_CACHED_ARENAS = 4;
const cache = new Map<string, { arena: Arena; kernels: Promise<Kernels> }>();

function kernelsFor(task: KernelTask): { arena: Arena; kernels: Promise<Kernels> } {
  const probe = Arena.attach(task.arena);
  const key = `${probe.id}:${probe.capacity}:${task.backend}`;
  let hit = cache.get(key);
  if (!hit) {
    hit = { arena: probe, kernels: loadKernels(task.backend, probe) };
    cache.set(key, hit);
    // Drop the oldest so finished jobs' shared memory can be freed.
    if (cache.size > MAX_CACHED_ARENAS) cache.delete(cache.keys().next().value as string);
  }
  return hit;
}

export default async function run(task: KernelTask): Promise<void> {
  const { arena, kernels } = kernelsFor(task);
  const k = await kernels;
  const call = decodeTask(task, arena);
  switch (call.op) {
    case 'explicitHalfStep':
      return k.explicitHalfStep(call.args);
    case 'implicitHalfStep':
      return k.implicitHalfStep(call.args);
    case 'topK':
      return k.topK(call.args);
  }
}
