// The field rules as plain functions: ids (length in code points, refused characters), float32
// values, event times (ISO-8601 forms, calendar days, years 0000–9999, epoch ms).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  eventTimeMs,
  FLOAT32_MAX,
  isDateTime,
  isEventTime,
  isFloat32,
  isUuid,
  isValidId,
  MAX_EPOCH_MS,
  MAX_ID_LENGTH,
  MIN_EVENT_TIME_MS,
} from '../../src/events/index.js';

describe('event rules', () => {
  it('ids: 1 to 128 code points, without U+0000 or unpaired surrogates', () => {
    for (const good of ['u1', '196', ' ', 'é', 'x'.repeat(MAX_ID_LENGTH), '\u{1F600}'.repeat(MAX_ID_LENGTH)])
      assert.ok(isValidId(good), JSON.stringify(good));
    const bad: unknown[] = [
      '',
      'x'.repeat(MAX_ID_LENGTH + 1),
      `${'\u{1F600}'.repeat(MAX_ID_LENGTH)}x`,
      'a\0b',
      '\0',
      'a\ud800',
      '\udc00a',
      '\udc00\ud800', // reversed pair: two lone surrogates
      7,
      null,
      undefined,
      ['u1'],
    ];
    for (const b of bad) assert.ok(!isValidId(b), JSON.stringify(b));
  });

  it('event ids are UUIDs in any case', () => {
    assert.ok(isUuid('0b9e8a2c-1d3f-4a5b-8c7d-9e0f1a2b3c4d'));
    assert.ok(isUuid('0B9E8A2C-1D3F-4A5B-8C7D-9E0F1A2B3C4D'));
    for (const bad of [
      '',
      'not-a-uuid',
      '0b9e8a2c1d3f4a5b8c7d9e0f1a2b3c4d',
      '0b9e8a2c-1d3f-4a5b-8c7d-9e0f1a2b3c4',
    ])
      assert.ok(!isUuid(bad), bad);
  });

  it('values fit a float32: finite, in range, and zero only when zero', () => {
    for (const good of [0, -0, 1, -1, 4.5, FLOAT32_MAX, -FLOAT32_MAX, 1.5e-45, 1e38, 0.1])
      assert.ok(isFloat32(good), String(good));
    for (const bad of [Number.NaN, Infinity, -Infinity, 3.5e38, -1e300, 1e-46, -7e-46, Number.MIN_VALUE])
      assert.ok(!isFloat32(bad), String(bad));
  });

  it('ts: ISO-8601 date-times with Z or an offset, on real calendar days', () => {
    for (const good of [
      '2024-05-01T10:00:00Z',
      '2024-05-01T10:00:00.123Z',
      '2024-05-01T10:00:00.123456789Z',
      '2024-05-01T12:00:00+02:00',
      '2024-05-01t10:00:00z',
      '2024-05-01 10:00:00Z',
      '2024-02-29T00:00:00Z',
      '2000-02-29T00:00:00Z',
      '1969-07-20T20:17:40Z',
      '0000-01-01T00:00:00Z',
      '9999-12-31T23:59:59.999Z',
    ])
      assert.ok(isDateTime(good) && isEventTime(good), good);
    for (const bad of [
      '',
      'yesterday',
      '2024-05-01',
      '2024-05-01T10:00:00', // no zone
      '2024-05-01T10:00Z',
      '2024-13-01T00:00:00Z',
      '2024-00-10T00:00:00Z',
      '2024-04-31T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2024-05-01T24:00:00Z',
      '2024-05-01T10:60:00Z',
      '2024-05-01T10:00:00+24:00',
      '+010000-01-01T00:00:00Z',
      '0000-01-01T00:00:00+02:00', // year -1 in UTC
      '9999-12-31T23:00:00-02:00', // year 10000 in UTC
    ])
      assert.ok(!isDateTime(bad) && !isEventTime(bad), bad);
  });

  it('ts: integer epoch ms from 1970 to the end of 9999, and ISO forms read back as epoch ms', () => {
    for (const good of [0, 1714557600000, MAX_EPOCH_MS]) assert.ok(isEventTime(good), String(good));
    for (const bad of [-1, 1.5, MAX_EPOCH_MS + 1, 8.64e15, Number.NaN, Infinity, '1714557600000', null, true])
      assert.ok(!isEventTime(bad), String(bad));
    assert.equal(eventTimeMs(1714557600000), 1714557600000);
    assert.equal(eventTimeMs('2024-05-01T10:00:00Z'), 1714557600000);
    assert.equal(eventTimeMs('2024-05-01T12:00:00.123+02:00'), 1714557600123);
    assert.equal(eventTimeMs('2024-05-01T10:00:00.123999Z'), 1714557600123, 'below a millisecond is dropped');
    assert.equal(eventTimeMs('0000-01-01T00:00:00Z'), MIN_EVENT_TIME_MS);
    assert.equal(new Date(MAX_EPOCH_MS).toISOString(), '9999-12-31T23:59:59.999Z');
  });
});
