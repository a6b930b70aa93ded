/**
 * A batch run's training data: the archive's Parquet parts of the window's days, decoded on
 * reader threads (one per core, src/batch/archive-part.ts) while this thread merges them in
 * key order, then the `rt_user_interactions` rows of the window (the last hours, not all
 * archived yet; rows already archived but not yet deleted are met twice and kept once) —
 * deduplicated by event id and weighted per event type by the shared event contract. The
 * result is one COO with times over fresh id maps.
 *
 * Explicit models learn ratings, so only `rating` events with a value count there (as in the
 * speed layer's fold-in); implicit ones count every event at its type's weight × value.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { dayOf } from '../data/archive-format.js';
import { fingerprint, HashSet64 } from '../data/byte-keys.js';
import { Growable } from '../data/columns.js';
import { IdMap } from '../data/ids.js';
import type { Coo } from '../data/matrix.js';
import { EVENT_TYPES, type EventWeights, eventWeight } from '../events/index.js';
import type { AlsMode } from '../model/params.js';
import type { Stores } from '../stores/index.js';
import { listArchive } from './archive.js';
import type { DecodedPart } from './archive-part.js';

const READER = new URL('../../workers/archive-reader-entry.cjs', import.meta.url);

export interface TrainingDataOptions {
  /** Oldest event time taken (epoch ms); null: everything. */
  fromMs: number | null;
  mode: AlsMode;
  weights: EventWeights;
  /** After each archive part: parts read so far and in all. */
  onPart?: (done: number, total: number) => void;
  /** Reader threads (default: one per core). */
  threads?: number;
}

export interface TrainingData {
  coo: Coo & { ts: Float64Array };
  stats: {
    parts: number;
    archived: number;
    recent: number;
    duplicates: number;
    /** Events that do not count for this mode (weight 0, or not a rating in explicit mode). */
    ignored: number;
  };
}

const RT_PAGE = 100_000;
const encoder = new TextEncoder();

export async function readTrainingData(
  stores: Pick<Stores, 'db' | 'objects'>,
  opts: TrainingDataOptions,
): Promise<TrainingData> {
  const acc = new Accumulator(opts);
  const keys = await listArchive(stores.objects, opts.fromMs === null ? {} : { fromDay: dayOf(opts.fromMs) });
  const threads = opts.threads ?? availableParallelism();
  const readers = new Piscina({ filename: READER.href, minThreads: threads, maxThreads: threads });
  const decode = async (key: string): Promise<DecodedPart> =>
    readers.run({ bytes: await stores.objects.get(key), key });
  let parts = 0;
  try {
    // Parts decode ahead (one per reader, plus one being fetched); merged in key order.
    const ahead: Promise<DecodedPart>[] = [];
    let next = 0;
    const fill = () => {
      while (next < keys.length && ahead.length <= threads) {
        const part = decode(keys[next++]!);
        part.catch(() => undefined); // awaited in order below; one failing first leaves the rest unawaited
        ahead.push(part);
      }
    };
    fill();
    while (ahead.length > 0) {
      const part = await ahead.shift()!;
      fill();
      acc.addPart(part);
      parts++;
      opts.onPart?.(parts, keys.length);
    }
  } finally {
    // Parts still decoding after a failure are dropped with the threads.
    await readers.destroy();
  }
  const archived = acc.rows;
  await readRecent(stores.db, opts.fromMs, acc);
  return {
    coo: acc.finish(),
    stats: {
      parts,
      archived,
      recent: acc.rows - archived,
      duplicates: acc.duplicates,
      ignored: acc.ignored,
    },
  };
}

export interface RtRow {
  event_id: string;
  user_id: string;
  item_id: string;
  type: string;
  value: number | null;
  ts: number;
}

/**
 * The `rt_user_interactions` rows from `fromMs` on (null: all), a page at a time: keyset pages
 * by event id, so memory stays bounded whatever the last hours held.
 */
export async function* recentRows(db: Stores['db'], fromMs: number | null): AsyncGenerator<RtRow[]> {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await db.query<RtRow>(
      `SELECT event_id::text AS event_id, user_id, item_id, type, value,
              (extract(epoch FROM ts) * 1000)::float8 AS ts
         FROM rt_user_interactions
        WHERE event_id > $1::uuid AND ($2::float8 IS NULL OR ts >= to_timestamp($2::float8 / 1000))
        ORDER BY event_id LIMIT ${RT_PAGE}`,
      [after, fromMs],
    );
    if (rows.length > 0) yield rows;
    if (rows.length < RT_PAGE) return;
    after = rows[rows.length - 1]!.event_id;
  }
}

