/** GET /v1/similar/:itemId and GET /v1/items/popular. */
import type { Serving } from '../context.js';
import { HttpError, notFound } from '../errors.js';
import type { HttpKit } from '../http.js';
import { PreparedAnswer } from '../prepared-answer.js';
import { parseListQuery } from '../query.js';
import { sendList, sendPrepared } from '../respond.js';

export function itemRoutes(kit: HttpKit, s: Serving): void {
  kit.get(
    '/v1/similar/:itemId',
    { name: 'GET /v1/similar/:itemId', access: 'read', params: 1 },
    async (ctx) => {
      const item = ctx.params[0];
      const { k, category } = parseListQuery(ctx.query());
      const view = s.view();
      if (!view) throw new HttpError(503, 'no_model', 'no model is loaded yet');
      const idx = view.model.itemIdx(item);
      if (idx === undefined)
        throw notFound('unknown_item', `the model does not know item ${JSON.stringify(item)}`);
      const key = `${idx}\u0002${k}\u0002${category ?? ''}\u0002${s.catalog.generation}`;
      let cached = view.similarAnswers.get(key);
      if (!cached) {
        const ranked = await view.similar(idx, k, category);
        s.answers.write({ item_id: item }, view.version, 'l2', ranked.items, ranked.scores);
        cached = { ...ranked, answer: new PreparedAnswer(s.answers.copy()) };
        // A category no item has (the view answers it empty at once) gets no entry: clients
        // can make up any number of them, which would push useful entries out.
        if (category === null || s.catalog.knows(category)) view.similarAnswers.set(key, cached);
      }
      sendPrepared(ctx, s, '', cached.answer, view.version, 'l2', cached.items, cached.scores);
    },
  );

  kit.get('/v1/items/popular', { name: 'GET /v1/items/popular', access: 'read' }, (ctx) => {
    const { k, category, exclude } = parseListQuery(ctx.query());
    const list = s.recommender.filter(s.popular.list(), k, category, new Set(exclude));
    sendList(ctx, s, '', {}, s.view()?.version ?? null, 'popular', list.items, list.scores);
  });
}
