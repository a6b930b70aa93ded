// Event bus contract on Kafka. Topics are unique per test and deleted afterwards; timings are
// the shortest the broker accepts, so rebalances take a second or two.
import { Kafka, logLevel } from 'kafkajs';
import { silentLogger } from '../../src/logger.js';
import { openKafkaBus } from '../../src/stores/bus/kafka.js';
import type { EventBus } from '../../src/stores/bus/port.js';
import { BUS_PARTITIONS, busContract } from '../stores/contract/bus.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';

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
    // Remembers topics so cleanup can delete them.
    const seen = <T>(topic: string, result: T): T => {
      topics.add(topic);
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
  return {
    bus,
    peer: open,
    async cleanup() {
      await bus.close();
      const admin = new Kafka({ brokers: servers.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [...topics] }).catch(() => {});
      await admin.disconnect();
    },
  };
});
