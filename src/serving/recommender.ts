/**
 * The lookup chain behind GET /v1/recommendations/:userId, below the in-process cache:
 *
 *   L1 shared cache (recs:<user>, if made with the active model) ─miss→ L2 relational store, in one query:
 *     · user_profiles vector newer than the batch answer (and of the active model) → scored now ("realtime")
 *     · batch_recommendations row → "batch"
 *     · the active model's own factors for the user → scored now ("l2")
 *   ─nothing→ popular items ("popular")
 *
 * A found list holds more candidates than one answer; the request's filters (exclude,
 * category, inactive items) are applied to it and, when fewer than k survive, the answer is
 * refilled by scoring the user's vector with those filters as exact exclusions in the top-K
 * kernel. Degradation: a cache outage is an L1 miss; a relational store outage leaves the
 * model's factors, then popular items, and such answers are not cached.
 */
import type { Candidates } from './answers.js';
import type { Catalog } from './catalog.js';
import type { L0Cache } from './l0-cache.js';
import type { L1Cache } from './l1-cache.js';
import type { L2Store, UserRecord } from './l2-store.js';
import type { ServingMetrics } from './metrics.js';
import type { ModelView, Ranked } from './model-view.js';
import type { PopularItems } from './popular.js';
import type { ListQuery } from './query.js';

export interface Resolved extends Candidates {
  /** Fit for the caches: not computed in a degraded state, not the popular fallback. */
  cacheable: boolean;
}

export interface RecommenderDeps {
  l0: L0Cache;
  l1: L1Cache;
  l2: L2Store;
  catalog: Catalog;
  popular: PopularItems;
  metrics: ServingMetrics;
  view: () => ModelView | null;
  /** How many candidates a scored list keeps for L1 (the over-fetch filters draw from). */
  candidates: number;
}

const NOTHING: ReadonlySet<string> = new Set();

interface Vector {
  vector: Float32Array;
  source: 'realtime' | 'l2';
}

export class Recommender {
  constructor(private readonly d: RecommenderDeps) {}

  /**
   * The answer for a user. The L1 hit — the common case below L0 — runs through a small
   * async frame and allocates little: what is rarer (seen items allowed, store reads,
   * refills, popular items) lives in methods of its own.
   */
  async resolve(user: string, q: ListQuery): Promise<Resolved> {
    const view = this.d.view();
    let lookup: UserLookup | undefined;
    if (!q.excludeSeen && view) {
      lookup = new UserLookup(this.d, user, view);
      const scored = await this.scoreAll(lookup, q, view);
      if (scored) return scored;
    }
    const fillStarted = performance.now();
    const cached = await this.d.l1.get(user, view?.version ?? null);
    if (cached === null) return this.fromStore(lookup ?? new UserLookup(this.d, user, view), q, fillStarted);
    cached.source = 'l1';
    return this.fromCandidates(cached, q, view, lookup, user);
  }

  /** Seen items allowed: only the model can rank them, so the user's vector is scored directly. */
  private async scoreAll(lookup: UserLookup, q: ListQuery, view: ModelView): Promise<Resolved | null> {
    const v = await lookup.vector();
    if (!v) return null;
    const ranked = await view.score(
      v.vector,
      q.k,
      view.indicesOf(q.exclude),
      view.excludedByCatalog(q.category),
    );
    return { ...ranked, modelVersion: view.version, source: v.source, cacheable: lookup.healthy };
  }

  /** L1 missed: the relational store's candidates (written back to L1), else popular items. */
  private async fromStore(lookup: UserLookup, q: ListQuery, fillStarted: number): Promise<Resolved> {
    const base = await lookup.storedCandidates(this.d.candidates);
    if (base) {
      if (lookup.healthy && !this.d.l0.changedSince(lookup.user, fillStarted))
        void this.d.l1.set(lookup.user, base);
      return this.fromCandidates(base, q, lookup.view, lookup, lookup.user);
    }
    const seen = new Set([...q.exclude, ...(lookup.record?.recent ?? [])]);
    const popular = this.filter(this.d.popular.list(), q.k, q.category, seen);
    return { ...popular, modelVersion: lookup.view?.version ?? null, source: 'popular', cacheable: false };
  }

  /** A candidate list filtered for the query; refilled by scoring when fewer than k survive. */
  private fromCandidates(
    base: Candidates,
    q: ListQuery,
    view: ModelView | null,
    lookup: UserLookup | undefined,
    user: string,
  ): Resolved | Promise<Resolved> {
    const exclude = q.exclude.length === 0 ? NOTHING : new Set(q.exclude);
    const filtered = this.filter(base, q.k, q.category, exclude);
    const answer: Resolved = {
      items: filtered.items,
      scores: filtered.scores,
      modelVersion: base.modelVersion,
      source: base.source,
      cacheable: lookup?.healthy ?? true,
    };
    if (filtered.items.length >= q.k || !view) return answer;
    return this.refill(answer, q, view, lookup ?? new UserLookup(this.d, user, view), exclude);
  }

