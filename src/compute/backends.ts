/**
 * Backend selection: `native` (Rust/napi-rs), `wasm` (AssemblyScript SIMD), `js` (reference).
 * RECSYS_BACKEND or an explicit name picks one; otherwise the fastest that loads wins.
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

/** Instantiate a backend's kernels for one thread and one arena. */
export async function loadKernels(name: BackendName, arena: Arena): Promise<Kernels> {
  try {
    switch (name) {
      case 'native':
        return await (await import('./native.js')).createNativeKernels();
      case 'wasm':
        return await (await import('./wasm.js')).createWasmKernels(arena);
      case 'js':
        return createJsKernels();
    }
  } catch (err) {
    if (err instanceof BackendUnavailableError) throw err;
    throw new BackendUnavailableError(name, (err as Error).message);
  }
}

const probed = new Map<BackendName, BackendUnavailableError | null>();

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
 * The backend to use: `requested` (or RECSYS_BACKEND) when given, failing clearly if it
 * cannot load; else the first of native, wasm, js that loads.
 */
export async function resolveBackend(requested = process.env.RECSYS_BACKEND): Promise<BackendName> {
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
