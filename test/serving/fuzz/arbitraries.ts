// Generators for the serving API's fuzz tests: ids, values, timestamps and events, good and
// spoilt, URL junk and arbitrary bodies. Hostile on purpose: NUL, lone surrogates, huge and
// non-finite numbers, over-long ids.
import fc from 'fast-check';
import {
  EVENT_TYPES,
  FLOAT32_MAX,
  isFloat32,
  isUuid,
  MAX_EPOCH_MS,
  MAX_ID_LENGTH,
} from '../../../src/events/index.js';
import { N_ITEMS, N_USERS } from '../fixture.js';

export const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
/** Any text: every code point (NUL and control characters included) and now and then a lone surrogate. */
export const anyText = (maxLength: number, minLength = 0) =>
  fc.string({
    unit: fc.oneof(
      { weight: 12, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
      { weight: 1, arbitrary: loneSurrogate },
    ),
    minLength,
    maxLength,
  });

/** Percent-encodes every code point; a lone surrogate becomes its (invalid) 3-byte UTF-8 form. */
export function pct(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff)
      out += `%ED%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`;
    else out += encodeURIComponent(ch);
  }
  return out;
}

/** Pieces of hostile URL text, kept raw (fetch's URL parser encodes what it must). */
export const urlJunk = fc
  .array(
    fc.constantFrom(
      '%',
      '%2',
      '%ZZ',
      '%00',
      '%FF',
      '%C0%AF',
      '%ED%A0%80',
      '%F0%9F%98%80',
      '%E2%82',
      '%2F',
      '%25',
      '%3F',
      '%26',
      '..',
      '.',
      '~',
      "'",
      '"',
      '<',
      '>',
      ';',
      ',',
      '+',
      ' ',
      '*',
      '$',
      '(',
      '=',
      'é',
      '😀',
      'a',
      'u1',
      'i1',
    ),
    { minLength: 1, maxLength: 8 },
  )
  .map((parts) => parts.join(''));

/** An id a store can hold: 1 to MAX_ID_LENGTH UTF-16 units, well-formed, no NUL. */
export const goodId = fc
  .oneof(
    fc.integer({ min: 0, max: N_USERS + 10 }).map((n) => `u${n}`),
    fc.integer({ min: 0, max: N_ITEMS + 5 }).map((n) => `i${n}`),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map((s) => s.replaceAll('\0', '_')),
    fc.string({ unit: 'grapheme-ascii', minLength: MAX_ID_LENGTH - 8, maxLength: MAX_ID_LENGTH }),
    fc.constantFrom(
      "'; DROP TABLE items; --",
      '{"a":1}',
      '{}',
      'a,b',
      'a\tb\nc\\d',
      '"',
      '\\',
      'NULL',
      '\\N',
    ),
  )
  .filter((s) => s.length >= 1 && s.length <= MAX_ID_LENGTH);

/** A value no id field accepts. */
export const badId = fc.oneof(
  fc.constant(''),
  fc.string({ unit: 'grapheme-ascii', minLength: MAX_ID_LENGTH + 1, maxLength: 400 }),
  fc.tuple(goodId, fc.nat()).map(([s, i]) => {
    const at = i % (s.length + 1);
    return `${s.slice(0, at)}\0${s.slice(at)}`;
  }),
  fc.tuple(goodId, loneSurrogate).map(([s, u]) => s + u),
  fc.integer(),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
);

/** Numbers no value field accepts (sent as JSON text 1e999 and -1e999 through a marker). */
export const INF = '\u0001fuzz:1e999\u0001';
export const NEG_INF = '\u0001fuzz:-1e999\u0001';
export const badValue = fc.oneof(
  fc.constantFrom(INF, NEG_INF, '5', '', null, true, [], {}),
  fc.double({ min: FLOAT32_MAX * 1.01, max: Number.MAX_VALUE, noNaN: true }),
  fc.double({ min: -Number.MAX_VALUE, max: -FLOAT32_MAX * 1.01, noNaN: true }),
  // So small that float32 (PostgreSQL real) rounds it to zero.
  fc.double({ min: -7e-46, max: 7e-46, noNaN: true }).filter((v) => !isFloat32(v)),
);
export const goodValue = fc.oneof(
  fc.integer({ min: -5, max: 10 }),
  fc.double({ min: -FLOAT32_MAX, max: FLOAT32_MAX, noNaN: true }).filter(isFloat32),
  fc.constantFrom(FLOAT32_MAX, -FLOAT32_MAX, 1e38, 1e30, 1.5e-45, -1e-40, -0),
);

/** JSON text of a value, with the markers above turned into numbers JSON.stringify cannot write. */
export function toJson(v: unknown): string {
  return (JSON.stringify(v) ?? '')
    .replaceAll(JSON.stringify(INF), '1e999')
    .replaceAll(JSON.stringify(NEG_INF), '-1e999');
}

