/** Shared bench helpers: child processes that print one JSON line, machine facts, tables. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedDir = process.env.RECSYS_SHARED ?? path.resolve(repoRoot, '../shared');
export const benchData = path.join(repoRoot, 'bench/.data');
export const venvPython = path.join(repoRoot, 'bench/.venv/bin/python');

export function machine(): string {
  const c = cpus();
  return `${c.length} cores (${c[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`;
}

/** Run a command whose last stdout line is a JSON object; stderr passes through. */
export function runJson<T = Record<string, unknown>>(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 3_600_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 1 << 26, timeout: timeoutMs },
      (err, stdout) => {
        if (err) return reject(new Error(`${path.basename(cmd)} ${args.join(' ')} failed: ${err.message}`));
        const last = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(last) as T);
        } catch {
          reject(new Error(`${path.basename(cmd)} printed no JSON result: ${last.slice(0, 200)}`));
        }
      },
    );
    child.stderr?.pipe(process.stderr);
  });
}

export function requireVenv(): void {
  if (!existsSync(venvPython))
    throw new Error('bench peers are not installed: run `bash bench/setup-peers.sh` first');
}

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const fmt = (v: string | number) =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v;
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map(fmt).join(' | ')} |`);
  return lines.join('\n');
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The services of scripts/services.sh as the app's environment (what is set already wins). */
export function servicesEnv(
  databaseUrl = 'postgres://recsys:recsys@127.0.0.1:5432/recsys',
): Record<string, string> {
  return {
    RECSYS_MODE: 'services',
    DATABASE_URL: databaseUrl,
    REDIS_URL: 'redis://127.0.0.1:6379',
    KAFKA_BROKERS: '127.0.0.1:9092',
    S3_ENDPOINT: 'http://127.0.0.1:9000',
    S3_ACCESS_KEY: 'recsys',
    S3_SECRET_KEY: 'recsys-secret',
    S3_BUCKET: 'recsys',
    ...(process.env as Record<string, string>),
  };
}