async function readRecent(db: Stores['db'], fromMs: number | null, acc: Accumulator): Promise<void> {
  for await (const rows of recentRows(db, fromMs))
    for (const r of rows) acc.addOne(r.event_id, r.user_id, r.item_id, r.type, r.value, Math.round(r.ts));
}

/** Growing column arrays, the id maps and the event-id sets. */
class Accumulator {
  /**
   * Event ids seen, one set per UTC day of the event: copies of an event share its time, so
   * they meet in the same day's set, and a day's set is small enough to stay in cache while
   * its partition is merged (one set of 20M ids is mostly cache misses).
   */
  private readonly seenByDay = new Map<number, HashSet64>();
  private seenDay = Number.NaN;
  private seen = new HashSet64();
  private readonly users = new IdMap();
  private readonly items = new IdMap();
  private readonly typeWeight: Float32Array;
  private readonly explicit: boolean;
  private readonly fromMs: number;
  private readonly u = new Growable((n) => new Int32Array(n), 1 << 16);
  private readonly i = new Growable((n) => new Int32Array(n), 1 << 16);
  private readonly v = new Growable((n) => new Float32Array(n), 1 << 16);
  private readonly t = new Growable((n) => new Float64Array(n), 1 << 16);
  private readonly id = new Int32Array(2);
  rows = 0;
  duplicates = 0;
  ignored = 0;

  constructor(opts: TrainingDataOptions) {
    this.explicit = opts.mode === 'explicit';
    this.fromMs = opts.fromMs ?? Number.NEGATIVE_INFINITY;
    this.typeWeight = Float32Array.from(EVENT_TYPES, (type) => eventWeight(type, 1, opts.weights));
  }

  addPart(p: DecodedPart): void {
    const user = Int32Array.from(p.users, (s) => this.users.add(s));
    const item = Int32Array.from(p.items, (s) => this.items.add(s));
    for (let r = 0; r < p.rows; r++) {
      const ts = p.ts[r]!;
      if (ts < this.fromMs) continue;
      if (!this.seenOn(ts).addPair(p.id[2 * r]!, p.id[2 * r + 1]!)) {
        this.duplicates++;
        continue;
      }
      this.push(user[p.user[r]!]!, item[p.item[r]!]!, p.type[r]!, p.value[r]!, ts);
    }
  }

  addOne(eventId: string, user: string, item: string, type: string, value: number | null, ts: number) {
    if (ts < this.fromMs) return;
    const bytes = encoder.encode(eventId);
    fingerprint(bytes, 0, bytes.length, this.id, 0);
    if (!this.seenOn(ts).addPair(this.id[0]!, this.id[1]!)) {
      this.duplicates++;
      return;
    }
    const code = EVENT_TYPES.indexOf(type as (typeof EVENT_TYPES)[number]);
    if (code < 0) {
      this.ignored++;
      return;
    }
    this.push(this.users.add(user), this.items.add(item), code, value ?? Number.NaN, ts);
  }

  private seenOn(ts: number): HashSet64 {
    const day = Math.floor(ts / 86_400_000);
    if (day !== this.seenDay) {
      let set = this.seenByDay.get(day);
      if (!set) {
        set = new HashSet64();
        this.seenByDay.set(day, set);
      }
      this.seen = set;
      this.seenDay = day;
    }
    return this.seen;
  }

  private push(user: number, item: number, typeCode: number, value: number, ts: number): void {
    let w: number;
    if (this.explicit) {
      if (EVENT_TYPES[typeCode] !== 'rating' || Number.isNaN(value)) {
        this.ignored++;
        return;
      }
      w = value;
    } else {
      w = this.typeWeight[typeCode]! * (Number.isNaN(value) ? 1 : value);
      if (w === 0 || !Number.isFinite(w)) {
        this.ignored++;
        return;
      }
    }
    this.rows++;
    this.u.push(user);
    this.i.push(item);
    this.v.push(w);
    this.t.push(ts);
  }

  finish(): Coo & { ts: Float64Array } {
    return {
      userIds: this.users,
      itemIds: this.items,
      rows: this.u.view(),
      cols: this.i.view(),
      values: this.v.view(),
      ts: this.t.view(),
    };
  }
}
