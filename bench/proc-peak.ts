/**
 * Runs a command and measures what a whole-job target needs: wall time and peak memory. Memory
 * is read from /proc every POLL_MS: the peak of the process tree's summed VmRSS (a JVM under a
 * Python driver is two processes) and the highest VmHWM (the kernel's own high-water mark) of any
 * one process in it, so a single process's peak is exact up to its last POLL_MS.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const POLL_MS = 100;

export interface Measured {
  /** The last stdout line, parsed. */
  result: Record<string, unknown>;
  wallSeconds: number;
  /** max(peak summed VmRSS of the tree, highest VmHWM of one process), bytes. */
  peakRssBytes: number;
  /** The machine's 1-minute load average at the start and at the end (other work shares it). */
  load: [number, number];
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // gone between the listing and the read
  }
}

/** `root` and every process below it. */
function tree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // exited meanwhile
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** Runs `cmd args`; stderr passes through; fails unless it exits 0 with a JSON last line. */
export function runMeasured(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const loadBefore = loadavg()[0]!;
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    let peakKb = 0;
    const poll = () => {
      if (child.pid === undefined) return;
      let sum = 0;
      for (const pid of tree(child.pid)) {
        sum += statusKb(pid, 'VmRSS');
        peakKb = Math.max(peakKb, statusKb(pid, 'VmHWM'));
      }
      peakKb = Math.max(peakKb, sum);
    };
    const timer = setInterval(poll, POLL_MS);
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearInterval(timer);
      clearTimeout(killer);
      reject(err);
    });
    let wallSeconds = 0;
    let loadAfter = 0;
    child.on('exit', () => {
      wallSeconds = (performance.now() - t0) / 1000;
      loadAfter = loadavg()[0]!;
      clearInterval(timer);
      clearTimeout(killer);
    });
    // 'close' comes after stdout has ended, so the result line is all there.
    child.on('close', (code, signal) => {
      const name = `${path.basename(cmd)} ${args.slice(0, 3).join(' ')}`;
      if (code !== 0) return reject(new Error(`${name} failed (exit ${code ?? signal})`));
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({
          result: JSON.parse(last),
          wallSeconds,
          peakRssBytes: peakKb * 1024,
          load: [loadBefore, loadAfter],
        });
      } catch {
        reject(new Error(`${name} printed no JSON result: ${last.slice(0, 200)}`));
      }
    });
  });
}
