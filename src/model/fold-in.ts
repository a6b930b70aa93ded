/**
 * Fold-in: one user's vector solved against a model's fixed item factors, with the very
 * half-step the trainer runs (Oryx's ALSUtils idea: one implementation for the serving
 * layer's anonymous sessions and the speed layer's touched users). The user's interactions
 * become a one-row CSR and go through the same kernel, so a folded-in vector is what the
 * trainer would have produced for that row given the items:
 *  - explicit: explicitHalfStep with ρ = λ·n^regExponent (penalty.ts), biasReg, the global
 *    mean; yields a vector and a bias;
 *  - implicit: implicitHalfStep on confidences 1 + α·v against YᵀY + λI (computed once per
 *    model here), cgSteps conjugate-gradient steps from zero (no previous vector to warm-start).
 * Every array the kernel touches lives in one small arena (the wasm backend reads only its
 * own linear memory); solve() reuses it, so it allocates nothing in the arena per call.
 */
import { Arena } from '../compute/arena.js';
import { loadKernels } from '../compute/backends.js';
import type { BackendName, Kernels } from '../compute/kernels.js';
import type { AlsModel } from './model.js';

export interface FoldInOptions {
  /** Most distinct items one kernel call may carry, all its users together (sizes the arena); default 10 000. */
  maxEntries?: number;
  /** Most users one kernel call solves (solveMany splits larger sets); default 256. */
  maxRows?: number;
  /** Implicit mode: CG steps (default: the model's cgSteps, as the trainer). */
  cgSteps?: number;
}

export interface FoldInResult {
  /** factors long; a copy the caller may keep. */
  vector: Float32Array;
  /** Explicit models with biases: the user bias; 0 otherwise. */
  bias: number;
  /** Distinct items used (duplicates merged as the trainer merges them). */
  entries: number;
}

/** One user's interactions: item indices and their values (ratings, or implicit weights). */
export interface FoldInRow {
  items: ArrayLike<number>;
  values: ArrayLike<number>;
}

export class FoldIn {
  private constructor(
    readonly model: AlsModel,
    private readonly kernels: Kernels,
    private readonly other: Float32Array,
    private readonly otherBias: Float32Array,
    private readonly gram: Float32Array | null,
    private readonly indptr: Int32Array,
    private readonly indices: Int32Array,
    private readonly values: Float32Array,
    private readonly out: Float32Array,
    private readonly outBias: Float32Array,
    private readonly rowReg: Float32Array,
    readonly maxEntries: number,
    readonly maxRows: number,
    private readonly cgSteps: number,
  ) {}

  static async create(model: AlsModel, backend: BackendName, opts: FoldInOptions = {}): Promise<FoldIn> {
    const maxEntries = opts.maxEntries ?? 10_000;
    const maxRows = opts.maxRows ?? 256;
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new RangeError(`maxEntries must be ≥ 1, got ${maxEntries}`);
    if (!Number.isInteger(maxRows) || maxRows < 1)
      throw new RangeError(`maxRows must be ≥ 1, got ${maxRows}`);
    const f = model.factors;
    const nItems = model.itemIds.length;
    // Inputs and outputs, plus kernel scratch (the wasm kernels take theirs from the arena too).
    const bytes =
      (nItems * (f + 1) + f * f + maxEntries * 2 + maxRows * (f + 3) + 16) * 4 + 16 * 64 + (4 << 20);
    const arena = Arena.create(bytes, { wasm: backend === 'wasm' });
    const kernels = await loadKernels(backend, arena);
    const other = arena.copyOf(model.itemFactors);
    const otherBias = arena.copyOf(model.itemBias);
    const params = model.meta.params;
    let gram: Float32Array | null = null;
    if (params.mode === 'implicit') {
      gram = arena.f32(f * f);
      kernels.gramian(other, nItems, f, params.lambda, gram);
    }
    return new FoldIn(
      model,
      kernels,
      other,
      otherBias,
      gram,
      arena.i32(maxRows + 1),
      arena.i32(maxEntries),
      arena.f32(maxEntries),
      arena.f32(maxRows * f),
      arena.f32(maxRows),
      arena.f32(maxRows),
      maxEntries,
      maxRows,
      opts.cgSteps ?? params.cgSteps,
    );
  }

  /**
   * The vector of a user who interacted with item indices `items` with `values` (ratings in
   * explicit mode, implicit weights otherwise). Repeated items merge as in training: the
   * last rating counts (explicit), weights add up (implicit).
   */
  solve(items: ArrayLike<number>, values: ArrayLike<number>): FoldInResult {
    return this.solveMany([{ items, values }])[0]!;
  }

