// `recsys batch run` as an operator runs it: a real process on an embedded data folder holding
// an imported (generated) MovieLens archive; --json prints the CLI contract's one line.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { importMovieLens } from '../../src/batch/import-movielens.js';
import { PHASES } from '../../src/batch/pipeline.js';
import { repoRoot, syntheticMovieLens, tempDir } from '../helpers.js';
import { openEmbeddedStores } from '../stores/support/pglite-dir.js';

const run = promisify(execFile);

async function batchRun(dataDir: string, env: Record<string, string> = {}) {
  try {
    const { stdout } = await run(
      process.execPath,
      [path.join(repoRoot, 'bin/recsys.js'), 'batch', 'run', '--json', '--data-dir', dataDir],
      { env: { ...process.env, RECSYS_TRAIN_WINDOW_DAYS: 'all', RECSYS_ALS_ITERATIONS: '4', ...env } },
    );
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('recsys batch run', () => {
  const tmp = tempDir();
  const ml = syntheticMovieLens({ users: 120, items: 150 });
  before(async () => {
    const stores = await openEmbeddedStores(tmp.dir);
    try {
      await importMovieLens(stores, ml.dir);
    } finally {
      await stores.close();
    }
  });
  after(() => {
    tmp.cleanup();
    ml.cleanup();
  });

  it('--json prints {run_id, status, model_version, published, phases, metrics} and exits 0', async () => {
    const r = await batchRun(tmp.dir);
    assert.equal(r.code, 0, r.stdout);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, 'one line on stdout');
    const o = JSON.parse(lines[0]!);
    assert.deepEqual(Object.keys(o), ['run_id', 'status', 'model_version', 'published', 'phases', 'metrics']);
    assert.equal(o.status, 'succeeded');
    assert.equal(o.published, true);
    assert.deepEqual(Object.keys(o.phases), PHASES);
    assert.ok(Object.values(o.phases).every((s) => typeof s === 'number' && s >= 0));
    assert.equal(o.metrics.precomputed, 120);
  });

  it('a failed run (a window with no data) prints its error and exits 1', async () => {
    const r = await batchRun(tmp.dir, { RECSYS_TRAIN_WINDOW_DAYS: '7' });
    assert.equal(r.code, 1);
    const o = JSON.parse(r.stdout.trim());
    assert.equal(o.status, 'failed');
    assert.match(o.error, /no interactions to train on in the last 7 days/);
  });
});
