/**
 * Popular items, the cold-start answer: items with the most recent interactions — the decayed
 * counts the speed layer keeps in item_popularity (an interaction counts half after each
 * half-life; dismissals left out) — else — no recent events, or the store is down — the
 * active model's most interacted items in training. Recomputed in the background every few
 * seconds, so answering costs nothing on the request path.
 */

import type { Logger } from '../logger.js';
import type { Stores } from '../stores/index.js';
import type { ModelView, Ranked } from './model-view.js';
import { Refresher } from './refresher.js';

/** How many popular items are kept (filters such as category are applied to these). */
export const POPULAR_DEPTH = 1000;

export class PopularItems {
  private readonly refresher: Refresher;
  private recent: Ranked = { items: [], scores: [] };
  private merged: { recent: Ranked; version: string | null; list: Ranked } | null = null;

  constructor(
    private readonly db: Stores['db'],
    private readonly view: () => ModelView | null,
    logger: Logger,
    private readonly halfLifeHours = 24,
  ) {
    this.refresher = new Refresher(() => this.refresh(), logger, {
      firstFailed: "popular items not loaded; using the model's",
      laterFailed: 'popular items refresh failed; keeping the last list',
    });
  }

  async refresh(): Promise<void> {
    // Counts below 0.01 (an interaction seven half-lives ago) no longer make an item popular.
    const { rows } = await this.db.query<{ item_id: string; n: number }>(
      `SELECT item_id, n FROM (
         SELECT item_id, score * power(0.5, GREATEST(0, extract(epoch FROM now() - updated_at)) / $2) AS n
           FROM item_popularity) d
        WHERE n >= 0.01 ORDER BY n DESC, item_id LIMIT $1`,
      [POPULAR_DEPTH, this.halfLifeHours * 3600],
    );
    this.recent = { items: rows.map((r) => r.item_id), scores: rows.map((r) => r.n) };
  }

  /** Loads now (tolerating failure) and then every `everyMs`. */
  start(everyMs: number): Promise<void> {
    return this.refresher.start(everyMs);
  }

  stop(): void {
    this.refresher.stop();
  }

  /**
   * The current list, most popular first: recently popular items (score: decayed interaction
   * count), then the model's most interacted training items not already listed (score 0
   * when after recent ones), so a short recent list still fills k. Empty with neither.
   */
  list(): Ranked {
    const view = this.view();
    const version = view?.version ?? null;
    if (this.merged && this.merged.recent === this.recent && this.merged.version === version)
      return this.merged.list;
    const fallback = view?.trainingPopularity(POPULAR_DEPTH) ?? { items: [], scores: [] };
    let list: Ranked;
    if (this.recent.items.length === 0) list = fallback;
    else {
      const items = [...this.recent.items];
      const scores = [...this.recent.scores];
      const seen = new Set(items);
      for (let j = 0; j < fallback.items.length && items.length < POPULAR_DEPTH; j++) {
        if (seen.has(fallback.items[j])) continue;
        items.push(fallback.items[j]);
        scores.push(0);
      }
      list = { items, scores };
    }
    this.merged = { recent: this.recent, version, list };
    return list;
  }
}
