/**
 * The event as JSON Schema (2020-12, the dialect of OpenAPI 3.1), built from the rules in
 * rules.ts: validate.ts compiles it with ajv, and serving publishes the very same object in
 * /openapi.json, so the documentation cannot drift from what is accepted. The id and float32
 * fragments, the ajv set-up (formats) and the error wording are shared with serving's other
 * request schemas.
 */
import type { ErrorObject } from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import {
  FLOAT32_MAX,
  ID_PATTERN,
  isDateTime,
  isFloat32,
  isUuid,
  MAX_EPOCH_MS,
  MAX_ID_LENGTH,
} from './rules.js';
import { EVENT_TYPES } from './types.js';

/** A user or item id (rules.ts isValidId). */
export const idSchema = {
  type: 'string',
  minLength: 1,
  maxLength: MAX_ID_LENGTH,
  pattern: ID_PATTERN,
} as const;

/** A float32 number (rules.ts isFloat32), with what it means. */
export const float32Schema = (description: string) =>
  ({ type: 'number', format: 'float', minimum: -FLOAT32_MAX, maximum: FLOAT32_MAX, description }) as const;

export const eventSchema = {
  type: 'object',
  description: 'One user-item interaction. event_id and ts are filled by the server when absent.',
  additionalProperties: false,
  required: ['user_id', 'item_id', 'type'],
  properties: {
    event_id: {
      type: 'string',
      format: 'uuid',
      description:
        'Idempotency key; the same id is stored once. Without one the server fills a UUID v7 (time-ordered).',
    },
    user_id: idSchema,
    item_id: idSchema,
    type: { enum: EVENT_TYPES },
    value: float32Schema('Rating or weight; its meaning depends on the type. A float32.'),
    ts: {
      description: 'When it happened: ISO-8601 date-time or epoch milliseconds (years 0000 to 9999).',
      oneOf: [
        { type: 'string', format: 'date-time' },
        { type: 'integer', minimum: 0, maximum: MAX_EPOCH_MS },
      ],
    },
  },
} as const;

export type Ajv = InstanceType<typeof Ajv2020.default>;

/** An ajv for the schemas here and those built from their fragments, with the formats they use. */
export function createAjv(): Ajv {
  const ajv = new Ajv2020.default({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addFormat('uuid', isUuid);
  ajv.addFormat('date-time', isDateTime);
  ajv.addFormat('float', { type: 'number', validate: isFloat32 });
  return ajv;
}

const ID_REFUSED = 'must not contain U+0000 or unpaired surrogates';
const FLOAT_REFUSED = 'must be a float32: 0, or about 1.4e-45 to 3.4e38 in magnitude';

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
    else if (e.keyword === 'pattern' && (e.params as { pattern: string }).pattern === ID_PATTERN)
      reasons.add(`${where}${ID_REFUSED}`);
    else if (e.keyword === 'format' && (e.params as { format: string }).format === 'float')
      reasons.add(`${where}${FLOAT_REFUSED}`);
    else if (e.keyword === 'enum')
      reasons.add(
        `${where}must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`,
      );
    else reasons.add(`${where}${e.message ?? 'invalid'}`);
  }
  return [...reasons].join('; ');
}
