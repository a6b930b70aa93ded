/**
 * Dead letters: messages a consumer gave up on, published to `<topic>.dlq` on the same bus
 * (a Kafka topic, or rows of the event-log table in embedded mode). Both adapters write the
 * same envelope, so one decoder reads either:
 *  - key: the original message's key (a user's dead letters share a partition, in order);
 *  - value: UTF-8 JSON {@link DeadLetterEnvelope}, with the original value as UTF-8 text when
 *    it is valid UTF-8, else base64.
 * Tools read them as any other topic (a consumer group on `interactions.dlq`, or
 * kafka-console-consumer) and decode each value with {@link decodeDeadLetter}.
 */
import type { BusMessage, OutgoingMessage } from './port.js';

export const DEAD_LETTER_SUFFIX = '.dlq';

/** The topic that receives the dead letters of `topic`: `interactions` → `interactions.dlq`. */
export function deadLetterTopic(topic: string): string {
  return `${topic}${DEAD_LETTER_SUFFIX}`;
}

/** A dead letter as decoded: the original message, where it came from, and why it was given up. */
export interface DeadLetter {
  key: string;
  value: Buffer;
  /** The handler's error message, or the reason it gave when it rejected the message. */
  reason: string;
  source: {
    topic: string;
    partition: number;
    /** The original offset (decimal string, as BusMessage.offset). */
    offset: string;
    /** When the bus accepted the original message, epoch ms. */
    timestamp: number;
  };
  /** Handler calls the message got: maxAttempts for a failed batch, the attempt that rejected it otherwise. */
  attempts: number;
  /** When the consumer gave up on it, epoch ms. */
  failedAt: number;
}

/** The JSON written as a dead letter's value (version 1). */
export interface DeadLetterEnvelope {
  v: 1;
  reason: string;
  source: { topic: string; partition: number; offset: string; timestamp: string };
  attempts: number;
  failedAt: string;
  /** The original value: UTF-8 text when `encoding` is "utf8", else base64. */
  value: string;
  encoding: 'utf8' | 'base64';
}

export function encodeDeadLetter(
  topic: string,
  message: BusMessage,
  reason: string,
  attempts: number,
  failedAt = Date.now(),
): OutgoingMessage {
  const text = message.value.toString('utf8');
  const utf8 = Buffer.from(text, 'utf8').equals(message.value);
  const envelope: DeadLetterEnvelope = {
    v: 1,
    reason,
    source: {
      topic,
      partition: message.partition,
      offset: message.offset,
      timestamp: new Date(message.timestamp).toISOString(),
    },
    attempts,
    failedAt: new Date(failedAt).toISOString(),
    value: utf8 ? text : message.value.toString('base64'),
    encoding: utf8 ? 'utf8' : 'base64',
  };
  return { key: message.key, value: JSON.stringify(envelope) };
}

/** Reads a message of a `.dlq` topic back; throws a TypeError on anything that is not a dead letter. */
export function decodeDeadLetter(message: Pick<BusMessage, 'key' | 'value'>): DeadLetter {
  let e: DeadLetterEnvelope;
  try {
    e = JSON.parse(message.value.toString('utf8')) as DeadLetterEnvelope;
  } catch {
    throw new TypeError('not a dead letter: the value is not JSON');
  }
  if (
    e?.v !== 1 ||
    typeof e.reason !== 'string' ||
    typeof e.source?.topic !== 'string' ||
    !Number.isInteger(e.source.partition) ||
    typeof e.source.offset !== 'string' ||
    !Number.isInteger(e.attempts) ||
    typeof e.value !== 'string' ||
    (e.encoding !== 'utf8' && e.encoding !== 'base64')
  )
    throw new TypeError('not a dead letter: the envelope lacks a field or has a wrong type');
  return {
    key: message.key,
    value: Buffer.from(e.value, e.encoding),
    reason: e.reason,
    source: {
      topic: e.source.topic,
      partition: e.source.partition,
      offset: e.source.offset,
      timestamp: Date.parse(e.source.timestamp),
    },
    attempts: e.attempts,
    failedAt: Date.parse(e.failedAt),
  };
}

/** The reason recorded for an error: its message (the name too when it is not a plain Error). */
export function reasonOf(err: unknown): string {
  if (err instanceof Error)
    return err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message;
  return String(err);
}
