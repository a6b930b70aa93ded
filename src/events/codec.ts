/**
 * The bus codec: an event as a message on the interactions topic (DESIGN.md §4) — key = user id,
 * so one user's events stay ordered in one partition; value = the event as JSON text with every
 * field present but a null value (left out), and ts as ISO-8601 UTC. decodeEvent reads a message
 * back into a validated event or a typed rejection (the consumer dead-letters those with their
 * reason); it never throws. Decoding accepts what the wire format allows any producer to send:
 * ts as ISO-8601 or epoch ms, event_id in any case.
 */

import type { InteractionEvent } from './types.js';
import { checkBusEvent, type EventRejection, normalizeEvent, reject } from './validate.js';

/** A message for the bus port (structurally its OutgoingMessage). */
export interface EventMessage {
  key: string;
  value: string;
}

export type DecodedEvent = { ok: true; event: InteractionEvent } | EventRejection;

/**
 * A normalized, valid event as a bus message. JSON has no -0: a value of -0 reads back as 0.
 * An event that breaks the rules (say a NaN value, written as null) is refused by decodeEvent.
 */
export function encodeEvent(e: InteractionEvent): EventMessage {
  const wire: Record<string, unknown> = {
    event_id: e.event_id,
    user_id: e.user_id,
    item_id: e.item_id,
    type: e.type,
  };
  if (e.value !== null) wire.value = e.value;
  wire.ts = new Date(e.ts).toISOString();
  return { key: e.user_id, value: JSON.stringify(wire) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A bus message's value (and, when given, its key: it must be the event's user id) as the
 * event it carries, or why it cannot be one.
 */
export function decodeEvent(value: Uint8Array | string, key?: string): DecodedEvent {
  let text: string;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = utf8.decode(value);
    } catch {
      return reject('not_utf8', 'the message is not UTF-8 text');
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return reject('not_json', `not JSON: ${(err as Error).message}`);
  }
  const checked = checkBusEvent(parsed);
  if (!checked.ok) return checked;
  const event = normalizeEvent(checked.event);
  if (key !== undefined && key !== event.user_id)
    return reject('key_mismatch', `the message key is not the event's user_id`);
  return { ok: true, event };
}
