/** Sending a ranked list as a recommendation answer: fresh rec_id, body, log row. */
import type { Source } from './answers.js';
import type { Serving } from './context.js';
import type { RequestContext } from './http.js';
import type { PreparedAnswer } from './prepared-answer.js';
import type { RecIdSource } from './rec-ids.js';

/**
 * Answers with the list and queues its log row. `logUser` is the user the answer is for
 * ('' for answers without one: anonymous sessions, similar and popular items).
 */
export function sendList(
  ctx: RequestContext,
  s: Serving,
  logUser: string,
  fields: Readonly<Record<string, unknown>>,
  modelVersion: string | null,
  source: Source,
  items: string[],
  scores: number[],
): void {
  const body = s.answers.write(fields, modelVersion, source, items, scores);
  send(ctx, s, body, s.answers, logUser, modelVersion, source, items, scores);
}

/** Answers with a cached answer under a fresh rec_id and queues its log row. */
export function sendPrepared(
  ctx: RequestContext,
  s: Serving,
  logUser: string,
  answer: PreparedAnswer,
  modelVersion: string | null,
  source: Source,
  items: readonly string[],
  scores: readonly number[],
): void {
  send(ctx, s, answer.stamp(s.recIds), answer, logUser, modelVersion, source, items, scores);
}

/** `body` was just written by `ids` (which still holds its rec_id for the log row). */
function send(
  ctx: RequestContext,
  s: Serving,
  body: Uint8Array,
  ids: RecIdSource,
  logUser: string,
  modelVersion: string | null,
  source: Source,
  items: readonly string[],
  scores: readonly number[],
): void {
  ctx.source = source;
  ctx.send(200, body);
  if (!ctx.aborted && s.recLog.admit())
    s.recLog.add(ids, logUser, modelVersion, source, items, scores, ctx.elapsedUs());
}
