/**
 * POST /v1/events: one event or an array of up to MAX_EVENTS, validated as a whole — if any
 * is invalid the answer lists every bad one (index and reason) and nothing is published, so
 * a client can fix and resend the batch without creating duplicates. Valid events get an
 * event_id and ts when they lack them and go to the event bus keyed by user id (one user's
 * events stay ordered in one partition); 202 carries the ids. The event, its validation,
 * normalization and message format are the event contract's (src/events).
 */
import { checkEvent, encodeEvent, type InteractionEvent, normalizeEvent } from '../../events/index.js';
import type { Serving } from '../context.js';
import { badRequest } from '../errors.js';
import type { HttpKit } from '../http.js';
import { MAX_EVENTS } from '../schemas.js';

export function eventRoutes(kit: HttpKit, s: Serving): void {
  kit.post('/v1/events', { name: 'POST /v1/events', access: 'key', body: true }, async (ctx) => {
    const body = ctx.body;
    const list: unknown[] = Array.isArray(body) ? body : [body];
    if (list.length === 0) throw badRequest('empty_batch', 'the array holds no events');
    if (list.length > MAX_EVENTS)
      throw badRequest('too_many_events', `at most ${MAX_EVENTS} events per request, got ${list.length}`);
    const bad: Array<{ index: number; reason: string }> = [];
    const events: InteractionEvent[] = [];
    const now = Date.now();
    for (let i = 0; i < list.length; i++) {
      const checked = checkEvent(list[i]);
      if (checked.ok) events.push(normalizeEvent(checked.event, now));
      else bad.push({ index: i, reason: checked.message });
    }
    if (bad.length > 0) {
      s.metrics.eventsRejected.inc(list.length);
      throw badRequest(
        'invalid_events',
        `${bad.length} of ${list.length} events are invalid; none was accepted`,
        bad,
      );
    }
    await s.stores.bus.publish(s.interactionsTopic, events.map(encodeEvent));
    s.metrics.eventsAccepted.inc(events.length);
    ctx.json(202, { accepted: events.length, event_ids: events.map((e) => e.event_id) });
  });
}
