/**
 * The one kernel interface every backend (native, wasm, js) implements.
 *
 * All matrices are float32 row-major; sparse rows are CSR (indptr int32, indices int32,
 * values float32). Every array is a view into an Arena (see arena.ts), so worker threads
 * share them instead of copying; the wasm backend additionally requires that the arena is
 * its own (shared) linear memory, which Arena.create({ wasm: true }) guarantees.
 *
 * Kernels are synchronous and single-threaded: parallelism comes from the Piscina pool,
 * which gives each task a disjoint row range [rowStart, rowEnd).
 */

export type BackendName = 'native' | 'wasm' | 'js';

export interface Csr {
  indptr: Int32Array; // nRows + 1
  indices: Int32Array; // nnz, column index of each entry
  values: Float32Array; // nnz
}

/**
 * Explicit-feedback ALS half-step with per-row penalties. With rowReg[u] = λ·n_u this is
 * the weighted-λ ALS of Zhou et al. 2008; the trainer computes rowReg once per direction
 * (see src/model/penalty.ts), so kernels never need pow().
 * For each row u in [rowStart, rowEnd) with entries (i, r_ui), ρ = rowReg[u]:
 *   useBias:  solve for z = [x_u; b_u] with φ_i = [y_i; 1], t_i = r_ui − μ − b_i:
 *             (Σ φ_i φ_iᵀ + ρ·diag(1, …, 1, biasReg)) z = Σ t_i φ_i
 *   !useBias: solve (Σ y_i y_iᵀ + ρ I) x_u = Σ (r_ui − μ) y_i, and b_u = 0.
 * Rows with no entries get x_u = 0, b_u = 0. Solved by Cholesky (the system is SPD for ρ > 0).
 */
export interface ExplicitStepArgs {
  csr: Csr;
  rowStart: number;
  rowEnd: number;
  other: Float32Array; // nOther × factors, fixed
  otherBias: Float32Array; // nOther, fixed (all zero when useBias is false)
  out: Float32Array; // nRows × factors; rows [rowStart, rowEnd) are written
  outBias: Float32Array; // nRows; entries [rowStart, rowEnd) are written
  factors: number;
  rowReg: Float32Array; // nRows: the penalty ρ_u of each row
  biasReg: number; // the bias diagonal gets biasReg·ρ_u
  globalMean: number;
  useBias: boolean;
}

/**
 * Implicit-feedback ALS half-step (Hu, Koren, Volinsky 2008) with the conjugate-gradient
 * solver of Takács et al. 2011, exactly as the `implicit` library's `_solve_cg`:
 * csr.values hold confidences c_ui (the caller passes 1 + α·r_ui), preference p_ui = 1; a
 * value c ≤ 0 is negative feedback: preference 0 with confidence |c|, as `implicit` reads it,
 * gram = YᵀY + λI precomputed once per half-step, `out` rows are the warm start and are
 * updated in place with `cgSteps` CG iterations (stopping early when rᵀr < 1e-20).
 * Rows with no entries are set to 0, the exact solution of (YᵀY + λI)x = 0.
 */
export interface ImplicitStepArgs {
  csr: Csr;
  rowStart: number;
  rowEnd: number;
  other: Float32Array; // nOther × factors, fixed
  gram: Float32Array; // factors × factors: YᵀY + λI
  out: Float32Array; // nRows × factors, read (warm start) and written
  factors: number;
  cgSteps: number;
}

/**
 * Top-K by dot product for a batch of queries. For query q (row q of `queries`), skip the
 * items listed in excludeIndices[excludeIndptr[q] .. excludeIndptr[q+1]) (any order,
 * duplicates allowed), and write the K best into row q of outIndices/outScores, best first;
 * ties broken by the lower item index. When fewer than K items remain, the tail is
 * index −1 with score −Infinity.
 */
export interface TopKArgs {
  queries: Float32Array; // nQueries × factors
  nQueries: number;
  items: Float32Array; // nItems × factors
  nItems: number;
  factors: number;
  k: number;
  excludeIndptr: Int32Array | null; // nQueries + 1, or null for no exclusions
  excludeIndices: Int32Array | null;
  outIndices: Int32Array; // nQueries × k
  outScores: Float32Array; // nQueries × k
}

export interface Kernels {
  readonly name: BackendName;
  /** out (factors × factors) = YᵀY + reg·I over the nRows rows of y. */
  gramian(y: Float32Array, nRows: number, factors: number, reg: number, out: Float32Array): void;
  explicitHalfStep(args: ExplicitStepArgs): void;
  implicitHalfStep(args: ImplicitStepArgs): void;
  topK(args: TopKArgs): void;
}
