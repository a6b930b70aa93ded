/**
 * Request bodies as JSON Schema (2020-12, the dialect of OpenAPI 3.1): compiled once with
 * ajv for validation, and the very same objects are published in /openapi.json, so the
 * documentation cannot drift from what the server accepts. Formats (uuid, date-time) are
 * checked by small functions here rather than a formats package.
 */

import type { ErrorObject, ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';

/** Longest user or item id accepted anywhere (path, query, body). */
export const MAX_ID_LENGTH = 128;
/** Largest k of any list endpoint. */
export const MAX_K = 100;
/** Most events in one POST /v1/events. */
export const MAX_EVENTS = 1000;
/** Most items of an anonymous session. */
export const MAX_SESSION_ITEMS = 500;
/** Most ids in an `exclude` list. */
export const MAX_EXCLUDE = 100;

export const EVENT_TYPES = ['view', 'click', 'add_to_cart', 'purchase', 'rating', 'dismiss'] as const;
export const FEEDBACK_ACTIONS = [
  'impression',
  'click',
  'add_to_cart',
  'purchase',
  'dismiss',
  'rating',
] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// RFC 3339 date-time (ISO 8601 profile): date, time, optional fraction, Z or offset.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
/** Largest epoch milliseconds a Date holds. */
const MAX_EPOCH_MS = 8_640_000_000_000_000;

export const isUuid = (s: string) => UUID.test(s);

/**
 * What an id may not hold: U+0000, which a PostgreSQL text column cannot store (the insert
 * failed with a 500, and a NUL user id in a served answer's log row made the whole batch of
 * log rows fail), and unpaired surrogates, which UTF-8 cannot carry (they were stored as
 * U+FFFD, so distinct ids became one). Ids in paths cannot hold the latter either (they are
 * refused as bad percent-encoding).
 */
export const ID_PATTERN = '^[^\\u0000\\ud800-\\udfff]*$';
const ID_REFUSED = 'must not contain U+0000 or unpaired surrogates';

/**
 * Values are stored as PostgreSQL real and used as float32 by the model, so they must be
 * float32s (OpenAPI's number format "float"): beyond its range, or so small they round to
 * zero, PostgreSQL refuses them (a feedback value of 1e300 or 1e-46 was a 500), and in a
 * fold-in they would turn into Infinity. Non-finite numbers (1e999 parses as Infinity) are
 * refused by ajv's strictNumbers already.
 */
export const FLOAT32_MAX = 3.4028234663852886e38;
/** What PostgreSQL's real input accepts: finite in float32, and zero only when zero. */
export const isFloat32 = (v: number) => {
  const f = Math.fround(v);
  return Number.isFinite(f) && (f !== 0 || v === 0);
};
const FLOAT_REFUSED = 'must be a float32: 0, or about 1.4e-45 to 3.4e38 in magnitude';

const id = { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH, pattern: ID_PATTERN } as const;
const float32 = (description: string) =>
  ({ type: 'number', format: 'float', minimum: -FLOAT32_MAX, maximum: FLOAT32_MAX, description }) as const;

export const eventSchema = {
  type: 'object',
  description: 'One user-item interaction. event_id and ts are filled by the server when absent.',
  additionalProperties: false,
  required: ['user_id', 'item_id', 'type'],
  properties: {
    event_id: { type: 'string', format: 'uuid', description: 'Idempotency key; the same id is stored once.' },
    user_id: id,
    item_id: id,
    type: { enum: EVENT_TYPES },
    value: float32('Rating or weight; its meaning depends on the type. A float32.'),
    ts: {
      description: 'When it happened: ISO-8601 date-time or epoch milliseconds.',
      oneOf: [
        { type: 'string', format: 'date-time' },
        { type: 'integer', minimum: 0, maximum: MAX_EPOCH_MS },
      ],
    },
  },
} as const;

export const eventsBodySchema = {
  description: `One event, or an array of 1 to ${MAX_EVENTS} events.`,
  oneOf: [
    { $ref: '#/components/schemas/Event' },
    { type: 'array', minItems: 1, maxItems: MAX_EVENTS, items: { $ref: '#/components/schemas/Event' } },
  ],
} as const;

export const feedbackSchema = {
  type: 'object',
  description:
    'A reaction to a served answer. user_id is taken from the logged answer; it is needed only when the answer is not known to the server (for example its log row was dropped while the store was down).',
  additionalProperties: false,
  required: ['rec_id', 'item_id', 'action'],
  properties: {
    rec_id: { type: 'string', format: 'uuid' },
    item_id: id,
    action: { enum: FEEDBACK_ACTIONS },
    position: { type: 'integer', minimum: 0, maximum: 10_000, description: '0-based position in the answer' },
    value: float32('Rating or weight. A float32.'),
    user_id: id,
  },
} as const;

export const anonymousSchema = {
  type: 'object',
  description:
    'A session without a user id: the items it interacted with, folded into the model. Bare ids weigh 1 (implicit models) or count as the top rating (explicit models).',
  additionalProperties: false,
  required: ['items'],
  properties: {
    items: {
      type: 'array',
      maxItems: MAX_SESSION_ITEMS,
      items: {
        oneOf: [
          id,
          {
            type: 'object',
            additionalProperties: false,
            required: ['item_id'],
            properties: { item_id: id, value: float32('Weight or rating. A float32.') },
          },
        ],
      },
    },
    k: { type: 'integer', minimum: 1, maximum: MAX_K, default: 10 },
    category: id,
    exclude: { type: 'array', maxItems: MAX_EXCLUDE, items: id },
  },
} as const;

export interface EventInput {
  event_id?: string;
  user_id: string;
  item_id: string;
  type: (typeof EVENT_TYPES)[number];
  value?: number;
  ts?: string | number;
}

export interface FeedbackInput {
  rec_id: string;
  item_id: string;
  action: (typeof FEEDBACK_ACTIONS)[number];
  position?: number;
  value?: number;
  user_id?: string;
}

export interface AnonymousInput {
  items: Array<string | { item_id: string; value?: number }>;
  k?: number;
  category?: string;
  exclude?: string[];
}

export interface Validators {
  event: ValidateFunction<EventInput>;
  feedback: ValidateFunction<FeedbackInput>;
  anonymous: ValidateFunction<AnonymousInput>;
}

export function compileValidators(): Validators {
  const ajv = new Ajv2020.default({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addFormat('uuid', UUID);
  ajv.addFormat('date-time', (s: string) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)));
  ajv.addFormat('float', { type: 'number', validate: isFloat32 });
  // Schemas carry OpenAPI-only keywords (description) that ajv knows; `default` too.
  return {
    event: ajv.compile<EventInput>(eventSchema),
    feedback: ajv.compile<FeedbackInput>(feedbackSchema),
    anonymous: ajv.compile<AnonymousInput>(anonymousSchema),
  };
}

/** ajv's errors as one readable reason: "user_id: must NOT have more than 128 characters". */
export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'invalid';
  const reasons = new Set<string>();
  for (const e of errors) {
    // oneOf reports every branch; the branch errors themselves are the useful part.
    if (e.keyword === 'oneOf' && errors.length > 1) continue;
    const where = e.instancePath === '' ? '' : `${e.instancePath.slice(1).replaceAll('/', '.')}: `;
    if (e.keyword === 'additionalProperties')
      reasons.add(
        `${where}unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`,
      );
    else if (e.keyword === 'pattern' && e.schema === ID_PATTERN) reasons.add(`${where}${ID_REFUSED}`);
    else if (e.keyword === 'format' && e.schema === 'float') reasons.add(`${where}${FLOAT_REFUSED}`);
    else if (e.keyword === 'enum')
      reasons.add(
        `${where}must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`,
      );
    else reasons.add(`${where}${e.message ?? 'invalid'}`);
  }
  return [...reasons].join('; ');
}
