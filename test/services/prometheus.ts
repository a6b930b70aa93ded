// A real Prometheus (the Debian package's /usr/bin/prometheus) started by a test: a temp config
// scraping the given targets every second, temp storage, a free port; the HTTP API to run
// PromQL on it; and promtool, Prometheus's own checker of configs and /metrics output.
import { type ChildProcessByStdio, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { tempDir } from '../helpers.js';
import { delay } from '../stores/support/wait.js';

const INSTALL_HINT = 'install the Debian package prometheus (bash scripts/services.sh up does)';

/** One scrape job: its name and its targets' `host:port`, each with labels. */
export interface ScrapeJob {
  job: string;
  targets: Array<{ address: string; labels?: Record<string, string> }>;
}

/** One series of a PromQL instant result. */
export interface Series {
  metric: Record<string, string>;
  value: number;
}

export interface RunningPrometheus {
  url: string;
  /** The configuration file it was started with. */
  configFile: string;
  /** Evaluates `expr` now; rejects with Prometheus's own message when it refuses the expression. */
  query(expr: string): Promise<Series[]>;
  /** The health of every scrape target ("up", "down", "unknown") by scrape URL. */
  targets(): Promise<Array<{ url: string; health: string; lastError: string }>>;
  /** The last output of the process, for failure messages. */
  tail(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcessByStdio<null, Readable, Readable>>();
// Whatever happens to the test runner, no Prometheus outlives it.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startPrometheus(jobs: ScrapeJob[]): Promise<RunningPrometheus> {
  const tmp = tempDir('recsys-prometheus-');
  const configFile = path.join(tmp.dir, 'prometheus.yml');
  writeFileSync(
    configFile,
    stringify({
      // Every second, so a test sees fresh samples within seconds.
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      scrape_configs: jobs.map((j) => ({
        job_name: j.job,
        metrics_path: '/metrics',
        static_configs: j.targets.map((t) => ({ targets: [t.address], labels: t.labels ?? {} })),
      })),
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(tmp.dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on('error', (err) => {
      spawnError = err;
      resolve();
    });
    child.on('exit', () => {
      running.delete(child);
      resolve();
    });
  });
  const gone = () => spawnError !== undefined || child.exitCode !== null || child.signalCode !== null;
  const stop = async () => {
    if (!gone()) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    tmp.cleanup();
  };

  const api = async (p: string) => {
    const res = await fetch(url + p);
    const body = (await res.json()) as { status: string; error?: string; data: unknown };
    if (body.status !== 'success') throw new Error(`Prometheus ${p}: ${body.error ?? res.status}`);
    return body.data;
  };

  for (const deadline = Date.now() + 30_000; ; await delay(100)) {
    if (gone()) {
      await stop();
      const why = spawnError ? `${spawnError.message}; ${INSTALL_HINT}` : output.slice(-3000);
      throw new Error(`prometheus did not start: ${why}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready within 30 s: ${output.slice(-3000)}`);
    }
  }

  return {
    url,
    configFile,
    async query(expr) {
      const data = (await api(`/api/v1/query?query=${encodeURIComponent(expr)}`)) as {
        resultType: string;
        result: Array<{ metric: Record<string, string>; value: [number, string] }>;
      };
      if (data.resultType !== 'vector')
        throw new Error(`${expr}: a ${data.resultType}, not an instant vector`);
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async targets() {
      const data = (await api('/api/v1/targets?state=active')) as {
        activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string }>;
      };
      return data.activeTargets.map((t) => ({ url: t.scrapeUrl, health: t.health, lastError: t.lastError }));
    },
    tail: () => output.slice(-3000),
    stop,
  };
}

/**
 * Runs `promtool` with `args`, `input` on its standard input; resolves with its exit code and
 * output (promtool reports problems through both).
 */
export async function promtool(args: string[], input?: string): Promise<{ code: number; output: string }> {
  const run = promisify(execFile);
  const child = run('promtool', args, { maxBuffer: 16 << 20 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    const { stdout, stderr } = await child;
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw new Error(`promtool: ${e.message}; ${INSTALL_HINT}`);
    return { code: e.code, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}
