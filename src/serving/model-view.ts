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

/** Bound on the category exclusion lists one view keeps (64 MiB: 16 lists at 1M items). */
const CATEGORY_EXCLUSIONS_MAX_BYTES = 64 << 20;

export class ModelView {
  readonly version: string;
  readonly model: AlsModel;
  private readonly scorer: Scorer;
  private foldIn: Promise<FoldIn> | null = null;
  private similarity: Promise<Scorer> | null = null;
  private popularity: Ranked | null = null;
  /** Exclusions without a category (the common query), apart so category churn never evicts them. */
  private activeExclusions: { generation: number; indices: Int32Array } | null = null;
  /**
   * Exclusions per category the catalog knows (clients choose the key, so unknown ones never
   * get an entry), bounded in bytes: each list holds up to one index per item.
   */
  private readonly categoryExclusions = new LRUCache<string, Int32Array>({
    max: 256,
    maxSize: CATEGORY_EXCLUSIONS_MAX_BYTES,
    sizeCalculation: (indices) => Math.max(1, indices.byteLength),
  });
  private categoryGeneration = -1;
  /** Every item index: the exclusions of a category no item has, built once, never scored. */
  private everything: Int32Array | null = null;
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
   * A category the catalog does not know allows no item, so its answers are empty.
   */
  excludedByCatalog(category: string | null): Int32Array {
    const generation = this.catalog.generation;
    if (category === null) {
      const cached = this.activeExclusions;
      if (cached && cached.generation === generation) return cached.indices;
      const indices = this.buildExclusions(null);
      this.activeExclusions = { generation, indices };
      return indices;
    }
    // A category no item has allows nothing: answered by one shared list that score() and
    // similar() recognize, so a client's made-up categories cost neither a scan nor memory.
    if (!this.catalog.knows(category)) return this.allItems();
    if (this.categoryGeneration !== generation) {
      this.categoryExclusions.clear();
      this.categoryGeneration = generation;
    }
    let indices = this.categoryExclusions.get(category);
    if (!indices) {
      indices = this.buildExclusions(category);
      this.categoryExclusions.set(category, indices);
    }
    return indices;
  }

  /** How many category exclusion lists are cached (for tests and diagnostics). */
  get cachedCategories(): number {
    return this.categoryExclusions.size;
  }

  private buildExclusions(category: string | null): Int32Array {
    const out: number[] = [];
    const ids = this.model.itemIds;
    for (let i = 0; i < ids.length; i++) if (!this.catalog.allows(ids[i], category)) out.push(i);
    return Int32Array.from(out);
  }

  private allItems(): Int32Array {
    if (!this.everything) {
      this.everything = new Int32Array(this.nItems);
      for (let i = 0; i < this.nItems; i++) this.everything[i] = i;
    }
    return this.everything;
  }

  /** Does one of the exclusion lists rule out every item (see allItems)? */
  private excludesAll(lists: ArrayLike<number>[]): boolean {
    return this.everything !== null && lists.includes(this.everything);
  }

  /** The n best items for a user's factor vector, skipping item indices in `exclude` lists. */
  async score(vector: Float32Array, n: number, ...exclude: ArrayLike<number>[]): Promise<Ranked> {
    if (this.excludesAll(exclude)) return { items: [], scores: [] };
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
    const byCatalog = this.excludedByCatalog(category);
    if (this.excludesAll([byCatalog])) return { items: [], scores: [] };
    this.similarity ??= this.createSimilarity();
    const scorer = await this.similarity;
    const f = this.model.factors;
    const query = scorer.items.slice(itemIdx * f, itemIdx * f + f);
    const exclude = concat([[itemIdx], byCatalog]);
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
