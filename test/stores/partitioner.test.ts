// The embedded bus must put a key on the same partition Kafka's default partitioner picks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Partitioners } from 'kafkajs';
import { partitionFor } from '../../src/stores/bus/partitioner.js';

test('partitionFor matches kafkajs DefaultPartitioner (Java-compatible murmur2) for every key length', () => {
  const kafka = Partitioners.DefaultPartitioner();
  for (const partitions of [1, 4, 7, 12, 100]) {
    const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
      partitionId: i,
      leader: 0,
      replicas: [0],
      isr: [0],
      partitionErrorCode: 0,
    }));
    for (let i = 0; i < 500; i++) {
      const key = `user-${i}${'x'.repeat(i % 5)}é`;
      const expected = kafka({ topic: 't', partitionMetadata, message: { key, value: null } });
      assert.equal(partitionFor(key, partitions), expected, `key ${key}, ${partitions} partitions`);
    }
  }
});
