/**
 * Model artifact on disk: model.json plus Arrow IPC files, readable by pyarrow as they are.
 *   user_factors.arrow  user_id: utf8, bias: float32, factors: fixed_size_list<float32>[f]
 *   item_factors.arrow  item_id: utf8, bias: float32, factors: fixed_size_list<float32>[f]
 *   seen.arrow          user_index: int32, item_index: int32 (training interactions, by user)
 * Written to a temporary sibling folder and renamed into place, so a failed save never
 * leaves a partial model behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DataType,
  Field,
  FixedSizeList,
  Float32,
  makeData,
  makeVector,
  Table,
  tableFromIPC,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';

export interface FactorTable {
  ids: string[];
  bias: Float32Array;
  factors: Float32Array; // ids.length × dims
}

export function factorTableToIPC(idColumn: string, t: FactorTable, dims: number): Uint8Array {
  const n = t.ids.length;
  const child = makeData({ type: new Float32(), length: n * dims, data: t.factors });
  const list = makeData({
    type: new FixedSizeList(dims, new Field('item', new Float32(), false)),
    length: n,
    nullCount: 0,
    child,
  });
  const table = new Table({
    [idColumn]: vectorFromArray(t.ids, new Utf8()),
    bias: makeVector(t.bias),
    factors: makeVector(list),
  });
  return tableToIPC(table, 'file');
}

export function factorTableFromIPC(bytes: Uint8Array, idColumn: string, dims: number): FactorTable {
  const table = tableFromIPC(bytes);
  const n = table.numRows;
  const ids = table.getChild(idColumn)?.toArray() as string[] | undefined;
  const biasCol = table.getChild('bias');
  const factorsCol = table.getChild('factors');
  if (!ids || !biasCol || !factorsCol) throw new Error(`factor table lacks ${idColumn}, bias or factors`);
  const bias = new Float32Array(n);
  const factors = new Float32Array(n * dims);
  let row = 0;
  for (let c = 0; c < factorsCol.data.length; c++) {
    const d = factorsCol.data[c];
    const values = d.children[0].values as Float32Array;
    factors.set(values.subarray(d.offset * dims, (d.offset + d.length) * dims), row * dims);
    bias.set(biasCol.data[c].values.subarray(biasCol.data[c].offset, biasCol.data[c].offset + d.length), row);
    row += d.length;
  }
  return { ids: Array.from(ids), bias, factors };
}

export function pairsToIPC(
  users: Int32Array,
  items: Int32Array,
  values: Float32Array | null = null,
): Uint8Array {
  return tableToIPC(
    new Table({
      user_index: makeVector(users),
      item_index: makeVector(items),
      ...(values ? { value: makeVector(values) } : {}),
    }),
    'file',
  );
}

/** The seen pairs, with the training values when the artifact has them (older ones do not). */
export function pairsFromIPC(bytes: Uint8Array): {
  users: Int32Array;
  items: Int32Array;
  values: Float32Array | null;
} {
  const table = tableFromIPC(bytes);
  const col = (name: string) => {
    const v = table.getChild(name);
    if (!v || !DataType.isInt(v.type) || v.type.bitWidth !== 32)
      throw new Error(`seen table lacks int32 column ${name}`);
    return v.toArray() as Int32Array;
  };
  const value = table.getChild('value');
  if (value && !DataType.isFloat(value.type))
    throw new Error('seen table has a value column that is not float');
  return {
    users: col('user_index'),
    items: col('item_index'),
    values: value ? Float32Array.from(value.toArray() as ArrayLike<number>) : null,
  };
}

/** Write `files` into `dir` atomically (temp folder + rename); replaces an existing model. */
export async function writeFolderAtomically(
  dir: string,
  files: Record<string, Uint8Array | string>,
): Promise<void> {
  const parent = path.dirname(path.resolve(dir));
  await mkdir(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(tmp);
    for (const [name, data] of Object.entries(files)) await writeFile(path.join(tmp, name), data);
    const old = await stat(dir).then(
      () => `${tmp}-old`,
      () => null,
    );
    if (old) await rename(dir, old);
    await rename(tmp, dir);
    if (old) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

export async function readModelFile(dir: string, name: string): Promise<Buffer> {
  try {
    return await readFile(path.join(dir, name));
  } catch (err) {
    throw new Error(`cannot read model file ${path.join(dir, name)}: ${(err as Error).message}`);
  }
}
