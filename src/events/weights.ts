/**
 * Event weights: how much each type counts as implicit evidence (types.ts has the defaults).
 * parseEventWeights reads them from configuration — a string such as
 * "view=1,click=2,purchase=8,dismiss=-1" (RECSYS_EVENT_WEIGHTS) or an object from a file —
 * and eventWeight turns one event into its confidence for training and fold-in.
 */
import { FLOAT32_MAX, isFloat32 } from './rules.js';
import {
  DEFAULT_EVENT_WEIGHTS,
  EVENT_TYPES,
  type EventType,
  type EventWeights,
  isEventType,
} from './types.js';

export type ParsedEventWeights = { ok: true; weights: EventWeights } | { ok: false; problems: string[] };

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Weights from configuration: types left out keep their default. Every problem is listed (an
 * unknown type, a type given twice, a weight that is not a finite number fitting a float32,
 * an entry without "="); then no weights are returned.
 */
export function parseEventWeights(input: string | Readonly<Record<string, unknown>>): ParsedEventWeights {
  const problems: string[] = [];
  const given = new Map<EventType, number>();
  const named = new Set<string>();
  const take = (type: string, weight: unknown, shown: string) => {
    if (!isEventType(type)) problems.push(`unknown event type "${type}" (known: ${EVENT_TYPES.join(', ')})`);
    else if (named.has(type)) problems.push(`"${type}" is given twice`);
    named.add(type);
    if (typeof weight !== 'number' || !isFloat32(weight))
      problems.push(`the weight of "${type}" must be a finite number that fits a float32, got ${shown}`);
    else if (isEventType(type)) given.set(type, weight === 0 ? 0 : weight);
  };
  if (typeof input === 'string') {
    for (const raw of input.split(',')) {
      const entry = raw.trim();
      if (entry === '') continue;
      const eq = entry.indexOf('=');
      if (eq < 0) {
        problems.push(`"${entry}" is not type=weight`);
        continue;
      }
      const text = entry.slice(eq + 1).trim();
      take(entry.slice(0, eq).trim(), NUMBER.test(text) ? Number(text) : Number.NaN, `"${text}"`);
    }
  } else {
    for (const [type, weight] of Object.entries(input))
      take(type, weight, JSON.stringify(weight) ?? String(weight));
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, weights: Object.freeze({ ...DEFAULT_EVENT_WEIGHTS, ...Object.fromEntries(given) }) };
}

/** Weights in the string form parseEventWeights reads: "view=1,click=2,…" (every type). */
export const formatEventWeights = (weights: EventWeights): string =>
  EVENT_TYPES.map((t) => `${t}=${weights[t]}`).join(',');

/**
 * The implicit confidence of one event: its type's weight times its value (1 when it has none),
 * so a rating keeps its value under the default weight 1, and a dismiss counts against the
 * item. 0 means the event does not count (its type's weight is 0, or its value is 0). Clamped
 * to the float32 range, so a fold-in never meets Infinity.
 */
export function eventWeight(
  type: EventType,
  value: number | null | undefined,
  weights: EventWeights = DEFAULT_EVENT_WEIGHTS,
): number {
  const w = weights[type];
  if (w === 0) return 0;
  const c = w * (value ?? 1);
  if (c === 0) return 0; // never -0
  return Math.max(-FLOAT32_MAX, Math.min(FLOAT32_MAX, c));
}
