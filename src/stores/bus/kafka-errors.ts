/** Maps kafkajs errors onto the typed store errors, and kafkajs logs onto the store logger. */
import { type LogEntry, logLevel } from 'kafkajs';
import type { Logger } from '../../logger.js';
import {
  isNetworkError,
  messageOf,
  StoreConfigError,
  StoreError,
  type StoreErrorContext,
  StoreUnavailableError,
} from '../errors.js';

const CONFIG_TYPES =
  /SASL|AUTHORIZATION|AUTHENTICATION|INVALID_REPLICATION_FACTOR|INVALID_PARTITIONS|POLICY_VIOLATION/;

export function toBusError(err: unknown, ctx: Omit<StoreErrorContext, 'cause'>): StoreError {
  if (err instanceof StoreError) return err;
  type KafkaError = { name?: string; type?: string; retriable?: boolean; cause?: unknown };
  // kafkajs wraps the last attempt's error (as `cause`) once its retries run out, in a
  // NumberOfRetriesExceeded or a NonRetriable error: the wrapped one says what went wrong (a
  // refused connection is an outage to degrade through, not a bad request).
  let root = err as KafkaError;
  while (root.cause && /^KafkaJS(NumberOfRetriesExceeded|NonRetriable)(Error)?$/.test(root.name ?? ''))
    root = root.cause as KafkaError;
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
export function kafkaLogCreator(logger: Logger) {
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
