// recsys compute kernels for the `wasm` backend (AssemblyScript, v128 SIMD).
//
// The module imports its linear memory: one shared WebAssembly.Memory per arena
// (src/compute/arena.ts) that every worker thread instantiates this module against. All
// kernel arguments are byte offsets into that memory; the module never allocates (runtime
// stub, no `new`), keeps no state in memory and has no data segments, so any number of
// instances can share one memory. Its own static area is [memoryBase, __heap_base), inside
// the arena's reserved first MiB; per-instance scratch comes from the arena (passed in).
//
// Build: npm run build:wasm  (asc assembly/index.ts --config assembly/asconfig.json --target release)
import { denseScratchBytes, STATUS_BYTES } from './als';
import { topKScratchBytes } from './topk';

export { explicitHalfStep, gramian, implicitHalfStep } from './als';
export { queryBlock as topKQueryBlock, setTopKBlock, topK } from './topk';

/** Bytes of scratch (including the status header) every kernel needs for `f` factors. */
export function scratchBytes(f: i32): i32 {
  return <i32>STATUS_BYTES + max(denseScratchBytes(f), topKScratchBytes(f));
}

/** End of this module's static data: must stay below the arena's reserved 1 MiB. */
export function heapBase(): usize {
  return __heap_base;
}

/** ABI version, bumped when an export's signature or semantics change. */
export function abiVersion(): i32 {
  return 1;
}
