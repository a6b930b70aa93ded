/**
 * One micro-batch, start to end (DESIGN.md §1, speed layer):
 *   1. decode into Arrow columns; bad messages to the dead letter with the reason (columns.ts);
 *   2. dedupe by event_id (within the batch here, against the table by the insert);
 *   3. register new user and item ids, then in one transaction: append to
 *      rt_user_interactions idempotently and raise the decayed popular counts of the items
 *      whose events were new (writer.ts);
 *   4. fold in every user with new events — their whole history against the active model's
 *      item factors, all users through the kernel together (histories.ts, model/fold-in.ts);
 *   5. upsert user_profiles in the same transaction;
 *   6. after the commit, publish a user-update message per folded user; each serving process
 *      drops the user's cached answers and, where someone is subscribed to the user, scores
 *      the new profile and pushes it (serving/server.ts). Scoring here instead would cost a
 *      top-K over the whole catalog per touched user whether anyone listens or not;
 * and the bus commits the offsets only after this resolves (micro-batcher.ts).
 * A store that is unavailable makes the batch wait and retry (nothing is dead-lettered for
 * an outage); any other failure is thrown, so the bus hands the batch over again.
 */
import type { BackendName } from '../compute/kernels.js';
import {
  type EventWeights,
  encodeProfileUpdates,
  PROFILE_UPDATES_PER_MESSAGE,
  USER_UPDATES_CHANNEL,
} from '../events/index.js';
import type { Logger } from '../logger.js';
import type { LoadedModel } from '../model/active.js';
import { FoldIn } from '../model/fold-in.js';
import type { Cache } from '../stores/cache/port.js';
import { StoreUnavailableError } from '../stores/errors.js';
import type { RelationalStore } from '../stores/relational/port.js';
import { sleep } from '../stores/timeout.js';
import { decodeWindow, type EventColumns } from './columns.js';
import { Histories, type History } from './histories.js';
import type { SpeedMetrics } from './metrics.js';
import type { Pending, WindowWrite } from './micro-batcher.js';
import { encodeEvents, insertEvents, type ProfileRow, registerNewIds, upsertProfiles } from './writer.js';

export interface ProcessorDeps {
  db: RelationalStore;
  cache: Pick<Cache, 'publish'>;
  model: () => LoadedModel | null;
  backend: BackendName;
  weights: EventWeights;
  popularHalfLifeHours: number;
  metrics: SpeedMetrics;
  logger: Logger;
  /** Partitions this member holds now (for the lag metric). */
  assignment: () => number[];
  /** Histories kept between micro-batches (LRU). */
  maxHistories?: number;
  /** Pause between attempts while a store is unavailable. */
  retryMs?: number;
  /** Aborted when the process stops: a batch waiting on a store gives up (and is not committed). */
  signal?: AbortSignal;
  /**
   * The store can run a read while a transaction is open (a connection pool: PostgreSQL);
   * PGlite's single connection cannot, so there the fold-in waits for the insert.
   */
  parallelReads?: boolean;
}

interface Folded {
  folded: Map<number, History>;
  profiles: ProfileRow[];
}

/** A window between the two stages. */
interface Prepared {
  messages: number;
  started: number;
  columns: EventColumns;
  /** The events' binary COPY payload, encoded here so that the write only sends it. */
  payload: Buffer;
  rejected: number;
  repeats: number;
  version: string | null;
  foldIn: FoldIn | null;
  /** The fold-in from the kept histories (parallelReads), used if every event proves new. */
  guess: Folded | null;
  /** Histories.epoch when the guess began, and whether its histories were kept. */
  epoch: number;
  kept: boolean;
}

export interface BatchSummary {
  messages: number;
  stored: number;
  duplicates: number;
  deadLetters: number;
  profiles: number;
  modelVersion: string | null;
}

