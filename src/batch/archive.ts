/**
 * The interaction archive as the batch layer uses it: imports write events into their day
 * partitions, training reads a day range back as one COO. The format itself (prefix, day
 * partitions, schema, Parquet encode/decode) lives in src/data/archive-format.ts, shared with
 * the speed layer's retention sweep. A row is an event of the event contract (src/events) as
 * it is: ts in epoch ms, a null value for an event without one.
 */
import { randomUUID } from 'node:crypto';
import type * as arrow from 'apache-arrow';
import {
  ARCHIVE_PREFIX,
  type ArchiveColumns,
  archiveTableFromColumns,
  dayOf,
  dayOfKey,
  encodeArchivePart,
  partKey,
} from '../data/archive-format.js';
import type { IdMap } from '../data/ids.js';
import { type Coo, cooFromTable } from '../data/matrix.js';
import { loadParquetBytes } from '../data/parquet-loader.js';
import type { InteractionEvent } from '../events/index.js';
import type { ObjectStore } from '../stores/objects/port.js';

export { ARCHIVE_PREFIX, dayOf };

function columnsOf(events: readonly InteractionEvent[]): ArchiveColumns {
  const col = <K extends keyof InteractionEvent>(k: K) => events.map((e) => e[k]);
  return {
    eventId: col('event_id'),
    userId: col('user_id'),
    itemId: col('item_id'),
    type: col('type'),
    value: col('value'),
    ts: col('ts'),
  };
}

export function archiveTable(events: readonly InteractionEvent[]): arrow.Table {
  return archiveTableFromColumns(columnsOf(events));
}

/** Write events into their day partitions; returns the object keys written. */
export async function writeArchive(
  objects: ObjectStore,
  events: readonly InteractionEvent[],
): Promise<string[]> {
  const byDay = new Map<string, InteractionEvent[]>();
  for (const e of events) {
    const day = dayOf(e.ts);
    const list = byDay.get(day) ?? [];
    if (list.length === 0) byDay.set(day, list);
    list.push(e);
  }
  const keys: string[] = [];
  for (const [day, list] of [...byDay].sort(([a], [b]) => a.localeCompare(b))) {
    const key = partKey(day, `part-${randomUUID()}`);
    await objects.put(key, await encodeArchivePart(columnsOf(list)));
    keys.push(key);
  }
  return keys;
}

export interface ArchiveRange {
  fromDay?: string; // inclusive, YYYY-MM-DD
  toDay?: string; // inclusive
}

export async function listArchive(objects: ObjectStore, range: ArchiveRange = {}): Promise<string[]> {
  const keys = await objects.list(ARCHIVE_PREFIX);
  return keys
    .filter((k) => {
      const day = dayOfKey(k);
      return day && (!range.fromDay || day >= range.fromDay) && (!range.toDay || day <= range.toDay);
    })
    .sort();
}

/** Read the archive's interactions in a day range as one COO over shared id maps. */
export async function readArchiveCoo(
  objects: ObjectStore,
  range: ArchiveRange,
  ids: { userIds: IdMap; itemIds: IdMap },
): Promise<Coo> {
  const parts: Coo[] = [];
  for (const key of await listArchive(objects, range)) {
    parts.push(cooFromTable(await loadParquetBytes(await objects.get(key), key), ids));
  }
  return concatCoo(parts, ids);
}

export function concatCoo(parts: readonly Coo[], ids: { userIds: IdMap; itemIds: IdMap }): Coo {
  const n = parts.reduce((s, p) => s + p.rows.length, 0);
  const out: Coo = {
    ...ids,
    rows: new Int32Array(n),
    cols: new Int32Array(n),
    values: new Float32Array(n),
    ts: new Float64Array(n).fill(Number.NaN),
  };
  let at = 0;
  for (const p of parts) {
    out.rows.set(p.rows, at);
    out.cols.set(p.cols, at);
    out.values.set(p.values, at);
    if (p.ts) out.ts!.set(p.ts, at);
    at += p.rows.length;
  }
  return out;
}
