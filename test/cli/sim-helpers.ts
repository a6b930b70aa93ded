// Shared by the simulate and loadtest tests: a small demo server (`recsys start`) and the
// CLI run to its end as a child process.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';

import { launch, type Running } from './launch.js';

export const API_KEY = 'sim-test-key-0123456789';
export const DEMO = { users: 150, items: 60 };

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** `recsys start` on a fresh folder with a small demo, quick micro-batches and rollups. */
export async function demoServer(): Promise<Running & { dataDir: string; cleanup(): Promise<void> }> {
  const data = tempDir('recsys-sim-');
  const run = await launch(
    ['start', '--port', '0', '--demo-users', String(DEMO.users), '--demo-items', String(DEMO.items)],
    {
      RECSYS_DATA_DIR: data.dir,
      RECSYS_API_KEYS: API_KEY,
      RECSYS_MICROBATCH_MS: '300',
      RECSYS_ANALYTICS_INTERVAL_MS: '500',
      RECSYS_LOG_LEVEL: 'warn',
    },
  );
  let stopped = false;
  return {
    ...run,
    dataDir: data.dir,
    async stop(signal) {
      stopped = true;
      return run.stop(signal);
    },
    async cleanup() {
      if (!stopped) await run.stop();
      data.cleanup();
    },
  };
}

/** Runs `recsys <args>` to its end. */
export function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The value of a Prometheus sample whose labels include `labels` (summed over the others). */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
