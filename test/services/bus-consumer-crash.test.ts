// A consumer whose only broker closes the connection on its group-coordinator lookup, as a broker
// shutting down does: kafkajs's lookup then fails over every broker and throws
// KafkaJSGroupCoordinatorNotFound, a non-retriable error, and kafkajs does not restart the consumer
// after it: the process went on running and consumed nothing more (the restart test caught the
// stream so, every later event "lost"). The bus replaces such a member, and the messages written
// after the broker answers again are consumed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/logger.js';
import { openKafkaBus } from '../../src/stores/bus/kafka.js';
import { uid, waitFor } from '../stores/support/wait.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';
import { TcpProxy } from './tcp-proxy.js';

/** Kafka's API key of FindCoordinator requests. */
const FIND_COORDINATOR = 10;

const batch = (tag: string) => Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: `${tag}-${i}` }));

test('Kafka bus: a member kafkajs gave up on (its coordinator lookup failed) is replaced and consumes once the broker answers', async () => {
  const proxy = new TcpProxy('127.0.0.1', servers.kafkaFaults.port);
  proxy.port = servers.kafkaFaults.proxyPort;
  await proxy.start();
  const topic = uid('consumer-crash-');
  // Written directly; read through the proxy (the FAULTS listener advertises its port).
  const writer = await openKafkaBus({
    brokers: servers.kafkaBrokers,
    partitions: 1,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    logger: silentLogger,
  });
  const reader = await openKafkaBus({
    brokers: [`127.0.0.1:${servers.kafkaFaults.proxyPort}`],
    partitions: 1,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    retryBackoffMs: 200,
    logger: silentLogger,
  });
  const seen: string[] = [];
  const errors: string[] = [];
  try {
    await writer.ensureTopic(topic);
    await writer.publish(topic, batch('a'));
    // The member joins while every coordinator lookup has its connection closed: kafkajs crashes
    // and gives up on it (a proxy cannot make a running member look its coordinator up again; a
    // broker going down does, by answering NOT_COORDINATOR, as the restart test saw).
    proxy.refuseKafkaRequests(FIND_COORDINATOR);
    const consumer = await reader.consume({
      topic,
      groupId: uid('consumer-crash-'),
      handler: async (b) => {
        for (const m of b.messages) seen.push(m.value.toString());
      },
      onError: (err) => errors.push(err.message),
    });
    await waitFor(
      async () => errors.some((m) => /Failed to find group coordinator/.test(m)),
      'the consumer crashed looking for its coordinator',
      30_000,
    ).catch((err: Error) => assert.fail(`${err.message}; errors: ${errors.join(' | ')}`));
    assert.deepEqual(seen, []);

    proxy.refuseKafkaRequests(null);
    await writer.publish(topic, batch('b'));
    await waitFor(
      async () => seen.length >= 10,
      'every message consumed once the broker answers lookups again',
      60_000,
    ).catch((err: Error) => assert.fail(`${err.message}; seen: ${seen.join(' ')}`));
    assert.deepEqual([...seen].sort(), [...batch('a'), ...batch('b')].map((m) => m.value).sort());
    assert.ok(consumer.assignment().length > 0, 'the member holds the partition');
    await consumer.stop();
  } finally {
    await reader.close();
    await writer.close();
    await proxy.stop();
  }
});
