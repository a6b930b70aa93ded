/**
 * The failure and retention rules both bus adapters take, with their defaults, checked once
 * at open (and per consume() call for maxAttempts) so a bad value fails fast with a clear error.
 */
import { StoreConfigError, type StoreErrorContext } from '../errors.js';

export const DEFAULT_MAX_ATTEMPTS = 5;
/** 7 days, as Kafka's own default retention. */
export const DEFAULT_RETENTION_MS = 7 * 24 * 3_600_000;

export interface BusPolicy {
  /** Handler calls a batch gets before its messages go to `<topic>.dlq` (default 5; consume() may override). */
  maxAttempts?: number;
  /** How long messages are kept after the bus accepted them, read or not (default 7 days). */
  retentionMs?: number;
}

type Ctx = Omit<StoreErrorContext, 'cause'>;

export function resolveBusPolicy(opts: BusPolicy, ctx: Ctx): Required<BusPolicy> {
  const retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
  if (!Number.isSafeInteger(retentionMs) || retentionMs < 1)
    throw new StoreConfigError(`retentionMs must be a positive whole number of ms, got ${retentionMs}`, ctx);
  return { maxAttempts: checkMaxAttempts(opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, ctx), retentionMs };
}

export function checkMaxAttempts(n: number, ctx: Ctx): number {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new StoreConfigError(`maxAttempts must be a whole number ≥ 1, got ${n}`, ctx);
  return n;
}
