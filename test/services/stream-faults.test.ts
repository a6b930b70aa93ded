// Fault tests of the speed layer (`recsys stream`, issue 10) on the real servers: the stream
// process killed with SIGKILL mid-batch again and again under a steady stream of events, poison
// messages on a partition, two processes in one consumer group of which one dies, and a process
// that gets partitions back after the other member worked on them. Each ends with every event
// produced stored exactly once and every touched profile complete (stream-harness.ts
// assertExactlyOnce: n_interactions, model_version, and the vector against a fold-in here).
//
// Isolation. Each test has its own interactions topic (RECSYS_INTERACTIONS_TOPIC) and dead
// letter topic, consumer group (RECSYS_STREAM_GROUP), PostgreSQL database and MinIO bucket
// (holding its active model), all made by the test and removed at its end, so nothing else
// publishing to the servers meets these tests. The tests run one after the other (npm run
// test:services runs files with --test-concurrency=1, and tests in a file in order).
//
// Every child process is killed at the end of its test, also on failure; each process's whole
// output is kept in a log file under $TMPDIR/recsys-stream-faults/ and its tail is printed on failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEvent, type InteractionEvent } from '../../src/events/index.js';
import { partitionFor } from '../../src/stores/bus/partitioner.js';
import { delay, waitFor } from '../stores/support/wait.js';
import {
  assertExactlyOnce,
  committedCount,
  committedOffsets,
  deadLetters,
  groupMembers,
  makeEvent,
  metric,
  openWorld,
  publishEvents,
  publishRaw,
  SteadyProducer,
  storedCount,
  usersOf,
  type World,
  waitForAll,
} from './stream-harness.js';

/** Kills of the stream process in the kill -9 test. */
const KILLS = 10;

/** Runs `body`, printing the tail of every process's output when it fails. */
async function withLogs(t: test.TestContext, world: World, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    // Multi-line, so not a diagnostic (those are one line each): the runner passes stderr on.
    process.stderr.write(`\n[${t.name}] failed; the stream processes' output:\n${world.tails()}\n`);
    throw err;
  }
}

/**
 * Waits until every event is stored and every fresh profile complete; when that times out, the
 * detailed end-state check runs first, so a failure names the missing or doubled events.
 */
async function settle(
  world: World,
  events: readonly InteractionEvent[],
  fresh: ReadonlySet<string>,
  timeoutMs: number,
): Promise<void> {
  try {
    await waitForAll(world, events, fresh, timeoutMs);
  } catch (err) {
    await assertExactlyOnce(world, events, fresh);
    throw err;
  }
}

/**
 * Waits until the group has committed every message published so far: the topic's end offsets
 * now, not as they move on (others may publish to the topic meanwhile).
 */
async function committedAll(world: World, what: string, timeoutMs: number): Promise<void> {
  const ends = await world.admin.fetchTopicOffsets(world.topic);
  await waitFor(
    async () => {
      const committed = await committedOffsets(world);
      return ends.every(
        (p) => BigInt(p.high) <= BigInt(p.low) || (committed.get(p.partition) ?? -1n) >= BigInt(p.high),
      );
    },
    what,
    timeoutMs,
  );
}

