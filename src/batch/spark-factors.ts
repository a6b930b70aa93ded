/**
 * The Spark engine's output read back: factor Parquet (one row per id: a string id and a
 * float array, in as many part files as Spark wrote) from the object store, and the model
 * built from it and the run's own data — the same AlsModel the built-in engine makes, so
 * evaluation, precompute and serving cannot tell the engines apart.
 */

import type { Csr } from '../compute/kernels.js';
import type { Coo } from '../data/matrix.js';
import { toCsr } from '../data/matrix.js';
import { decodeParquet } from '../data/parquet-loader.js';
import { dataExtent } from '../model/fit.js';
import { AlsModel } from '../model/model.js';
import type { AlsParams } from '../model/params.js';
import type { ObjectStore } from '../stores/objects/port.js';

export interface FactorRows {
  ids: string[];
  /** ids.length × dims, row by row. */
  factors: Float32Array;
}

/** The Parquet parts under `prefix` (Spark's own _SUCCESS and .crc files left out). */
export async function factorParts(objects: ObjectStore, prefix: string): Promise<string[]> {
  const keys = await objects.list(prefix);
  return keys.filter((k) => {
    const name = k.slice(k.lastIndexOf('/') + 1);
    return name.endsWith('.parquet') && !name.startsWith('.') && !name.startsWith('_');
  });
}

/** Reads every part under `prefix`: columns `idColumn` (string) and `factors` (list of float, dims long). */
export async function readFactorRows(
  objects: ObjectStore,
  prefix: string,
  idColumn: string,
  dims: number,
): Promise<FactorRows> {
  const keys = await factorParts(objects, prefix);
  if (keys.length === 0) throw new Error(`no factor Parquet under ${prefix}`);
  const ids: string[] = [];
  const chunks: Float32Array[] = [];
  for (const key of keys) {
    const part = await factorRowsFromParquet(await objects.get(key), key, idColumn, dims);
    for (const id of part.ids) ids.push(id);
    chunks.push(part.factors);
  }
  const factors = new Float32Array(ids.length * dims);
  let at = 0;
  for (const c of chunks) {
    factors.set(c, at);
    at += c.length;
  }
  return { ids, factors };
}

/** One Parquet part of factors, checked: every row has an id and exactly `dims` finite factors. */
export async function factorRowsFromParquet(
  bytes: Uint8Array,
  label: string,
  idColumn: string,
  dims: number,
): Promise<FactorRows> {
  const table = await decodeParquet(bytes, label);
  const idCol = table.getChild(idColumn);
  const factorCol = table.getChild('factors');
  if (!idCol || !factorCol) throw new Error(`${label}: factor Parquet lacks ${idColumn} or factors`);
  const n = table.numRows;
  const ids = new Array<string>(n);
  const factors = new Float32Array(n * dims);
  for (let r = 0; r < n; r++) {
    const id = idCol.get(r) as string | null;
    const v = factorCol.get(r) as { length: number; toArray(): ArrayLike<number> } | null;
    if (id === null || v === null)
      throw new Error(`${label}: row ${r} has a null ${id === null ? idColumn : 'factors'}`);
    if (v.length !== dims) throw new Error(`${label}: row ${r} has ${v.length} factors, the model ${dims}`);
    factors.set(v.toArray(), r * dims);
    ids[r] = id;
  }
  for (const x of factors) if (!Number.isFinite(x)) throw new Error(`${label}: factors not finite`);
  return { ids, factors };
}

/**
 * The model of `data` with the engine's factors, laid out in `data`'s id order. Spark's ALS
 * has no biases: they are zero, the global mean is 0 and the model's params say useBias false,
 * so an explicit prediction is x·y as Spark's own. An id of `data` the job did not see (an
 * event archived between the run's read and the job's) keeps zero factors and is counted.
 */
export function modelFromFactors(
  data: Coo,
  params: AlsParams,
  users: FactorRows,
  items: FactorRows,
  version: string,
): { model: AlsModel; missing: { users: number; items: number } } {
  const f = params.factors;
  const place = (ids: string[], rows: FactorRows) => {
    const at = new Map<string, number>();
    rows.ids.forEach((id, r) => {
      at.set(id, r);
    });
    const out = new Float32Array(ids.length * f);
    let missing = 0;
    ids.forEach((id, i) => {
      const r = at.get(id);
      if (r === undefined) missing++;
      else out.set(rows.factors.subarray(r * f, r * f + f), i * f);
    });
    return { out, missing };
  };
  const userIds = data.userIds.toJSON();
  const itemIds = data.itemIds.toJSON();
  const u = place(userIds, users);
  const i = place(itemIds, items);
  const seen: Csr = toCsr(userIds.length, data.rows, data.cols, data.values, {
    duplicates: params.mode === 'explicit' ? 'last' : 'sum',
    nCols: itemIds.length,
  });
  const { lo, hi, until } = dataExtent(data);
  const model = new AlsModel(
    {
      version,
      algorithm: 'als',
      params: { ...params, useBias: false },
      metrics: {},
      globalMean: 0,
      valueRange: [lo, hi],
      shapes: { users: userIds.length, items: itemIds.length, factors: f, interactions: seen.indices.length },
      createdAt: new Date().toISOString(),
      ...(Number.isFinite(until) ? { dataUntil: new Date(until).toISOString() } : {}),
    },
    userIds,
    itemIds,
    u.out,
    i.out,
    new Float32Array(userIds.length),
    new Float32Array(itemIds.length),
    seen.indptr.slice(),
    seen.indices.slice(),
    seen.values.slice(),
  );
  return { model, missing: { users: u.missing, items: i.missing } };
}
