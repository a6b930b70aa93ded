// Event bus contract on Kafka, plus the retention it sets on topics. Topics are unique per test and
// deleted afterwards; timings are the shortest the broker accepts, so rebalances take a second or two.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { silentLogger } from '../../src/logger.js';
import { deadLetterTopic } from '../../src/stores/bus/dead-letter.js';
import { openKafkaBus } from '../../src/stores/bus/kafka.js';
import type { EventBus } from '../../src/stores/bus/port.js';
import { BUS_PARTITIONS, busContract } from '../stores/contract/bus.js';
import { uid } from '../stores/support/wait.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';

// kafkajs is CommonJS: ConfigResourceTypes is not a named export Node can see.
const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;

busContract('Kafka', async () => {
  const topics = new Set<string>();
  const open = async (): Promise<EventBus> => {
    const bus = await openKafkaBus({
      brokers: servers.kafkaBrokers,
      partitions: BUS_PARTITIONS,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      sessionTimeoutMs: 6000,
      heartbeatMs: 500,
      maxWaitMs: 200,
      retryBackoffMs: 200,
      logger: silentLogger,
    });
    // Remembers topics (and the dead letter topics consume() creates) so cleanup can delete them.
    const seen = <T>(topic: string, result: T): T => {
      topics.add(topic).add(deadLetterTopic(topic));
      return result;
    };
    return {
      address: bus.address,
      ensureTopic: (t) => seen(t, bus.ensureTopic(t)),
      publish: (t, m) => seen(t, bus.publish(t, m)),
      consume: (o) => seen(o.topic, bus.consume(o)),
      ping: () => bus.ping(),
      close: () => bus.close(),
    };
  };
  const bus = await open();
  const admin = new Kafka({ brokers: servers.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const maxMessageBytes = (topic: string, value: string) =>
    admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [{ name: 'max.message.bytes', value }],
        },
      ],
    });
  return {
    bus,
    peer: open,
    // The broker refuses every record batch larger than max.message.bytes (MESSAGE_TOO_LARGE).
    async refuseWrites(topic) {
      topics.add(topic);
      await admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: BUS_PARTITIONS,
            configEntries: [{ name: 'max.message.bytes', value: '1' }],
          },
        ],
        waitForLeaders: true,
      });
      return async () => {
        await maxMessageBytes(topic, '1048588'); // the broker's default
      };
    },
    async cleanup() {
      await bus.close();
      const existing = new Set(await admin.listTopics());
      await admin.deleteTopics({ topics: [...topics].filter((t) => existing.has(t)) }).catch(() => {});
      await admin.disconnect();
    },
  };
});

test('Kafka bus: topics it creates, dead letter topics too, get retention.ms from retentionMs', async () => {
  const retentionMs = 2 * 3_600_000;
  const bus = await openKafkaBus({
    brokers: servers.kafkaBrokers,
    partitions: BUS_PARTITIONS,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    retentionMs,
    logger: silentLogger,
  });
  const admin = new Kafka({ brokers: servers.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topic = uid('retention-');
  try {
    const consumer = await bus.consume({ topic, groupId: uid('g-'), handler: async () => {} });
    await consumer.stop();
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [topic, deadLetterTopic(topic)].map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['retention.ms'],
      })),
    });
    assert.deepEqual(
      resources.map((r) => [
        r.resourceName,
        r.configEntries.find((e) => e.configName === 'retention.ms')?.configValue,
      ]),
      [
        [topic, String(retentionMs)],
        [deadLetterTopic(topic), String(retentionMs)],
      ],
    );
  } finally {
    await bus.close();
    await admin.deleteTopics({ topics: [topic, deadLetterTopic(topic)] }).catch(() => {});
    await admin.disconnect();
  }
});
