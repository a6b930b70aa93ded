/**
 * A micro-batch decoded once into Arrow columns (user, item, type, value, ts, event_id, and
 * when the bus accepted each event), which the writers and the fold-in read; users and items
 * are dictionary-encoded, so each distinct id is one string however many events name it.
 * Canonical messages go through the codec's fast path (events/scan.ts: no JSON.parse, no
 * object per event); anything else through decodeEvent, which also gives the reason a bad
 * message is dead-lettered with. Events repeated within the micro-batch (same event_id) are
 * kept once: the first.
 */
import * as arrow from 'apache-arrow';
import { decodeEvent, EVENT_TYPES, type EventType, newEventSlot, scanEvent } from '../events/index.js';
import type { BusMessage } from '../stores/bus/port.js';
import type { Pending } from './micro-batcher.js';

export interface EventColumns {
  readonly length: number;
  /** The Arrow view: user and item Dictionary<Utf8, Int32>, type Dictionary<Utf8, Int8>, value Float32 (nullable), ts and accepted_at Float64 epoch ms, event_id Utf8. */
  readonly table: arrow.Table;
  /** The same memory as typed arrays, for the hot loops. */
  readonly users: readonly string[];
  readonly userCode: Int32Array;
  readonly items: readonly string[];
  readonly itemCode: Int32Array;
  /** Index into EVENT_TYPES. */
  readonly typeCode: Int8Array;
  /** NaN where the event has no value (null in the Arrow column). */
  readonly value: Float32Array;
  readonly ts: Float64Array;
  readonly acceptedAt: Float64Array;
  readonly eventId: readonly string[];
}

export interface DecodedWindow {
  columns: EventColumns;
  /** Messages refused, with the reason (already handed to their batch's deadLetter). */
  rejected: number;
  /** Events dropped as repeats of an earlier one in the same micro-batch. */
  repeats: number;
}

const TYPE_CODE: ReadonlyMap<EventType, number> = new Map(EVENT_TYPES.map((t, i) => [t, i]));

/**
 * Decodes every message of the window; bad ones go to their batch's dead letter. Yields to the
 * event loop after about every `yieldEvery` messages (between batches), so that a micro-batch
 * being written meanwhile gets its database round trips answered.
 */
export async function decodeWindow(window: readonly Pending[], yieldEvery = 8192): Promise<DecodedWindow> {
  let capacity = 0;
  for (const p of window) capacity += p.batch.messages.length;
  const userCode = new Int32Array(capacity);
  const itemCode = new Int32Array(capacity);
  const typeCode = new Int8Array(capacity);
  const value = new Float32Array(capacity);
  const ts = new Float64Array(capacity);
  const acceptedAt = new Float64Array(capacity);
  const eventId: string[] = [];
  const users = new Dictionary();
  const items = new Dictionary();
  const ids = new Set<string>();
  const slot = newEventSlot();
  let n = 0;
  let rejected = 0;
  let repeats = 0;

  /** Fills `slot` from the message; the reason it cannot, otherwise. */
  const take = (m: BusMessage): string | null => {
    if (scanEvent(m.value.toString('utf8'), slot, m.key)) return null;
    const decoded = decodeEvent(m.value, m.key);
    if (!decoded.ok) return `${decoded.reason}: ${decoded.message}`;
    const e = decoded.event;
    slot.eventId = e.event_id;
    slot.userId = e.user_id;
    slot.itemId = e.item_id;
    slot.type = e.type;
    slot.value = e.value ?? Number.NaN;
    slot.ts = e.ts;
    return null;
  };

  let sinceYield = 0;
  for (const { batch, ctx } of window) {
    if (sinceYield >= yieldEvery) {
      sinceYield = 0;
      await new Promise(setImmediate);
    }
    sinceYield += batch.messages.length;
    for (const m of batch.messages) {
      const refused = take(m);
      if (refused !== null) {
        ctx.deadLetter(m, refused);
        rejected++;
        continue;
      }
      if (ids.has(slot.eventId)) {
        repeats++;
        continue;
      }
      ids.add(slot.eventId);
      eventId.push(slot.eventId);
      userCode[n] = users.code(slot.userId);
      itemCode[n] = items.code(slot.itemId);
      typeCode[n] = TYPE_CODE.get(slot.type)!;
      value[n] = slot.value;
      ts[n] = slot.ts;
      acceptedAt[n] = m.timestamp;
      n++;
    }
  }
  const columns = toColumns(
    n,
    users.ids,
    userCode,
    items.ids,
    itemCode,
    typeCode,
    value,
    ts,
    acceptedAt,
    eventId,
  );
  return { columns, rejected, repeats };
}

function toColumns(
  n: number,
  users: string[],
  userCode: Int32Array,
  items: string[],
  itemCode: Int32Array,
  typeCode: Int8Array,
  value: Float32Array,
  ts: Float64Array,
  acceptedAt: Float64Array,
  eventId: string[],
): EventColumns {
  const cols = {
    userCode: userCode.subarray(0, n),
    itemCode: itemCode.subarray(0, n),
    typeCode: typeCode.subarray(0, n),
    value: value.subarray(0, n),
    ts: ts.subarray(0, n),
    acceptedAt: acceptedAt.subarray(0, n),
  };
  // The Arrow view is assembled on first use: nothing on the hot path reads it (the typed
  // arrays above are its memory), and building its string vectors cost about a tenth of decoding.
  let table: arrow.Table | null = null;
  return {
    length: n,
    get table() {
      table ??= arrowTable(n, users, items, eventId, cols);
      return table;
    },
    users,
    items,
    eventId,
    ...cols,
  };
}

function arrowTable(
  n: number,
  users: readonly string[],
  items: readonly string[],
  eventId: readonly string[],
  cols: {
    userCode: Int32Array;
    itemCode: Int32Array;
    typeCode: Int8Array;
    value: Float32Array;
    ts: Float64Array;
    acceptedAt: Float64Array;
  },
): arrow.Table {
  const dict = <T extends arrow.Int32 | arrow.Int8>(
    codes: Int32Array | Int8Array,
    index: T,
    words: readonly string[],
  ) =>
    arrow.makeVector(
      arrow.makeData({
        type: new arrow.Dictionary(new arrow.Utf8(), index),
        length: n,
        nullCount: 0,
        data: codes,
        dictionary: arrow.vectorFromArray(words, new arrow.Utf8()),
      }),
    );
  let nulls = 0;
  const valid = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++)
    if (Number.isNaN(cols.value[i])) nulls++;
    else valid[i >> 3]! |= 1 << (i & 7);
  return new arrow.Table({
    user: dict(cols.userCode, new arrow.Int32(), users),
    item: dict(cols.itemCode, new arrow.Int32(), items),
    type: dict(cols.typeCode, new arrow.Int8(), EVENT_TYPES),
    value: arrow.makeVector(
      arrow.makeData({
        type: new arrow.Float32(),
        length: n,
        nullCount: nulls,
        data: cols.value,
        nullBitmap: valid,
      }),
    ),
    ts: arrow.makeVector(cols.ts),
    accepted_at: arrow.makeVector(cols.acceptedAt),
    event_id: arrow.vectorFromArray(eventId, new arrow.Utf8()),
  });
}

/** Strings to dense codes, in first-seen order. */
class Dictionary {
  readonly ids: string[] = [];
  private readonly index = new Map<string, number>();

  code(id: string): number {
    let c = this.index.get(id);
    if (c === undefined) {
      c = this.ids.length;
      this.ids.push(id);
      this.index.set(id, c);
    }
    return c;
  }
}
