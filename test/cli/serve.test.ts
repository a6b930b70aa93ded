// `recsys serve` as an operator runs it: a real process on a data directory that a first
// `recsys start --import-movielens` run migrated, filled and trained. serve neither imports
// nor trains: it serves the active model it finds, announces its address, answers over HTTP
// and exits cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { syntheticMovieLens, tempDir } from '../helpers.js';
import { launch } from './launch.js';

// Embedded stores, open admin endpoints, and the shutdown line in the log.
const EMBEDDED = { RECSYS_MODE: 'embedded', RECSYS_API_KEYS: '', RECSYS_LOG_LEVEL: 'info' };

describe('recsys serve', () => {
  const tmp = tempDir('recsys-serve-');
  const ml = syntheticMovieLens();
  after(() => {
    tmp.cleanup();
    ml.cleanup();
  });

  it('serves the model a first `recsys start` trained, and shuts down on SIGTERM', async () => {
    // The data dir: migrated, MovieLens imported, a model trained, activated and precomputed.
    const first = await launch(
      ['start', '--port', '0', '--data-dir', tmp.dir, '--import-movielens', ml.dir],
      EMBEDDED,
    );
    let trained: string;
    try {
      const ready = await fetch(`${first.url}/readyz`);
      assert.equal(ready.status, 200);
      trained = ((await ready.json()) as { model_version: string }).model_version;
      assert.ok(trained);
    } finally {
      const end = await first.stop();
      assert.deepEqual([end.code, end.signal], [0, null], end.stderr.slice(-2000));
    }

    const started = Date.now();
    const serve = await launch(['serve', '--port', '0', '--data-dir', tmp.dir], EMBEDDED);
    try {
      const res = await fetch(`${serve.url}/v1/recommendations/1?k=5`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as {
        rec_id: string;
        user_id: string;
        model_version: string;
        source: string;
        items: Array<{ item_id: string; score: number }>;
      };
      assert.equal(body.user_id, '1');
      assert.equal(body.model_version, trained, 'the model the first run trained, not a new one');
      assert.equal(body.source, 'batch', 'the answer the training run precomputed');
      assert.equal(body.items.length, 5);
      assert.ok(body.items.every((i, j, all) => j === 0 || all[j - 1].score >= i.score));
      assert.match(body.rec_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

      const ready = await fetch(`${serve.url}/readyz`);
      assert.equal(ready.status, 200);
      const readiness = (await ready.json()) as { status: string; model_version: string };
      assert.equal(readiness.status, 'ready');
      assert.equal(readiness.model_version, trained);

      const models = (await (await fetch(`${serve.url}/v1/admin/models`)).json()) as {
        models: Array<{ version: string; status: string }>;
      };
      assert.deepEqual(
        models.models.map((m) => [m.version, m.status]),
        [[trained, 'active']],
        'serve trained nothing',
      );
    } finally {
      const end = await serve.stop();
      assert.deepEqual([end.code, end.signal], [0, null], end.stderr.slice(-2000));
      assert.match(end.stderr, /"signal":"SIGTERM"/);
    }
    assert.ok(Date.now() - started < 15_000, `serve took ${Date.now() - started} ms from start to exit`);
  });
});
