// The speed layer through a PostgreSQL outage, on the real servers: PostgreSQL is reached
// through a TCP proxy that the test stops for a while under a steady stream of events. The
// micro-batch in progress waits and retries (metrics count it), nothing goes to the dead
// letter, and once the database is back every event is stored exactly once and every user
// folded in — without restarting anything.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ComputePool } from '../../src/compute/pool.js';
import { loadConfig } from '../../src/config/index.js';
import { plantedLowRank } from '../../src/data/synthetic.js';
import { encodeEvent, type InteractionEvent } from '../../src/events/index.js';
import { logger } from '../../src/logger.js';
import { ActiveModel } from '../../src/model/active.js';
import { fitAls } from '../../src/model/fit.js';
import { DEFAULT_PARAMS } from '../../src/model/params.js';
import { type SpeedLayer, startSpeedLayer } from '../../src/speed/index.js';
import { uid, waitFor } from '../stores/support/wait.js';
import { servers } from './env.js';
import { openSchemaStores, type SchemaStores, viaPort } from './serving-stores.js';
import { TcpProxy } from './tcp-proxy.js';

describe('speed layer through a PostgreSQL outage (services)', () => {
  const pg = new URL(servers.databaseUrl);
  const proxy = new TcpProxy(pg.hostname, Number(pg.port || 5432));
  const topic = uid('interactions-outage-');
  let world: SchemaStores;
  let pool: ComputePool;
  let models: ActiveModel;
  let speed: SpeedLayer;

  before(async () => {
    await proxy.start();
    world = await openSchemaStores({ dbUrl: viaPort(servers.databaseUrl, proxy.port) });
    pool = new ComputePool(1);
    const planted = plantedLowRank({ users: 40, items: 30, rank: 3, perUser: 10, noise: 0.1, seed: 3 });
    const { model } = await fitAls(
      { ...planted, values: new Float32Array(planted.values.length).fill(1) },
      { ...DEFAULT_PARAMS.implicit, factors: 4, iterations: 4 },
      { backend: 'js', pool },
    );
    models = new ActiveModel(world.stores, { backend: 'js' });
    await models.use(model);
    const config = loadConfig({
      env: {},
      overrides: {
        bus: { topic },
        speed: { microbatchMs: 200, groupId: uid('speed-outage-') },
      },
    });
    speed = await startSpeedLayer({ config, stores: world.stores, models, backend: 'js', logger });
  });
  after(async () => {
    await proxy.start().catch(() => {});
    await speed?.stop();
    await models?.stop();
    await pool?.destroy();
    await world?.close();
    await proxy.stop();
  });

  it('waits out the outage and then stores every event once, with no dead letters', async () => {
    const ids: string[] = [];
    const publish = async (n: number) => {
      const events: InteractionEvent[] = [];
      for (let i = 0; i < n; i++) {
        const e: InteractionEvent = {
          event_id: randomUUID(),
          user_id: `outage-user-${ids.length % 17}`,
          item_id: `i${ids.length % 30}`,
          type: 'click',
          value: null,
          ts: Date.now(),
        };
        ids.push(e.event_id);
        events.push(e);
      }
      await world.stores.bus.publish(topic, events.map(encodeEvent));
    };
    const stored = async () =>
      (
        await world.stores.db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM rt_user_interactions WHERE event_id = ANY($1)',
          [ids],
        )
      ).rows[0]!.n;

    await publish(50);
    await waitFor(async () => (await stored()) === 50, 'the first events stored', 30_000);

    await proxy.stop();
    for (let round = 0; round < 5; round++) {
      await publish(20);
      await new Promise((r) => setTimeout(r, 400));
    }
    const metrics = () => speed.metrics.registry.metrics();
    await waitFor(
      async () => /recsys_stream_store_retries_total [1-9]/.test(await metrics()),
      'a micro-batch waiting on the database',
      15_000,
    );
    await proxy.start();

    await waitFor(async () => (await stored()) === ids.length, `all ${ids.length} events stored`, 60_000);
    const { rows } = await world.stores.db.query<{ user_id: string; n_interactions: number }>(
      `SELECT user_id, n_interactions FROM user_profiles WHERE user_id LIKE 'outage-user-%' ORDER BY user_id`,
    );
    const perUser = new Map<string, number>();
    for (let k = 0; k < ids.length; k++)
      perUser.set(`outage-user-${k % 17}`, (perUser.get(`outage-user-${k % 17}`) ?? 0) + 1);
    await waitFor(
      async () => {
        const r = await world.stores.db.query<{ user_id: string; n_interactions: number }>(
          `SELECT user_id, n_interactions FROM user_profiles WHERE user_id LIKE 'outage-user-%'`,
        );
        return (
          r.rows.length === perUser.size && r.rows.every((p) => p.n_interactions === perUser.get(p.user_id))
        );
      },
      'every profile complete',
      30_000,
    );
    assert.ok(rows.length > 0);
    const text = await metrics();
    assert.match(text, /recsys_stream_events_total\{outcome="dead_letter"\} 0/);
    const duplicates = Number(/recsys_stream_events_total\{outcome="duplicate"\} (\d+)/.exec(text)?.[1] ?? 0);
    const storedCount = Number(/recsys_stream_events_total\{outcome="stored"\} (\d+)/.exec(text)![1]);
    assert.equal(storedCount, ids.length, `each event stored once (${duplicates} redeliveries seen)`);
  });
});
