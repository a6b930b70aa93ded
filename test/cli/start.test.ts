// `recsys start` as a user runs it: a real process that imports MovieLens, trains a first
// model, announces its address, answers over HTTP, and exits cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot, syntheticMovieLens, tempDir } from '../helpers.js';

describe('recsys start', () => {
  const tmp = tempDir();
  const ml = syntheticMovieLens();
  after(() => {
    tmp.cleanup();
    ml.cleanup();
  });

  it('imports, trains, serves and shuts down on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        path.join(repoRoot, 'bin/recsys.js'),
        'start',
        '--port',
        '0',
        '--data-dir',
        tmp.dir,
        '--import-movielens',
        ml.dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) resolve(m[1]);
        });
        void exited.then((code) =>
          reject(new Error(`exited ${code} before listening: ${stderr.slice(-2000)}`)),
        );
      });
      const res = await fetch(`${url}/v1/recommendations/1?k=5`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as {
        source: string;
        items: unknown[];
        model_version: string;
        rec_id: string;
      };
      assert.equal(body.source, 'batch');
      assert.equal(body.items.length, 5);
      assert.ok(body.model_version && body.rec_id);
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr.slice(-2000));
  });
});
