/**
 * The interaction types every layer speaks (DESIGN.md §4), the two shapes of an event — as a
 * client sends it and as every layer after the entry point holds it — and the implicit weight
 * each type carries by default. Serving validates against this list, the speed layer folds
 * events in with these weights, and the batch layer trains on them; configuration may override
 * the weights (weights.ts parses them).
 */
export const EVENT_TYPES = ['view', 'click', 'add_to_cart', 'purchase', 'rating', 'dismiss'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * An event as a client sends it (POST /v1/events) and as the JSON Schema in schema.ts accepts it:
 * event_id and ts may be absent, ts is ISO-8601 or epoch milliseconds.
 */
export interface EventInput {
  event_id?: string;
  user_id: string;
  item_id: string;
  type: EventType;
  value?: number;
  ts?: string | number;
}

/**
 * An event once accepted (normalizeEvent): what the bus carries (codec.ts) and the archive
 * stores, one row per event. Every field is present; `value` is null when the event had none.
 */
export interface InteractionEvent {
  /** A lower-case UUID: the idempotency key (the same id is stored once). */
  event_id: string;
  user_id: string;
  item_id: string;
  type: EventType;
  /** A float32, or null (then it weighs as 1, see eventWeight). */
  value: number | null;
  /** When it happened, epoch milliseconds UTC (an integer; on the bus an ISO-8601 string). */
  ts: number;
}

/**
 * Implicit confidence per type, a multiplier of the event's value (1 when it has none).
 * Stronger intent weighs more; a dismiss is negative evidence. A weight of 0 drops that type
 * from training and fold-in. `rating` keeps the rating as it is (explicit mode reads it as a
 * rating; implicit mode as a confidence).
 */
export type EventWeights = Readonly<Record<EventType, number>>;

export const DEFAULT_EVENT_WEIGHTS: EventWeights = Object.freeze({
  view: 1,
  click: 2,
  add_to_cart: 4,
  purchase: 8,
  rating: 1,
  dismiss: -1,
});

export const isEventType = (s: string): s is EventType => (EVENT_TYPES as readonly string[]).includes(s);
