// What came out against what went in, the way Kafka's system tests check delivery: every event
// id the client sent, looked up in rt_user_interactions and in every Parquet part of the archive
// (the stream's retention sweep moves rows there), and counted. An accepted event must be
// stored exactly once; one refused (429/503) or unanswered may be stored at most once (the
// client may resend it with the same id; the store is idempotent by event_id).
import { ARCHIVE_PREFIX, decodeArchivePart } from '../../src/data/archive-format.js';
import type { Stores } from '../../src/stores/index.js';
import { delay } from '../stores/support/wait.js';
import type { MixedLoad } from './load.js';

export interface Audit {
  accepted: { sent: number; stored: number; lost: number; duplicated: number; inArchive: number };
  /** Refused or unanswered events: how many were stored anyway (allowed, once), and twice (never). */
  others: { sent: number; stored: number; duplicated: number };
  firstLost: string[];
  firstDuplicated: string[];
}

/** Copies of each id in rt_user_interactions and the archive (ids not found are absent). */
async function copies(
  stores: Stores,
  ids: readonly string[],
): Promise<{ rt: Map<string, number>; archive: Map<string, number> }> {
  const want = new Set(ids);
  const rt = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 20_000) {
    const { rows } = await stores.db.query<{ id: string }>(
      'SELECT event_id::text AS id FROM rt_user_interactions WHERE event_id = ANY($1::uuid[])',
      [ids.slice(i, i + 20_000)],
    );
    for (const r of rows) rt.set(r.id, (rt.get(r.id) ?? 0) + 1);
  }
  const archive = new Map<string, number>();
  for (const key of await stores.objects.list(ARCHIVE_PREFIX)) {
    const cols = await decodeArchivePart(await stores.objects.get(key), key);
    for (const id of cols.eventId) if (want.has(id)) archive.set(id, (archive.get(id) ?? 0) + 1);
  }
  return { rt, archive };
}

/** Counts every event the load sent. */
export async function audit(stores: Stores, load: MixedLoad): Promise<Audit> {
  const others = [...load.refused, ...load.unknown];
  const { rt, archive } = await copies(stores, [...load.accepted, ...others]);
  const n = (id: string) => (rt.get(id) ?? 0) + (archive.get(id) ?? 0);
  const lost = load.accepted.filter((id) => n(id) === 0);
  const dup = [...load.accepted, ...others].filter((id) => n(id) > 1);
  return {
    accepted: {
      sent: load.accepted.length,
      stored: load.accepted.length - lost.length,
      lost: lost.length,
      duplicated: load.accepted.filter((id) => n(id) > 1).length,
      inArchive: load.accepted.filter((id) => archive.has(id)).length,
    },
    others: {
      sent: others.length,
      stored: others.filter((id) => n(id) > 0).length,
      duplicated: others.filter((id) => n(id) > 1).length,
    },
    firstLost: lost.slice(0, 5),
    firstDuplicated: dup.slice(0, 5),
  };
}

/** Audits until no accepted event is missing, or `timeoutMs` passes (the stream catches up). */
export async function drainAndAudit(stores: Stores, load: MixedLoad, timeoutMs = 90_000): Promise<Audit> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = await audit(stores, load).catch((err: Error) => err);
    if (!(a instanceof Error) && (a.accepted.lost === 0 || Date.now() > deadline)) return a;
    if (a instanceof Error && Date.now() > deadline) throw a;
    await delay(2000);
  }
}
