/**
 * The event bus port: keyed messages on partitioned topics, consumed by consumer groups.
 * An append-only table in the relational store (embedded) or Kafka (services). Both give:
 *  - partition = murmur2(key) mod partitions (Kafka's default), so one key's messages stay
 *    in order within one partition;
 *  - publish() resolves only once the messages are durable (committed row / acks=all);
 *  - each partition is consumed by one member of a group at a time, batches in offset order;
 *  - a batch's offset is committed only after its handler resolves: a handler that throws
 *    gets the same messages again (after a pause), and a consumer that stops or dies before
 *    committing leaves the batch to whoever takes the partition next (at-least-once);
 *  - a handler may resolve before its work is durable (`ctx.settleLater`): the partition's next
 *    batches are handed over meanwhile, but offsets are still committed in order, each only
 *    once its batch has settled; a batch whose work fails later is handed over again, with
 *    every batch of the partition after it;
 *  - a batch is handed to the handler at most `maxAttempts` times (default 5): after the last
 *    failure its messages go to the dead letter topic `<topic>.dlq` on the same bus, with the
 *    error as reason, and the offset is committed so the partition moves on. A handler can
 *    also dead-letter single messages it rejects (`ctx.deadLetter`) and still succeed;
 *  - dead letters are durable before the offset is committed; if they cannot be written,
 *    nothing is committed and writing them is retried after a pause (the handler is not
 *    called again for a batch it already settled). The format is in dead-letter.ts;
 *  - messages are kept for `retentionMs` (default 7 days) after the bus accepted them, then
 *    deleted whether or not every group has read them, as Kafka's retention.ms does. A group
 *    whose position was pruned carries on at the earliest message still kept.
 * New groups start from the earliest retained message.
 */

export interface OutgoingMessage {
  /** The partitioning key: the user id for interactions. */
  key: string;
  value: string | Buffer;
}

export interface BusMessage {
  key: string;
  value: Buffer;
  partition: number;
  /** Position within the partition, increasing; a decimal string as in Kafka (int64). */
  offset: string;
  /** When the bus accepted the message, epoch ms. */
  timestamp: number;
}

export interface Batch {
  topic: string;
  partition: number;
  /** Consecutive messages of one partition, in offset order; never empty. */
  messages: BusMessage[];
  /**
   * Messages of the partition after this batch when it was fetched (Kafka's high watermark
   * minus the next offset), for consumer-lag metrics; undefined when the bus did not say.
   */
  behind?: number;
}

/** What a handler gets besides the batch. */
export interface BatchContext {
  /** 1 the first time these messages are handed over, up to maxAttempts. */
  readonly attempt: number;
  /**
   * Sets aside one message of the batch that the handler rejects (a malformed event, say):
   * if the handler then resolves, the message goes to `<topic>.dlq` with `reason` before the
   * batch is committed, and is not handed over again. Calls made in an attempt that throws
   * are dropped (the next attempt decides again), except after the last attempt, where a
   * message keeps the reason given for it. Throws a TypeError for a message not in the batch.
   */
  deadLetter(message: BusMessage, reason: string | Error): void;
  /**
   * Lets the handler resolve before the batch's work is done (the speed layer writes one
   * micro-batch while it decodes the next): the consumer hands over the partition's next batch
   * at once, but commits this batch's offset only after `done` resolves and every earlier batch
   * of the partition is committed. If `done` rejects, this batch and every later one of the
   * partition are handed over again after a pause, which counts as a failed attempt of this
   * batch (dead letters after the last) unless the reason is a BatchAbandonedError. Dead letters
   * set aside in this attempt are written after `done` resolves. If the partition is taken
   * away meanwhile (a rebalance), a consumer that cannot be sure it still holds it leaves the
   * offset uncommitted: the next owner does the batch again. At most once per call; a handler
   * that throws has its `done` ignored.
   */
  settleLater(done: Promise<void>): void;
}

/**
 * The reason to reject a `settleLater` promise with when the handler gives a batch up without
 * trying it (an earlier batch failed, so this one must come again after it): not an attempt.
 */
export class BatchAbandonedError extends Error {
  constructor(message = 'abandoned after an earlier batch failed') {
    super(message);
    this.name = 'BatchAbandonedError';
  }
}

export interface ConsumeOptions {
  topic: string;
  groupId: string;
  handler: (batch: Batch, ctx: BatchContext) => Promise<void>;
  /** Most messages per handler call (default 500). */
  maxBatchSize?: number;
  /** Handler calls a batch gets before it is dead-lettered (default: the bus's maxAttempts, itself 5 by default). */
  maxAttempts?: number;
  /**
   * How many partitions' batches may be with the handler at once (default 1). Each partition
   * still has at most one batch out at a time, in offset order; a higher value lets a handler
   * gather the batches of several partitions into one unit of work (the speed layer's
   * micro-batch) instead of waiting for them one after another.
   */
  partitionsConcurrently?: number;
  /** Called with errors the consumer recovers from by itself (handler failures, lost connections). */
  onError?: (err: Error) => void;
}

export interface Consumer {
  /** Partitions this member holds now (changes as members join and leave). */
  assignment(): number[];
  /** Lets the batch in progress finish (and commit if it succeeds), then hands the partitions back to the group. */
  stop(): Promise<void>;
}

export interface EventBus {
  readonly address: string;
  /** Creates the topic with the configured partition count if it does not exist. */
  ensureTopic(topic: string): Promise<void>;
  /** Appends messages (in array order per key) and resolves once they are durable. */
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  /** Joins `groupId` on `topic`; resolves once the consumer has started (partitions arrive shortly after). */
  consume(opts: ConsumeOptions): Promise<Consumer>;
  /** Resolves after a round trip to the bus (readiness checks); rejects with a StoreError otherwise. */
  ping(): Promise<void>;
  /** Stops this bus's consumers and releases its connections. */
  close(): Promise<void>;
}
