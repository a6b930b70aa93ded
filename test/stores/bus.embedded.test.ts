// Event bus contract on the event-log table in PGlite (embedded mode), plus lease expiry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/logger.js';
import { openTableBus, type TableBusOptions } from '../../src/stores/bus/table-bus.js';
import { migrate } from '../../src/stores/relational/migrate.js';
import { openPglite } from '../../src/stores/relational/pglite.js';
import { tempDir } from '../helpers.js';
import { BUS_PARTITIONS, busContract } from './contract/bus.js';
import { freshPgliteDir } from './support/pglite-dir.js';
import { delay, waitFor } from './support/wait.js';

busContract('event-log table on PGlite', async () => {
  const tmp = tempDir('recsys-bus-');
  const db = await openPglite({ dir: await freshPgliteDir(tmp.dir) });
  await migrate(db);
  // Short timings keep group changes and retries fast in tests.
  const options: TableBusOptions = {
    db,
    partitions: BUS_PARTITIONS,
    heartbeatMs: 100,
    sessionTimeoutMs: 1000,
    pollIntervalMs: 50,
    retryBackoffMs: 200,
    logger: silentLogger,
  };
  const bus = openTableBus(options);
  return {
    bus,
    peer: async () => openTableBus(options),
    async cleanup() {
      await bus.close();
      await db.close();
      tmp.cleanup();
    },
  };
});

test('embedded bus: partitions of a member that vanished without leaving are taken over once its leases expire', async () => {
  const tmp = tempDir('recsys-bus-');
  const db = await openPglite({ dir: await freshPgliteDir(tmp.dir) });
  try {
    await migrate(db);
    const bus = openTableBus({
      db,
      partitions: BUS_PARTITIONS,
      heartbeatMs: 100,
      sessionTimeoutMs: 1000,
      pollIntervalMs: 50,
      logger: silentLogger,
    });
    const topic = 'ghost-topic';
    const group = 'ghost-group';
    await bus.ensureTopic(topic);
    await bus.publish(topic, [
      { key: 'u1', value: 'a' },
      { key: 'u2', value: 'b' },
      { key: 'u3', value: 'c' },
    ]);
    // A member of another process that died mid-lease: it holds every partition and never heartbeats again.
    await db.query(
      `INSERT INTO event_consumer_offsets (group_id, topic, partition, owner, lease_until)
       SELECT $1, $2, g, 'dead-member', now() + interval '1 second' FROM generate_series(0, $3::int - 1) g`,
      [group, topic, BUS_PARTITIONS],
    );
    await db.query(`INSERT INTO event_group_members VALUES ($1, $2, 'dead-member', now())`, [group, topic]);
    const got: string[] = [];
    const consumer = await bus.consume({
      topic,
      groupId: group,
      handler: async (b) => {
        got.push(...b.messages.map((m) => m.value.toString()));
      },
    });
    await delay(400);
    assert.deepEqual(got, [], 'nothing is consumed while the dead member still holds valid leases');
    await waitFor(
      () => consumer.assignment().length === BUS_PARTITIONS,
      'the leases to expire and be taken over',
      10_000,
    );
    await waitFor(() => got.length === 3, 'the messages to be consumed', 10_000);
    assert.deepEqual(got.sort(), ['a', 'b', 'c']);
    await bus.close();
  } finally {
    await db.close();
    tmp.cleanup();
  }
});
