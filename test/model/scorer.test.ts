// Scorer: exclusions at catalog scale. A category filter excludes the rest of the catalog, so
// one query may exclude more than a million items; the scorer must take that on any backend.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BackendName } from '../../src/compute/kernels.js';
import { Scorer } from '../../src/model/scorer.js';

const N_ITEMS = (1 << 20) + 50_000;
const DIMS = 4;

describe('Scorer with a catalog over 2^20 items', () => {
  // Item i scores i / N_ITEMS against the query (1, 0, 0, 0): the best items are the last ones.
  const items = new Float32Array(N_ITEMS * DIMS);
  for (let i = 0; i < N_ITEMS; i++) items[i * DIMS] = i / N_ITEMS;
  const query = Float32Array.of(1, 0, 0, 0);
  // A "category" of three items: everything else excluded, some of it twice (seen items).
  const allowed = [7, 500_000, 1_000_123];
  const allowedSet = new Set(allowed);
  const complement = Int32Array.from({ length: N_ITEMS }, (_, i) => i).filter((i) => !allowedSet.has(i));
  const exclude = Int32Array.from([...complement, ...complement.subarray(0, 10_000)]);

  for (const backend of ['native', 'wasm', 'js'] as BackendName[]) {
    it(`${backend}: one query excluding all but three items gets exactly those three`, async () => {
      const scorer = await Scorer.create(backend, items, N_ITEMS, DIMS, { maxK: 10 });
      const top = await scorer.topK(query, 5, () => exclude);
      assert.deepEqual(Array.from(top.indices), [1_000_123, 500_000, 7, -1, -1]);
      const best = await scorer.topK(query, 2);
      assert.deepEqual(Array.from(best.indices), [N_ITEMS - 1, N_ITEMS - 2]);
    });
  }
});
