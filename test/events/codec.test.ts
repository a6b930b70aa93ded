// The bus codec: the message an event becomes (key = user id, ISO ts, no null value), the round
// trip of any valid event (fast-check), every rejection reason decoding gives, and that
// decoding never throws, whatever the bytes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeEvent,
  EVENT_REJECT_REASONS,
  type EventRejectReason,
  encodeEvent,
  type InteractionEvent,
} from '../../src/events/index.js';
import { anyText, event, sampleEvent } from './arbitraries.js';

const ev: InteractionEvent = sampleEvent;
const wire = (o: Record<string, unknown>) => Buffer.from(JSON.stringify(o));
const onWire = { ...ev, ts: '2024-05-01T10:00:00.123Z' };

describe('event bus codec', () => {
  it('encodes an event as JSON keyed by its user, ts in ISO-8601 UTC, a null value left out', () => {
    const m = encodeEvent(ev);
    assert.equal(m.key, 'u1');
    assert.deepEqual(JSON.parse(m.value), onWire);
    const view = encodeEvent({ ...ev, type: 'view', value: null });
    const { value: _, ...rest } = onWire;
    assert.deepEqual(JSON.parse(view.value), { ...rest, type: 'view' });
  });

  it('decodes what it encoded, from a Buffer or a string, checking the key when given', () => {
    const m = encodeEvent(ev);
    assert.deepEqual(decodeEvent(Buffer.from(m.value), m.key), { ok: true, event: ev });
    assert.deepEqual(decodeEvent(m.value), { ok: true, event: ev });
    assert.deepEqual(decodeEvent(new TextEncoder().encode(m.value)), { ok: true, event: ev });
    const view = { ...ev, type: 'view', value: null } as const;
    assert.deepEqual(decodeEvent(encodeEvent(view).value), { ok: true, event: view });
    // JSON has no -0.
    assert.deepEqual(decodeEvent(encodeEvent({ ...ev, value: -0 }).value), {
      ok: true,
      event: { ...ev, value: 0 },
    });
  });

  it('decodes what other producers may send: epoch ms, upper-case ids, offsets', () => {
    const other = wire({ ...onWire, event_id: ev.event_id.toUpperCase(), ts: ev.ts });
    assert.deepEqual(decodeEvent(other), { ok: true, event: ev });
    const offset = wire({ ...onWire, ts: '2024-05-01T12:00:00.123+02:00' });
    assert.deepEqual(decodeEvent(offset), { ok: true, event: ev });
  });

  it('refuses with a reason, never throws', () => {
    const without = (k: string) => wire(Object.fromEntries(Object.entries(onWire).filter(([f]) => f !== k)));
    const cases: Array<[Buffer | string, EventRejectReason, string?]> = [
      [Buffer.from([0x7b, 0xff, 0x7d]), 'not_utf8'],
      [Buffer.from([0xed, 0xa0, 0x80]), 'not_utf8'], // a lone surrogate, CESU-8 style
      [Buffer.alloc(0), 'not_json'],
      ['{"user_id": ', 'not_json'],
      [JSON.stringify(onWire).replace('4.5', 'NaN'), 'not_json'],
      [JSON.stringify(onWire).replace('4.5', 'Infinity'), 'not_json'],
      ['null', 'not_object'],
      ['"u1"', 'not_object'],
      ['42', 'not_object'],
      [`[${JSON.stringify(onWire)}]`, 'not_object'],
      [without('event_id'), 'missing_field'],
      [without('user_id'), 'missing_field'],
      [without('item_id'), 'missing_field'],
      [without('type'), 'missing_field'],
      [without('ts'), 'missing_field'],
      [wire({ ...onWire, extra: 1 }), 'unknown_field'],
      [wire({ ...onWire, event_id: 'e1' }), 'bad_event_id'],
      [wire({ ...onWire, user_id: '' }), 'bad_id'],
      [wire({ ...onWire, item_id: 'a\0' }), 'bad_id'],
      [wire({ ...onWire, user_id: 7 }), 'bad_id'],
      [wire({ ...onWire, item_id: 'x'.repeat(129) }), 'bad_id'],
      [wire({ ...onWire, type: 'like' }), 'bad_type'],
      [wire({ ...onWire, value: '4.5' }), 'bad_value'],
      [encodeEvent({ ...ev, value: Number.NaN }).value, 'bad_value'], // NaN is written as null
      [wire({ ...onWire, value: 1e39 }), 'bad_value'],
      [wire({ ...onWire, ts: 'now' }), 'bad_ts'],
      [wire({ ...onWire, ts: -1 }), 'bad_ts'],
      [wire({ ...onWire, ts: '+010000-01-01T00:00:00.000Z' }), 'bad_ts'],
      [encodeEvent(ev).value, 'key_mismatch', 'u2'],
    ];
    const seen = new Set<EventRejectReason>();
    for (const [value, reason, key] of cases) {
      const r = decodeEvent(value, key);
      assert.ok(!r.ok, String(value));
      assert.equal(r.reason, reason, String(value));
      assert.ok(r.message.length > 0);
      seen.add(r.reason);
    }
    assert.deepEqual(
      EVENT_REJECT_REASONS.filter((r) => !seen.has(r)),
      [],
      'every reason is tested',
    );
  });

  it('property: any valid event survives encode → decode unchanged', () => {
    fc.assert(
      fc.property(event, (e) => {
        const m = encodeEvent(e);
        assert.equal(m.key, e.user_id);
        assert.deepEqual(decodeEvent(Buffer.from(m.value, 'utf8'), m.key), { ok: true, event: e });
      }),
      { numRuns: 1000 },
    );
  });

  it('property: decoding any bytes or text answers an event or a rejection, never throws', () => {
    const json = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      // Events with one field replaced by anything.
      fc
        .tuple(
          event,
          fc.constantFrom('event_id', 'user_id', 'item_id', 'type', 'value', 'ts', 'x'),
          fc.jsonValue(),
        )
        .map(([e, k, v]) => JSON.stringify({ ...JSON.parse(encodeEvent(e).value), [k]: v })),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          json,
          anyText(200),
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
        ),
        fc.option(fc.string(), { nil: undefined }),
        (value, key) => {
          const r = decodeEvent(value, key);
          if (r.ok) assert.deepEqual(decodeEvent(encodeEvent(r.event).value), r);
          else assert.ok(EVENT_REJECT_REASONS.includes(r.reason));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
