/**
 * Request bodies as JSON Schema (2020-12, the dialect of OpenAPI 3.1): compiled once with
 * ajv for validation, and the very same objects are published in /openapi.json, so the
 * documentation cannot drift from what the server accepts. The event itself, its field rules
 * and the ajv set-up belong to the event contract (src/events); the bodies here are built
 * from its fragments.
 */

import type { ValidateFunction } from 'ajv';
import { createAjv, float32Schema as float32, idSchema as id } from '../events/index.js';

/** Largest k of any list endpoint. */
export const MAX_K = 100;
/** Most events in one POST /v1/events. */
export const MAX_EVENTS = 1000;
/** Most items of an anonymous session. */
export const MAX_SESSION_ITEMS = 500;
/** Most ids in an `exclude` list. */
export const MAX_EXCLUDE = 100;

export const FEEDBACK_ACTIONS = [
  'impression',
  'click',
  'add_to_cart',
  'purchase',
  'dismiss',
  'rating',
] as const;

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
  feedback: ValidateFunction<FeedbackInput>;
  anonymous: ValidateFunction<AnonymousInput>;
}

export function compileValidators(): Validators {
  // Schemas carry OpenAPI-only keywords (description) that ajv knows; `default` too.
  const ajv = createAjv();
  return {
    feedback: ajv.compile<FeedbackInput>(feedbackSchema),
    anonymous: ajv.compile<AnonymousInput>(anonymousSchema),
  };
}
