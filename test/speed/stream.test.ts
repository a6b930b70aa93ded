// The speed layer end to end on the embedded stores (PGlite, table bus, in-process cache):
// events published on the interactions topic end up stored once, folded into profiles with
// the fold-in kernel (compared with FoldIn run here on the same history), counted in the
// decayed popularity, announced on the user-update channel; bad messages go to the dead
// letter; redeliveries change nothing; a new active model is taken up without a restart.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ComputePool } from '../../src/compute/pool.js';
import { loadConfig } from '../../src/config/index.js';
import { plantedLowRank } from '../../src/data/synthetic.js';
import {
  DEFAULT_EVENT_WEIGHTS,
  encodeEvent,
  type InteractionEvent,
  parseUserUpdates,
  USER_UPDATES_CHANNEL,
  type UserUpdateMessage,
} from '../../src/events/index.js';
import { logger } from '../../src/logger.js';
import { ActiveModel } from '../../src/model/active.js';
import { fitAls } from '../../src/model/fit.js';
import { FoldIn } from '../../src/model/fold-in.js';
import type { AlsModel } from '../../src/model/model.js';
import { DEFAULT_PARAMS } from '../../src/model/params.js';
import { floatsLE } from '../../src/serving/l2-store.js';
import { type SpeedLayer, startSpeedLayer } from '../../src/speed/index.js';
import { decodeDeadLetter } from '../../src/stores/bus/dead-letter.js';
import type { BusMessage } from '../../src/stores/bus/port.js';
import { INTERACTIONS_TOPIC, type Stores } from '../../src/stores/index.js';
import { tempDir } from '../helpers.js';
import { openEmbeddedStores } from '../stores/support/pglite-dir.js';
import { waitFor } from '../stores/support/wait.js';

const planted = plantedLowRank({ users: 60, items: 40, rank: 3, perUser: 12, noise: 0.1, seed: 5 });

async function train(pool: ComputePool, seed: number): Promise<AlsModel> {
  const data = { ...planted, values: new Float32Array(planted.values.length).fill(1) };
  return (
    await fitAls(
      data,
      { ...DEFAULT_PARAMS.implicit, factors: 6, iterations: 6, lambda: 0.1, alpha: 5, seed },
      { backend: 'js', pool },
    )
  ).model;
}

const event = (user: string, item: string, type: InteractionEvent['type'], value: number | null = null) =>
  ({ event_id: randomUUID(), user_id: user, item_id: item, type, value, ts: Date.now() }) as InteractionEvent;

interface Profile {
  model_version: string;
  vector: Buffer;
  n_interactions: number;
}

