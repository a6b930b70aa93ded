/**
 * The process's one logger: pino on stderr (stdout stays for command output), at the
 * configured level (RECSYS_LOG_LEVEL, default info). Modules that log take a `Logger`, a
 * structural subset of pino's, so callers pass this one (or a child) and tests a silent one.
 */
import { pino } from 'pino';
import { envSetting, type LogLevel } from './config/index.js';

export interface Logger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/**
 * Starts at the environment's level, so modules that log while loading see it; once the whole
 * configuration is loaded (a file may set the level too), setLogLevel applies it.
 */
export const logger = pino({ level: envSetting('logLevel') }, pino.destination(2));

export function setLogLevel(level: LogLevel): void {
  logger.level = level;
}

/** For adapters given no logger: the process's. */
export function defaultLogger(): Logger {
  return logger;
}

export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {} };
