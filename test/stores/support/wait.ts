// Helpers for store tests: polling until a condition holds, unique names, timing a promise.
import { randomBytes } from 'node:crypto';

export function uid(prefix = ''): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** Polls `cond` until true; fails with `what` after `timeoutMs` (a hang becomes a clear failure). */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Settles `promise` and reports how long it took, so tests can assert a bound on failures. */
export async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = Date.now();
  try {
    const value = await promise;
    return { ms: Date.now() - start, value };
  } catch (error) {
    return { ms: Date.now() - start, error };
  }
}
