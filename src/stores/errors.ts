/**
 * Typed store errors. Every adapter turns driver errors into one of these, so callers
 * (serving, stream, batch) can decide to retry or degrade without knowing which server
 * or library is behind a port.
 */

export type StoreName = 'relational store' | 'cache' | 'event bus' | 'object store';

export interface StoreErrorContext {
  store: StoreName;
  /** Where the store lives, secrets removed: "PostgreSQL at 127.0.0.1:5432/recsys", "PGlite at ./data/pg". */
  address: string;
  cause?: unknown;
}

/** Base class: says which store failed, where, and whether trying again may help. */
export class StoreError extends Error {
  readonly store: StoreName;
  readonly address: string;
  readonly retriable: boolean;

  constructor(message: string, ctx: StoreErrorContext, retriable: boolean) {
    super(`${ctx.store} (${ctx.address}): ${message}`, { cause: ctx.cause });
    this.name = new.target.name;
    this.store = ctx.store;
    this.address = ctx.address;
    this.retriable = retriable;
  }
}

/** The server cannot be reached, refused, timed out or went away. Retrying later may work. */
export class StoreUnavailableError extends StoreError {
  constructor(message: string, ctx: StoreErrorContext) {
    super(message, ctx, true);
  }
}

/** A call that got no answer within its bound (resilience.ts). The call itself may still finish. */
export class StoreTimeoutError extends StoreUnavailableError {
  readonly ms: number;

  constructor(ms: number, ctx: StoreErrorContext) {
    super(`no answer within ${ms} ms`, ctx);
    this.ms = ms;
  }
}

/** A call refused without being tried: the store's circuit is open after repeated failures (resilience.ts). */
export class CircuitOpenError extends StoreUnavailableError {
  constructor(ctx: StoreErrorContext) {
    super('circuit open after repeated failures; calls fail at once until a trial call succeeds', ctx);
  }
}

/** Wrong credentials, missing database/bucket, bad URL: retrying will not help. */
export class StoreConfigError extends StoreError {
  constructor(message: string, ctx: StoreErrorContext) {
    super(message, ctx, false);
  }
}

/** A statement failed on the server; `code` is the SQLSTATE. Serialization failures and deadlocks are retriable. */
export class QueryError extends StoreError {
  readonly code: string | undefined;

  constructor(message: string, code: string | undefined, ctx: StoreErrorContext) {
    super(message, ctx, code === '40001' || code === '40P01');
    this.code = code;
  }
}

/** A key that does not exist (object store get). */
export class NotFoundError extends StoreError {
  readonly key: string;

  constructor(key: string, ctx: StoreErrorContext) {
    super(`no such key: ${key}`, ctx, false);
    this.key = key;
  }
}

/** A call on a store after close(). */
export class StoreClosedError extends StoreError {
  constructor(ctx: StoreErrorContext) {
    super('store is closed', ctx, false);
  }
}

/** Several stores failed to open at once (openStores reports all of them, not just the first). */
export class StoresOpenError extends AggregateError {
  constructor(errors: Error[]) {
    super(
      errors,
      `could not open ${errors.length} store(s):\n${errors.map((e) => `  - ${e.message}`).join('\n')}`,
    );
    this.name = 'StoresOpenError';
  }
}

/** Network-level failures that mean "server not there (now)", whatever the driver. */
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
]);

export function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && unavailableCodes.has(code)) return true;
  if (err instanceof AggregateError) return err.errors.some(isNetworkError);
  return false;
}

export function messageOf(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0 && !err.message) {
    return err.errors.map(messageOf).join('; ');
  }
  return err instanceof Error ? err.message || err.name : String(err);
}
