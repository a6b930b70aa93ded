// Shared test helpers: paths to the repo and ../shared, temp dirs, random inputs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled tests live in dist/test/, so the repo root is two levels up.
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedDir = process.env.RECSYS_SHARED ?? path.resolve(repoRoot, '../shared');
export const ml100kDir = path.join(sharedDir, 'datasets/ml-100k');

export function tempDir(prefix = 'recsys-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
