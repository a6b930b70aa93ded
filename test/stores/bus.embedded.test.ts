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
  let refusals = 0;
  return {
    bus,
    peer: async () => openTableBus(options),
    // A check constraint: PostgreSQL itself rejects the insert of the topic's rows.
    async refuseWrites(topic) {
      const name = `refuse_${refusals++}`;
      const literal = `'${topic.replaceAll("'", "''")}'`;
      await db.query(`ALTER TABLE event_log ADD CONSTRAINT ${name} CHECK (topic <> ${literal}) NOT VALID`);
      return async () => {
        await db.query(`ALTER TABLE event_log DROP CONSTRAINT ${name}`);
      };
    },
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

test('embedded bus: messages older than retentionMs are pruned, read or not, and newer ones stay', async () => {
  const tmp = tempDir('recsys-bus-');
  const db = await openPglite({ dir: await freshPgliteDir(tmp.dir) });
  const base = { db, partitions: BUS_PARTITIONS, heartbeatMs: 100, pollIntervalMs: 50, logger: silentLogger };
  const offsetsOf = async (topic: string) =>
    (
      await db.query<{ o: number }>(
        'SELECT log_offset::int AS o FROM event_log WHERE topic = $1 ORDER BY log_offset',
        [topic],
      )
    ).rows.map((r) => r.o);
  const age = (topic: string, below: number) =>
    db.query(`UPDATE event_log SET ts = now() - interval '2 hours' WHERE topic = $1 AND log_offset < $2`, [
      topic,
      below,
    ]);
  try {
    await migrate(db);
    const bus = openTableBus({ ...base, retentionMs: 3_600_000, pruneIntervalMs: 3_600_000 });
    const topic = 'retention-topic';
    const values = ['a', 'b', 'c', 'd', 'e'];
    await bus.publish(
      topic,
      values.map((value) => ({ key: 'u1', value })),
    );
    await age(topic, 3); // a, b, c were published two hours ago; no group has read them
    assert.equal(await bus.prune(), 3);
    assert.deepEqual(await offsetsOf(topic), [3, 4]);
    assert.equal(await bus.prune(), 0, 'nothing else is old enough');

    // A new group starts at the earliest message still kept; offsets carry on where they were.
    const got: string[] = [];
    const consumer = await bus.consume({
      topic,
      groupId: 'after-prune',
      handler: async (b) => {
        got.push(...b.messages.map((m) => `${m.offset}:${m.value}`));
      },
    });
    await waitFor(() => got.length === 2, 'the two retained messages');
    await bus.publish(topic, [{ key: 'u1', value: 'f' }]);
    await waitFor(() => got.length === 3, 'a message published after the prune');
    assert.deepEqual(got, ['3:d', '4:e', '5:f']);
    await consumer.stop();
    await bus.close();

    // Without an explicit call the bus prunes on its own, every pruneIntervalMs.
    await age(topic, 5);
    const pruning = openTableBus({ ...base, retentionMs: 3_600_000, pruneIntervalMs: 100 });
    await waitFor(async () => (await offsetsOf(topic)).length === 1, 'the periodic prune', 10_000);
    assert.deepEqual(await offsetsOf(topic), [5]);
    await pruning.close();
  } finally {
    await db.close();
    tmp.cleanup();
  }
});

test('embedded bus: a retentionMs or maxAttempts that makes no sense is refused at open', () => {
  const db = {} as TableBusOptions['db'];
  for (const bad of [
    { retentionMs: 0 },
    { retentionMs: 1.5 },
    { maxAttempts: 0 },
    { maxAttempts: Number.NaN },
  ])
    assert.throws(
      () => openTableBus({ db, partitions: 1, ...bad }),
      (err: Error) => err.name === 'StoreConfigError',
      JSON.stringify(bad),
    );
});
