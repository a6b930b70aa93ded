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
import type { TopLists } from './engine.js';

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

/** Spark's top-N lists (recommendForAllUsers): per user, indexes into the item ids given, -1 padded. */
export interface ListRows {
  users: string[];
  n: number;
  items: Int32Array;
  scores: Float32Array;
}

/**
 * Reads the lists under `prefix` (columns user_id, item_ids array<string>, scores array<float>,
 * best first), checked: no list longer than `n`, ids and scores paired, every item one of
 * `itemIds` (the job's item factors), scores finite.
 */
export async function readListRows(
  objects: ObjectStore,
  prefix: string,
  itemIds: readonly string[],
  n: number,
): Promise<ListRows> {
  const keys = await factorParts(objects, prefix);
  if (keys.length === 0) throw new Error(`no lists Parquet under ${prefix}`);
  const index = new Map(itemIds.map((id, i) => [id, i]));
  const users: string[] = [];
  const items: number[] = [];
  const scores: number[] = [];
  for (const key of keys) {
    const table = await decodeParquet(await objects.get(key), key);
    const [u, it, sc] = ['user_id', 'item_ids', 'scores'].map((c) => table.getChild(c));
    if (!u || !it || !sc) throw new Error(`${key}: lists Parquet lacks user_id, item_ids or scores`);
    type List = { length: number; toArray(): ArrayLike<unknown> } | null;
    for (let r = 0; r < table.numRows; r++) {
      const user = u.get(r) as string | null;
      const ids = it.get(r) as List;
      const vals = sc.get(r) as List;
      if (user === null || ids === null || vals === null || ids.length !== vals.length || ids.length > n)
        throw new Error(`${key}: row ${r} is not a list of at most ${n} items with their scores`);
      const idArr = ids.toArray() as ArrayLike<string>;
      const valArr = vals.toArray() as ArrayLike<number>;
      users.push(user);
      for (let k = 0; k < n; k++) {
        const i = k < idArr.length ? index.get(idArr[k]!) : -1;
        if (i === undefined)
          throw new Error(`${key}: row ${r} lists ${idArr[k]}, an item the job did not train`);
        const v = k < valArr.length ? valArr[k]! : 0;
        if (!Number.isFinite(v)) throw new Error(`${key}: row ${r} has a score that is not finite`);
        items.push(i);
        scores.push(v);
      }
    }
  }
  return { users, n, items: Int32Array.from(items), scores: Float32Array.from(scores) };
}

/**
 * The lists laid out in the model's user and item order (TopLists); a user of the model Spark
 * made no list for (one missing from its factors) gets an empty one, and `users` counts those with one.
 */
export function topListsFor(
  model: AlsModel,
  rows: ListRows,
  n: number,
  itemIdsOfRows: readonly string[],
): { lists: TopLists; users: number } {
  const { n: m } = rows;
  const items = new Int32Array(model.userIds.length * n).fill(-1);
  const scores = new Float32Array(model.userIds.length * n);
  let users = 0;
  rows.users.forEach((user, r) => {
    const u = model.userIdx(user);
    if (u === undefined) return;
    users++;
    let at = u * n;
    for (let k = 0; k < m && at < (u + 1) * n; k++) {
      const j = rows.items[r * m + k]!;
      if (j < 0) break;
      // An item of the job's that the run's data lacks (archived after the run's read) is left out.
      const i = model.itemIdx(itemIdsOfRows[j]!);
      if (i === undefined) continue;
      items[at] = i;
      scores[at++] = rows.scores[r * m + k]!;
    }
  });
  return { lists: { n, items, scores }, users };
}
