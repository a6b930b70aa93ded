// Runs the recsys CLI as a real child process, as an operator would, and waits for its
// "listening on" line.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

// The CLI compiled beside this file (dist/src/cli/main.js, what bin/recsys.js imports, when
// the tests run from dist/): the process runs the code the tests were built with.
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface Running {
  url: string;
  /** What it printed on stdout so far. */
  stdout(): string;
  /** What it logged on stderr so far. */
  stderr(): string;
  /** Sends the signal (SIGTERM unless told) and resolves with the exit code and signal. */
  stop(
    signal?: NodeJS.Signals,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts `recsys <args>` with `env` added to this process's, and resolves once it prints its listening line. */
export async function launch(args: string[], env: Record<string, string>): Promise<Running> {
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(process.execPath, [cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let out = '';
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
        if (m) resolve(m[1]);
      });
      void exited.then(({ code, signal }) =>
        reject(
          new Error(`recsys ${args[0]} exited (${code ?? signal}) before listening: ${stderr.slice(-2000)}`),
        ),
      );
    });
    return {
      url,
      stdout: () => out,
      stderr: () => stderr,
      async stop(signal = 'SIGTERM') {
        child.kill(signal);
        return { ...(await exited), stderr };
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}
