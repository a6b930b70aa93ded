/**
 * The logger the adapters write to. A structural subset of pino's Logger, so callers pass
 * their own pino instance (or a child) and tests pass a silent one.
 */
import { pino } from 'pino';
import { envSetting } from '../config/index.js';

export interface StoreLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

let fallback: StoreLogger | undefined;

/** The default when a caller passes none: pino on stderr at RECSYS_LOG_LEVEL. */
export function defaultLogger(): StoreLogger {
  fallback ??= pino({ name: 'stores', level: envSetting('logLevel') }, pino.destination(2));
  return fallback;
}

export const silentLogger: StoreLogger = { error() {}, warn() {}, info() {}, debug() {} };