export const isoTs = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
export const goodTs = fc.oneof(
  isoTs,
  isoTs.map((s) => s.replace('Z', '+02:00')),
  fc.double({ min: 0, max: MAX_EPOCH_MS, noNaN: true }).map(Math.floor),
);
export const badTs = fc.oneof(
  fc.constantFrom(
    'yesterday',
    '',
    '2024-05-01',
    '2024-05-01T10:00:00',
    '2024-13-01T00:00:00Z',
    null,
    true,
    {},
  ),
  fc.integer({ min: -1e9, max: -1 }),
  fc.constantFrom(1.5, MAX_EPOCH_MS + 1, 8_640_000_000_000_000, 1e20),
  fc.constantFrom('2023-02-29T00:00:00Z', '2024-05-01T24:00:00Z', '+010000-01-01T00:00:00Z'),
);

export type Ev = Record<string, unknown>;
/** A posted body: the value when it is valid (null when not, or not known), and the bytes sent. */
export interface Posted {
  valid: Ev | null;
  text: string | Uint8Array;
}
/** A request to POST /v1/events: the events before corruption, as sent, the bad indexes, the body. */
export interface Batch {
  events: Ev[];
  items: unknown[];
  bad: number[];
  body: string;
}
export const goodEvent: fc.Arbitrary<Ev> = fc.record(
  {
    event_id: fc.tuple(fc.uuid(), fc.boolean()).map(([u, upper]) => (upper ? u.toUpperCase() : u)),
    user_id: goodId,
    item_id: goodId,
    type: fc.constantFrom(...EVENT_TYPES),
    value: goodValue,
    ts: goodTs,
  },
  { requiredKeys: ['user_id', 'item_id', 'type'] },
);

export const EVENT_FIELDS = new Set(['event_id', 'user_id', 'item_id', 'type', 'value', 'ts']);
export const without = (e: Ev, key: string) =>
  Object.fromEntries(Object.entries(e).filter(([k]) => k !== key));
/** Ways to make one event invalid; each result is one the server must refuse. */
export const corruption: fc.Arbitrary<(e: Ev) => unknown> = fc.oneof(
  fc.constantFrom('user_id', 'item_id', 'type').map((k) => (e: Ev) => without(e, k)),
  fc
    .string({ maxLength: 12 })
    .filter((t) => !(EVENT_TYPES as readonly string[]).includes(t))
    .map((t) => (e: Ev) => ({ ...e, type: t })),
  fc.tuple(fc.constantFrom('user_id', 'item_id'), badId).map(([k, v]) => (e: Ev) => ({ ...e, [k]: v })),
  badValue.map((v) => (e: Ev) => ({ ...e, value: v })),
  badTs.map((ts) => (e: Ev) => ({ ...e, ts })),
  fc
    .oneof(fc.string({ maxLength: 40 }), fc.integer())
    .filter((id) => typeof id !== 'string' || !isUuid(id))
    .map((id) => (e: Ev) => ({ ...e, event_id: id })),
  fc
    .tuple(
      fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), fc.constantFrom('__proto__', 'constructor')),
      fc.jsonValue({ maxDepth: 1 }),
    )
    .filter(([k]) => !EVENT_FIELDS.has(k))
    // A computed key in a literal is an own property, even "__proto__".
    .map(([k, v]) => (e: Ev) => ({ ...e, [k]: v })),
  fc
    .oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null), fc.boolean(), fc.array(fc.nat()))
    .map((v) => () => v),
);

/** Hostile request bodies: anything JSON can say, JSON text, text that is not JSON, raw bytes. */
export const anyBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.anything().map(toJson),
  fc.json(),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 5 }).map(toJson),
  anyText(60),
  fc.uint8Array({ maxLength: 200 }),
  fc.constantFrom(
    '',
    ' ',
    'null',
    '[]',
    '{}',
    '[[]]',
    '"x"',
    '1e999',
    '-0',
    '{"a":',
    '\ufeff{}',
    '['.repeat(5000),
  ),
);
export const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/vnd.recsys+json',
  'text/plain',
  'application/x-www-form-urlencoded',
);

/** Whether a keyed request sends its key: mostly, so that most requests get past the key check. */
export const withKey = fc.oneof(
  { weight: 4, arbitrary: fc.constant(true) },
  { weight: 1, arbitrary: fc.constant(false) },
);

export const knownItem = fc.integer({ min: 0, max: N_ITEMS - 1 }).map((n) => `i${n}`);

/**
 * Requests to an endpoint taking one JSON object: mostly `good` bodies, a third of them
 * spoilt by one of `spoils`, by a field outside `fields` or by not being an object (then not valid),
 * and now and then any body at all.
 */
export function bodyRequests(
  good: fc.Arbitrary<Ev>,
  fields: ReadonlySet<string>,
  spoils: fc.Arbitrary<(b: Ev) => unknown>[],
): fc.Arbitrary<Posted> {
  const spoilers = fc.oneof(
    ...spoils,
    fc
      .string({ minLength: 1, maxLength: 10 })
      .filter((k) => !fields.has(k))
      .map((k) => (b: Ev) => ({ ...b, [k]: 1 })),
    fc.oneof(fc.array(fc.nat(), { maxLength: 2 }), fc.string(), fc.constant(null)).map((v) => () => v),
  );
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(good, fc.option(spoilers, { freq: 2 }))
        .map(([b, s]) => ({ valid: s === null ? b : null, text: toJson(s === null ? b : s(b)) })),
    },
    { weight: 1, arbitrary: anyBody.map((text) => ({ valid: null, text })) },
  );
}
