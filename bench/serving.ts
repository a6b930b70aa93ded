/**
 * `npm run bench -- serving`: HTTP serving throughput and tail latency with wrk (50
 * connections, one wrk thread, loopback), every server in its own process:
 *  (a) a static uWebSockets.js hello world with the body size of (b);
 *  (b) GET /v1/recommendations/:user answered from L0 (the in-process cache);
 *  (c) the same answered from Redis with L0 off;
 *  (d) the FastAPI + uvicorn + Redis peer (bench/peers/fastapi_server.py) serving the same
 *      precomputed answers from Redis.
 * Each runs three times, interleaved (a b c d a b c d a b c d), and the median of each
 * figure is reported (with the p99 range), so a burst of other work on a shared machine
 * does not decide a ratio. Targets (issue 4): (b) ≥ 0.7×(a) with p99 ≤ 1 ms; (c) p99 ≤ 2 ms;
 * (b) ≥ 10×(d).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { machine, median, repoRoot, requireVenv, table, venvPython } from './lib.js';

const SECONDS = 10;
const ROUNDS = 3;
const WARMUP_SECONDS = 2;
const CONNECTIONS = 50;
const USER = 'u1';

interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

interface Started {
  child: ChildProcess;
  info: Record<string, unknown>;
}

/** Starts a server process and waits for its one JSON "listening" line on stdout. */
function startChild(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(args[0] ?? cmd)} did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${path.basename(args[0] ?? cmd)} exited with ${code} before listening`));
    });
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const info = JSON.parse(line) as Record<string, unknown>;
        if (info.event !== 'listening') return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, info });
      } catch {
        // not the JSON line
      }
    });
  });
}

function stop(s: Started | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => s.child.kill('SIGKILL'), 15_000);
    s.child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    s.child.kill('SIGTERM');
  });
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return Number.NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

function wrk(url: string, seconds: number): WrkResult {
  const out = execFileSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url], {
    encoding: 'utf8',
    timeout: (seconds + 30) * 1000,
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = /\s50%\s+(\S+)/.exec(out)?.[1] ?? '';
  const p99 = /\s99%\s+(\S+)/.exec(out)?.[1] ?? '';
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sock ? sock.slice(1).reduce((s, x) => s + Number(x), 0) : 0);
  if (!Number.isFinite(rps)) throw new Error(`cannot read wrk output:\n${out}`);
  return { rps, p50ms: toMs(p50), p99ms: toMs(p99), errors };
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

export async function benchServing(): Promise<string> {
  requireVenv();
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    // wrk --version exits 1 after printing; only a missing binary is a problem.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error('wrk is not installed: apt-get install -y wrk');
  }
  const node = process.execPath;
  const dist = path.join(repoRoot, 'dist/bench');
  let server: Started | undefined;
  let hello: Started | undefined;
  let peer: Started | undefined;
  try {
    server = await startChild(node, [path.join(dist, 'serving-server.js')], { RECSYS_LOG_LEVEL: 'warn' });
    const ports = server.info.ports as { l0: number; redis: number };
    const urlB = `http://127.0.0.1:${ports.l0}/v1/recommendations/${USER}`;
    const urlC = `http://127.0.0.1:${ports.redis}/v1/recommendations/${USER}`;
    await get(urlB);
    const b = await get(urlB);
    const c = await get(urlC);
    if (JSON.parse(b.text).source !== 'l0')
      throw new Error(`(b) is not answered from L0: ${b.text.slice(0, 200)}`);
    if (JSON.parse(c.text).source !== 'l1')
      throw new Error(`(c) is not answered from Redis: ${c.text.slice(0, 200)}`);

    hello = await startChild(node, [path.join(dist, 'serving-hello.js'), String(Buffer.byteLength(b.text))]);
    const urlA = `http://127.0.0.1:${hello.info.port}/`;
    const peerPort = 18_000 + Math.floor(Math.random() * 1000);
    peer = await startChild(venvPython, [
      path.join(repoRoot, 'bench/peers/fastapi_server.py'),
      '--port',
      String(peerPort),
      '--redis-url',
      'redis://127.0.0.1:6379/0',
    ]);
    const urlD = `http://127.0.0.1:${peerPort}/v1/recommendations/${USER}`;
    const a = await get(urlA);
    const d = await get(urlD);
    if (d.status !== 200) throw new Error(`(d) answered ${d.status}: ${d.text.slice(0, 200)}`);

    const scenarios = [
      { key: 'a', name: '(a) uWS hello world, static body', url: urlA, bytes: Buffer.byteLength(a.text) },
      { key: 'b', name: '(b) recsys, answer from L0', url: urlB, bytes: Buffer.byteLength(b.text) },
      {
        key: 'c',
        name: '(c) recsys, L0 off: answer from Redis',
        url: urlC,
        bytes: Buffer.byteLength(c.text),
      },
      {
        key: 'd',
        name: `(d) FastAPI + uvicorn + Redis peer (${String(peer.info.http)}, ${String(peer.info.loop)})`,
        url: urlD,
        bytes: Buffer.byteLength(d.text),
      },
    ];
    const runs = new Map<string, WrkResult[]>(scenarios.map((sc) => [sc.key, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const sc of scenarios) {
        process.stderr.write(`bench serving: ${sc.name}, run ${round + 1}/${ROUNDS}\n`);
        wrk(sc.url, WARMUP_SECONDS);
        runs.get(sc.key)!.push(wrk(sc.url, SECONDS));
      }
    }
    const R = (k: string) => {
      const rs = runs.get(k)!;
      return {
        rps: median(rs.map((r) => r.rps)),
        p50ms: median(rs.map((r) => r.p50ms)),
        p99ms: median(rs.map((r) => r.p99ms)),
        p99range: `${Math.min(...rs.map((r) => r.p99ms)).toFixed(2)}–${Math.max(...rs.map((r) => r.p99ms)).toFixed(2)}`,
        errors: rs.reduce((n, r) => n + r.errors, 0),
      };
    };
    const rows = scenarios.map((sc) => [
      sc.name,
      Math.round(R(sc.key).rps),
      R(sc.key).p50ms.toFixed(3),
      R(sc.key).p99ms.toFixed(3),
      R(sc.key).p99range,
      sc.bytes,
      R(sc.key).errors,
    ]);
    const ratioBA = R('b').rps / R('a').rps;
    const ratioBD = R('b').rps / R('d').rps;
    const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
    const targets = [
      ['(b) / (a) requests/s ≥ 0.7', ratioBA.toFixed(2), verdict(ratioBA >= 0.7)],
      ['(b) p99 ≤ 1 ms', `${R('b').p99ms.toFixed(3)} ms`, verdict(R('b').p99ms <= 1)],
      ['(c) p99 ≤ 2 ms', `${R('c').p99ms.toFixed(3)} ms`, verdict(R('c').p99ms <= 2)],
      ['(b) / (d) requests/s ≥ 10', ratioBD.toFixed(1), verdict(ratioBD >= 10)],
    ];
    return [
      `## Serving (${machine()})`,
      '',
      `wrk 1 thread, ${CONNECTIONS} connections, ${SECONDS} s after a ${WARMUP_SECONDS} s warm-up, loopback; every server in its own process; medians of ${ROUNDS} interleaved runs. One user's answer (k=10). recsys in services mode (PostgreSQL, Redis, Kafka, MinIO), ${String(server.info.backend)} kernels; every answer is queued for recommendation_logs (under this overload most rows are dropped and counted: the log keeps to its 10 % time share).`,
      '',
      table(['server', 'requests/s', 'p50 ms', 'p99 ms', 'p99 range ms', 'body bytes', 'errors'], rows),
      '',
      table(['target', 'measured', ''], targets),
      '',
    ].join('\n');
  } finally {
    await Promise.all([stop(peer), stop(hello), stop(server)]);
  }
}
