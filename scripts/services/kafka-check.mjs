#!/usr/bin/env node
// Waits until a Kafka broker answers metadata requests, then prints its topics.
// Used by scripts/services.sh as the Kafka health check.
// Env: KAFKA_BROKERS (127.0.0.1:9092), WAIT_S (60).
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const deadline = Date.now() + Number(process.env.WAIT_S ?? 60) * 1000;
const kafka = new Kafka({
  clientId: 'recsys-services-check',
  brokers,
  logLevel: logLevel.NOTHING,
  connectionTimeout: 2000,
  requestTimeout: 5000,
  retry: { retries: 0 },
});

for (;;) {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = await admin.listTopics();
    const cluster = await admin.describeCluster();
    console.log(
      `kafka ${brokers.join(',')}: cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s), ` +
        `topics: ${topics.length ? topics.join(' ') : '(none)'}`,
    );
    await admin.disconnect();
    break;
  } catch (err) {
    await admin.disconnect().catch(() => {});
    if (Date.now() > deadline) {
      console.error(`kafka ${brokers.join(',')}: ${err?.message ?? err}`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
