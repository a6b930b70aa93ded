/**
 * Backend selection: `native` (Rust/napi-rs), `wasm` (AssemblyScript SIMD), `js` (reference).
 * A name (--backend, else the configured RECSYS_BACKEND) picks one; otherwise the fastest that
 * loads wins.
 */
import type { Arena } from './arena.js';
import { createJsKernels } from './js.js';
import type { BackendName, Kernels } from './kernels.js';

export const BACKENDS: readonly BackendName[] = ['native', 'wasm', 'js'];

export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    reason: string,
  ) {
    super(`compute backend '${backend}' is unavailable: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

export function isBackendName(name: string): name is BackendName {
  return (BACKENDS as readonly string[]).includes(name);
}

/** Where the built kernels are when not where the build puts them (RECSYS_WASM, RECSYS_NATIVE_ADDON). */
export interface KernelArtifacts {
  wasm?: string | null;
  nativeAddon?: string | null;
}

// Per thread, like the compiled kernels themselves: set once at start, before any kernel loads.
let artifacts: KernelArtifacts = {};
const probed = new Map<BackendName, BackendUnavailableError | null>();

/**
 * Makes this thread load kernels from `paths` (the configured artifact paths): the CLI sets it
 * from its configuration, and compute pools hand it to their workers.
 */
export function useKernelArtifacts(paths: KernelArtifacts): void {
  artifacts = { wasm: paths.wasm ?? null, nativeAddon: paths.nativeAddon ?? null };
  probed.clear();
}

/** This thread's artifact paths (see useKernelArtifacts). */
export function kernelArtifacts(): KernelArtifacts {
  return artifacts;
}

/** Instantiate a backend's kernels for one thread and one arena. */
export async function loadKernels(name: BackendName, arena: Arena): Promise<Kernels> {
  try {
    switch (name) {
      case 'native':
        return await (await import('./native.js')).createNativeKernels(artifacts.nativeAddon);
      case 'wasm': {
        const wasm = await import('./wasm.js');
        return await wasm.createWasmKernels(arena, wasm.wasmPath(artifacts.wasm));
      }
      case 'js':
        return createJsKernels();
    }
  } catch (err) {
    if (err instanceof BackendUnavailableError) throw err;
    throw new BackendUnavailableError(name, (err as Error).message);
  }
}

/** Why a backend cannot load (null when it can). Probed once per process. */
export async function probeBackend(name: BackendName): Promise<BackendUnavailableError | null> {
  if (!probed.has(name)) {
    const { Arena } = await import('./arena.js');
    try {
      await loadKernels(name, Arena.create(1 << 16, { wasm: name === 'wasm' }));
      probed.set(name, null);
    } catch (err) {
      probed.set(name, err as BackendUnavailableError);
    }
  }
  return probed.get(name) ?? null;
}

/**
 * The backend to use: `requested` (--backend, else the configured RECSYS_BACKEND) when given,
 * failing clearly if it cannot load; else the first of native, wasm, js that loads.
 */
export async function resolveBackend(requested?: string | null): Promise<BackendName> {
  if (requested) {
    if (!isBackendName(requested)) {
      throw new BackendUnavailableError(requested, `unknown backend; choose one of ${BACKENDS.join(', ')}`);
    }
    const why = await probeBackend(requested);
    if (why) throw why;
    return requested;
  }
  for (const name of BACKENDS) if ((await probeBackend(name)) === null) return name;
  return 'js';
}
