// The validator: what checkEvent accepts, every rejection reason it gives, that the JSON Schema
// and the plain rules agree (fast-check), that /openapi.json publishes the very schema used,
// and normalizeEvent's filling of event_id and ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  checkBusEvent,
  checkEvent,
  EVENT_REJECT_REASONS,
  EVENT_TYPES,
  type EventRejectReason,
  eventSchema,
  isEventTime,
  isFloat32,
  isValidId,
  normalizeEvent,
} from '../../src/events/index.js';
import { openApiDocument } from '../../src/serving/openapi.js';
import { anyText, goodId, goodValue } from './arbitraries.js';

const UUID_V7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const base = { user_id: 'u1', item_id: 'i1', type: 'view' } as const;

function rejected(input: unknown): { reason: EventRejectReason; message: string } {
  const r = checkEvent(input);
  assert.ok(!r.ok, `accepted: ${JSON.stringify(input)}`);
  return r;
}

describe('event validator', () => {
  it('accepts the minimal and the full event, of every type', () => {
    for (const type of EVENT_TYPES)
      assert.deepEqual(checkEvent({ ...base, type }), { ok: true, event: { ...base, type } });
    const full = {
      event_id: '0B9E8A2C-1D3F-4A5B-8C7D-9E0F1A2B3C4D',
      ...base,
      type: 'rating',
      value: 4.5,
      ts: '2024-05-01T10:00:00Z',
    };
    assert.deepEqual(checkEvent(full), { ok: true, event: full });
    assert.ok(checkEvent({ ...base, ts: 1714557600000, value: -1 }).ok);
  });

  it('names the reason of each refusal, and every problem in its message', () => {
    const cases: Array<[unknown, EventRejectReason, RegExp]> = [
      [null, 'not_object', /must be object/],
      ['view', 'not_object', /must be object/],
      [[base], 'not_object', /must be object/],
      [{ user_id: 'u1', type: 'view' }, 'missing_field', /must have required property 'item_id'/],
      [{ ...base, colour: 'red' }, 'unknown_field', /unknown field "colour"/],
      [{ ...base, event_id: 'not-a-uuid' }, 'bad_event_id', /event_id: must match format "uuid"/],
      [{ ...base, event_id: 7 }, 'bad_event_id', /event_id: must be string/],
      [{ ...base, user_id: '' }, 'bad_id', /user_id: must NOT have fewer than 1 characters/],
      [{ ...base, item_id: 'x'.repeat(129) }, 'bad_id', /item_id: must NOT have more than 128 characters/],
      [{ ...base, user_id: 'a\0b' }, 'bad_id', /user_id: must not contain U\+0000 or unpaired surrogates/],
      [{ ...base, item_id: 'a\ud800' }, 'bad_id', /unpaired surrogates/],
      [{ ...base, user_id: 42 }, 'bad_id', /user_id: must be string/],
      [{ ...base, type: 'teleport' }, 'bad_type', /type: must be one of view, click, add_to_cart/],
      [{ ...base, value: '5' }, 'bad_value', /value: must be number/],
      [{ ...base, value: null }, 'bad_value', /value: must be number/],
      [{ ...base, value: Number.NaN }, 'bad_value', /value/],
      [{ ...base, value: Infinity }, 'bad_value', /value/],
      [{ ...base, value: 1e300 }, 'bad_value', /value: must be <= 3\.4/],
      [{ ...base, value: 1e-46 }, 'bad_value', /value: must be a float32/],
      [{ ...base, ts: 'yesterday' }, 'bad_ts', /ts: must match format "date-time"/],
      [{ ...base, ts: '2023-02-29T00:00:00Z' }, 'bad_ts', /ts/],
      [{ ...base, ts: -5 }, 'bad_ts', /ts: must be >= 0/],
      [{ ...base, ts: 1.5 }, 'bad_ts', /ts: must be integer/],
      [{ ...base, ts: 8.64e15 }, 'bad_ts', /ts: must be <= 253402300799999/],
    ];
    const seen = new Set<EventRejectReason>();
    for (const [input, reason, message] of cases) {
      const r = rejected(input);
      assert.equal(r.reason, reason, JSON.stringify(input));
      assert.match(r.message, message, JSON.stringify(input));
      seen.add(r.reason);
    }
    // The decoder's own reasons (not_utf8, not_json, key_mismatch) are in codec.test.ts.
    assert.deepEqual(
      EVENT_REJECT_REASONS.filter((r) => !seen.has(r)),
      ['not_utf8', 'not_json', 'key_mismatch'],
    );
    // Several problems: the first decides the reason, the message lists them all.
    const many = rejected({ user_id: '', item_id: 'i1', type: 'teleport', ts: 'later' });
    assert.equal(many.reason, 'bad_id');
    assert.match(many.message, /user_id: .*; type: .*; ts: /);
  });

  it('on the bus, event_id and ts are required', () => {
    const bus = { ...base, event_id: '0b9e8a2c-1d3f-4a5b-8c7d-9e0f1a2b3c4d', ts: 0 };
    assert.ok(checkBusEvent(bus).ok);
    for (const key of ['event_id', 'ts']) {
      const r = checkBusEvent(Object.fromEntries(Object.entries(bus).filter(([k]) => k !== key)));
      assert.ok(!r.ok);
      assert.equal(r.reason, 'missing_field');
      assert.match(r.message, new RegExp(`'${key}'`));
    }
  });

  it('the schema and the plain rules agree on ids, values and times', () => {
    const accepts = (field: string, v: unknown) => checkEvent({ ...base, [field]: v }).ok;
    fc.assert(
      fc.property(fc.oneof(anyText(140), goodId), (id) => {
        assert.equal(accepts('user_id', id), isValidId(id));
        assert.equal(accepts('item_id', id), isValidId(id));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.oneof(goodValue, fc.double(), fc.double({ min: -1e-44, max: 1e-44 })), (v) => {
        assert.equal(accepts('value', v), isFloat32(v));
      }),
      { numRuns: 500 },
    );
    const isoish = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 25 }),
        fc.constantFrom('Z', '+02:00', '-13:30', '', '+24:00'),
      )
      .map(([y, mo, d, h, z]) => {
        const p = (n: number, w = 2) => String(n).padStart(w, '0');
        return `${p(y, 4)}-${p(mo)}-${p(d)}T${p(h)}:30:00${z}`;
      });
    fc.assert(
      fc.property(
        fc.oneof(isoish, fc.integer({ min: -10, max: 2 ** 53 }), fc.double(), fc.string()),
        (ts) => {
          assert.equal(accepts('ts', ts), isEventTime(ts));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('/openapi.json publishes the schema the validator uses', () => {
    const doc = openApiDocument('test') as { components: { schemas: Record<string, unknown> } };
    assert.equal(doc.components.schemas.Event, eventSchema);
  });

  it('normalizeEvent fills event_id and ts, lower-cases ids and reads ts as epoch ms', () => {
    const now = 1714557600000;
    const a = normalizeEvent(base, now);
    assert.match(a.event_id, UUID_V7_RE);
    assert.equal(parseInt(a.event_id.replace('-', '').slice(0, 12), 16), now, 'stamped with the accept time');
    assert.deepEqual({ ...a, event_id: 'x' }, { event_id: 'x', ...base, value: null, ts: now });
    assert.notEqual(normalizeEvent(base, now).event_id, a.event_id, 'a fresh id each time');
    assert.deepEqual(
      normalizeEvent(
        {
          event_id: '0B9E8A2C-1D3F-4A5B-8C7D-9E0F1A2B3C4D',
          ...base,
          type: 'rating',
          value: 4.5,
          ts: '2024-05-01T12:00:00.123+02:00',
        },
        0,
      ),
      {
        event_id: '0b9e8a2c-1d3f-4a5b-8c7d-9e0f1a2b3c4d',
        ...base,
        type: 'rating',
        value: 4.5,
        ts: 1714557600123,
      },
    );
    assert.equal(normalizeEvent({ ...base, ts: 5, value: 0 }, now).ts, 5);
    assert.equal(normalizeEvent({ ...base, ts: 5, value: 0 }, now).value, 0);
    const t0 = Date.now();
    const d = normalizeEvent(base).ts;
    assert.ok(d >= t0 && d <= Date.now(), 'now by default');
  });
});
