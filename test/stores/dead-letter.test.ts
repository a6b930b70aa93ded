// The dead letter envelope both bus adapters write, read back by the helper tools use.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  deadLetterTopic,
  decodeDeadLetter,
  encodeDeadLetter,
  reasonOf,
} from '../../src/stores/bus/dead-letter.js';
import type { BusMessage } from '../../src/stores/bus/port.js';

const message = (value: Buffer): BusMessage => ({
  key: 'user-1',
  value,
  partition: 2,
  offset: '9007199254740993', // beyond 2^53: offsets stay strings
  timestamp: Date.UTC(2024, 0, 2, 3, 4, 5, 6),
});

test('a dead letter keeps key, value, reason, source and attempts, and decodes back', () => {
  const original = message(Buffer.from('{"user_id":"user-1","item_id":"é"}'));
  const failedAt = Date.UTC(2024, 0, 2, 3, 5);
  const out = encodeDeadLetter('interactions', original, 'bad item', 5, failedAt);
  assert.equal(deadLetterTopic('interactions'), 'interactions.dlq');
  assert.equal(out.key, 'user-1');
  const envelope = JSON.parse(String(out.value));
  assert.equal(envelope.encoding, 'utf8', 'text stays readable in the envelope');
  assert.equal(envelope.value, original.value.toString());
  assert.equal(envelope.failedAt, '2024-01-02T03:05:00.000Z');
  assert.deepEqual(decodeDeadLetter({ key: out.key, value: Buffer.from(out.value) }), {
    key: 'user-1',
    value: original.value,
    reason: 'bad item',
    source: {
      topic: 'interactions',
      partition: 2,
      offset: '9007199254740993',
      timestamp: original.timestamp,
    },
    attempts: 5,
    failedAt,
  });
});

test('a value that is not UTF-8 travels as base64 and comes back byte for byte', () => {
  const bytes = Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x80]);
  const out = encodeDeadLetter('t', message(bytes), 'r', 1);
  assert.equal(JSON.parse(String(out.value)).encoding, 'base64');
  assert.deepEqual(decodeDeadLetter({ key: 'k', value: Buffer.from(out.value) }).value, bytes);
});

test('anything else is refused with a TypeError', () => {
  for (const value of ['not json', '{}', '{"v":2}', 'null', '[]'])
    assert.throws(() => decodeDeadLetter({ key: 'k', value: Buffer.from(value) }), TypeError, value);
});

test('reasons name the error class unless it is a plain Error', () => {
  assert.equal(reasonOf(new Error('boom')), 'boom');
  assert.equal(reasonOf(new RangeError('too far')), 'RangeError: too far');
  assert.equal(reasonOf('text'), 'text');
});
