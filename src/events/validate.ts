/**
 * The validator: an event as a client sent it (checkEvent) or as the bus carries it
 * (checkBusEvent: event_id and ts required), checked against eventSchema, answering either the
 * event or a typed rejection — a reason a program can act on (count, dead-letter) and a message
 * a person can read. Nothing here throws. normalizeEvent then fills what was left out.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { newEventId } from './event-ids.js';
import { eventTimeMs } from './rules.js';
import { createAjv, describeErrors, eventSchema } from './schema.js';
import type { EventInput, InteractionEvent } from './types.js';

/** Why an event was refused; the first problem found decides. */
export const EVENT_REJECT_REASONS = [
  /** A bus message whose bytes are not UTF-8. */
  'not_utf8',
  /** Not JSON (NaN and Infinity are no JSON numbers). */
  'not_json',
  /** JSON, but not a JSON object (an array, a string, null…). */
  'not_object',
  /** user_id, item_id or type absent (and, on the bus, event_id or ts). */
  'missing_field',
  /** A field the event does not have. */
  'unknown_field',
  'bad_event_id',
  /** user_id or item_id: not a string, empty, too long, or holding a refused character. */
  'bad_id',
  'bad_type',
  /** value: not a number, or no float32 (null included). */
  'bad_value',
  'bad_ts',
  /** A bus message whose key is not its event's user_id (its partition would be wrong). */
  'key_mismatch',
] as const;
export type EventRejectReason = (typeof EVENT_REJECT_REASONS)[number];

export interface EventRejection {
  ok: false;
  reason: EventRejectReason;
  /** Every problem, for people: "type: must be one of view, click, …; ts: must match format …". */
  message: string;
}

export type EventCheck = { ok: true; event: EventInput } | EventRejection;

/** An event on the bus: normalized already, so its id and time are there. */
type BusEventInput = EventInput & { event_id: string; ts: string | number };

interface Compiled {
  input: ValidateFunction<EventInput>;
  bus: ValidateFunction<BusEventInput>;
}
let compiled: Compiled | null = null;
/** Compiled on first use, once per process (a constant; compiling costs milliseconds at import). */
function validators(): Compiled {
  if (compiled === null) {
    const ajv = createAjv();
    compiled = {
      input: ajv.compile<EventInput>(eventSchema),
      bus: ajv.compile<BusEventInput>({
        ...eventSchema,
        required: ['event_id', 'user_id', 'item_id', 'type', 'ts'],
      }),
    };
  }
  return compiled;
}

export const reject = (reason: EventRejectReason, message: string): EventRejection => ({
  ok: false,
  reason,
  message,
});

const FIELD_REASONS: Readonly<Record<string, EventRejectReason>> = {
  '/event_id': 'bad_event_id',
  '/user_id': 'bad_id',
  '/item_id': 'bad_id',
  '/type': 'bad_type',
  '/value': 'bad_value',
  '/ts': 'bad_ts',
};

function reasonOf(e: ErrorObject): EventRejectReason {
  if (e.keyword === 'required') return 'missing_field';
  if (e.keyword === 'additionalProperties') return 'unknown_field';
  return FIELD_REASONS[e.instancePath] ?? 'not_object';
}

function check<T extends EventInput>(
  validate: ValidateFunction<T>,
  input: unknown,
): { ok: true; event: T } | EventRejection {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return reject('not_object', 'must be object');
  if (validate(input)) return { ok: true, event: input };
  const errors = validate.errors ?? [];
  return reject(errors.length > 0 ? reasonOf(errors[0]) : 'not_object', describeErrors(errors));
}

/** An event as a client sends it (event_id and ts optional). */
export const checkEvent = (input: unknown): EventCheck => check(validators().input, input);

/** An event as the bus carries it: like checkEvent, and event_id and ts must be there. */
export const checkBusEvent = (input: unknown): { ok: true; event: BusEventInput } | EventRejection =>
  check(validators().bus, input);

/**
 * A valid event (checkEvent) as every layer holds it: a fresh time-ordered event_id (UUID v7
 * stamped `now`) when it has none (else its own, lower-cased), ts `now` when it has none (else
 * in epoch ms), value null when absent.
 */
export function normalizeEvent(e: EventInput, now: number = Date.now()): InteractionEvent {
  return {
    event_id: e.event_id?.toLowerCase() ?? newEventId(now),
    user_id: e.user_id,
    item_id: e.item_id,
    type: e.type,
    value: e.value ?? null,
    ts: e.ts === undefined ? now : eventTimeMs(e.ts),
  };
}
