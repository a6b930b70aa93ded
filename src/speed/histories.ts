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
 * stream process sees all of a user's events while it holds the partition; when its
 * assignment changes, the kept histories are dropped.
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
}

interface RtRow {
  user_id: string;
  item_id: string;
  type: string;
  value: number | null;
}

export class Histories {
  private readonly kept: LRUCache<string, History>;
  private model: AlsModel | null = null;
  /** Interactions after this time are newer than the model's data (null: the model does not say). */
  private since: Date | null = null;

  constructor(
    private readonly weights: EventWeights,
    maxUsers: number,
  ) {
    this.kept = new LRUCache({ max: maxUsers });
  }

  /** Forget every kept history (the model or the partitions held changed). */
  reset(model: AlsModel | null): void {
    this.kept.clear();
    this.model = model;
    this.since = model?.meta.dataUntil ? new Date(model.meta.dataUntil) : null;
  }

  /**
   * The histories of `users` (codes into columns.users) after this batch's events, given how
   * many of each user's events the insert found new (`fresh`). Reads through `tx`, which sees
   * the batch's own inserts.
   */
  async after(
    tx: Queryable,
    columns: EventColumns,
    fresh: ReadonlyMap<number, number>,
  ): Promise<Map<number, History>> {
    const model = this.model;
    if (!model) return new Map();
    const perUser = new Map<number, number[]>();
    for (let i = 0; i < columns.length; i++) {
      const u = columns.userCode[i]!;
      if (!fresh.has(u)) continue;
      const list = perUser.get(u);
      if (list) list.push(i);
      else perUser.set(u, [i]);
    }
    const out = new Map<number, History>();
    const missing: number[] = [];
    for (const [u, events] of perUser) {
      const kept = this.kept.get(columns.users[u]!);
      // Kept, and every event of the batch was new: the history is the kept one plus these.
      if (kept && fresh.get(u) === events.length) {
        const h: History = { items: new Map(kept.items), n: kept.n };
        for (const i of events)
          this.add(
            h,
            columns.items[columns.itemCode[i]!]!,
            EVENT_TYPES[columns.typeCode[i]!]!,
            nullable(columns.value[i]!),
          );
        out.set(u, h);
      } else missing.push(u);
    }
    if (missing.length > 0) {
      const ids = missing.map((u) => columns.users[u]!);
      const read = await this.read(tx, ids);
      for (let k = 0; k < missing.length; k++) out.set(missing[k]!, read.get(ids[k]!)!);
    }
    return out;
  }

  /** Keeps the histories written (call after the transaction committed). */
  keep(columns: EventColumns, histories: ReadonlyMap<number, History>): void {
    for (const [u, h] of histories) this.kept.set(columns.users[u]!, h);
  }

  private async read(tx: Queryable, users: string[]): Promise<Map<string, History>> {
    const out = new Map<string, History>();
    for (const u of users) out.set(u, this.trained(u));
    const { rows } = await tx.query<RtRow>(
      `SELECT user_id, item_id, type, value FROM rt_user_interactions
        WHERE user_id = ANY($1) AND ($2::timestamptz IS NULL OR ts > $2) ORDER BY ts, event_id`,
      [users, this.since],
    );
    for (const r of rows) this.add(out.get(r.user_id)!, r.item_id, r.type as EventType, r.value);
    return out;
  }

  /** The user's training row, or an empty history for a user the model has not seen. */
  private trained(user: string): History {
    const model = this.model!;
    const items = new Map<number, number>();
    const u = model.userIdx(user);
    if (u === undefined) return { items, n: 0 };
    const from = model.seenIndptr[u]!;
    const to = model.seenIndptr[u + 1]!;
    for (let e = from; e < to; e++) items.set(model.seenIndices[e]!, model.seenValues?.[e] ?? 1);
    return { items, n: to - from };
  }

  private add(h: History, item: string, type: EventType, value: number | null): void {
    h.n++;
    const i = this.model!.itemIdx(item);
    if (i === undefined) return;
    if (this.model!.meta.params.mode === 'explicit') {
      // Explicit models learn ratings: only rating events with a value say one.
      if (type === 'rating' && value !== null) h.items.set(i, value);
      return;
    }
    const w = eventWeight(type, value, this.weights);
    if (w !== 0) h.items.set(i, (h.items.get(i) ?? 0) + w);
  }
}

const nullable = (v: number) => (Number.isNaN(v) ? null : v);
