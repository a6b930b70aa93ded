// A publish the broker wrote but whose answer never reached the client (the broker went away
// between the two, as on a restart): the caller got an error, and the next publish must still be
// written. kafkajs's idempotent producer rolls its sequence number back after any failed request,
// so the next batch of the same size reused the lost one's sequence numbers and the broker
// dropped it as a duplicate while answering success: an event accepted (202) and lost — the loss
// the restart test caught once. The bus replaces its producer after a failed publish.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { silentLogger } from '../../src/logger.js';
import { openKafkaBus } from '../../src/stores/bus/kafka.js';
import { uid, waitFor } from '../stores/support/wait.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';
import { TcpProxy } from './tcp-proxy.js';

const { Kafka, logLevel } = kafkajs;

/** Ten messages for one key (one partition), as one POST /v1/events batch of one user. */
const batch = (tag: string) =>
  Array.from({ length: 10 }, (_, i) => ({ key: 'user-1', value: `${tag}-${i}` }));

test('Kafka bus: after a publish whose answer was lost, the next publish of the same size is written', async () => {
  const proxy = new TcpProxy('127.0.0.1', servers.kafkaFaults.port);
  proxy.port = servers.kafkaFaults.proxyPort;
  await proxy.start();
  const topic = uid('lost-answer-');
  // Written through the proxy (the FAULTS listener advertises its port); read directly.
  const bus = await openKafkaBus({
    brokers: [`127.0.0.1:${servers.kafkaFaults.proxyPort}`],
    partitions: 1,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    logger: silentLogger,
  });
  const kafka = new Kafka({ brokers: servers.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const written = async () => Number((await admin.fetchTopicOffsets(topic))[0]!.high);
  try {
    await bus.ensureTopic(topic);
    await bus.publish(topic, batch('a'));
    assert.equal(await written(), 10);

    proxy.loseAnswers();
    const lost = bus.publish(topic, batch('b'));
    lost.catch(() => {}); // awaited below
    await waitFor(
      async () => (await written()) === 20,
      'the broker wrote the batch whose answer is lost',
      10_000,
    );
    await proxy.stop(); // the connection drops; kafkajs's retries find no broker
    await assert.rejects(lost, 'the caller is told the publish failed (it cannot know it was written)');
    await proxy.start();

    // The next batch, the same size as the lost one: resent until the bus takes it (it may refuse
    // while it reconnects), then it must be in the topic.
    await waitFor(
      () =>
        bus.publish(topic, batch('c')).then(
          () => true,
          () => false,
        ),
      'a publish accepted once the broker is reachable again',
      30_000,
    );
    const consumer = kafka.consumer({ groupId: uid('lost-answer-read-') });
    const seen: string[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
      await waitFor(async () => seen.length >= (await written()), 'every written message read back', 20_000);
    } finally {
      await consumer.disconnect();
    }
    const tags = new Set(seen.map((v) => v.split('-')[0]));
    assert.ok(tags.has('c'), `the accepted batch is not in the topic; read: ${seen.join(' ')}`);
    assert.deepEqual(
      seen.filter((v) => v.startsWith('c-')).sort(),
      batch('c')
        .map((m) => m.value)
        .sort(),
      'every message of the accepted batch, once',
    );
  } finally {
    await bus.close();
    await proxy.stop();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
});
