/**
 * A trained ALS model: factors, biases, id maps and the training interactions (to skip
 * items a user has already seen). It can be saved, loaded back and asked for
 * recommendations without retraining; serving, speed and batch layers all use this class.
 */

import {
  factorTableFromIPC,
  factorTableToIPC,
  pairsFromIPC,
  pairsToIPC,
  readModelFile,
  writeFolderAtomically,
} from './artifact.js';
import type { AlsParams } from './params.js';

export interface ModelMeta {
  version: string;
  algorithm: 'als';
  params: AlsParams;
  metrics: Record<string, number>;
  globalMean: number;
  /** Rating range seen in training (explicit predictions are clipped to it). */
  valueRange: [number, number];
  shapes: { users: number; items: number; factors: number; interactions: number };
  createdAt: string;
  /**
   * The newest interaction time in the training data (ISO-8601), when the data had times: the
   * speed layer folds in a user's training row plus the interactions after it.
   */
  dataUntil?: string;
}

export class UnknownIdError extends Error {
  constructor(
    readonly kind: 'user' | 'item',
    readonly id: string,
  ) {
    super(`unknown ${kind} id '${id}'`);
    this.name = 'UnknownIdError';
  }
}

export class AlsModel {
  private userIndex?: Map<string, number>;
  private itemIndex?: Map<string, number>;

  constructor(
    readonly meta: ModelMeta,
    readonly userIds: string[],
    readonly itemIds: string[],
    readonly userFactors: Float32Array,
    readonly itemFactors: Float32Array,
    readonly userBias: Float32Array,
    readonly itemBias: Float32Array,
    /** Training interactions as a user → item CSR (indices only). */
    readonly seenIndptr: Int32Array,
    readonly seenIndices: Int32Array,
    /**
     * The training values of the seen pairs (ratings; implicit: summed event weights before
     * the confidence transform), so a fold-in can redo a user's training row; null for
     * artifacts saved before they were kept.
     */
    readonly seenValues: Float32Array | null = null,
  ) {}

  get factors(): number {
    return this.meta.params.factors;
  }

  userIdx(id: string): number | undefined {
    this.userIndex ??= new Map(this.userIds.map((u, i) => [u, i]));
    return this.userIndex.get(id);
  }

  itemIdx(id: string): number | undefined {
    this.itemIndex ??= new Map(this.itemIds.map((u, i) => [u, i]));
    return this.itemIndex.get(id);
  }

  seen(userIdx: number): Int32Array {
    return this.seenIndices.subarray(this.seenIndptr[userIdx], this.seenIndptr[userIdx + 1]);
  }

  /** Ranking uses biases as one more dimension: items [y_i, b_i] · queries [x_u, 1]. */
  get usesBias(): boolean {
    return this.meta.params.mode === 'explicit' && this.meta.params.useBias;
  }

  get scoringDims(): number {
    return this.factors + (this.usesBias ? 1 : 0);
  }

  /** Item matrix for top-K scoring (nItems × scoringDims). */
  scoringItems(): Float32Array {
    if (!this.usesBias) return this.itemFactors;
    const f = this.factors;
    const out = new Float32Array(this.itemIds.length * (f + 1));
    for (let i = 0; i < this.itemIds.length; i++) {
      out.set(this.itemFactors.subarray(i * f, i * f + f), i * (f + 1));
      out[i * (f + 1) + f] = this.itemBias[i];
    }
    return out;
  }

  /** A user's factor vector turned into a scoring query (scoringDims long). */
  queryFor(vector: Float32Array): Float32Array {
    if (!this.usesBias) return vector;
    const q = new Float32Array(this.factors + 1);
    q.set(vector);
    q[this.factors] = 1;
    return q;
  }

  /** Scoring queries for these users (default all), one row of scoringDims each. */
  userQueries(users?: ArrayLike<number>): Float32Array {
    const n = users ? users.length : this.userIds.length;
    const dims = this.scoringDims;
    const out = new Float32Array(n * dims);
    for (let r = 0; r < n; r++) out.set(this.queryFor(this.userVector(users ? users[r] : r)), r * dims);
    return out;
  }

  userVector(userIdx: number): Float32Array {
    return this.userFactors.subarray(userIdx * this.factors, (userIdx + 1) * this.factors);
  }

  /** Predicted rating (explicit) or preference (implicit) for one pair of indices. */
  predict(userIdx: number, itemIdx: number): number {
    const f = this.factors;
    let dot = 0;
    for (let c = 0; c < f; c++) dot += this.userFactors[userIdx * f + c] * this.itemFactors[itemIdx * f + c];
    if (this.meta.params.mode === 'implicit') return dot;
    const [lo, hi] = this.meta.valueRange;
    const raw = this.meta.globalMean + this.userBias[userIdx] + this.itemBias[itemIdx] + dot;
    return Math.min(hi, Math.max(lo, raw));
  }

  /** The artifact's files (DESIGN.md §4): model.json and Arrow IPC tables. */
  toFiles(): Record<string, Uint8Array | string> {
    const f = this.factors;
    const users = new Int32Array(this.seenIndices.length);
    for (let u = 0; u + 1 < this.seenIndptr.length; u++)
      users.fill(u, this.seenIndptr[u], this.seenIndptr[u + 1]);
    return {
      'model.json': `${JSON.stringify(this.meta, null, 2)}\n`,
      'user_factors.arrow': factorTableToIPC(
        'user_id',
        { ids: this.userIds, bias: this.userBias, factors: this.userFactors },
        f,
      ),
      'item_factors.arrow': factorTableToIPC(
        'item_id',
        { ids: this.itemIds, bias: this.itemBias, factors: this.itemFactors },
        f,
      ),
      'seen.arrow': pairsToIPC(users, this.seenIndices, this.seenValues),
    };
  }

  async save(dir: string): Promise<void> {
    await writeFolderAtomically(dir, this.toFiles());
  }

  /** Rebuild a model from its artifact files, read through `read(name)`. */
  static async fromFiles(where: string, read: (name: string) => Promise<Uint8Array>): Promise<AlsModel> {
    let meta: ModelMeta;
    try {
      meta = JSON.parse(Buffer.from(await read('model.json')).toString('utf8')) as ModelMeta;
    } catch (err) {
      throw new Error(`not a model folder: ${where}: ${(err as Error).message}`);
    }
    const f = meta.params.factors;
    const users = factorTableFromIPC(await read('user_factors.arrow'), 'user_id', f);
    const items = factorTableFromIPC(await read('item_factors.arrow'), 'item_id', f);
    const seen = pairsFromIPC(await read('seen.arrow'));
    const indptr = new Int32Array(users.ids.length + 1);
    for (let e = 0; e < seen.users.length; e++) indptr[seen.users[e] + 1]++;
    for (let u = 0; u < users.ids.length; u++) indptr[u + 1] += indptr[u];
    return new AlsModel(
      meta,
      users.ids,
      items.ids,
      users.factors,
      items.factors,
      users.bias,
      items.bias,
      indptr,
      seen.items,
      seen.values,
    );
  }

  static load(dir: string): Promise<AlsModel> {
    return AlsModel.fromFiles(dir, (name) => readModelFile(dir, name));
  }
}
