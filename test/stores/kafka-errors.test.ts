// How kafkajs' errors map onto store errors: an outage (however kafkajs wraps it once its
// retries run out) is a retriable StoreUnavailableError, so serving answers 503 and degrades;
// configuration problems and other refusals are not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { toBusError } from '../../src/stores/bus/kafka-errors.js';
import { StoreConfigError, StoreUnavailableError } from '../../src/stores/errors.js';

// kafkajs is CommonJS and spreads its error classes into its exports; its typings give the
// constructors one argument where the runtime takes a second (the wrapped cause).
type Ctor = new (e: unknown, meta?: object) => Error;
const {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} = kafkajs as unknown as Record<string, Ctor>;

const ctx = { store: 'event bus' as const, address: 'Kafka at 127.0.0.1:9092' };

test('a refused connection is an outage, bare or wrapped by kafkajs after its retries', () => {
  const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', {
    broker: '127.0.0.1:9092',
    code: 'ECONNREFUSED',
  });
  for (const err of [
    refused,
    new KafkaJSNonRetriableError(refused, { cause: refused }),
    new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 2000 }),
  ]) {
    const mapped = toBusError(err, ctx);
    assert.ok(mapped instanceof StoreUnavailableError, `${err.name} → ${mapped.name}`);
    assert.equal(mapped.retriable, true);
    assert.match(mapped.message, /ECONNREFUSED/);
  }
});

test('configuration errors and other refusals are not outages', () => {
  const denied = new KafkaJSProtocolError({
    message: 'Not authorized to access topics',
    type: 'TOPIC_AUTHORIZATION_FAILED',
    code: 29,
    retriable: false,
  } as never);
  assert.ok(
    toBusError(new KafkaJSNonRetriableError(denied, { cause: denied }), ctx) instanceof StoreConfigError,
  );
  const tooLarge = new KafkaJSProtocolError({
    message: 'The request included a message larger than the max message size the server will accept',
    type: 'MESSAGE_TOO_LARGE',
    code: 10,
    retriable: false,
  } as never);
  const mapped = toBusError(new KafkaJSNonRetriableError(tooLarge, { cause: tooLarge }), ctx);
  assert.equal(mapped.retriable, false);
  assert.ok(!(mapped instanceof StoreUnavailableError));
});