  /**
   * Many users at once, as solve() would give each: the rows go through the kernel together
   * (one call per maxRows users or maxEntries items), which is what makes the speed layer's
   * micro-batches cheap.
   */
  solveMany(rows: readonly FoldInRow[]): FoldInResult[] {
    return this.solveMerged(rows.map((r) => this.merge(r)));
  }

  /**
   * solveMany for rows already merged per item (item index → value), as the speed layer keeps
   * histories: indices must be the model's and values finite (they are not checked again).
   */
  solveMerged(merged: readonly ReadonlyMap<number, number>[]): FoldInResult[] {
    for (const m of merged)
      if (m.size > this.maxEntries)
        throw new RangeError(`${m.size} distinct items exceed the fold-in limit of ${this.maxEntries}`);
    const results: FoldInResult[] = [];
    let from = 0;
    while (from < merged.length) {
      let to = from;
      let entries = 0;
      while (
        to < merged.length &&
        to - from < this.maxRows &&
        entries + merged[to]!.size <= this.maxEntries
      ) {
        entries += merged[to]!.size;
        to++;
      }
      for (const r of this.solveChunk(merged.slice(from, to))) results.push(r);
      from = to;
    }
    return results;
  }

  /** One row's entries merged (sorted later), checked against the model. */
  private merge({ items, values }: FoldInRow): Map<number, number> {
    if (items.length !== values.length)
      throw new RangeError(`items and values differ in length (${items.length} vs ${values.length})`);
    const implicit = this.model.meta.params.mode === 'implicit';
    const nItems = this.model.itemIds.length;
    const merged = new Map<number, number>();
    for (let e = 0; e < items.length; e++) {
      const i = items[e]!;
      const v = values[e]!;
      if (!Number.isInteger(i) || i < 0 || i >= nItems)
        throw new RangeError(`item index ${i} is not in 0..${nItems - 1}`);
      if (!Number.isFinite(v)) throw new RangeError(`value for item index ${i} is not a finite number`);
      merged.set(i, implicit ? (merged.get(i) ?? 0) + v : v);
    }
    if (merged.size > this.maxEntries)
      throw new RangeError(`${merged.size} distinct items exceed the fold-in limit of ${this.maxEntries}`);
    return merged;
  }

  private solveChunk(rows: readonly ReadonlyMap<number, number>[]): FoldInResult[] {
    const params = this.model.meta.params;
    const implicit = params.mode === 'implicit';
    const f = this.model.factors;
    const n = rows.length;
    let e = 0;
    this.indptr[0] = 0;
    for (let r = 0; r < n; r++) {
      const row = rows[r]!;
      // Sorted indices, as toCsr produces them: the kernels' float sums then run in the trainer's order.
      // (A typed array sorts numerically in place, far cheaper than an array with a comparator.)
      const start = e;
      for (const i of row.keys()) this.indices[e++] = i;
      const sorted = this.indices.subarray(start, e).sort();
      for (let k = 0; k < sorted.length; k++) {
        const v = row.get(sorted[k]!)!;
        this.values[start + k] = implicit ? 1 + params.alpha * v : v;
      }
      this.indptr[r + 1] = e;
      this.rowReg[r] = params.lambda * sorted.length ** params.regExponent;
    }
    const csr = {
      indptr: this.indptr.subarray(0, n + 1),
      indices: this.indices.subarray(0, Math.max(1, e)),
      values: this.values.subarray(0, Math.max(1, e)),
    };
    this.out.fill(0, 0, n * f);
    this.outBias.fill(0, 0, n);
    if (implicit) {
      this.kernels.implicitHalfStep({
        csr,
        rowStart: 0,
        rowEnd: n,
        other: this.other,
        gram: this.gram!,
        out: this.out,
        factors: f,
        cgSteps: this.cgSteps,
      });
    } else {
      this.kernels.explicitHalfStep({
        csr,
        rowStart: 0,
        rowEnd: n,
        other: this.other,
        otherBias: this.otherBias,
        out: this.out,
        outBias: this.outBias,
        factors: f,
        rowReg: this.rowReg,
        biasReg: params.biasReg,
        globalMean: this.model.meta.globalMean,
        useBias: params.useBias,
      });
    }
    const results: FoldInResult[] = [];
    for (let r = 0; r < n; r++)
      results.push({
        vector: this.out.slice(r * f, (r + 1) * f),
        bias: this.outBias[r]!,
        entries: this.indptr[r + 1]! - this.indptr[r]!,
      });
    return results;
  }
}
