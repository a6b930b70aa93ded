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

type AuditStores = Pick<Stores, 'db' | 'objects'>;
/** The event ids the load sent, by what the answer said. */
type AuditedLoad = Pick<MixedLoad, 'accepted' | 'refused' | 'unknown'>;

/**
 * Where each id is: the archive parts holding it, and the archive_key of its rt_user_interactions
 * row (null: unclaimed; absent: no row). The archive is read first: a sweep running meanwhile can
 * then only move rows out of sight (a transient "lost", which drainAndAudit waits out), never show
 * a row in both places under two names. A row still in the table whose archive_key names a part
 * that holds it is the sweep's designed in-flight state (written and checked, not yet deleted),
 * one copy; reading the table first made such rows look stored twice (a CI run counted one
 * sweep's 15,200 rows so).
 */
async function places(
  stores: AuditStores,
  ids: readonly string[],
): Promise<{ rt: Map<string, string | null>; archive: Map<string, string[]> }> {
  const want = new Set(ids);
  const archive = new Map<string, string[]>();
  for (const key of await stores.objects.list(ARCHIVE_PREFIX)) {
    const cols = await decodeArchivePart(await stores.objects.get(key), key);
    for (const id of cols.eventId) {
      if (!want.has(id)) continue;
      const parts = archive.get(id);
      if (parts) parts.push(key);
      else archive.set(id, [key]);
    }
  }
  const rt = new Map<string, string | null>();
  for (let i = 0; i < ids.length; i += 20_000) {
    const { rows } = await stores.db.query<{ id: string; archive_key: string | null }>(
      'SELECT event_id::text AS id, archive_key FROM rt_user_interactions WHERE event_id = ANY($1::uuid[])',
      [ids.slice(i, i + 20_000)],
    );
    for (const r of rows) rt.set(r.id, r.archive_key);
  }
  return { rt, archive };
}

/** Copies of an id: its archive parts, plus its table row unless that row is one of those parts in flight. */
export function copiesOf(rtKey: string | null | undefined, parts: readonly string[] | undefined): number {
  const inArchive = parts?.length ?? 0;
  if (rtKey === undefined) return inArchive;
  return inArchive + (rtKey !== null && parts?.includes(rtKey) ? 0 : 1);
}

/** Counts every event the load sent. */
export async function audit(stores: AuditStores, load: AuditedLoad): Promise<Audit> {
  const others = [...load.refused, ...load.unknown];
  const { rt, archive } = await places(stores, [...load.accepted, ...others]);
  const n = (id: string) => copiesOf(rt.get(id), archive.get(id));
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
export async function drainAndAudit(
  stores: AuditStores,
  load: AuditedLoad,
  timeoutMs = 90_000,
): Promise<Audit> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = await audit(stores, load).catch((err: Error) => err);
    if (!(a instanceof Error) && (a.accepted.lost === 0 || Date.now() > deadline)) return a;
    if (a instanceof Error && Date.now() > deadline) throw a;
    await delay(2000);
  }
}
