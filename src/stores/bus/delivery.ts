/**
 * The delivery rules both consumers share: attempts per batch, dead letters, and what may be
 * committed. A consumer fetches, calls deliver() with a partition's batch, and commits through
 * the messages it says are settled, or re-reads them after a pause when it says none are.
 *  - A batch whose handler throws is retried with the same messages (never more: a batch
 *    refetched from the same offset is trimmed to the failed one), up to maxAttempts calls.
 *  - After the last failure every message becomes a dead letter; so do messages a successful
 *    handler rejected through ctx.deadLetter.
 *  - Dead letters are published (durably) before deliver() reports the messages settled. If
 *    that fails, they are kept and published on the next call for the same offset, without
 *    calling the handler again.
 *  - A handler that settles later (ctx.settleLater) gets its batch counted as settled at once,
 *    so the consumer moves on, and `later` says when it may be committed (its dead letters
 *    written first) or that it must be handed over again (a failed attempt, as above).
 * State is per partition and keyed by the batch's first offset, so a partition that moved to
 * another member and back starts over wherever the group's committed offset then is.
 */
import type { Logger } from '../../logger.js';
import { deadLetterTopic, encodeDeadLetter, reasonOf } from './dead-letter.js';
import {
  type Batch,
  BatchAbandonedError,
  type BatchContext,
  type BusMessage,
  type ConsumeOptions,
  type OutgoingMessage,
} from './port.js';

export interface DeliveryDeps {
  topic: string;
  handler: ConsumeOptions['handler'];
  maxAttempts: number;
  /** The bus's own publish: resolves once the messages are durable. */
  publish: (topic: string, messages: readonly OutgoingMessage[]) => Promise<void>;
  /** Handler failures and failed dead-letter writes (the consumer logs them and calls onError). */
  report: (err: unknown) => void;
  logger: Logger;
}

interface Pending {
  first: string;
  last: string;
  attempts: number;
  /** Dead letters decided but not yet written. */
  letters?: OutgoingMessage[];
}

/** What one attempt settled. */
export interface Delivered {
  /** How many of the batch's first messages the consumer may move past; 0: retry after a pause. */
  settled: number;
  /**
   * For a batch settled later: resolves (never rejects) once the `settled` messages may be
   * committed, to `settled`, or to 0 when they must be handed over again (after a pause).
   * Null when they may be committed now.
   */
  later: Promise<number> | null;
}

export class Delivery {
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly deps: DeliveryDeps) {}

  /**
   * One attempt at a batch of one partition (consecutive offsets). Resolves to how many of its
   * first messages are settled and may be committed; 0 means retry after a pause.
   */
  async deliver(batch: Batch): Promise<Delivered> {
    const p = batch.partition;
    const first = batch.messages[0]!.offset;
    let state = this.pending.get(p);
    let messages = batch.messages;
    if (state) {
      const end = state.first === first ? messages.findIndex((m) => m.offset === state!.last) : -1;
      if (end < 0) {
        // Another offset (the partition moved on elsewhere) or a shorter fetch: start over.
        this.pending.delete(p);
        state = undefined;
      } else messages = messages.slice(0, end + 1);
    }
    if (state?.letters) return { settled: await this.write(p, state, messages.length), later: null };

    const attempt = (state?.attempts ?? 0) + 1;
    const rejected = new Map<string, string>();
    const offsets = new Set(messages.map((m) => m.offset));
    let done: Promise<void> | null = null;
    const ctx: BatchContext = {
      attempt,
      deadLetter(message: BusMessage, reason: string | Error) {
        if (message.partition !== p || !offsets.has(message.offset))
          throw new TypeError(`deadLetter: offset ${message.offset} is not in this batch of partition ${p}`);
        rejected.set(message.offset, typeof reason === 'string' ? reason : reasonOf(reason));
      },
      settleLater(promise: Promise<void>) {
        if (done) throw new TypeError('settleLater: called twice for one batch');
        done = promise;
        promise.catch(() => {}); // awaited in settle(); never left unhandled meanwhile
      },
    };
    try {
      await this.deps.handler(messages === batch.messages ? batch : { ...batch, messages }, ctx);
    } catch (err) {
      return { settled: await this.failed(p, first, messages, attempt, rejected, err), later: null };
    }
    if (done)
      return { settled: messages.length, later: this.settle(p, first, messages, attempt, rejected, done) };
    return { settled: await this.succeeded(p, first, messages, attempt, rejected), later: null };
  }

  /** A batch settled later: waits for its work, then as if the handler had just resolved or thrown. */
  private async settle(
    p: number,
    first: string,
    messages: BusMessage[],
    attempt: number,
    rejected: Map<string, string>,
    done: Promise<void>,
  ): Promise<number> {
    try {
      await done;
    } catch (err) {
      if (err instanceof BatchAbandonedError) return 0;
      return this.failed(p, first, messages, attempt, rejected, err);
    }
    return this.succeeded(p, first, messages, attempt, rejected);
  }

  private succeeded(
    p: number,
    first: string,
    messages: BusMessage[],
    attempt: number,
    rejected: Map<string, string>,
  ): Promise<number> | number {
    const letters = messages
      .filter((m) => rejected.has(m.offset))
      .map((m) => encodeDeadLetter(this.deps.topic, m, rejected.get(m.offset)!, attempt));
    if (letters.length === 0) {
      this.clear(p, first);
      return messages.length;
    }
    return this.write(
      p,
      { first, last: messages.at(-1)!.offset, attempts: attempt, letters },
      messages.length,
    );
  }

  private failed(
    p: number,
    first: string,
    messages: BusMessage[],
    attempt: number,
    rejected: Map<string, string>,
    err: unknown,
  ): Promise<number> | number {
    this.deps.report(err);
    const last = messages.at(-1)!.offset;
    if (attempt < this.deps.maxAttempts) {
      this.pending.set(p, { first, last, attempts: attempt });
      return 0;
    }
    const reason = reasonOf(err);
    const letters = messages.map((m) =>
      encodeDeadLetter(this.deps.topic, m, rejected.get(m.offset) ?? reason, attempt),
    );
    return this.write(p, { first, last, attempts: attempt, letters }, messages.length);
  }

  /** Forgets the partition's state if it is this batch's (a later batch may have failed since). */
  private clear(partition: number, first: string): void {
    if (this.pending.get(partition)?.first === first) this.pending.delete(partition);
  }

  private async write(partition: number, state: Pending, settled: number): Promise<number> {
    const letters = state.letters!;
    try {
      await this.deps.publish(deadLetterTopic(this.deps.topic), letters);
    } catch (err) {
      // Not committed: the same letters are written on the next call for this offset.
      this.pending.set(partition, state);
      this.deps.report(err);
      return 0;
    }
    this.clear(partition, state.first);
    this.deps.logger.warn(
      {
        topic: this.deps.topic,
        partition,
        from: state.first,
        to: state.last,
        deadLetters: letters.length,
        attempts: state.attempts,
      },
      `dead-lettered ${letters.length} message(s) to ${deadLetterTopic(this.deps.topic)}`,
    );
    return settled;
  }
}
