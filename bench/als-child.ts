/**
 * One ALS benchmark run in a fresh process (so peak RSS is this run's alone):
 *   node dist/bench/als-child.js train '{"dataset":"ml100k","backend":"native","threads":2,...}'
 *   node dist/bench/als-child.js export '{"dataset":"synthetic20m","dir":"..."}'
 * Prints one JSON line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Arena } from '../src/compute/arena.js';
import type { BackendName } from '../src/compute/kernels.js';
import { ComputePool } from '../src/compute/pool.js';
import { loadInteractions } from '../src/data/loaders.js';
import { cooFromTable, toCsr } from '../src/data/matrix.js';
import { powerLawImplicit } from '../src/data/synthetic.js';
import { DEFAULT_PARAMS } from '../src/model/params.js';
import { arenaBytes, trainAls } from '../src/model/trainer.js';
import { median, sharedDir } from './lib.js';

export interface AlsRunSpec {
  dataset: 'ml100k' | 'synthetic20m' | 'synthetic1m';
  backend: BackendName;
  threads: number;
  factors: number;
  iterations: number;
  lambda: number;
  alpha: number;
  dir?: string;
}

async function dataset(name: AlsRunSpec['dataset'], arena?: Arena) {
  if (name === 'ml100k') {
    const coo = cooFromTable(await loadInteractions(path.join(sharedDir, 'datasets/ml-100k/u.data')));
    return {
      nUsers: coo.userIds.size,
      nItems: coo.itemIds.size,
      rows: coo.rows,
      cols: coo.cols,
      values: coo.values,
    };
  }
  // MovieLens 20M's shape: ~138K users × 27K items × 20M interactions, Zipf popularity.
  const scale = name === 'synthetic20m' ? 1 : 0.05;
  const s = powerLawImplicit({
    users: Math.round(138_000 * scale),
    items: Math.round(27_000 * Math.sqrt(scale)),
    nnz: Math.round(20_000_000 * scale),
    seed: 20,
    alloc: arena,
  });
  return { nUsers: s.userIds.size, nItems: s.itemIds.size, rows: s.rows, cols: s.cols, values: s.values };
}

async function exportFolder(spec: AlsRunSpec) {
  const d = await dataset(spec.dataset);
  const csr = toCsr(d.nUsers, d.rows, d.cols, d.values, { duplicates: 'sum', nCols: d.nItems });
  const nnz = csr.indptr[d.nUsers];
  const users = new Int32Array(nnz);
  for (let u = 0; u < d.nUsers; u++) users.fill(u, csr.indptr[u], csr.indptr[u + 1]);
  const dir = spec.dir!;
  mkdirSync(dir, { recursive: true });
  const raw = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(path.join(dir, 'users.i32'), raw(users));
  writeFileSync(path.join(dir, 'items.i32'), raw(csr.indices.subarray(0, nnz)));
  writeFileSync(path.join(dir, 'values.f32'), raw(csr.values.subarray(0, nnz)));
  const meta = {
    nUsers: d.nUsers,
    nItems: d.nItems,
    nnz,
    factors: spec.factors,
    iterations: spec.iterations,
    threads: spec.threads,
    mode: 'implicit',
    alpha: spec.alpha,
    lambda: spec.lambda,
  };
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta));
  return meta;
}

/** Interactions the dataset will hold, before it is generated (sizes the arena). */
function sizeOf(name: AlsRunSpec['dataset']): { nUsers: number; nItems: number; nnz: number } {
  if (name === 'ml100k') return { nUsers: 943, nItems: 1682, nnz: 100_000 };
  const scale = name === 'synthetic20m' ? 1 : 0.05;
  return {
    nUsers: Math.round(138_000 * scale),
    nItems: Math.round(27_000 * Math.sqrt(scale)),
    nnz: Math.round(20_000_000 * scale),
  };
}

async function train(spec: AlsRunSpec) {
  const pool = new ComputePool(spec.threads);
  try {
    const params = {
      ...DEFAULT_PARAMS.implicit,
      factors: spec.factors,
      iterations: spec.iterations,
      lambda: spec.lambda,
      alpha: spec.alpha,
    };
    // The interactions are built inside the training arena, where the trainer recycles them
    // as the user→item CSR: the process holds no second copy (the memory target).
    const size = sizeOf(spec.dataset);
    const arena = Arena.create(
      arenaBytes({ ...size, values: { length: size.nnz } as Float32Array }, spec.factors, spec.threads) +
        size.nnz * 12,
      { wasm: spec.backend === 'wasm' },
    );
    const d = await dataset(spec.dataset, arena);
    const inArena = d.rows.buffer === arena.buffer;
    const input = inArena
      ? d
      : { ...d, rows: arena.copyOf(d.rows), cols: arena.copyOf(d.cols), values: arena.copyOf(d.values) };
    const t = await trainAls(input, params, { backend: spec.backend, pool, arena });
    const nUsers = d.nUsers;
    const nItems = d.nItems;
    const nnz = t.userItems.indptr[nUsers];
    // What the job fundamentally holds: both CSR directions and both factor matrices.
    const csrBytes = 2 * nnz * 8 + (nUsers + nItems + 2) * 4;
    const factorBytes = (nUsers + nItems) * spec.factors * 4;
    return {
      backend: spec.backend,
      threads: spec.threads,
      nnz,
      iteration_seconds: t.iterationSeconds,
      seconds_per_iteration: median(t.iterationSeconds),
      max_rss_bytes: process.resourceUsage().maxRSS * 1024,
      csr_plus_factor_bytes: csrBytes + factorBytes,
    };
  } finally {
    await pool.destroy();
  }
}

const [cmd, json] = process.argv.slice(2);
const spec = JSON.parse(json) as AlsRunSpec;
const result = cmd === 'export' ? await exportFolder(spec) : await train(spec);
process.stdout.write(`${JSON.stringify(result)}\n`);
