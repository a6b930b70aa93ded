// Tearing down what a multi-process services test made: its topics, consumer group and database.
import type kafkajs from 'kafkajs';
import { deadLetterTopic } from '../../src/stores/bus/dead-letter.js';
import type { RelationalStore } from '../../src/stores/relational/port.js';
import { delay } from '../stores/support/wait.js';

/** Deletes the topic (and its dead letter) and the group, then disconnects the admin client. */
export async function removeKafkaResources(
  admin: kafkajs.Admin,
  topic: string,
  group: string,
): Promise<void> {
  await admin.deleteTopics({ topics: [topic, deadLetterTopic(topic)] }).catch(() => {});
  // Members killed by SIGKILL stay in the group until their session times out (10 s).
  for (const until = Date.now() + 15_000; Date.now() < until; await delay(1000))
    if (
      await admin.deleteGroups([group]).then(
        () => true,
        () => false,
      )
    )
      break;
  await admin.disconnect().catch(() => {});
}

/**
 * Drops the database; undefined when done, else the last error. FORCE ends our own sessions;
 * an autovacuum worker (the superuser's) on the new tables it cannot end, so a drop that meets
 * one is tried again for a while.
 */
export async function dropDatabase(server: RelationalStore, name: string): Promise<unknown> {
  let dropError: unknown;
  for (const until = Date.now() + 20_000; Date.now() < until; await delay(500)) {
    dropError = await server.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(
      () => undefined,
      (err: unknown) => err ?? 'failed',
    );
    if (dropError === undefined) break;
  }
  return dropError;
}
