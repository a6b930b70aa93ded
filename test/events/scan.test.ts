// The codec's fast path (scan.ts) against decodeEvent, the reference: on every message it
// accepts, it reads the very event decodeEvent reads; the messages it declines are exactly the
// ones that are not in encodeEvent's form, and decodeEvent still judges those.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeEvent, encodeEvent, newEventSlot, scanEvent } from '../../src/events/index.js';
import { anyText, event, sampleEvent } from './arbitraries.js';

const agrees = (text: string, key?: string) => {
  const slot = newEventSlot();
  if (!scanEvent(text, slot, key)) return false;
  const ref = decodeEvent(text, key);
  assert.ok(ref.ok, `scanEvent accepted what decodeEvent refuses: ${text}`);
  assert.deepEqual(
    {
      event_id: slot.eventId,
      user_id: slot.userId,
      item_id: slot.itemId,
      type: slot.type,
      value: Number.isNaN(slot.value) ? null : slot.value,
      ts: slot.ts,
    },
    ref.event,
  );
  return true;
};

describe('event scan (the codec fast path)', () => {
  it('reads every encoded event as decodeEvent does, ids without escapes taking the fast path', () => {
    fc.assert(
      fc.property(event, (e) => {
        const m = encodeEvent(e);
        const fast = agrees(m.value, m.key);
        // Ids JSON has to escape (quotes, backslashes, control characters), and U+FFFD (it may
        // stand for bytes that were not UTF-8), go the slow way.
        const plain = ![...(e.user_id + e.item_id)].some(
          (ch) => ch === '"' || ch === '\\' || ch === '\ufffd' || ch.charCodeAt(0) < 0x20,
        );
        assert.equal(fast, plain, m.value);
      }),
      { numRuns: 2000 },
    );
  });

  it('declines, and never misreads, text that is not in the encoder form', () => {
    const base = encodeEvent(sampleEvent).value;
    assert.ok(agrees(base, 'u1'));
    for (const text of [
      base.replace('0b9e8a2c', '0B9E8A2C'), // upper-case id: decodeEvent lower-cases it
      base.replace('"rating"', '"rate"'),
      base.replace('4.5', '1e39'), // beyond float32
      base.replace('4.5', '04.5'),
      base.replace('4.5', 'NaN'),
      base.replace('.123Z', '.123+02:00'),
      base.replace('2024-05-01', '2024-02-30'),
      base.replace('"u1"', '""'),
      base.replace('{"event_id"', '{ "event_id"'),
      `${base} `,
      base.replace('"ts"', '"extra":1,"ts"'),
      base.replace('u1', 'u\ufffd'),
    ])
      assert.equal(scanEvent(text, newEventSlot(), 'u1'), false, text);
    assert.equal(scanEvent(base, newEventSlot(), 'u2'), false, 'a key that is not the user id');
    fc.assert(
      fc.property(anyText(200), (text) => {
        agrees(text);
      }),
    );
  });
});
