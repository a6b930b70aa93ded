/** ALS hyper-parameters, shared by the trainer, the CLI, the batch job and model.json. */
export type AlsMode = 'explicit' | 'implicit';

export interface AlsParams {
  mode: AlsMode;
  factors: number;
  iterations: number;
  /** Explicit: λ in ρ_u = λ·n_u^regExponent (weighted-λ); implicit: plain λ. */
  lambda: number;
  /** Explicit: exponent of the row count in the penalty (1 = Zhou et al.'s weighted-λ). */
  regExponent: number;
  /** Explicit: the bias penalty as a fraction of the factors' penalty. */
  biasReg: number;
  /** Implicit confidence: c = 1 + alpha · value. */
  alpha: number;
  /** Conjugate-gradient steps per implicit half-step (implicit's default is 3). */
  cgSteps: number;
  /** User and item biases (explicit mode only). */
  useBias: boolean;
  seed: number;
}

export const DEFAULT_PARAMS: Record<AlsMode, AlsParams> = {
  explicit: {
    mode: 'explicit',
    factors: 64,
    iterations: 15,
    // Tuned on MovieLens 100K u1..u5 (bench/RESULTS.md): a penalty growing slower than the
    // row count, and a lighter one on biases, beat Zhou's λ·n_u (mean RMSE 0.9085 against
    // 0.9125 for the best weighted-λ, λ = 0.12).
    lambda: 0.8,
    regExponent: 0.6,
    biasReg: 0.5,
    alpha: 1,
    cgSteps: 3,
    useBias: true,
    seed: 42,
  },
  implicit: {
    mode: 'implicit',
    factors: 64,
    iterations: 15,
    // Tuned on MovieLens 100K positives (bench/RESULTS.md, implicit quality): NDCG@10 is
    // 0.147–0.156 for α 1–2 with λ 10–20, 0.124 at α 40 (Hu et al.'s value) with λ 0.01, and
    // 0.085 for popularity. λ is a plain ridge, not scaled by a row's count, so the same λ
    // weighs more on a smaller data set.
    lambda: 15,
    regExponent: 1,
    biasReg: 1,
    alpha: 1,
    cgSteps: 3,
    useBias: false,
    seed: 42,
  },
};

export function validateParams(p: AlsParams): AlsParams {
  const fail = (what: string) => {
    throw new RangeError(`invalid ALS parameter: ${what}`);
  };
  if (p.mode !== 'explicit' && p.mode !== 'implicit')
    fail(`mode must be explicit or implicit, got ${p.mode}`);
  if (!Number.isInteger(p.factors) || p.factors < 1 || p.factors > 1024)
    fail(`factors must be 1..1024, got ${p.factors}`);
  if (!Number.isInteger(p.iterations) || p.iterations < 1 || p.iterations > 1000)
    fail(`iterations must be 1..1000, got ${p.iterations}`);
  if (!(p.lambda > 0) || !Number.isFinite(p.lambda)) fail(`lambda must be > 0, got ${p.lambda}`);
  if (!(p.regExponent >= 0 && p.regExponent <= 2))
    fail(`regExponent must be in [0, 2], got ${p.regExponent}`);
  if (!(p.biasReg >= 0) || !Number.isFinite(p.biasReg)) fail(`biasReg must be ≥ 0, got ${p.biasReg}`);
  if (!(p.alpha > 0) || !Number.isFinite(p.alpha)) fail(`alpha must be > 0, got ${p.alpha}`);
  if (!Number.isInteger(p.cgSteps) || p.cgSteps < 1) fail(`cgSteps must be ≥ 1, got ${p.cgSteps}`);
  if (!Number.isInteger(p.seed)) fail(`seed must be an integer, got ${p.seed}`);
  return p;
}
