/**
 * `npm run bench -- als`: our ALS trainer against the `implicit` library and Spark MLlib on
 * the same data, factors, iterations and threads, in one script. Every run is its own
 * process (so its peak RSS is its own); the ratio to implicit is the headline figure.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AlsRunSpec } from './als-child.js';
import { benchData, machine, repoRoot, requireVenv, runJson, table, venvPython } from './lib.js';

interface OurRun {
  backend: string;
  threads: number;
  nnz: number;
  seconds_per_iteration: number;
  max_rss_bytes: number;
  csr_plus_factor_bytes: number;
}
interface PeerRun {
  peer: string;
  version: string;
  seconds_per_iteration: number;
  threads: number;
}

const child = path.join(repoRoot, 'dist/bench/als-child.js');
const peers = path.join(repoRoot, 'bench/peers');

export async function benchAls(opts: { quick?: boolean } = {}): Promise<string> {
  requireVenv();
  const datasets: Array<{ name: AlsRunSpec['dataset']; label: string; iterations: number; spark: boolean }> =
    [
      { name: 'ml100k', label: 'MovieLens 100K (implicit mode)', iterations: 10, spark: true },
      opts.quick
        ? { name: 'synthetic1m', label: 'synthetic 1M power-law', iterations: 3, spark: true }
        : {
            name: 'synthetic20m',
            label: 'synthetic 20M power-law (ML-20M shape)',
            iterations: 2,
            spark: true,
          },
    ];
  const out: string[] = [];
  for (const ds of datasets) {
    const base: AlsRunSpec = {
      dataset: ds.name,
      backend: 'native',
      threads: 2,
      factors: 64,
      iterations: ds.iterations,
      lambda: 0.01,
      alpha: 40,
    };
    const dir = path.join(benchData, `als-${ds.name}`);
    if (!existsSync(path.join(dir, 'meta.json')))
      await runJson(process.execPath, [child, 'export', JSON.stringify({ ...base, dir })]);
    const rows: Array<Array<string | number>> = [];
    const ours: OurRun[] = [];
    const implicitAt = new Map<number, number>();
    for (const threads of [1, 2]) {
      const peer = await runJson<PeerRun>(
        venvPython,
        [path.join(peers, 'implicit_als.py'), dir, '--threads', String(threads)],
        {
          OPENBLAS_NUM_THREADS: '1',
        },
      );
      implicitAt.set(threads, peer.seconds_per_iteration);
      rows.push([`implicit ${peer.version}`, threads, peer.seconds_per_iteration, 1, '']);
      for (const backend of ['native', 'wasm'] as const) {
        const r = await runJson<OurRun>(process.execPath, [
          child,
          'train',
          JSON.stringify({ ...base, backend, threads }),
        ]);
        ours.push(r);
        rows.push([
          `recsys ${backend}`,
          threads,
          r.seconds_per_iteration,
          r.seconds_per_iteration / peer.seconds_per_iteration,
          `${(r.max_rss_bytes / r.csr_plus_factor_bytes).toFixed(2)}× (${(r.max_rss_bytes / 2 ** 20).toFixed(0)} MiB)`,
        ]);
      }
    }
    if (ds.spark) {
      const spark = await runJson<PeerRun>(venvPython, [
        path.join(peers, 'spark_als.py'),
        dir,
        '--threads',
        '2',
      ]);
      rows.push([
        `spark ${spark.version} local[2]`,
        2,
        spark.seconds_per_iteration,
        spark.seconds_per_iteration / implicitAt.get(2)!,
        '',
      ]);
      const native2 = ours.find((r) => r.backend === 'native' && r.threads === 2)!;
      const wasm2 = ours.find((r) => r.backend === 'wasm' && r.threads === 2)!;
      rows.push([
        'speed-up vs Spark (native / wasm)',
        2,
        `${(spark.seconds_per_iteration / native2.seconds_per_iteration).toFixed(1)}× / ${(spark.seconds_per_iteration / wasm2.seconds_per_iteration).toFixed(1)}×`,
        '',
        '',
      ]);
    }
    const n1 = ours.find((r) => r.backend === 'native' && r.threads === 1)!;
    const n2 = ours.find((r) => r.backend === 'native' && r.threads === 2)!;
    out.push(
      `### ${ds.label}: ${n1.nnz} interactions, 64 factors, ${ds.iterations} iterations`,
      '',
      table(
        ['trainer', 'threads', 's / iteration', '× implicit (same threads)', 'peak RSS / (CSR + factors)'],
        rows,
      ),
      '',
      `Scaling 1 → 2 threads (native): ${(n1.seconds_per_iteration / n2.seconds_per_iteration).toFixed(2)}×.`,
      '',
    );
  }
  return [`## ALS training (${machine()})`, '', ...out].join('\n');
}
