// The recommendation log on its own, against a real (PGlite) store: rows land in order with
// every column, the ring wraps around, a full queue drops and counts, feedback finds the
// user of an answer still queued, and a failed write frees its rows and counts them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/logger.js';
import { AnswerWriter } from '../../src/serving/answer-writer.js';
import { ServingMetrics } from '../../src/serving/metrics.js';
import { PreparedAnswer } from '../../src/serving/prepared-answer.js';
import { RecIds } from '../../src/serving/rec-ids.js';
import { RecLog } from '../../src/serving/rec-log.js';
import { migrate } from '../../src/stores/relational/migrate.js';
import { openPglite } from '../../src/stores/relational/pglite.js';
import type { RelationalStore } from '../../src/stores/relational/port.js';
import { tempDir } from '../helpers.js';
import { freshPgliteDir } from '../stores/support/pglite-dir.js';

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

interface LogRow {
  rec_id: string;
  user_id: string;
  model_version: string | null;
  source: string;
  item_ids: string[];
  scores: number[];
  latency_us: number;
}

describe('recommendation log', () => {
  const tmp = tempDir('recsys-reclog-');
  let db: RelationalStore;

  before(async () => {
    db = await openPglite({ dir: await freshPgliteDir(tmp.dir) });
    await migrate(db);
  });
  after(async () => {
    await db.close();
    tmp.cleanup();
  });

  const setup = (maxQueue: number) => {
    const metrics = new ServingMetrics({
      recLogQueue: () => 0,
      wsConnections: () => 0,
      modelVersion: () => null,
    });
    return { metrics, log: new RecLog(db, metrics, silentLogger, { maxQueue, batchSize: 2 }) };
  };
  const counter = async (metrics: ServingMetrics, name: string) => {
    const text = await metrics.registry.metrics();
    const m = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  const rows = async (from: number, to: number) =>
    (
      await db.query<LogRow>(
        'SELECT rec_id, user_id, model_version, source, item_ids, scores, latency_us FROM recommendation_logs WHERE rec_id BETWEEN $1 AND $2 ORDER BY rec_id',
        [uuid(from), uuid(to)],
      )
    ).rows;

  it('writes queued rows with every column, across the ring wrapping around', async () => {
    const { log, metrics } = setup(5);
    for (let n = 1; n <= 3; n++) log.add(uuid(n), `u${n}`, 'v1', 'l0', ['a', `i${n}`], [0.5, n], 100 + n);
    assert.equal(log.queued, 3);
    await log.flush();
    assert.equal(log.queued, 0);
    // Slots 3, 4 then 0, 1, 2: the second round wraps past the end of the ring.
    for (let n = 4; n <= 8; n++) log.add(uuid(n), `u${n}`, null, 'l1', [`i${n}`], [n / 10], 2 ** 40);
    assert.equal(log.queued, 5);
    await log.flush();
    const got = await rows(1, 8);
    assert.deepEqual(
      got.map((r) => r.user_id),
      ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8'],
    );
    assert.deepEqual(got[1], {
      rec_id: uuid(2),
      user_id: 'u2',
      model_version: 'v1',
      source: 'l0',
      item_ids: ['a', 'i2'],
      scores: [0.5, 2],
      latency_us: 102,
    });
    assert.equal(got[7].model_version, null);
    assert.deepEqual(got[7].item_ids, ['i8']);
    assert.ok(Math.abs(got[7].scores[0] - 0.8) < 1e-6);
    assert.equal(got[7].latency_us, 2 ** 31 - 1, 'latency clamped to the int column');
    assert.equal(await counter(metrics, 'recsys_rec_log_written_total'), 8);
  });

  it('drops and counts rows when the queue is full, and takes rows again once written', async () => {
    const { log, metrics } = setup(3);
    for (let n = 11; n <= 13; n++) log.add(uuid(n), 'u', 'v1', 'l0', [], [], 1);
    assert.equal(log.admit(), false);
    log.add(uuid(14), 'u', 'v1', 'l0', [], [], 1);
    assert.equal(log.queued, 3);
    assert.equal(await counter(metrics, 'recsys_rec_log_dropped_total{reason="queue_full"}'), 2);
    await log.flush();
    assert.equal(log.admit(), true);
    log.add(uuid(15), 'u', 'v1', 'l0', [], [], 1);
    await log.flush();
    assert.deepEqual(
      (await rows(11, 15)).map((r) => r.rec_id),
      [uuid(11), uuid(12), uuid(13), uuid(15)],
    );
  });

  it('knows the user of every answer whose row is still queued', async () => {
    const { log } = setup(4);
    log.add(uuid(21), 'alice', 'v1', 'l0', [], [], 1);
    log.add(uuid(22), 'bob', 'v1', 'l0', [], [], 1);
    assert.equal(log.userOf(uuid(21)), 'alice');
    assert.equal(log.userOf(uuid(22)), 'bob');
    assert.equal(log.userOf(uuid(23)), undefined);
    // Round after round (the index forgets old answers in whole generations), every queued
    // answer stays findable.
    for (let round = 0; round < 5; round++) {
      await log.flush();
      const ids = [0, 1, 2, 3].map((j) => 100 + round * 10 + j);
      for (const n of ids) log.add(uuid(n), `w${n}`, 'v1', 'l0', [], [], 1);
      assert.equal(log.queued, 4);
      for (const n of ids) assert.equal(log.userOf(uuid(n)), `w${n}`);
    }
    await log.close();
    assert.equal(log.queued, 0);
  });

  it('takes the rec_id of a prepared answer from its bytes', async () => {
    const { log } = setup(4);
    const ids = new RecIds();
    const writer = new AnswerWriter(ids);
    writer.write({}, 'v1', 'l0', [], []);
    const answer = new PreparedAnswer(writer.copy());
    const first = JSON.parse(answer.stamp(ids).toString()).rec_id as string;
    log.add(answer, 'carol', 'v1', 'l0', ['i1'], [1], 5);
    const second = JSON.parse(answer.stamp(ids).toString()).rec_id as string;
    log.add(answer, 'dave', 'v1', 'l0', ['i1'], [1], 5);
    assert.notEqual(first, second);
    assert.equal(log.userOf(first), 'carol');
    assert.equal(log.userOf(second), 'dave');
    await log.flush();
    const got = await db.query<{ user_id: string }>(
      'SELECT user_id FROM recommendation_logs WHERE rec_id = $1 OR rec_id = $2 ORDER BY user_id',
      [first, second],
    );
    assert.deepEqual(
      got.rows.map((r) => r.user_id),
      ['carol', 'dave'],
    );
  });

  it('counts the rows of a failed write as dropped and frees their room', async () => {
    const { log, metrics } = setup(4);
    // A rec_id that is not a UUID fails the whole COPY in the store.
    log.add('not-a-uuid', 'u', 'v1', 'l0', [], [], 1);
    log.add(uuid(61), 'u', 'v1', 'l0', [], [], 1);
    await log.flush();
    assert.equal(log.queued, 0);
    assert.equal(await counter(metrics, 'recsys_rec_log_dropped_total{reason="store_error"}'), 2);
    assert.equal((await rows(61, 61)).length, 0);
    log.add(uuid(62), 'u', 'v1', 'l0', [], [], 1);
    await log.flush();
    assert.equal((await rows(62, 62)).length, 1);
  });
});
