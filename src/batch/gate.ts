/**
 * The promotion gate. A run holds out its latest interactions by time — the newest
 * `fraction` of the window, and never anything the active model trained on (its dataUntil) —
 * trains a candidate on the rest, and scores the candidate and the active model on the same
 * held-out pairs: those whose user and item both models know (a model cannot be asked about
 * ids it never saw, and dropping them from one side only would favour it). Explicit models
 * are compared by RMSE/MAE, implicit ones by ranking metrics at 10, each excluding the items
 * its own training saw. The candidate is published when its metric is no worse than the
 * active model's by more than the tolerance (a fraction of the active model's value).
 */
import type { BackendName } from '../compute/kernels.js';
import type { ComputePool } from '../compute/pool.js';
import { IdMap } from '../data/ids.js';
import type { Coo } from '../data/matrix.js';
import { evaluateRanking, evaluateRatings, modelMetrics } from '../model/evaluate.js';
import type { AlsModel } from '../model/model.js';
import type { AlsMode } from '../model/params.js';

export const RANKING_K = 10;

/** Metrics where smaller is better; every other one (ranking, coverage) is larger-is-better. */
const LOWER_IS_BETTER = new Set(['rmse', 'mae']);

export const defaultGateMetric = (mode: AlsMode) => (mode === 'explicit' ? 'rmse' : `ndcg_at_${RANKING_K}`);

export interface TimeSplit {
  /** Held out: interactions at or after this time (epoch ms); null when nothing is held out. */
  cutMs: number | null;
  train: Coo;
  /** Held-out pairs by id (they are compared across models with different id maps). */
  test: { users: string[]; items: string[]; values: Float32Array };
}

/**
 * Splits at the time before which (1 − fraction) of the interactions lie, moved later when the
 * active model already saw data up to then. The training side gets id maps of its own, so a
 * user or item seen only in the holdout is not part of the candidate.
 */
export function splitByTime(
  coo: Coo & { ts: Float64Array },
  fraction: number,
  notBefore: number | null,
): TimeSplit {
  const n = coo.rows.length;
  // The quantile from an even sample of at most a million times: sorting 20M costs seconds.
  const step = Math.max(1, Math.floor(n / 1_000_000));
  const sample = new Float64Array(Math.ceil(n / step));
  for (let j = 0; j < sample.length; j++) sample[j] = coo.ts[j * step]!;
  sample.sort();
  let cut = sample[Math.min(sample.length - 1, Math.floor(sample.length * (1 - fraction)))]!;
  if (notBefore !== null && cut <= notBefore) cut = notBefore + 1;
  let nTest = 0;
  for (let k = 0; k < n; k++) if (coo.ts[k]! >= cut) nTest++;
  // Nothing would be left to train on (all at one time): train on everything, compare nothing.
  if (nTest === 0 || nTest === n) {
    return { cutMs: null, train: coo, test: { users: [], items: [], values: new Float32Array(0) } };
  }
  const users = new IdMap();
  const items = new IdMap();
  const m = n - nTest;
  const train: Coo = {
    userIds: users,
    itemIds: items,
    rows: new Int32Array(m),
    cols: new Int32Array(m),
    values: new Float32Array(m),
    ts: new Float64Array(m),
  };
  const test = {
    users: new Array<string>(nTest),
    items: new Array<string>(nTest),
    values: new Float32Array(nTest),
  };
  const userId = coo.userIds.ids();
  const itemId = coo.itemIds.ids();
  let a = 0;
  let b = 0;
  for (let k = 0; k < n; k++) {
    if (coo.ts[k]! >= cut) {
      test.users[b] = userId[coo.rows[k]!]!;
      test.items[b] = itemId[coo.cols[k]!]!;
      test.values[b++] = coo.values[k]!;
    } else {
      train.rows[a] = users.add(userId[coo.rows[k]!]!);
      train.cols[a] = items.add(itemId[coo.cols[k]!]!);
      train.values[a] = coo.values[k]!;
      train.ts![a++] = coo.ts[k]!;
    }
  }
  return { cutMs: cut, train, test };
}

export interface GateOptions {
  mode: AlsMode;
  metric: string;
  tolerance: number;
  backend: BackendName;
  pool: ComputePool;
}

export interface GateResult {
  publish: boolean;
  reason: string;
  metric: string;
  candidate: Record<string, number>;
  active: Record<string, number> | null;
}

export async function judge(
  candidate: AlsModel,
  active: AlsModel | null,
  test: TimeSplit['test'],
  opts: GateOptions,
): Promise<GateResult> {
  const { metric } = opts;
  const known = (m: AlsModel, k: number) =>
    m.userIdx(test.users[k]!) !== undefined && m.itemIdx(test.items[k]!) !== undefined;
  const shared: number[] = [];
  for (let k = 0; k < test.users.length; k++)
    if (known(candidate, k) && (!active || known(active, k))) shared.push(k);
  if (shared.length === 0) {
    return {
      publish: true,
      reason: active ? 'no held-out interaction both models know: nothing to compare' : 'no active model',
      metric,
      candidate: {},
      active: null,
    };
  }
  const score = async (m: AlsModel) => {
    const sel = {
      rows: Int32Array.from(shared, (k) => m.userIdx(test.users[k]!)!),
      cols: Int32Array.from(shared, (k) => m.itemIdx(test.items[k]!)!),
      values: Float32Array.from(shared, (k) => test.values[k]!),
    };
    const e =
      opts.mode === 'explicit'
        ? evaluateRatings(m, sel)
        : await evaluateRanking(m, sel, RANKING_K, opts.backend, opts.pool);
    return modelMetrics(e);
  };
  const mine = await score(candidate);
  if (!(metric in mine))
    throw new Error(
      `the gate's metric "${metric}" is not one a ${opts.mode} model reports (${Object.keys(mine).join(', ')})`,
    );
  if (!active) return { publish: true, reason: 'no active model', metric, candidate: mine, active: null };
  const theirs = await score(active);
  const c = mine[metric]!;
  const a = theirs[metric]!;
  const lower = LOWER_IS_BETTER.has(metric);
  const bound = lower ? a * (1 + opts.tolerance) : a * (1 - opts.tolerance);
  const publish = lower ? c <= bound : c >= bound;
  const relation = publish ? 'within' : 'worse than';
  return {
    publish,
    reason: `${metric} ${c} vs active ${a}: ${relation} the tolerance of ${opts.tolerance * 100}%`,
    metric,
    candidate: mine,
    active: theirs,
  };
}
