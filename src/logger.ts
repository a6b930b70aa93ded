/**
 * One pino logger for the whole process, on stderr so stdout stays for command output, at the
 * configured level (RECSYS_LOG_LEVEL, default info).
 */
import { pino } from 'pino';
import { envSetting, type LogLevel } from './config/index.js';

/** Starts at the environment's level; setLogLevel applies the whole configuration's once loaded. */
export const logger = pino({ level: envSetting('logLevel') }, pino.destination(2));

export function setLogLevel(level: LogLevel): void {
  logger.level = level;
}
