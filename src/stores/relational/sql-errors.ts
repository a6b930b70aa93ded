/** Maps pg / PGlite errors onto the typed store errors. */
import {
  isNetworkError,
  messageOf,
  QueryError,
  StoreConfigError,
  StoreError,
  type StoreErrorContext,
  StoreUnavailableError,
} from '../errors.js';

// pg reports a lost or never-made connection with plain Errors carrying these messages.
const connectionMessages = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /not queryable/i,
  /connection .*closed/i,
  /cannot use a pool after calling end/i,
];

export function toRelationalError(err: unknown, ctx: Omit<StoreErrorContext, 'cause'>): StoreError {
  if (err instanceof StoreError) return err;
  const full = { ...ctx, cause: err };
  const message = messageOf(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    // SQLSTATE classes: 08 connection exception, 57P0x server shutting down / not accepting.
    if (code.startsWith('08') || /^57P0[1-3]$/.test(code)) return new StoreUnavailableError(message, full);
    // 28 invalid authorization, 3D000 database does not exist: fix the configuration.
    if (code.startsWith('28') || code === '3D000') return new StoreConfigError(message, full);
    return new QueryError(message, code, full);
  }
  if (isNetworkError(err) || connectionMessages.some((re) => re.test(message))) {
    return new StoreUnavailableError(message, full);
  }
  return new QueryError(message, undefined, full);
}
