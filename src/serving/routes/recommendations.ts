/**
 * GET /v1/recommendations/:userId and POST /v1/recommendations/anonymous.
 * The GET answers from L0 synchronously — no promise, and the body is a prepared buffer
 * that only gets a fresh rec_id — and falls back to the Recommender's lookup chain on a
 * miss, filling L0 afterwards.
 */
import { describeErrors } from '../../events/index.js';
import type { Serving } from '../context.js';
import { badRequest } from '../errors.js';
import type { HttpKit, RequestContext } from '../http.js';
import { PreparedAnswer } from '../prepared-answer.js';
import { type ListQuery, parseListQuery, variantKey } from '../query.js';
import { sendList, sendPrepared } from '../respond.js';

const DEFAULT_QUERY: ListQuery = Object.freeze({ k: 10, excludeSeen: true, category: null, exclude: [] });
const DEFAULT_VARIANT = variantKey(DEFAULT_QUERY);

export function recommendationRoutes(kit: HttpKit, s: Serving): void {
  kit.get(
    '/v1/recommendations/:userId',
    { name: 'GET /v1/recommendations/:userId', access: 'read', params: 1 },
    (ctx) => {
      const user = ctx.params[0];
      const plain = ctx.rawQuery === '';
      const q = plain ? DEFAULT_QUERY : parseListQuery(ctx.query());
      const variant = plain ? DEFAULT_VARIANT : variantKey(q);
      const hit = s.l0.get(user, variant);
      if (hit) {
        s.metrics.cacheLookup('l0', true);
        sendPrepared(ctx, s, user, hit.answer, hit.modelVersion, 'l0', hit.items, hit.scores);
        return;
      }
      if (s.l0.enabled) s.metrics.cacheLookup('l0', false);
      return fill(ctx, s, user, q, variant);
    },
  );

  kit.post(
    '/v1/recommendations/anonymous',
    { name: 'POST /v1/recommendations/anonymous', access: 'read', body: true },
    (ctx) => anonymous(ctx, s),
  );
}

async function fill(
  ctx: RequestContext,
  s: Serving,
  user: string,
  q: ListQuery,
  variant: string,
): Promise<void> {
  const started = performance.now();
  const r = await s.recommender.resolve(user, q);
  sendList(ctx, s, user, { user_id: user }, r.modelVersion, r.source, r.items, r.scores);
  if (r.cacheable && s.l0.enabled) {
    // The same list as this process will serve it from L0 (after the log row took its rec_id).
    s.answers.write({ user_id: user }, r.modelVersion, 'l0', r.items, r.scores);
    s.l0.set(
      user,
      variant,
      {
        answer: new PreparedAnswer(s.answers.copy()),
        modelVersion: r.modelVersion,
        filledFrom: r.source,
        items: r.items,
        scores: r.scores,
      },
      started,
    );
  }
}

async function anonymous(ctx: RequestContext, s: Serving): Promise<void> {
  const body = ctx.body;
  if (!s.validators.anonymous(body))
    throw badRequest('invalid_body', describeErrors(s.validators.anonymous.errors));
  const k = body.k ?? 10;
  const category = body.category ?? null;
  const view = s.view();
  const sessionIds = body.items.map((e) => (typeof e === 'string' ? e : e.item_id));
  const exclude = new Set([...(body.exclude ?? []), ...sessionIds]);
  const known: number[] = [];
  const values: number[] = [];
  const ignored: string[] = [];
  if (view) {
    const params = view.model.meta.params;
    // A bare id is a plain interaction: weight 1 (implicit) or the top of the rating scale (explicit).
    const bare = params.mode === 'implicit' ? 1 : view.model.meta.valueRange[1];
    for (const e of body.items) {
      const id = typeof e === 'string' ? e : e.item_id;
      const idx = view.model.itemIdx(id);
      if (idx === undefined) ignored.push(id);
      else {
        known.push(idx);
        values.push(typeof e === 'string' ? bare : (e.value ?? bare));
      }
    }
  } else ignored.push(...sessionIds);

  if (!view || known.length === 0) {
    const popular = s.recommender.filter(s.popular.list(), k, category, exclude);
    sendList(
      ctx,
      s,
      '',
      { ignored_items: ignored },
      view?.version ?? null,
      'popular',
      popular.items,
      popular.scores,
    );
    return;
  }
  const fold = await view.foldInSolver();
  const { vector } = fold.solve(known, values);
  // Values near float32's limit (valid as values) overflow the fold-in's sums: the vector is
  // then not finite, every score NaN (sent as "score": null). That is the body's doing.
  if (!vector.every(Number.isFinite))
    throw badRequest('invalid_body', "the items' values are too large to fold in");
  const ranked = await view.score(
    vector,
    k,
    known,
    view.indicesOf(exclude),
    view.excludedByCatalog(category),
  );
  sendList(ctx, s, '', { ignored_items: ignored }, view.version, 'realtime', ranked.items, ranked.scores);
}
