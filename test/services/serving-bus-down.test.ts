// The serving layer while Kafka is away (services mode, real servers). The server's Kafka
// clients reach the broker through a TCP proxy on its FAULTS listener, which advertises the
// proxy's port, so stopping the proxy takes Kafka away from this server alone. Events are then
// refused with 503 within a bound (never accepted and lost), /readyz names the bus, answers go
// on; once Kafka is back, events are accepted again and exactly the accepted ones are in it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Stores } from '../../src/stores/index.js';
import { call, type Fixture, keyed, startFixture } from '../serving/fixture.js';
import { timed, uid, waitFor } from '../stores/support/wait.js';
import { servers } from './env.js';
import { eventsOf, openSchemaStores, type SchemaStores, servicesEnv } from './serving-stores.js';
import { TcpProxy } from './tcp-proxy.js';

const proxied = `127.0.0.1:${servers.kafkaFaults.proxyPort}`;
const env = servicesEnv({ KAFKA_BROKERS: proxied, RECSYS_STORE_TIMEOUT_MS: '300' });

describe('serving with Kafka gone', () => {
  const proxy = new TcpProxy('127.0.0.1', servers.kafkaFaults.port);
  proxy.port = servers.kafkaFaults.proxyPort;
  let opened: SchemaStores;
  let stores: Stores;
  let f: Fixture;

  before(async () => {
    await proxy.start();
    opened = await openSchemaStores({ brokers: [proxied] });
    stores = opened.stores;
    f = await startFixture({ stores, env });
  });

  after(async () => {
    await f?.close();
    await opened?.close();
    await proxy.stop();
  });

  it('refuses events with 503 within a bound, keeps answering, and accepts them again once Kafka is back', async () => {
    const user = uid('bus-down-');
    const event = (item: string) =>
      call(f.base, 'POST', '/v1/events', { user_id: user, item_id: item, type: 'click' }, keyed);
    const before = await event('i1');
    assert.equal(before.status, 202, before.text);
    assert.equal((await call(f.base, 'GET', '/readyz')).body.checks.bus, 'ok');

    await proxy.stop();
    const refused: string[] = [];
    try {
      for (const item of ['i2', 'i3']) {
        const r = await timed(event(item));
        assert.equal(r.value!.status, 503, r.value!.text);
        assert.equal(r.value!.body.error.code, 'store_unavailable');
        assert.ok(r.ms < 8000, `refused after ${r.ms} ms`);
        refused.push(item);
      }
      const answer = await timed(call(f.base, 'GET', '/v1/recommendations/u3'));
      assert.equal(answer.value!.status, 200);
      assert.ok(answer.ms < 1000, `answered after ${answer.ms} ms`);
      const ready = await timed(call(f.base, 'GET', '/readyz'));
      assert.equal(ready.value!.status, 503);
      assert.match(ready.value!.body.checks.bus, /unavailable/);
      assert.equal(ready.value!.body.checks.db, 'ok');
      assert.ok(ready.ms < 2000, `/readyz after ${ready.ms} ms`);
    } finally {
      await proxy.start();
    }

    // Back: accepted again (the breaker closes after its cool-down, the client reconnects).
    let after: Awaited<ReturnType<typeof event>> | undefined;
    await waitFor(
      async () => {
        after = await event('i4');
        return after.status === 202;
      },
      'events accepted again',
      30_000,
    );
    await waitFor(async () => (await call(f.base, 'GET', '/readyz')).status === 200, 'ready again', 20_000);

    // In Kafka: the accepted events, in order, and none of the refused ones.
    const got = (
      await eventsOf(
        stores.bus,
        user,
        (e) => e.some((x) => x.item_id === 'i4'),
        'the last accepted event consumed',
      )
    ).map((e) => e.item_id);
    assert.equal(got[0], 'i1');
    assert.equal(got.at(-1), 'i4');
    for (const item of refused) assert.ok(!got.includes(item), `refused event ${item} reached Kafka: ${got}`);
  });
});
