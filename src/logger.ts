/** One pino logger for the whole process, on stderr so stdout stays for command output. */
import { pino } from 'pino';

export const logger = pino(
  { level: process.env.RECSYS_LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'warn' : 'info') },
  pino.destination(2),
);
