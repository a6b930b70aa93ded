// `recsys start` as a user runs it: a real process that imports MovieLens, trains a first
// model, announces its address, answers over HTTP, folds a posted event into the user's
// profile with its in-process speed layer and pushes the new list on /v1/stream, and exits
// cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot, syntheticMovieLens, tempDir } from '../helpers.js';
import { connect } from '../serving/ws-client.js';
import { launch } from './launch.js';

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
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RECSYS_MICROBATCH_MS: '200' } },
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

      // An event changes the user's recommendations, pushed to a subscriber by the speed layer.
      const ws = await connect(`${url.replace('http:', 'ws:')}/v1/stream`);
      try {
        ws.send({ subscribe: '1' });
        assert.deepEqual(await ws.next(), { subscribed: '1' });
        const top = (body.items[0] as { item_id: string }).item_id;
        const posted = await fetch(`${url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user_id: '1', item_id: top, type: 'rating', value: 1 }),
        });
        assert.equal(posted.status, 202);
        const push = (await ws.next(20_000)) as {
          user_id: string;
          source: string;
          items: { item_id: string }[];
        };
        assert.equal(push.user_id, '1');
        assert.equal(push.source, 'realtime');
        assert.equal(push.items.length, 10);
        assert.ok(!push.items.some((i) => i.item_id === top), 'the rated item is seen now');
        // The answer now is the pushed one (scored for the push, then cached in L1).
        const now = (await (await fetch(`${url}/v1/recommendations/1`)).json()) as {
          source: string;
          items: { item_id: string }[];
        };
        assert.ok(['realtime', 'l1'].includes(now.source), now.source);
        assert.deepEqual(
          now.items.map((i) => i.item_id),
          push.items.map((i) => i.item_id),
        );
        const metrics = await (await fetch(`${url}/metrics`)).text();
        assert.match(metrics, /recsys_stream_events_total\{outcome="stored"\} 1\b/);
        assert.match(metrics, /recsys_push_freshness_seconds_count 1\b/);
      } finally {
        ws.ws.close();
      }
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr.slice(-2000));
  });

  it('refuses a port another start holds, with a clear error and a non-zero exit', async () => {
    const a = tempDir();
    const b = tempDir();
    const env = { RECSYS_LOG_LEVEL: 'warn' };
    const first = await launch(['start', '--no-demo', '--port', '0', '--data-dir', a.dir], env);
    try {
      const port = new URL(first.url).port;
      // An unrelated system with its own data on the same port: the kernel would split the
      // connections between the two if uWS shared the port (SO_REUSEPORT).
      const second = spawn(
        process.execPath,
        [path.join(repoRoot, 'bin/recsys.js'), 'start', '--no-demo', '--port', port, '--data-dir', b.dir],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
      );
      let stderr = '';
      second.stderr.on('data', (d) => {
        stderr += d;
      });
      const timer = setTimeout(() => second.kill('SIGKILL'), 60_000);
      const code = await new Promise<number | null>((resolve) => second.on('exit', (c) => resolve(c)));
      clearTimeout(timer);
      assert.equal(code, 1, stderr.slice(-2000));
      assert.match(stderr, new RegExp(`error: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
      // The first one is untouched.
      assert.equal((await fetch(`${first.url}/healthz`)).status, 200);
    } finally {
      assert.equal((await first.stop()).code, 0);
      a.cleanup();
      b.cleanup();
    }
  });
});
