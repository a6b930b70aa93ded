// The micro-batch processor's kept histories across a partition that another group member
// consumed meanwhile: the partition went away and came back between two micro-batches (so the
// partitions held read the same), and the next batch starts past where this process left off.
// The histories must then be read back, or the profile misses what the other member stored.
// (test/services/stream-faults.test.ts shows the same with two real processes on Kafka.)
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { ComputePool } from '../../src/compute/pool.js';
import { powerLawImplicit } from '../../src/data/synthetic.js';
import { DEFAULT_EVENT_WEIGHTS, encodeEvent, type InteractionEvent } from '../../src/events/index.js';
import { silentLogger } from '../../src/logger.js';
import { fitAls } from '../../src/model/fit.js';
import type { AlsModel } from '../../src/model/model.js';
import { DEFAULT_PARAMS } from '../../src/model/params.js';
import { SpeedMetrics } from '../../src/speed/metrics.js';
import type { Pending } from '../../src/speed/micro-batcher.js';
import { MicroBatchProcessor } from '../../src/speed/processor.js';
import { INTERACTIONS_TOPIC, type Stores } from '../../src/stores/index.js';
import { tempDir } from '../helpers.js';
import { openEmbeddedStores } from '../stores/support/pglite-dir.js';

const tmp = tempDir('recsys-speed-processor-');
let stores: Stores;
let model: AlsModel;

before(async () => {
  stores = await openEmbeddedStores(tmp.dir);
  const pool = new ComputePool(1);
  try {
    const data = powerLawImplicit({ users: 30, items: 20, nnz: 300, seed: 3 });
    const params = { ...DEFAULT_PARAMS.implicit, factors: 4, iterations: 3, lambda: 0.1, alpha: 5 };
    model = (await fitAls(data, params, { backend: 'js', pool })).model;
  } finally {
    await pool.destroy();
  }
});
after(async () => {
  await stores?.close();
  tmp.cleanup();
});

const event = (user: string, item: string): InteractionEvent => ({
  event_id: randomUUID(),
  user_id: user,
  item_id: item,
  type: 'view',
  value: null,
  ts: Date.now(),
});

/** A window of one batch: `events` at consecutive offsets of partition 0 from `offset`. */
function windowOf(offset: number, events: InteractionEvent[]): Pending[] {
  const messages = events.map((e, k) => {
    const m = encodeEvent(e);
    return {
      key: m.key,
      value: Buffer.from(m.value),
      partition: 0,
      offset: String(offset + k),
      timestamp: Date.now(),
    };
  });
  return [
    {
      batch: { topic: INTERACTIONS_TOPIC, partition: 0, messages },
      ctx: {
        attempt: 1,
        deadLetter: () => assert.fail('nothing is dead-lettered here'),
        settleLater: () => {},
      },
    },
  ];
}

test('a batch that does not continue where this process left its partition reads the histories back', async () => {
  const processor = new MicroBatchProcessor({
    db: stores.db,
    cache: stores.cache,
    model: () => ({ model, scorer: null as never }),
    backend: 'js',
    weights: DEFAULT_EVENT_WEIGHTS,
    popularHalfLifeHours: 24,
    metrics: new SpeedMetrics(),
    logger: silentLogger,
    assignment: () => [0],
  });
  const user = 'fresh-user';
  const nOf = async () =>
    (
      await stores.db.query<{ n: number }>(
        'SELECT n_interactions AS n FROM user_profiles WHERE user_id = $1',
        [user],
      )
    ).rows[0]?.n;

  // Offsets 0-1: this process folds the user in and keeps the history.
  await processor.process(windowOf(0, [event(user, 'i1'), event(user, 'i2')]));
  assert.equal(await nOf(), 2);

  // Offset 2: another member held the partition for a while and stored this one.
  const other = event(user, 'i3');
  await stores.db.query(
    `INSERT INTO rt_user_interactions (event_id, user_id, item_id, type, value, ts)
     VALUES ($1, $2, $3, $4, NULL, now())`,
    [other.event_id, other.user_id, other.item_id, other.type],
  );

  // Offset 3, back here with the same partitions held: the profile counts all four.
  await processor.process(windowOf(3, [event(user, 'i4')]));
  assert.equal(await nOf(), 4, 'the event the other member stored is in the profile');
});