  /** Scores the user's vector with the filters as exact exclusions; keeps `short` if that finds no more. */
  private async refill(
    short: Resolved,
    q: ListQuery,
    view: ModelView,
    lookup: UserLookup,
    exclude: ReadonlySet<string>,
  ): Promise<Resolved> {
    const v = await lookup.vector();
    if (!v) return short;
    const ranked = await view.score(
      v.vector,
      q.k,
      lookup.seenIndices(),
      view.indicesOf(exclude),
      view.excludedByCatalog(q.category),
    );
    if (ranked.items.length <= short.items.length) return { ...short, cacheable: lookup.healthy };
    return { ...ranked, modelVersion: view.version, source: v.source, cacheable: lookup.healthy };
  }

  /** The first k items of `r` that the catalog allows under `category` and that are not in `exclude`. */
  filter(r: Ranked, k: number, category: string | null, exclude: ReadonlySet<string>): Ranked {
    const { catalog } = this.d;
    // The common case — no filter, nothing inactive among the first k — keeps the lists as they are.
    if (category === null && exclude.size === 0 && r.items.length <= k) {
      let allowed = true;
      for (let j = 0; j < r.items.length && allowed; j++) allowed = catalog.isActive(r.items[j]);
      if (allowed) return r;
    }
    const items: string[] = [];
    const scores: number[] = [];
    for (let j = 0; j < r.items.length && items.length < k; j++) {
      const id = r.items[j];
      if (exclude.has(id) || !catalog.allows(id, category)) continue;
      items.push(id);
      scores.push(r.scores[j]);
    }
    return { items, scores };
  }
}

/** One user's data as one request needs it, each store read at most once. */
class UserLookup {
  /** undefined: not read yet; null: the relational store failed. */
  record: UserRecord | null | undefined;
  readonly userIdx: number | undefined;

  constructor(
    private readonly d: RecommenderDeps,
    readonly user: string,
    readonly view: ModelView | null,
  ) {
    this.userIdx = view?.model.userIdx(user);
  }

  /** False once a store read failed: what is computed then must not be cached. */
  get healthy(): boolean {
    return this.record !== null;
  }

  async read(): Promise<UserRecord | null> {
    if (this.record === undefined) {
      try {
        this.record = await this.d.l2.user(this.user, this.view?.version ?? null);
      } catch {
        this.d.metrics.storeErrors.inc({ store: 'db' });
        this.record = null;
      }
    }
    return this.record;
  }

  /** The speed layer's vector when it belongs to the active model, else the model's own. */
  async vector(): Promise<Vector | null> {
    const view = this.view;
    if (!view) return null;
    const profile = (await this.read())?.profile;
    if (profile && profile.modelVersion === view.version && profile.vector.length === view.model.factors)
      return { vector: profile.vector, source: 'realtime' };
    if (this.userIdx !== undefined) return { vector: view.model.userVector(this.userIdx), source: 'l2' };
    // A profile the speed layer folded into an older model, for a user this model does not
    // know (their events came after its data): fold their recent items into this model now,
    // until their next event gets a profile of it. Implicit models only (a rating needs its value).
    if (profile && view.model.meta.params.mode === 'implicit') {
      const solver = await view.foldInSolver();
      const items = view.indicesOf(this.record?.recent ?? []).slice(0, solver.maxEntries);
      if (items.length > 0)
        return {
          vector: solver.solve(
            items,
            items.map(() => 1),
          ).vector,
          source: 'realtime',
        };
    }
    return null;
  }

  /** Item indices the user has interacted with: training data plus recent events. */
  seenIndices(): number[] {
    const view = this.view;
    if (!view) return [];
    const seen = this.userIdx === undefined ? [] : Array.from(view.model.seen(this.userIdx));
    return seen.concat(view.indicesOf(this.record?.recent ?? []));
  }

  /** The user's candidate list from the relational store (see the file comment), or null for an unknown user. */
  async storedCandidates(n: number): Promise<Candidates | null> {
    const view = this.view;
    const record = await this.read();
    const batch = record?.batch ?? null;
    const v = await this.vector();
    const fresher = v?.source === 'realtime' && (!batch || record!.profile!.updatedAt > batch.generatedAt);
    const batchFits =
      batch !== null && (!view || batch.modelVersion === view.version || this.userIdx === undefined);
    if (v && view && (fresher || !batchFits)) {
      const ranked = await view.score(v.vector, n, this.seenIndices());
      return { ...ranked, modelVersion: view.version, source: v.source };
    }
    if (!batch) return null;
    const recent = new Set(record?.recent ?? []);
    const items: string[] = [];
    const scores: number[] = [];
    for (let j = 0; j < batch.items.length; j++) {
      if (recent.has(batch.items[j])) continue;
      items.push(batch.items[j]);
      scores.push(batch.scores[j]);
    }
    return { items, scores, modelVersion: batch.modelVersion, source: 'batch' };
  }
}
