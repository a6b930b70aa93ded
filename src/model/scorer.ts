/**
 * Top-K scoring over a fixed item matrix. The item matrix sits in an arena so that large
 * batches can be split across the pool; single queries run on this thread's kernels, which
 * is faster than a round trip to a worker.
 */
import { Arena } from '../compute/arena.js';
import { loadKernels } from '../compute/backends.js';
import type { BackendName, Kernels } from '../compute/kernels.js';
import type { ComputePool } from '../compute/pool.js';

export interface TopKResult {
  indices: Int32Array; // nQueries × k, -1 padded
  scores: Float32Array; // nQueries × k, -Infinity padded
}

/** How many queries one call (or one pool task) handles: bounds the batch buffers. */
const BATCH = 1024;
/**
 * Excluded indices one batch may carry: at least 2^20, and always enough for one query to
 * exclude every item twice over (a category filter excludes the rest of the catalog, and
 * the user's seen items overlap it), whatever the catalog's size.
 */
const excludeCapacity = (nItems: number) => Math.max(1 << 20, 2 * nItems + 1024);

export class Scorer {
  private constructor(
    readonly backend: BackendName,
    readonly arena: Arena,
    private readonly kernels: Kernels,
    readonly items: Float32Array,
    readonly nItems: number,
    readonly dims: number,
    readonly maxK: number,
    private readonly buffers: Array<{
      q: Float32Array;
      ptr: Int32Array;
      ex: Int32Array;
      oi: Int32Array;
      os: Float32Array;
    }>,
  ) {}

  /**
   * @param items nItems × dims row-major; copied into the scorer's arena.
   * @param slots how many batches may run at once (one per pool thread is enough).
   */
  static async create(
    backend: BackendName,
    items: Float32Array,
    nItems: number,
    dims: number,
    opts: { maxK?: number; slots?: number } = {},
  ): Promise<Scorer> {
    const maxK = opts.maxK ?? 1000;
    const slots = opts.slots ?? 1;
    const maxExcludes = excludeCapacity(nItems);
    const perSlot = (BATCH * dims + BATCH + 1 + maxExcludes + 2 * BATCH * maxK) * 4;
    const arena = Arena.create(items.length * 4 + slots * perSlot + (slots + 1) * (8 << 20), {
      wasm: backend === 'wasm',
    });
    const kernels = await loadKernels(backend, arena);
    const buffers = Array.from({ length: slots }, () => ({
      q: arena.f32(BATCH * dims),
      ptr: arena.i32(BATCH + 1),
      ex: arena.i32(maxExcludes),
      oi: arena.i32(BATCH * maxK),
      os: arena.f32(BATCH * maxK),
    }));
    return new Scorer(backend, arena, kernels, arena.copyOf(items), nItems, dims, maxK, buffers);
  }

  /**
   * Top-k items for each query row; `exclude(q)` lists item indices to skip for query q.
   * With a pool, batches run on its workers in parallel (one buffer slot each).
   */
  async topK(
    queries: Float32Array,
    k: number,
    exclude?: (q: number) => ArrayLike<number>,
    pool?: ComputePool,
  ): Promise<TopKResult> {
    if (!Number.isInteger(k) || k < 1 || k > this.maxK)
      throw new RangeError(`k must be 1..${this.maxK}, got ${k}`);
    const nQ = queries.length / this.dims;
    const result: TopKResult = { indices: new Int32Array(nQ * k), scores: new Float32Array(nQ * k) };
    const free = [...this.buffers.keys()];
    const waiters: Array<() => void> = [];
    const runBatch = async (start: number) => {
      while (free.length === 0) await new Promise<void>((r) => waiters.push(r));
      const slot = free.pop()!;
      try {
        const n = Math.min(BATCH, nQ - start);
        const b = this.buffers[slot];
        b.q.set(queries.subarray(start * this.dims, (start + n) * this.dims));
        let m = 0;
        b.ptr[0] = 0;
        for (let q = 0; q < n; q++) {
          const ex = exclude?.(start + q) ?? [];
          if (m + ex.length > b.ex.length) throw new RangeError('too many excluded items in one batch');
          const from = m;
          for (let e = 0; e < ex.length; e++) b.ex[m++] = ex[e];
          sortIfNeeded(b.ex.subarray(from, m));
          b.ptr[q + 1] = m;
        }
        const args = {
          queries: b.q.subarray(0, n * this.dims),
          nQueries: n,
          items: this.items,
          nItems: this.nItems,
          factors: this.dims,
          k,
          excludeIndptr: b.ptr.subarray(0, n + 1),
          excludeIndices: b.ex.subarray(0, Math.max(1, m)),
          outIndices: b.oi.subarray(0, n * k),
          outScores: b.os.subarray(0, n * k),
        };
        if (pool) await pool.run(this.backend, this.arena, { op: 'topK', args });
        else this.kernels.topK(args);
        result.indices.set(args.outIndices, start * k);
        result.scores.set(args.outScores, start * k);
      } finally {
        free.push(slot);
        waiters.shift()?.();
      }
    };
    const batches: Promise<void>[] = [];
    for (let start = 0; start < nQ; start += BATCH) batches.push(runBatch(start));
    await Promise.all(batches);
    return result;
  }
}

/**
 * The kernels walk each query's exclusions with a forward cursor, so they sort an unsorted
 * list first — the wasm kernel in a scratch area of bounded size, beyond which it falls back
 * to a linear search per item (a category filter over a million-item catalog, appended to
 * the user's seen items, took minutes that way). Sorting here, once, keeps every backend on
 * its fast path; lists that are sorted already (the common case) cost one pass.
 */
function sortIfNeeded(list: Int32Array): void {
  for (let i = 1; i < list.length; i++) {
    if (list[i] < list[i - 1]) {
      list.sort();
      return;
    }
  }
}
