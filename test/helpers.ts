// Shared test helpers: the repo root, temp dirs, a synthetic MovieLens folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type SyntheticMovieLens,
  type SyntheticMovieLensOptions,
  writeSyntheticMovieLens,
} from '../src/data/synthetic-movielens.js';

// Compiled tests live in dist/test/, so the repo root is two levels up.
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function tempDir(prefix = 'recsys-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A synthetic MovieLens folder (u.data, u.item, u1..u5 splits) in a fresh temp dir. */
export function syntheticMovieLens(
  opts?: SyntheticMovieLensOptions,
): SyntheticMovieLens & { cleanup: () => void } {
  const tmp = tempDir('recsys-movielens-');
  return { ...writeSyntheticMovieLens(tmp.dir, opts), cleanup: tmp.cleanup };
}

/** Polls fn every 200 ms until it gives a value other than null; fails after timeoutMs naming `what`. */
export async function until<T>(what: string, fn: () => Promise<T | null>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
