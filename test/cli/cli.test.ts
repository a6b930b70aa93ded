// The CLI contract, run as a user runs it: a real process on real files.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot, syntheticMovieLens, tempDir } from '../helpers.js';

const run = promisify(execFile);
const bin = path.join(repoRoot, 'bin/recsys.js');

async function recsys(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('recsys CLI', () => {
  const tmp = tempDir();
  const ml = syntheticMovieLens();
  after(() => {
    tmp.cleanup();
    ml.cleanup();
  });
  const modelDir = path.join(tmp.dir, 'movielens-model');

  it('trains on a MovieLens u1 split and reports JSON metrics within a loose bound', async () => {
    const r = await recsys(
      'train',
      '--ratings',
      path.join(ml.dir, 'u1.base'),
      '--holdout',
      path.join(ml.dir, 'u1.test'),
      '--iterations',
      '8',
      '--threads',
      '2',
      '--out',
      modelDir,
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    for (const key of [
      'backend',
      'threads',
      'factors',
      'iterations',
      'train_seconds',
      'seconds_per_iteration',
      'rmse',
      'mae',
    ]) {
      assert.ok(key in out, `missing ${key}`);
    }
    assert.equal(out.factors, 64);
    assert.equal(out.threads, 2);
    assert.ok(out.rmse < 0.8, `rmse ${out.rmse}`); // the item means' is 0.89
    assert.ok(out.mae < out.rmse);
    assert.ok(existsSync(path.join(modelDir, 'model.json')));
  });

  it('recommends from the saved model without retraining', async () => {
    const r = await recsys('recommend', '--model', modelDir, '--user', '1', '--k', '5', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.user_id, '1');
    assert.equal(out.items.length, 5);
    const scores = out.items.map((i: { score: number }) => i.score);
    assert.deepEqual(
      scores,
      [...scores].sort((a, b) => b - a),
    );
  });

  it('implicit mode reports ranking metrics', async () => {
    const r = await recsys(
      'train',
      '--ratings',
      path.join(ml.dir, 'u1.base'),
      '--mode',
      'implicit',
      '--test-fraction',
      '0.2',
      '--iterations',
      '3',
      '--factors',
      '16',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.ok(out.precision_at_10 > 0.05, `precision ${out.precision_at_10}`);
    assert.ok(out.ndcg_at_10 > 0.05);
    assert.ok(out.coverage > 0);
  });

  it('rejects a malformed file naming file and line, leaving no model folder', async () => {
    const bad = path.join(tmp.dir, 'bad.data');
    writeFileSync(bad, '1\t2\t5\t881250949\n1\t3\tfive\t881250949\n');
    const out = path.join(tmp.dir, 'never');
    const r = await recsys('train', '--ratings', bad, '--format', 'movielens', '--out', out);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /bad\.data:2/);
    assert.equal(existsSync(out), false);
  });

  it('rejects an empty file and a missing file', async () => {
    const empty = path.join(tmp.dir, 'empty.csv');
    writeFileSync(empty, '');
    const r1 = await recsys('train', '--ratings', empty);
    assert.notEqual(r1.code, 0);
    assert.match(r1.stderr, /empty\.csv/);
    const r2 = await recsys('train', '--ratings', path.join(tmp.dir, 'nope.csv'));
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /nope\.csv/);
  });

  it('rejects bad options and unknown users with clear messages', async () => {
    const r1 = await recsys('train', '--ratings', 'x', '--factors', 'many');
    assert.equal(r1.code, 2);
    assert.match(r1.stderr, /--factors/);
    const r2 = await recsys('recommend', '--model', modelDir, '--user', 'no-such-user');
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /unknown user id 'no-such-user'/);
    const r3 = await recsys('recommend', '--model', tmp.dir, '--user', '1');
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /not a model folder/);
  });

  it('demo-data writes a MovieLens folder that train reads, the same for the same seed', async () => {
    const a = path.join(tmp.dir, 'demo-a');
    const b = path.join(tmp.dir, 'demo-b');
    const made = await recsys('demo-data', a, '--users', '120', '--items', '80', '--seed', '3');
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /ratings by 120 users of 80 items/);
    assert.equal((await recsys('demo-data', b, '--users', '120', '--items', '80', '--seed', '3')).code, 0);
    assert.deepEqual(readFileSync(path.join(a, 'u.data')), readFileSync(path.join(b, 'u.data')));
    const trained = await recsys(
      'train',
      '--ratings',
      path.join(a, 'u1.base'),
      '--holdout',
      path.join(a, 'u1.test'),
      '--iterations',
      '3',
      '--json',
    );
    assert.equal(trained.code, 0, trained.stderr);
    assert.equal(JSON.parse(trained.stdout).users, 120);
    const bad = await recsys('demo-data', path.join(tmp.dir, 'demo-c'), '--items', '10');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /at least 40 items/);
    assert.equal((await recsys('demo-data', path.join(tmp.dir, 'demo-d'), '--users', 'x')).code, 1);
  });
});