test('a poison message goes to the dead letter topic (<topic>.dlq) with its reason, and its partition goes on', {
  timeout: 180_000,
}, async (t) => {
  const world = await openWorld('poison');
  t.after(() => world.close());
  await withLogs(t, world, async () => {
    const user = `sf-poison-${world.group.slice(-12)}`;
    const other = `${user}-other`;
    const valid = (n: number) => Array.from({ length: n }, () => makeEvent(world, user));
    const before = valid(2);
    const mismatched = makeEvent(world, other);
    const badType = { ...JSON.parse(encodeEvent(makeEvent(world, user)).value), type: 'teleport' };
    const noId = JSON.parse(encodeEvent(makeEvent(world, user)).value);
    delete noId.event_id;
    const poison: Array<{ what: string; value: Buffer; reason: RegExp }> = [
      { what: 'not JSON', value: Buffer.from(`{"user_id":"${user}","item_id":`), reason: /json/i },
      { what: 'not UTF-8', value: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), reason: /utf-?8/i },
      { what: 'an unknown type', value: Buffer.from(JSON.stringify(badType)), reason: /type/i },
      { what: 'no event_id', value: Buffer.from(JSON.stringify(noId)), reason: /event_id|missing/i },
      { what: 'key ≠ user_id', value: Buffer.from(encodeEvent(mismatched).value), reason: /key|user_id/i },
    ];
    const after = valid(3);
    // One publish, one key: one partition, in this order.
    await publishRaw(world, [
      ...before.map(encodeEvent),
      ...poison.map((p) => ({ key: user, value: p.value })),
      ...after.map(encodeEvent),
    ]);

    const stream = await world.startStream('stream');
    assert.equal(stream.group, world.group, 'the stream consumes as the group RECSYS_STREAM_GROUP names');
    const events = [...before, ...after];
    await settle(world, events, new Set([user]), 90_000);

    let letters: Awaited<ReturnType<typeof deadLetters>> = [];
    await waitFor(
      async () => {
        letters = await deadLetters(world, (key) => key === user);
        return letters.length >= poison.length;
      },
      `${poison.length} dead letters keyed ${user}`,
      60_000,
    );
    assert.equal(letters.length, poison.length, `dead letters: ${letters.map((l) => l.reason).join(' | ')}`);
    letters.sort((a, b) => Number(BigInt(a.source.offset) - BigInt(b.source.offset)));
    const partition = partitionFor(user, world.partitions);
    poison.forEach((p, i) => {
      const l = letters[i]!;
      assert.ok(l.value.equals(p.value), `dead letter ${i} carries the ${p.what} message as sent`);
      assert.match(l.reason, p.reason, `the reason given for ${p.what}`);
      assert.equal(l.source.topic, world.topic);
      assert.equal(l.source.partition, partition);
      assert.ok(l.attempts >= 1);
    });
    const offsets = letters.map((l) => BigInt(l.source.offset));
    for (let i = 1; i < offsets.length; i++)
      assert.equal(offsets[i], offsets[i - 1]! + 1n, 'the poison messages are consecutive offsets');

    // Nothing of the poison reached the tables.
    const { rows } = await world.stores.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM rt_user_interactions
        WHERE user_id = $1 OR event_id = ANY($2::uuid[])`,
      [other, [mismatched.event_id, badType.event_id]],
    );
    assert.equal(rows[0]!.n, '0', 'no row for a poison message');
    const profile = await world.stores.db.query('SELECT 1 FROM user_profiles WHERE user_id = $1', [other]);
    assert.equal(profile.rowCount, 0, 'no profile for the user of the mismatched message');

    await assertExactlyOnce(world, events, new Set([user]));
    await committedAll(world, 'the group to commit past the poison', 30_000);
    assert.ok(
      (await metric(stream, 'recsys_stream_events_total', { outcome: 'dead_letter' })) >= poison.length,
      'recsys_stream_events_total{outcome="dead_letter"} counts the poison',
    );
    assert.equal((await fetch(`${stream.opsUrl}/healthz`)).status, 200, 'the process is alive');

    // The partition still flows: a later event is stored too.
    const later = valid(1);
    await publishEvents(world, later);
    await settle(world, [...events, ...later], new Set([user]), 60_000);
    const end = await stream.stop();
    assert.deepEqual([end.code, end.signal], [0, null], 'SIGTERM ends the process with 0');
  });
});

test(`kill -9 of the stream process mid-batch ${KILLS} times under a steady stream: every event stored once, every profile complete`, {
  timeout: 600_000,
}, async (t) => {
  const world = await openWorld('kill9');
  t.after(() => world.close());
  await withLogs(t, world, async () => {
    const { fresh, trained } = usersOf(world, 200);
    const freshSet = new Set(fresh);
    const start = await committedOffsets(world);
    const producer = new SteadyProducer(world, [...fresh, ...trained], 20, 100);
    const kills: Array<{ stored: number; committed: number; produced: number }> = [];
    for (let i = 0; i < KILLS; i++) {
      const stream = await world.startStream(`stream-${i}`);
      assert.equal(stream.group, world.group);
      const base = await storedCount(world);
      // Rows appearing means this process holds the partitions and works. Then kill it while a
      // micro-batch is written but not committed (more rows stored than messages committed), if
      // that shows within 15 s; else as it is.
      await waitFor(async () => (await storedCount(world)) > base, `stream-${i} to store events`, 90_000);
      await waitFor(
        async () => {
          const committed = await committedCount(world, start);
          return (await storedCount(world)) > committed;
        },
        `stream-${i} between writing a micro-batch and committing it`,
        15_000,
      ).catch(() => {});
      const end = await stream.kill9();
      assert.equal(end.signal, 'SIGKILL', `stream-${i} was killed, it did not exit by itself (${end.code})`);
      kills.push({
        stored: await storedCount(world),
        committed: await committedCount(world, start),
        produced: producer.sent.length,
      });
    }
    const events = await producer.stop();
    const torn = kills.filter((k) => k.stored > k.committed).length;
    t.diagnostic(
      `${kills.length} kills; ${torn} left rows stored beyond the committed offsets; ${events.length} events produced; ` +
        `per kill (stored/committed/produced): ${kills.map((k) => `${k.stored}/${k.committed}/${k.produced}`).join(' ')}`,
    );

    const last = await world.startStream('stream-final');
    await settle(world, events, freshSet, 180_000);
    await committedAll(world, 'the group to commit everything', 60_000);
    const end = await last.stop();
    assert.deepEqual([end.code, end.signal], [0, null], 'SIGTERM ends the process with 0');
    const checked = await assertExactlyOnce(world, events, freshSet);
    t.diagnostic(`checked ${checked.events} events of ${checked.users} users: none missing, none doubled`);
    assert.ok(torn >= 1, 'at least one kill landed between writing a micro-batch and committing it');
  });
});

test('two stream processes split the partitions; after kill -9 of one, the other finishes the work', {
  timeout: 360_000,
}, async (t) => {
  const world = await openWorld('scaleout');
  t.after(() => world.close());
  await withLogs(t, world, async () => {
    const { fresh, trained } = usersOf(world, 200);
    const freshSet = new Set(fresh);
    const all = Array.from({ length: world.partitions }, (_, p) => p);
    const a = await world.startStream('a');
    const b = await world.startStream('b');
    let split: Awaited<ReturnType<typeof groupMembers>> = [];
    await waitFor(
      async () => {
        split = await groupMembers(world);
        return split.length === 2 && split.every((m) => m.partitions.length > 0);
      },
      'two members each holding partitions',
      60_000,
    );
    assert.deepEqual(
      split.flatMap((m) => m.partitions).sort((x, y) => x - y),
      all,
      'the two members hold every partition once between them',
    );

    const start = await committedOffsets(world);
    const producer = new SteadyProducer(world, [...fresh, ...trained], 20, 100);
    const stored = (p: typeof a) => metric(p, 'recsys_stream_events_total', { outcome: 'stored' });
    // Both at work for a while (a few hundred events each).
    await waitFor(
      async () => (await stored(a)) >= 300 && (await stored(b)) >= 300,
      'both processes storing events',
      90_000,
    );
    // Kill a while a micro-batch is written but not committed (rows stored beyond the committed
    // offsets) just after a stored one, if that shows within 20 s; else kill it as it is.
    let aLast = await stored(a);
    await waitFor(
      async () => {
        const [now, rows, committed] = await Promise.all([
          stored(a),
          storedCount(world),
          committedCount(world, start),
        ]);
        const aMoved = now > aLast;
        aLast = now;
        return aMoved && rows > committed;
      },
      'a to be between writing and committing a micro-batch',
      20_000,
    ).catch(() => {});
    const killed = await a.kill9();
    assert.equal(killed.signal, 'SIGKILL');
    const atKill = { stored: await storedCount(world), committed: await committedCount(world, start) };
    await delay(3000);
    const events = await producer.stop();

    await waitFor(
      async () => {
        const m = await groupMembers(world);
        return m.length === 1 && m[0]!.partitions.join() === all.join();
      },
      'the survivor to hold every partition',
      60_000,
    );
    await settle(world, events, freshSet, 120_000);
    await committedAll(world, 'the group to commit everything', 60_000);
    const bStored = await stored(b);
    const end = await b.stop();
    assert.deepEqual([end.code, end.signal], [0, null], 'SIGTERM ends the survivor with 0');
    const checked = await assertExactlyOnce(world, events, freshSet);
    t.diagnostic(
      `${world.partitions} partitions split ${split.map((m) => m.partitions.join(',')).join(' / ')}; ` +
        `${checked.events} events of ${checked.users} users each stored once; the survivor stored ${bStored}; ` +
        `at the kill ${atKill.stored} events were stored and ${atKill.committed} committed`,
    );
  });
});

test('a process that gets partitions back after another member worked on them folds in what that member stored', {
  timeout: 300_000,
}, async (t) => {
  const world = await openWorld('regain');
  t.after(() => world.close());
  await withLogs(t, world, async () => {
    // One fresh user per partition.
    const users = Array.from({ length: world.partitions }, (_, p) => userOn(world, p));
    const fresh = new Set(users);
    const round = (who: readonly string[]) =>
      who.flatMap((u) => Array.from({ length: 3 }, () => makeEvent(world, u)));

    // 1. b alone holds every partition and folds every user in (and keeps their histories).
    const b = await world.startStream('b');
    const first = round(users);
    await publishEvents(world, first);
    await settle(world, first, fresh, 60_000);
    await committedAll(world, 'b to commit the first round', 30_000);
    let members = await groupMembers(world);
    assert.equal(members.length, 1);
    const bId = members[0]!.memberId;

    // 2. a joins; only users on a's partitions get events, so b has nothing to do meanwhile.
    const a = await world.startStream('a');
    await waitFor(
      async () => {
        members = await groupMembers(world);
        return members.length === 2 && members.every((m) => m.partitions.length > 0);
      },
      'two members each holding partitions',
      60_000,
    );
    const aPartitions = new Set(members.find((m) => m.memberId !== bId)!.partitions);
    const onA = users.filter((_, p) => aPartitions.has(p));
    const bStoredBefore = await metric(b, 'recsys_stream_events_total', { outcome: 'stored' });
    const second = round(onA);
    await publishEvents(world, second);
    await settle(world, [...first, ...second], fresh, 60_000);
    await committedAll(world, 'the group to commit everything', 30_000);
    const bIdle = (await metric(b, 'recsys_stream_events_total', { outcome: 'stored' })) === bStoredBefore;
    // Events others publish to the topic meanwhile can give b a micro-batch (which drops its
    // kept histories anyway): the end state is still checked, but the case this test is
    // about was not met then.
    t.diagnostic(
      bIdle
        ? `a held partitions ${[...aPartitions].join(',')}; b stored nothing meanwhile`
        : 'inconclusive for stale histories: b stored events of others meanwhile',
    );

    // 3. a dies; b takes every partition back, and more events come for a's users.
    const killed = await a.kill9();
    assert.equal(killed.signal, 'SIGKILL');
    await waitFor(
      async () => {
        members = await groupMembers(world);
        return members.length === 1 && members[0]!.partitions.length === world.partitions;
      },
      'b to hold every partition again',
      60_000,
    );
    const third = round(onA);
    await publishEvents(world, third);
    const events = [...first, ...second, ...third];
    await settle(world, events, fresh, 60_000);
    const end = await b.stop();
    assert.deepEqual([end.code, end.signal], [0, null], 'SIGTERM ends b with 0');
    await assertExactlyOnce(world, events, fresh);
  });
});

/** A fresh user of this world whose events land on partition `p`. */
function userOn(world: World, p: number): string {
  for (let k = 0; ; k++) {
    const user = `sf-${world.name}-${world.group.slice(-12)}-p${p}-${k}`;
    if (partitionFor(user, world.partitions) === p) return user;
  }
}
