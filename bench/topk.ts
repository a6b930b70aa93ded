/**
 * `npm run bench -- topk`: top-10 for 10K queries over 100K items × 64 factors, our kernels
 * on the pool against faiss-cpu IndexFlatIP with the same threads, in one script.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ComputePool } from '../src/compute/pool.js';
import { Rng } from '../src/compute/random.js';
import { Scorer } from '../src/model/scorer.js';
import { benchData, machine, repoRoot, requireVenv, runJson, table, venvPython } from './lib.js';

const N_QUERIES = 10_000;
const N_ITEMS = 100_000;
const F = 64;
const K = 10;

export async function benchTopK(): Promise<string> {
  requireVenv();
  const rng = new Rng(64);
  const queries = rng.fillNormal(new Float32Array(N_QUERIES * F), 1);
  const items = rng.fillNormal(new Float32Array(N_ITEMS * F), 1);
  const dir = path.join(benchData, 'topk');
  mkdirSync(dir, { recursive: true });
  const raw = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(path.join(dir, 'queries.f32'), raw(queries));
  writeFileSync(path.join(dir, 'itemfactors.f32'), raw(items));
  writeFileSync(
    path.join(dir, 'meta.json'),
    JSON.stringify({ nQueries: N_QUERIES, nItems: N_ITEMS, factors: F, k: K, threads: 1 }),
  );

  const rows: Array<Array<string | number>> = [];
  for (const threads of [1, 2]) {
    const faiss = await runJson<{ version: string; queries_per_second: number }>(venvPython, [
      path.join(repoRoot, 'bench/peers/faiss_topk.py'),
      dir,
      '--threads',
      String(threads),
    ]);
    rows.push([`faiss-cpu ${faiss.version} IndexFlatIP`, threads, Math.round(faiss.queries_per_second), 1]);
    for (const backend of ['native', 'wasm'] as const) {
      const pool = new ComputePool(threads);
      try {
        const scorer = await Scorer.create(backend, items, N_ITEMS, F, { maxK: K, slots: threads });
        await scorer.topK(queries.subarray(0, 2048 * F), K, undefined, pool); // warm-up: workers load kernels
        let best = Number.POSITIVE_INFINITY;
        for (let rep = 0; rep < 3; rep++) {
          const t0 = performance.now();
          await scorer.topK(queries, K, undefined, pool);
          best = Math.min(best, (performance.now() - t0) / 1000);
        }
        const qps = N_QUERIES / best;
        rows.push([`recsys ${backend}`, threads, Math.round(qps), qps / faiss.queries_per_second]);
      } finally {
        await pool.destroy();
      }
    }
  }
  return [
    `## Top-K (${machine()})`,
    '',
    `top-${K} by dot product, ${N_QUERIES} queries × ${N_ITEMS} items × ${F} factors, best of 3.`,
    '',
    table(['scorer', 'threads', 'queries / s', '× faiss (same threads)'], rows),
    '',
  ].join('\n');
}
