/**
 * Users' histories as the fold-in needs them: the row the model was trained on for the user
 * (AlsModel.seen with its training values) plus every interaction stored after the model's
 * data (rt_user_interactions newer than meta.dataUntil), merged per item the way the trainer
 * merges — implicit: weights add up (events/weights.ts); explicit: the last rating counts.
 * Items the model does not know are left out (they are served by popularity until a model
 * has them), but every event counts in n_interactions.
 *
 * A micro-batch touches users whose history was read a moment ago, so histories stay in an
 * LRU between batches: a user whose every new event was just inserted gets those events added
 * to the kept history; anyone else (not kept, some events already stored by an earlier
 * attempt, another model) is read back from the store. Partitions are keyed by user, so one
 * stream process sees all of a user's events while it holds the partition; when a partition
 * comes back after another member worked on it, the processor drops the kept histories.
 */
import { LRUCache } from 'lru-cache';
import { EVENT_TYPES, type EventType, type EventWeights, eventWeight } from '../events/index.js';
import type { AlsModel } from '../model/model.js';
import type { Queryable } from '../stores/relational/port.js';
import type { EventColumns } from './columns.js';

export interface History {
  /** Item index → merged value. */
  readonly items: Map<number, number>;
  /** Events folded: training pairs of the user plus stored events after the model's data. */
  n: number;
  /** The model whose item indices `items` holds. */
  readonly model: AlsModel;
}

interface RtRow {
  user_id: string;
  item_id: string;
  type: string;
  value: number | null;
}

export class Histories {
  private readonly kept: LRUCache<string, History>;
  /** Bumped whenever the kept histories are dropped: what was built from them before is suspect. */
  private dropped = 0;

  constructor(
    private readonly weights: EventWeights,
    maxUsers: number,
  ) {
    this.kept = new LRUCache({ max: maxUsers });
  }

  /** Forget every kept history (the model or the partitions held changed). */
  reset(): void {
    this.kept.clear();
    this.dropped++;
  }

  /** Changes whenever the kept histories are dropped (reset, abandon). */
  get epoch(): number {
    return this.dropped;
  }

  /**
   * The history of every user of the batch, after its events. `reader` answers for what the
   * store holds: when it already sees the batch's rows (`readerSeesBatch`: the transaction that
   * inserted them), histories read from it are complete; otherwise (another connection, before
   * the insert commits) the batch's events are added to them. With `useKept`, users kept from
   * earlier batches are not read at all: the batch's events are added to their kept history, in
   * place (a batch that fails afterwards must call abandon()). Only valid when every event of
   * the batch is new to the store.
   */
  async build(
    reader: Queryable,
    columns: EventColumns,
    model: AlsModel,
    opts: {
      useKept: boolean;
      readerSeesBatch: boolean;
      /** Called with the users about to be read from `reader`, before the read. */
      beforeRead?: (users: readonly string[]) => Promise<void>;
    },
  ): Promise<Map<number, History>> {
    const perUser = new Map<number, number[]>();
    for (let i = 0; i < columns.length; i++) {
      const u = columns.userCode[i]!;
      const list = perUser.get(u);
      if (list) list.push(i);
      else perUser.set(u, [i]);
    }
    // The model's index of each distinct item of the batch, looked up once (-1: not in the model).
    const itemIdx = Int32Array.from(columns.items, (id) => model.itemIdx(id) ?? -1);
    const addBatch = (h: History, events: number[]) => {
      for (const i of events)
        this.addIdx(h, itemIdx[columns.itemCode[i]!]!, columns.typeCode[i]!, columns.value[i]!);
    };
    const out = new Map<number, History>();
    const missing: number[] = [];
    for (const [u, events] of perUser) {
      const kept = opts.useKept ? this.kept.get(columns.users[u]!) : undefined;
      if (kept && kept.model === model) {
        addBatch(kept, events);
        out.set(u, kept);
      } else missing.push(u);
    }
    if (missing.length > 0) {
      const ids = missing.map((u) => columns.users[u]!);
      await opts.beforeRead?.(ids);
      const read = await this.read(reader, ids, model);
      for (let k = 0; k < missing.length; k++) {
        const h = read.get(ids[k]!)!;
        if (!opts.readerSeesBatch) addBatch(h, perUser.get(missing[k]!)!);
        out.set(missing[k]!, h);
      }
    }
    return out;
  }

  /**
   * Keeps these histories for the next batches: after the transaction that wrote them
   * committed, or, in the speed layer's pipeline, as soon as they are built (what the next
   * micro-batch must start from), with abandon() if their batch then fails.
   */
  keep(columns: EventColumns, histories: ReadonlyMap<number, History>): void {
    for (const [u, h] of histories) this.kept.set(columns.users[u]!, h);
  }

  /** The batch failed after after(): kept histories may hold its events, so none is trusted. */
  abandon(): void {
    this.reset();
  }

  private async read(tx: Queryable, users: string[], model: AlsModel): Promise<Map<string, History>> {
    const out = new Map<string, History>();
    for (const u of users) out.set(u, this.trained(u, model));
    // Interactions after the model's data (all of them when the model does not say).
    const since = model.meta.dataUntil ? new Date(model.meta.dataUntil) : null;
    const { rows } = await tx.query<RtRow>(
      `SELECT user_id, item_id, type, value FROM rt_user_interactions
        WHERE user_id = ANY($1) AND ($2::timestamptz IS NULL OR ts > $2) ORDER BY ts, event_id`,
      [users, since],
    );
    for (const r of rows) this.add(out.get(r.user_id)!, r.item_id, r.type as EventType, r.value);
    return out;
  }

  /** The user's training row, or an empty history for a user the model has not seen. */
  private trained(user: string, model: AlsModel): History {
    const items = new Map<number, number>();
    const u = model.userIdx(user);
    if (u === undefined) return { items, n: 0, model };
    const from = model.seenIndptr[u]!;
    const to = model.seenIndptr[u + 1]!;
    for (let e = from; e < to; e++) items.set(model.seenIndices[e]!, model.seenValues?.[e] ?? 1);
    return { items, n: to - from, model };
  }

  private add(h: History, item: string, type: EventType, value: number | null): void {
    this.addIdx(h, h.model.itemIdx(item) ?? -1, TYPE_CODE.get(type)!, value ?? Number.NaN);
  }

  /** One event (item index, -1 when the model lacks it; type code; value, NaN for none). */
  private addIdx(h: History, i: number, typeCode: number, value: number): void {
    h.n++;
    if (i < 0) return;
    if (h.model.meta.params.mode === 'explicit') {
      // Explicit models learn ratings: only rating events with a value say one.
      if (typeCode === RATING && !Number.isNaN(value)) h.items.set(i, value);
      return;
    }
    const w = eventWeight(EVENT_TYPES[typeCode]!, Number.isNaN(value) ? null : value, this.weights);
    if (w !== 0) h.items.set(i, (h.items.get(i) ?? 0) + w);
  }
}

const TYPE_CODE: ReadonlyMap<EventType, number> = new Map(EVENT_TYPES.map((t, i) => [t, i]));
const RATING = EVENT_TYPES.indexOf('rating');
