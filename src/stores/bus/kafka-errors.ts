/** Maps kafkajs errors onto the typed store errors, and kafkajs logs onto the store logger. */
import { type LogEntry, logLevel } from 'kafkajs';
import {
  isNetworkError,
  messageOf,
  StoreConfigError,
  StoreError,
  type StoreErrorContext,
  StoreUnavailableError,
} from '../errors.js';
import type { StoreLogger } from '../logger.js';

const CONFIG_TYPES =
  /SASL|AUTHORIZATION|AUTHENTICATION|INVALID_REPLICATION_FACTOR|INVALID_PARTITIONS|POLICY_VIOLATION/;

export function toBusError(err: unknown, ctx: Omit<StoreErrorContext, 'cause'>): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as { name?: string; type?: string; retriable?: boolean; cause?: unknown };
  // kafkajs wraps the last attempt's error (as `cause`) once its retries run out.
  const root = e.name === 'KafkaJSNumberOfRetriesExceeded' && e.cause ? (e.cause as typeof e) : e;
  const message = messageOf(root);
  const full = { ...ctx, cause: err };
  if (root.type && CONFIG_TYPES.test(root.type))
    return new StoreConfigError(`${root.type}: ${message}`, full);
  if (
    isNetworkError(root) ||
    /KafkaJS(Connection|RequestTimeout|BrokerNotFound|NumberOfRetriesExceeded)Error|KafkaJSConnectionClosedError/.test(
      root.name ?? '',
    ) ||
    root.retriable
  ) {
    return new StoreUnavailableError(message, full);
  }
  return new StoreError(message, full, false);
}

/** kafkajs logCreator: its ERROR lines are mostly retries it recovers from, so they log as warnings. */
export function kafkaLogCreator(logger: StoreLogger) {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, ...extra } = log;
      const obj = { ...extra, kafkajs: namespace };
      // Logged at every start because of our bounded producer retries (kafka.ts explains why).
      if (message.startsWith('Limiting retries for the idempotent producer'))
        return logger.debug(obj, message);
      if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn(obj, message);
      else if (level === logLevel.INFO) logger.debug(obj, message);
      else logger.debug(obj, message);
    };
}
