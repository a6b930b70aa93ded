/**
 * The item catalog as serving needs it: each item's category and whether it may be
 * recommended (items.active). Loaded from the relational store and refreshed in the
 * background; while the store is down the last copy stays in use. Items absent from the
 * table count as active and without a category (a model may know items before the catalog).
 */

import type { Logger } from '../logger.js';
import type { Stores } from '../stores/index.js';
import { Refresher } from './refresher.js';

interface ItemInfo {
  category: string | null;
  active: boolean;
}

export class Catalog {
  private readonly refresher: Refresher;
  private items = new Map<string, ItemInfo>();
  /** Every category some item has: a filter by any other category allows no item at all. */
  private categories: ReadonlySet<string> = new Set();
  /** Bumped on every reload, so structures derived from the catalog know when to rebuild. */
  generation = 0;

  constructor(
    private readonly db: Stores['db'],
    logger: Logger,
  ) {
    this.refresher = new Refresher(() => this.refresh(), logger, {
      firstFailed: 'catalog not loaded; serving without categories',
      laterFailed: 'catalog refresh failed; keeping the last copy',
    });
  }

  async refresh(): Promise<void> {
    const { rows } = await this.db.query<{ item_id: string; category: string | null; active: boolean }>(
      'SELECT item_id, category, active FROM items',
    );
    const next = new Map<string, ItemInfo>();
    const categories = new Set<string>();
    for (const r of rows) {
      next.set(r.item_id, { category: r.category, active: r.active });
      if (r.category !== null) categories.add(r.category);
    }
    this.items = next;
    this.categories = categories;
    this.generation++;
  }

  /** Loads now (tolerating failure) and then every `everyMs`. */
  start(everyMs: number): Promise<void> {
    return this.refresher.start(everyMs);
  }

  stop(): void {
    this.refresher.stop();
  }

  isActive(itemId: string): boolean {
    return this.items.get(itemId)?.active ?? true;
  }

  /** May `itemId` appear in an answer restricted to `category` (null: no restriction)? */
  allows(itemId: string, category: string | null): boolean {
    const info = this.items.get(itemId);
    if (!info) return category === null;
    return info.active && (category === null || info.category === category);
  }

  /**
   * Does some item have `category`? When not, `allows(id, category)` is false for every id,
   * so callers can answer such a filter at once, without work or memory per category.
   */
  knows(category: string): boolean {
    return this.categories.has(category);
  }

  get size(): number {
    return this.items.size;
  }
}
