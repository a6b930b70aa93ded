/**
 * Train/test splits for evaluation.
 *
 * Splits are selections of COO entry numbers (ascending), not copies, so a 20M-entry set
 * is split without duplicating its columns; `selectCoo` materialises a side when needed.
 * Both sides keep the full id maps, so a user's index is the same in train and test.
 * All randomness comes from the seeded Rng: the same seed gives the same split anywhere.
 */
import type * as arrow from 'apache-arrow';
import { Rng } from '../compute/random.js';
import { type InteractionFormat, loadInteractions } from './loaders.js';
import { type Coo, cooFromTableKnown, type DropStats } from './matrix.js';

/** Entry numbers into a COO; every entry is in exactly one side. */
export interface Split {
  train: Int32Array;
  test: Int32Array;
}

function checkFraction(f: number): void {
  if (!(f >= 0 && f < 1)) throw new RangeError(`test fraction must be in [0, 1), got ${f}`);
}

/**
 * Uniform random split by interaction: exactly round(f · nnz) entries go to test.
 * Selection sampling (Knuth's Algorithm S): entry k is picked with probability
 * (still needed) / (still left), one draw per entry, no permutation array, and the
 * selection comes out in ascending order.
 */
export function randomSplit(coo: { rows: Int32Array }, testFraction: number, seed: number): Split {
  checkFraction(testFraction);
  const n = coo.rows.length;
  let need = Math.round(testFraction * n);
  const rng = new Rng(seed);
  const test = new Int32Array(need);
  const train = new Int32Array(n - need);
  let t = 0;
  let r = 0;
  for (let k = 0; k < n; k++) {
    if (need > 0 && rng.next() * (n - k) < need) {
      test[t++] = k;
      need--;
    } else {
      train[r++] = k;
    }
  }
  return { train, test };
}

/**
 * Time split per user: each user's latest round(f · n_u) interactions by timestamp go to
 * test, capped at n_u − 1 so every user keeps at least one training interaction (users with
 * a single interaction stay entirely in train). Ties in time keep input order; entries
 * without a timestamp count as oldest. Needs timestamps.
 */
export function timeSplit(coo: Pick<Coo, 'rows' | 'ts'>, testFraction: number): Split {
  checkFraction(testFraction);
  const { rows, ts } = coo;
  if (ts === null) throw new Error('time split needs timestamps, and these interactions have none');
  const n = rows.length;
  let nUsers = 0;
  for (let k = 0; k < n; k++) if (rows[k]! >= nUsers) nUsers = rows[k]! + 1;
  // Group entry numbers by user (counting sort; within a user, input order).
  const start = new Int32Array(nUsers + 1);
  for (let k = 0; k < n; k++) start[rows[k]! + 1]!++;
  for (let u = 0; u < nUsers; u++) start[u + 1]! += start[u]!;
  const next = start.slice(0, nUsers);
  const byUser = new Int32Array(n);
  for (let k = 0; k < n; k++) byUser[next[rows[k]!]!++] = k;

  const key = (k: number) => (Number.isNaN(ts[k]!) ? Number.NEGATIVE_INFINITY : ts[k]!);
  const isTest = new Uint8Array(n);
  let nTest = 0;
  for (let u = 0; u < nUsers; u++) {
    const a = start[u]!;
    const b = start[u + 1]!;
    const count = b - a;
    const k = Math.min(Math.round(testFraction * count), count - 1);
    if (k <= 0) continue;
    const seg = byUser.subarray(a, b);
    seg.sort((x, y) => key(x) - key(y) || x - y);
    for (let j = count - k; j < count; j++) isTest[seg[j]!] = 1;
    nTest += k;
  }
  const test = new Int32Array(nTest);
  const train = new Int32Array(n - nTest);
  let t = 0;
  let r = 0;
  for (let k = 0; k < n; k++) {
    if (isTest[k]) test[t++] = k;
    else train[r++] = k;
  }
  return { train, test };
}

/** The sub-COO of the given entries (same id maps). */
export function selectCoo(coo: Coo, entries: Int32Array): Coo {
  const m = entries.length;
  const rows = new Int32Array(m);
  const cols = new Int32Array(m);
  const values = new Float32Array(m);
  const ts = coo.ts ? new Float64Array(m) : null;
  for (let j = 0; j < m; j++) {
    const k = entries[j]!;
    rows[j] = coo.rows[k]!;
    cols[j] = coo.cols[k]!;
    values[j] = coo.values[k]!;
    if (ts) ts[j] = coo.ts![k]!;
  }
  return { userIds: coo.userIds, itemIds: coo.itemIds, rows, cols, values, ts };
}

export interface Holdout {
  test: Coo; // indexed with the training set's id maps
  dropped: DropStats; // interactions whose user or item never occurs in training
}

/**
 * A holdout table against a training COO: users and items unknown to training cannot be
 * scored, so those interactions are dropped and counted (the caller reports the counts).
 */
export function holdoutFromTable(table: arrow.Table, train: Coo): Holdout {
  const { coo, dropped } = cooFromTableKnown(table, train.userIds, train.itemIds);
  return { test: coo, dropped };
}

/** Load a holdout file (any loader format) against a training COO; see holdoutFromTable. */
export async function loadHoldout(file: string, train: Coo, format?: InteractionFormat): Promise<Holdout> {
  return holdoutFromTable(await loadInteractions(file, format), train);
}