describe('speed layer (embedded stores)', () => {
  const tmp = tempDir('recsys-speed-');
  let stores: Stores;
  let pool: ComputePool;
  let models: ActiveModel;
  let speed: SpeedLayer;
  let first: AlsModel;
  const updates: UserUpdateMessage[] = [];

  before(async () => {
    stores = await openEmbeddedStores(tmp.dir);
    pool = new ComputePool(1);
    first = await train(pool, 1);
    models = new ActiveModel(stores, { backend: 'js' });
    await models.use(first);
    await stores.cache.subscribe(USER_UPDATES_CHANNEL, (raw) => {
      for (const m of parseUserUpdates(raw) ?? []) updates.push(m);
    });
    const config = loadConfig({
      env: {},
      overrides: { mode: 'embedded', dataDir: tmp.dir, speed: { microbatchMs: 100 } },
    });
    speed = await startSpeedLayer({ config, stores, models, backend: 'js', logger });
  });
  after(async () => {
    await speed?.stop();
    await models?.stop();
    await pool?.destroy();
    await stores?.close();
    tmp.cleanup();
  });

  const publish = (events: InteractionEvent[]) =>
    stores.bus.publish(INTERACTIONS_TOPIC, events.map(encodeEvent));
  const count = async (sql: string, params: unknown[] = []) =>
    (await stores.db.query<{ n: number }>(sql, params)).rows[0]!.n;
  const profile = async (user: string) =>
    (
      await stores.db.query<Profile>(
        'SELECT model_version, vector, n_interactions FROM user_profiles WHERE user_id = $1',
        [user],
      )
    ).rows[0];

  it('stores each event once, folds users in, counts popularity and dead-letters bad messages', async () => {
    const known = 'u5';
    const events = [
      event('new-1', 'i1', 'click'),
      event('new-1', 'i2', 'purchase'),
      event('new-1', 'brand-new-item', 'view'),
      event(known, 'i3', 'add_to_cart'),
      event(known, 'i1', 'rating', 4),
    ];
    await publish(events);
    await stores.bus.publish(INTERACTIONS_TOPIC, [
      { key: 'new-1', value: 'not json' },
      { key: 'someone-else', value: encodeEvent(event('new-1', 'i1', 'view')).value },
    ]);
    await waitFor(
      async () => (await profile('new-1')) !== undefined && (await profile(known)) !== undefined,
      'profiles written',
      20_000,
    );
    await waitFor(
      async () => (await count('SELECT count(*)::int AS n FROM rt_user_interactions')) === 5,
      'events stored',
      10_000,
    );

    // new-1: a vector from its own events only (the unknown item counts, but cannot be folded).
    const foldIn = await FoldIn.create(first, 'js');
    const idx = (id: string) => first.itemIdx(id)!;
    const w = DEFAULT_EVENT_WEIGHTS;
    const p1 = (await profile('new-1'))!;
    assert.equal(p1.model_version, first.meta.version);
    assert.equal(p1.n_interactions, 3);
    const expected1 = foldIn.solve([idx('i1'), idx('i2')], [w.click, w.purchase]).vector;
    assertClose(floatsLE(p1.vector), expected1);

    // u5: its training row (values kept in the model) plus the two new events.
    const u = first.userIdx(known)!;
    const seen = Array.from(first.seen(u));
    const seenValues = seen.map((_, e) => first.seenValues![first.seenIndptr[u]! + e]!);
    const p2 = (await profile(known))!;
    assert.equal(p2.n_interactions, seen.length + 2);
    const expected2 = foldIn.solve(
      [...seen, idx('i3'), idx('i1')],
      [...seenValues, w.add_to_cart, 4 * w.rating],
    ).vector;
    assertClose(floatsLE(p2.vector), expected2);

    // New ids are registered with dense indices; the unknown item waits for the next model.
    assert.equal(await count(`SELECT count(*)::int AS n FROM items WHERE item_id = 'brand-new-item'`), 1);
    assert.equal(await count(`SELECT count(*)::int AS n FROM users WHERE user_id = 'new-1'`), 1);
    // Popularity: one stored event per item here, each counted once (decayed a hair since).
    const pop = await stores.db.query<{ item_id: string; score: number }>(
      'SELECT item_id, score FROM item_popularity ORDER BY item_id',
    );
    assert.deepEqual(
      pop.rows.map((r) => [r.item_id, Math.round(r.score * 1000) / 1000]),
      [
        ['brand-new-item', 1],
        ['i1', 2],
        ['i2', 1],
        ['i3', 1],
      ],
    );

    // Both bad messages went to the dead letter with their reason.
    const letters = await deadLetters();
    assert.equal(letters.length, 2);
    assert.match(letters.map((l) => l.reason).join(' | '), /not_json/);
    assert.match(letters.map((l) => l.reason).join(' | '), /key_mismatch/);

    // Each folded user was announced (with no list: serving scores for subscribers).
    await waitFor(
      async () => updates.some((m) => m.user_id === 'new-1') && updates.some((m) => m.user_id === known),
      'user updates',
      5000,
    );
    const m = updates.find((x) => x.user_id === 'new-1')!;
    assert.deepEqual(m.items, []);
    assert.equal(m.model_version, first.meta.version);
    assert.ok(m.accepted_at! <= Date.now() && m.accepted_at! > Date.now() - 60_000);

    // Redelivered events (a producer retry, a crash before the commit) change nothing.
    const before = await stores.db.query('SELECT item_id, score FROM item_popularity ORDER BY item_id');
    let duplicates = 0;
    const batches = new Promise<void>((resolve) => {
      const off = speed.onBatch((s) => {
        duplicates += s.duplicates;
        if (duplicates >= 5) {
          off();
          resolve();
        }
      });
    });
    await publish(events);
    await batches;
    assert.equal(await count('SELECT count(*)::int AS n FROM rt_user_interactions'), 5);
    assert.equal((await profile('new-1'))!.n_interactions, 3);
    const afterPop = await stores.db.query('SELECT item_id, score FROM item_popularity ORDER BY item_id');
    assert.deepEqual(
      afterPop.rows.map((r) => r.item_id),
      before.rows.map((r) => r.item_id),
    );
    for (let j = 0; j < before.rows.length; j++)
      assert.ok((afterPop.rows[j] as { score: number }).score <= (before.rows[j] as { score: number }).score);
    const metrics = await speed.metrics.registry.metrics();
    assert.match(metrics, /recsys_stream_events_total\{outcome="stored"\} 5/);
    assert.match(metrics, /recsys_stream_events_total\{outcome="duplicate"\} 5/);
    assert.match(metrics, /recsys_stream_events_total\{outcome="dead_letter"\} 2/);
    assert.match(metrics, /recsys_stream_consumer_lag 0\n/);
    assert.match(metrics, /recsys_stream_freshness_seconds_count [1-9]/);
  });

  it('takes up a new active model without a restart, refolding the whole history', async () => {
    const second = await train(pool, 2);
    await models.use(second);
    await publish([event('new-1', 'i4', 'click')]);
    await waitFor(
      async () => (await profile('new-1'))?.model_version === second.meta.version,
      'refolded',
      20_000,
    );
    const p = (await profile('new-1'))!;
    assert.equal(p.n_interactions, 4);
    const w = DEFAULT_EVENT_WEIGHTS;
    const idx = (id: string) => second.itemIdx(id)!;
    const expected = (await FoldIn.create(second, 'js')).solve(
      [idx('i1'), idx('i2'), idx('i4')],
      [w.click, w.purchase, w.click],
    ).vector;
    assertClose(floatsLE(p.vector), expected);
  });

  async function deadLetters() {
    const found: ReturnType<typeof decodeDeadLetter>[] = [];
    const consumer = await stores.bus.consume({
      topic: `${INTERACTIONS_TOPIC}.dlq`,
      groupId: `dlq-reader-${randomUUID()}`,
      handler: async (batch) => {
        for (const m of batch.messages as BusMessage[]) found.push(decodeDeadLetter(m));
      },
    });
    await waitFor(async () => found.length >= 2, 'dead letters read', 10_000);
    await consumer.stop();
    return found;
  }
});

function assertClose(actual: Float32Array, expected: Float32Array, tol = 1e-4): void {
  assert.equal(actual.length, expected.length);
  for (let c = 0; c < actual.length; c++)
    assert.ok(
      Math.abs(actual[c]! - expected[c]!) <= tol * (1 + Math.abs(expected[c]!)),
      `factor ${c}: ${actual[c]} vs ${expected[c]}`,
    );
}