export class MicroBatchProcessor {
  private readonly histories: Histories;
  private readonly known = { users: new Set<string>(), items: new Set<string>() };
  private foldIn: FoldIn | null = null;
  /** Per partition, the offset after the last message this process handled: where its next batch should start. */
  private readonly next = new Map<number, bigint>();
  private readonly listeners = new Set<(s: BatchSummary) => void>();
  /** The window being written (or the last one): whose users and kept histories it touches. */
  private writing: { users: Set<string>; epoch: number; kept: boolean; done: Promise<void> } | null = null;

  constructor(private readonly d: ProcessorDeps) {
    this.histories = new Histories(d.weights, d.maxHistories ?? 200_000);
  }

  /** Called after every micro-batch (tests and benchmarks watch progress through it). */
  onBatch(fn: (s: BatchSummary) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** One micro-batch start to end: prepare, then write (tests; the speed layer pipelines the two). */
  readonly process = async (window: readonly Pending[]): Promise<void> => {
    const write = await this.prepare(window);
    await write();
  };

  /**
   * The first stage of a micro-batch, which writes nothing: decode, take up a new model, and
   * (with `parallelReads`) fold in every user against the kept histories, extended in place and
   * kept at once, so the next micro-batch can be prepared while this one is written. Resolves
   * to the second stage, which the speed layer runs after the previous window's.
   */
  readonly prepare = async (window: readonly Pending[]): Promise<WindowWrite> => {
    const started = performance.now();
    const { metrics } = this.d;
    const held = this.d.assignment();
    for (const { batch } of window) metrics.setLag(batch.partition, batch.behind, held);
    const messages = window.reduce((s, p) => s + p.batch.messages.length, 0);
    metrics.batchEvents.observe(messages);
    const { columns, rejected, repeats } = await decodeWindow(window);
    const version = await this.followModel();
    this.checkContinuity(window);
    for (const { batch } of window)
      this.next.set(batch.partition, BigInt(batch.messages[batch.messages.length - 1]!.offset) + 1n);
    const prepared: Prepared = {
      messages,
      started,
      columns,
      payload: await encodeEvents(columns),
      rejected,
      repeats,
      version,
      foldIn: this.foldIn,
      guess: null,
      epoch: this.histories.epoch,
      kept: false,
    };
    if (columns.length > 0 && prepared.foldIn && this.d.parallelReads) await this.guess(prepared);
    this.d.logger.debug(
      { events: messages, ms: Math.round(performance.now() - started) },
      'speed layer micro-batch prepared',
    );
    return () => this.write(prepared);
  };

  /**
   * Folds in the prepared window's users from the kept histories (read from the store for
   * users not kept). The window before may still be being written: its events are in the kept
   * histories (extended when it was prepared) unless those were dropped since, and a user it
   * touched who is not kept would be read without them — in both cases this waits for its write.
   */
  private async guess(p: Prepared): Promise<void> {
    const before = this.writing;
    if (before && !(before.kept && before.epoch === this.histories.epoch)) await before.done;
    p.epoch = this.histories.epoch;
    const built = await this.histories.build(this.d.db, p.columns, p.foldIn!.model, {
      useKept: true,
      readerSeesBatch: false,
      beforeRead: async (ids) => {
        const w = this.writing;
        if (w && ids.some((id) => w.users.has(id))) await w.done;
      },
    });
    p.guess = await this.fold(p.foldIn!, p.columns, built);
    if (this.histories.epoch === p.epoch) {
      this.histories.keep(p.columns, built);
      p.kept = true;
    }
  }

  /** The second stage: store, fold in where the guess cannot be used, publish. */
  private async write(p: Prepared): Promise<void> {
    const { columns } = p;
    const storing = columns.length === 0 ? Promise.resolve(null) : this.untilStored(() => this.store(p));
    const done = storing.then(
      () => {},
      () => {},
    );
    this.writing = { users: new Set(columns.users), epoch: p.epoch, kept: p.kept, done };
    const written = await storing;
    const { metrics } = this.d;
    const stored = written?.stored ?? 0;
    const duplicates = p.repeats + columns.length - stored;
    metrics.events.inc({ outcome: 'stored' }, stored);
    metrics.events.inc({ outcome: 'duplicate' }, duplicates);
    metrics.events.inc({ outcome: 'dead_letter' }, p.rejected);
    const profiles = written?.profiles ?? [];
    if (profiles.length > 0) {
      this.observeFreshness(columns, written!.folded);
      await this.publish(p.version!, columns, written!.folded);
    }
    metrics.batchSeconds.observe((performance.now() - p.started) / 1000);
    const summary: BatchSummary = {
      messages: p.messages,
      stored,
      duplicates,
      deadLetters: p.rejected,
      profiles: profiles.length,
      modelVersion: p.version,
    };
    for (const fn of this.listeners) fn(summary);
  }

  /** Takes up a new active model (kept histories hold the old one's item indices: dropped). */
  private async followModel(): Promise<string | null> {
    const loaded = this.d.model();
    if ((loaded?.model ?? null) !== (this.foldIn?.model ?? null)) {
      this.foldIn = loaded
        ? await FoldIn.create(loaded.model, this.d.backend, { maxEntries: 200_000, maxRows: 512 })
        : null;
      this.histories.reset();
      if (loaded) this.d.logger.info({ version: loaded.model.meta.version }, 'speed layer folds into model');
    }
    return this.foldIn?.model.meta.version ?? null;
  }

  /**
   * Kept histories hold only what this process folded in. A batch that does not start where
   * this process left off its partition means another member consumed that partition meanwhile
   * (lost and given back, however quickly), and the histories of its users lack what that
   * member stored: every kept history is dropped then, and read back from the store. (A
   * partition this process never held has no kept users; one it lost and did not get back is
   * never read from them.) (A window that failed left `next` as it was: the bus hands
   * the same batches over again, and they continue where this process left off.)
   */
  private checkContinuity(window: readonly Pending[]): void {
    for (const { batch } of window) {
      const expected = this.next.get(batch.partition);
      if (expected !== undefined && BigInt(batch.messages[0]!.offset) !== expected) {
        this.histories.reset();
        this.next.clear();
        return;
      }
    }
  }

  /**
   * Steps 3–5 in one transaction. When every event is new (the common case) the fold-in
   * prepared from the kept histories stands, unless the kept histories were dropped since it
   * began (a batch before it failed or was a redelivery, a new model): then, and without
   * `parallelReads` (PGlite: the fold-in waits for the insert), the users are folded in here
   * from what the transaction sees. When some events were stored before (a redelivery: an
   * earlier attempt may have died between its commit and its offsets), every user of the
   * batch is refolded from what the store holds, so a profile always reflects its user's
   * whole history, however often the batch comes.
   */
  private async store(p: Prepared) {
    const { columns, foldIn } = p;
    const phases = new Phases();
    await registerNewIds(this.d.db, columns, this.known);
    phases.mark('register');
    const result = await this.d.db
      .transaction(async (tx) => {
        const inserted = await insertEvents(tx, columns, this.d.popularHalfLifeHours * 3600, p.payload);
        let stored = 0;
        for (const n of inserted.values()) stored += n;
        phases.mark('insert');
        if (!foldIn)
          return { stored, folded: new Map<number, History>(), profiles: [] as ProfileRow[], refolded: null };
        const allNew = stored === columns.length;
        let folded: Folded;
        let refolded: Map<number, History> | null = null;
        if (allNew && p.guess && p.kept && p.epoch === this.histories.epoch) folded = p.guess;
        else {
          if (!allNew) this.histories.abandon();
          refolded = await this.histories.build(tx, columns, foldIn.model, {
            useKept: allNew && !this.d.parallelReads,
            readerSeesBatch: true,
          });
          folded = await this.fold(foldIn, columns, refolded);
        }
        phases.mark('fold');
        await upsertProfiles(tx, foldIn.model.meta.version, folded.profiles);
        phases.mark('profiles');
        return { stored, ...folded, refolded };
      })
      .catch((err: unknown) => {
        this.histories.abandon();
        throw err;
      });
    phases.mark('commit');
    if (result.refolded) this.histories.keep(columns, result.refolded);
    this.d.logger.debug({ events: columns.length, ms: phases.ms }, 'speed layer micro-batch written');
    return result;
  }

  /**
   * Vectors for every user with something the model knows; others keep no profile yet. Solved
   * a slice of users at a time, yielding between slices (a write may be waiting on the loop).
   */
  private async fold(
    foldIn: FoldIn,
    columns: EventColumns,
    histories: Map<number, History>,
  ): Promise<Folded> {
    const folded = new Map<number, History>();
    const rows: ReadonlyMap<number, number>[] = [];
    for (const [u, h] of histories) {
      if (h.items.size === 0 || h.items.size > foldIn.maxEntries) continue;
      folded.set(u, h);
      rows.push(h.items);
    }
    const solved: { vector: Float32Array }[] = [];
    for (let from = 0; from < rows.length; from += FOLD_SLICE) {
      if (from > 0) await new Promise(setImmediate);
      for (const r of foldIn.solveMerged(rows.slice(from, from + FOLD_SLICE))) solved.push(r);
    }
    const profiles: ProfileRow[] = [];
    let k = 0;
    for (const [u, h] of folded)
      profiles.push({ userId: columns.users[u]!, vector: solved[k++]!.vector, nInteractions: h.n });
    return { folded, profiles };
  }

  /** Runs `fn` until it gets through a store outage (or the process stops). */
  private async untilStored<T>(fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof StoreUnavailableError) || this.d.signal?.aborted) throw err;
        this.d.metrics.storeRetries.inc();
        this.d.logger.warn({ err }, 'speed layer: a store is unavailable; retrying the micro-batch');
        await sleep(this.d.retryMs ?? 1000, this.d.signal);
      }
    }
  }

  private observeFreshness(columns: EventColumns, folded: ReadonlyMap<number, History>): void {
    const now = Date.now();
    for (let i = 0; i < columns.length; i++)
      if (folded.has(columns.userCode[i]!))
        this.d.metrics.freshness.observe(Math.max(0, now - columns.acceptedAt[i]!) / 1000);
  }

  /**
   * "Profile changed" for every folded user, a thousand users per message (no lists: serving
   * drops the caches and scores the new profile for subscribers). `accepted_at` (the user's
   * oldest event in the batch) lets serving measure freshness up to the push.
   */
  private async publish(
    version: string,
    columns: EventColumns,
    folded: ReadonlyMap<number, History>,
  ): Promise<void> {
    const oldest = new Map<number, number>();
    for (let i = 0; i < columns.length; i++) {
      const u = columns.userCode[i]!;
      if (!folded.has(u)) continue;
      const t = columns.acceptedAt[i]!;
      if (!(oldest.get(u)! <= t)) oldest.set(u, t);
    }
    const messages = encodeProfileUpdates(
      [...folded.keys()].map((u) => ({ user_id: columns.users[u]!, accepted_at: oldest.get(u) })),
      version,
    );
    // Best effort: the profile is written; a lost message only means caches expire by TTL.
    const results = await Promise.allSettled(
      messages.map((m) => this.d.cache.publish(USER_UPDATES_CHANNEL, m)),
    );
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed > 0) this.d.logger.warn({ failed }, 'speed layer: some user updates were not published');
    let announced = 0;
    results.forEach((r, j) => {
      if (r.status === 'fulfilled')
        announced += Math.min(PROFILE_UPDATES_PER_MESSAGE, folded.size - j * PROFILE_UPDATES_PER_MESSAGE);
    });
    this.d.metrics.updates.inc(announced);
    this.d.metrics.profiles.inc(folded.size);
  }
}

/** Users solved between two yields to the event loop. */
const FOLD_SLICE = 2048;

/** Milliseconds per phase of a micro-batch, for the debug log. */
class Phases {
  readonly ms: Record<string, number> = {};
  private last = performance.now();

  mark(name: string): void {
    const now = performance.now();
    this.ms[name] = Math.round(now - this.last);
    this.last = now;
  }
}
