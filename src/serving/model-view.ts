/**
 * What serving derives from one loaded model, built lazily and dropped with the model:
 * scoring a user vector with exclusions, the catalog exclusions per category, the fold-in
 * solver (anonymous sessions), a cosine-similarity scorer over normalized item factors
 * (similar items) and the items most interacted with in training (popular fallback).
 */
import { LRUCache } from 'lru-cache';
import type { BackendName } from '../compute/kernels.js';
import type { LoadedModel } from '../model/active.js';
import { FoldIn } from '../model/fold-in.js';
import type { AlsModel } from '../model/model.js';
import { Scorer } from '../model/scorer.js';
import type { Catalog } from './catalog.js';
import type { PreparedAnswer } from './prepared-answer.js';

export interface Ranked {
  items: string[];
  scores: number[];
}

/** The largest k the similar-items scorer serves. */
export const MAX_SIMILAR_K = 100;

export class ModelView {
  readonly version: string;
  readonly model: AlsModel;
  private readonly scorer: Scorer;
  private foldIn: Promise<FoldIn> | null = null;
  private similarity: Promise<Scorer> | null = null;
  private popularity: Ranked | null = null;
  private readonly catalogExclusions = new LRUCache<string, { generation: number; indices: Int32Array }>({
    max: 256,
  });
  /** Similar-items answers (a pure function of model, catalog and query), serialized. */
  readonly similarAnswers = new LRUCache<
    string,
    { answer: PreparedAnswer; items: string[]; scores: number[] }
  >({
    max: 10_000,
  });

  constructor(
    loaded: LoadedModel,
    private readonly backend: BackendName,
    private readonly catalog: Catalog,
  ) {
    this.model = loaded.model;
    this.scorer = loaded.scorer;
    this.version = loaded.model.meta.version;
  }

  get nItems(): number {
    return this.model.itemIds.length;
  }

  /** Item indices for ids the model knows (others dropped). */
  indicesOf(ids: Iterable<string>): number[] {
    const out: number[] = [];
    for (const id of ids) {
      const i = this.model.itemIdx(id);
      if (i !== undefined) out.push(i);
    }
    return out;
  }

  /**
   * Indices of items an answer restricted to `category` must skip: inactive ones, and with a
   * category every item outside it. Passing them to the top-K kernel as exclusions makes the
   * kernel return exactly the k best allowed items in one pass (no over-fetch loop needed).
   */
  excludedByCatalog(category: string | null): Int32Array {
    const key = category ?? '\u0000';
    const cached = this.catalogExclusions.get(key);
    if (cached && cached.generation === this.catalog.generation) return cached.indices;
    const out: number[] = [];
    const ids = this.model.itemIds;
    for (let i = 0; i < ids.length; i++) if (!this.catalog.allows(ids[i], category)) out.push(i);
    const indices = Int32Array.from(out);
    this.catalogExclusions.set(key, { generation: this.catalog.generation, indices });
    return indices;
  }

  /** The n best items for a user's factor vector, skipping item indices in `exclude` lists. */
  async score(vector: Float32Array, n: number, ...exclude: ArrayLike<number>[]): Promise<Ranked> {
    const k = Math.max(1, Math.min(n, this.scorer.maxK));
    const all = concat(exclude);
    const { indices, scores } = await this.scorer.topK(this.model.queryFor(vector), k, () => all);
    return this.toRanked(indices, scores);
  }

  private toRanked(indices: Int32Array, scores: Float32Array): Ranked {
    const items: string[] = [];
    const out: number[] = [];
    for (let j = 0; j < indices.length; j++) {
      if (indices[j] < 0) break;
      items.push(this.model.itemIds[indices[j]]);
      out.push(scores[j]);
    }
    return { items, scores: out };
  }

  /** The fold-in solver, created on first use (it copies the item factors into its arena). */
  foldInSolver(): Promise<FoldIn> {
    this.foldIn ??= FoldIn.create(this.model, this.backend, { maxEntries: 1000 });
    return this.foldIn;
  }

  /** Items nearest to `itemIdx` by cosine similarity of their factor vectors. */
  async similar(itemIdx: number, k: number, category: string | null): Promise<Ranked> {
    this.similarity ??= this.createSimilarity();
    const scorer = await this.similarity;
    const f = this.model.factors;
    const query = scorer.items.slice(itemIdx * f, itemIdx * f + f);
    const exclude = concat([[itemIdx], this.excludedByCatalog(category)]);
    const { indices, scores } = await scorer.topK(query, Math.min(k, MAX_SIMILAR_K), () => exclude);
    return this.toRanked(indices, scores);
  }

  private createSimilarity(): Promise<Scorer> {
    const f = this.model.factors;
    const normalized = new Float32Array(this.model.itemFactors.length);
    for (let i = 0; i < this.nItems; i++) {
      let norm = 0;
      for (let c = 0; c < f; c++) norm += this.model.itemFactors[i * f + c] ** 2;
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let c = 0; c < f; c++) normalized[i * f + c] = this.model.itemFactors[i * f + c] * inv;
    }
    return Scorer.create(this.backend, normalized, this.nItems, f, { maxK: MAX_SIMILAR_K });
  }

  /** Items by how many training users interacted with them (most first, at most `limit`). */
  trainingPopularity(limit = 1000): Ranked {
    if (!this.popularity) {
      const counts = new Float64Array(this.nItems);
      for (const i of this.model.seenIndices) counts[i]++;
      const order = [...counts.keys()]
        .filter((i) => counts[i] > 0)
        .sort((a, b) => counts[b] - counts[a] || a - b);
      const top = order.slice(0, limit);
      this.popularity = { items: top.map((i) => this.model.itemIds[i]), scores: top.map((i) => counts[i]) };
    }
    return this.popularity;
  }
}

function concat(lists: ArrayLike<number>[]): Int32Array {
  let n = 0;
  for (const l of lists) n += l.length;
  const out = new Int32Array(n);
  let at = 0;
  for (const l of lists) {
    out.set(l, at);
    at += l.length;
  }
  return out;
}
