/** Sending a ranked list as a recommendation answer: fresh rec_id, body, log row. */
import { randomUUID } from 'node:crypto';
import { answerBody, answerTail, type Source } from './answers.js';
import type { Serving } from './context.js';
import type { RequestContext } from './http.js';

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
  tail = answerTail(fields, modelVersion, source, items, scores),
): void {
  const recId = randomUUID();
  ctx.source = source;
  ctx.send(200, answerBody(recId, tail));
  if (!ctx.aborted) s.recLog.add(recId, logUser, modelVersion, source, items, scores, ctx.elapsedUs());
}
