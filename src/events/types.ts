/**
 * The interaction types every layer speaks (DESIGN.md §4), and the implicit weight each one
 * carries by default. Serving validates against this list, the speed layer folds events in with
 * these weights, and the batch layer trains on them; configuration may override the weights.
 */
export const EVENT_TYPES = ['view', 'click', 'add_to_cart', 'purchase', 'rating', 'dismiss'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

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
