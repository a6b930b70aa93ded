/**
 * POST /v1/feedback: a reaction (impression, click, …) to a served answer, stored in
 * recommendation_feedback and joined to recommendation_logs by rec_id for CTR.
 *
 * The user is the one the answer was served to: taken from this process's memory of recent
 * answers, else from recommendation_logs. An unknown rec_id is 404 — unless the body names
 * the user, because a log row may legitimately be missing (dropped while the store was down,
 * or not yet written by another process); then the feedback is stored with that user. A
 * user_id contradicting the logged one is 409. The store being down is 503: feedback is
 * not queued in memory.
 */
import { describeErrors } from '../../events/index.js';
import type { Serving } from '../context.js';
import { badRequest, HttpError } from '../errors.js';
import type { HttpKit } from '../http.js';

export function feedbackRoutes(kit: HttpKit, s: Serving): void {
  kit.post('/v1/feedback', { name: 'POST /v1/feedback', access: 'key', body: true }, async (ctx) => {
    const body = ctx.body;
    if (!s.validators.feedback(body))
      throw badRequest('invalid_body', describeErrors(s.validators.feedback.errors));
    const recId = body.rec_id.toLowerCase();
    let user = s.recLog.userOf(recId);
    if (user === undefined) {
      const { rows } = await s.stores.db.query<{ user_id: string }>(
        'SELECT user_id FROM recommendation_logs WHERE rec_id = $1',
        [recId],
      );
      user = rows[0]?.user_id;
    }
    if (user === undefined) {
      if (body.user_id === undefined)
        throw new HttpError(
          404,
          'unknown_rec_id',
          `no served answer has rec_id ${recId}; send user_id to record it anyway`,
        );
      user = body.user_id;
    } else if (body.user_id !== undefined && user !== '' && body.user_id !== user) {
      throw new HttpError(409, 'user_mismatch', `answer ${recId} was served to another user`);
    } else if (user === '' && body.user_id !== undefined) {
      user = body.user_id; // answers without a user (anonymous, popular) take the caller's
    }
    const { rows } = await s.stores.db.query<{ id: number }>(
      `INSERT INTO recommendation_feedback (rec_id, user_id, item_id, position, action, value)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [recId, user, body.item_id, body.position ?? null, body.action, body.value ?? null],
    );
    ctx.json(201, { id: rows[0].id, rec_id: recId, user_id: user });
  });
}
