// Quick timing of the native kernels on synthetic data (single thread, one call each).
//   node dist/bench/native-smoke.js [--level auto|scalar] [--quick]
// ALS: power-law CSR, 20K rows × 50K columns, ~1M nnz, 64 factors, 3 CG steps; one ALS
// iteration = gramian + implicit half-step on both sides. Top-K: 10K queries × 100K items × 64,
// k = 10, no exclusions. Prints one JSON object.
import { loadNativeAddon } from '../src/compute/native.js';
import { Rng } from '../src/compute/random.js';

const args = process.argv.slice(2);
const level = args.includes('--level') ? args[args.indexOf('--level') + 1] : 'auto';
const quick = args.includes('--quick');
const n = loadNativeAddon();
n.setSimdLevel(level);

/** Best of `reps` runs, in seconds of process CPU time (RECSYS_BENCH_WALL=1: wall time). On a busy
 * machine CPU time is the stabler measure of a single-threaded kernel. */
const wall = process.env.RECSYS_BENCH_WALL === '1';
function best(reps: number, fn: () => void): number {
  let b = Number.POSITIVE_INFINITY;
  for (let r = 0; r < reps; r++) {
    const t = process.hrtime.bigint();
    const c = process.cpuUsage();
    fn();
    const cu = process.cpuUsage(c);
    const s = wall ? Number(process.hrtime.bigint() - t) / 1e9 : (cu.user + cu.system) / 1e6;
    b = Math.min(b, s);
  }
  return b;
}

/** Power-law CSR: row lengths and column popularity both heavy-tailed; no duplicate entries. */
function powerLawCsr(rng: Rng, nRows: number, nCols: number, targetNnz: number) {
  const weights = Array.from({ length: nRows }, (_, r) => 1 / (r + 10) ** 0.9);
  const wsum = weights.reduce((a, b) => a + b, 0);
  const indptr = new Int32Array(nRows + 1);
  const idx: number[] = [];
  const seen = new Uint32Array(nCols);
  let stamp = 0;
  // Shuffle rows so long rows are not all at the front.
  const order = Array.from({ length: nRows }, (_, r) => r);
  for (let r = nRows - 1; r > 0; r--) {
    const j = rng.int(r + 1);
    [order[r], order[j]] = [order[j], order[r]];
  }
  const lens = new Int32Array(nRows);
  for (let r = 0; r < nRows; r++)
    lens[order[r]] = Math.max(1, Math.min(nCols >> 1, Math.round((targetNnz * weights[r]) / wsum)));
  for (let r = 0; r < nRows; r++) {
    stamp++;
    for (let e = 0; e < lens[r]; ) {
      const c = Math.floor(nCols * rng.next() ** 2.5); // popular columns first
      if (seen[c] === stamp) continue;
      seen[c] = stamp;
      idx.push(c);
      e++;
    }
    indptr[r + 1] = idx.length;
  }
  const indices = Int32Array.from(idx);
  const values = new Float32Array(indices.length);
  for (let e = 0; e < values.length; e++) values[e] = 1 + 40 * (1 + rng.int(5));
  return { indptr, indices, values };
}

function transpose(c: { indptr: Int32Array; indices: Int32Array; values: Float32Array }, nCols: number) {
  const nRows = c.indptr.length - 1;
  const indptr = new Int32Array(nCols + 1);
  for (const i of c.indices) indptr[i + 1]++;
  for (let i = 0; i < nCols; i++) indptr[i + 1] += indptr[i];
  const fill = indptr.slice(0, nCols);
  const indices = new Int32Array(c.indices.length);
  const values = new Float32Array(c.indices.length);
  for (let r = 0; r < nRows; r++)
    for (let e = c.indptr[r]; e < c.indptr[r + 1]; e++) {
      const at = fill[c.indices[e]]++;
      indices[at] = r;
      values[at] = c.values[e];
    }
  return { indptr, indices, values };
}

const rng = new Rng(7);
const f = 64;
const [nUsers, nItems, nnz] = quick ? [2000, 5000, 100_000] : [20_000, 50_000, 1_000_000];
const ui = powerLawCsr(rng, nUsers, nItems, nnz);
const iu = transpose(ui, nItems);
const X = rng.fillNormal(new Float32Array(nUsers * f), 0.01);
const Y = rng.fillNormal(new Float32Array(nItems * f), 0.01);
const gram = new Float32Array(f * f);
const lambda = 0.1;
let maxRow = 0;
for (let r = 0; r < nUsers; r++) maxRow = Math.max(maxRow, ui.indptr[r + 1] - ui.indptr[r]);

const gramY = best(3, () => n.gramian(Y, nItems, f, lambda, gram));
const implicitUsers = best(3, () =>
  n.implicitHalfStep(ui.indptr, ui.indices, ui.values, 0, nUsers, Y, gram, X, f, 3),
);
const gramX = best(3, () => n.gramian(X, nUsers, f, lambda, gram));
const implicitItems = best(3, () =>
  n.implicitHalfStep(iu.indptr, iu.indices, iu.values, 0, nItems, X, gram, Y, f, 3),
);
const ratings = Float32Array.from(ui.values, (v) => (v - 1) / 40);
const bias = new Float32Array(nItems);
const outBias = new Float32Array(nUsers);
const rowReg = Float32Array.from({ length: nUsers }, (_, u) => 0.05 * (ui.indptr[u + 1] - ui.indptr[u]));
const explicitUsers = best(2, () =>
  n.explicitHalfStep(ui.indptr, ui.indices, ratings, 0, nUsers, Y, bias, X, outBias, f, rowReg, 1, 3, true),
);

const [nQ, nI] = quick ? [1000, 10_000] : [10_000, 100_000];
const queries = rng.fillNormal(new Float32Array(nQ * f), 1);
const items = rng.fillNormal(new Float32Array(nI * f), 1);
const k = 10;
const oi = new Int32Array(nQ * k);
const os = new Float32Array(nQ * k);
const topk = best(2, () => n.topK(queries, nQ, items, nI, f, k, null, null, oi, os));
const one = best(20, () =>
  n.topK(queries.subarray(0, f), 1, items, nI, f, k, null, null, oi.subarray(0, k), os.subarray(0, k)),
);

console.log(
  JSON.stringify(
    {
      simd: n.simdLevel(),
      clock: wall ? 'wall' : 'process cpu',
      als: {
        users: nUsers,
        items: nItems,
        nnz: ui.indices.length,
        maxRowLength: maxRow,
        factors: f,
        cgSteps: 3,
      },
      seconds: {
        gramianItems: gramY,
        implicitHalfStepUsers: implicitUsers,
        gramianUsers: gramX,
        implicitHalfStepItems: implicitItems,
        implicitIteration: gramY + implicitUsers + gramX + implicitItems,
        explicitHalfStepUsersBias: explicitUsers,
      },
      topK: {
        nQueries: nQ,
        nItems: nI,
        factors: f,
        k,
        seconds: topk,
        queriesPerSecond: Math.round(nQ / topk),
        gflops: (2 * nQ * nI * f) / topk / 1e9,
        singleQueryMs: one * 1e3,
      },
    },
    null,
    2,
  ),
);
