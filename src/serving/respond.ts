/** Sending a ranked list as a recommendation answer: fresh rec_id, body, log row. */
import type { Source } from './answers.js';
import type { Serving } from './context.js';
import type { RequestContext } from './http.js';
import type { PreparedAnswer } from './prepared-answer.js';

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
  ctx.source = source;
  ctx.send(200, s.answers.write(fields, modelVersion, source, items, scores));
  if (!ctx.aborted && s.recLog.admit())
    s.recLog.add(s.answers, logUser, modelVersion, source, items, scores, ctx.elapsedUs());
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
  ctx.source = source;
  ctx.send(200, answer.stamp(s.recIds));
  if (!ctx.aborted && s.recLog.admit())
    s.recLog.add(answer, logUser, modelVersion, source, items, scores, ctx.elapsedUs());
}
