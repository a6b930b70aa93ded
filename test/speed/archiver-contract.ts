// The archiver's guarantees, written once; the embedded (PGlite + folder) and services
// (PostgreSQL + MinIO) test files supply the stores. Faults are injected by wrapping the real
// adapters (faults.ts), never by replacing them.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ARCHIVE_PREFIX, dayOf, dayOfKey, decodeArchivePart } from '../../src/data/archive-format.js';
import { loadParquetBytes } from '../../src/data/parquet-loader.js';
import { EVENT_TYPES, type InteractionEvent } from '../../src/events/index.js';
import { type Logger, silentLogger } from '../../src/logger.js';
import { Archiver, type ArchiverDeps, ArchiveVerifyError } from '../../src/speed/archiver.js';
import type { ObjectStore } from '../../src/stores/objects/port.js';
import type { RelationalStore } from '../../src/stores/relational/port.js';
import { waitFor } from '../stores/support/wait.js';
import { FaultyDb, FaultyObjects } from './faults.js';

export interface ArchiverHarness {
  /** Migrated database and an object store, both empty. */
  db: RelationalStore;
  objects: ObjectStore;
  /** Other handles on the same database and bucket/folder, as a second process would have. */
  peer(): Promise<{ db: RelationalStore; objects: ObjectStore; close(): Promise<void> }>;
  cleanup(): Promise<void>;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The tests' clock: sweeps run "at" NOW; rows are placed around it. */
const NOW = Date.parse('2026-03-10T12:00:00.000Z');

export function event(ts: number, over: Partial<InteractionEvent> = {}): InteractionEvent {
  const n = Math.floor(Math.random() * 1000);
  return {
    event_id: randomUUID(),
    user_id: `u${n % 37}`,
    item_id: `i${n}`,
    type: EVENT_TYPES[n % EVENT_TYPES.length]!,
    value: n % 3 === 0 ? null : Math.fround(n / 7),
    ts,
    ...over,
  };
}

/** Inserts rows as the stream does, stored at `insertedAt` (default: long before NOW). */
export async function insertRows(
  db: RelationalStore,
  events: readonly InteractionEvent[],
  insertedAt = new Date(NOW - 10 * DAY),
): Promise<void> {
  await db.copyRows(
    'rt_user_interactions',
    ['event_id', 'user_id', 'item_id', 'type', 'value', 'ts', 'inserted_at'],
    events.map((e) => [e.event_id, e.user_id, e.item_id, e.type, e.value, new Date(e.ts), insertedAt]),
  );
}

/** Every row of every part in the archive, with the part it is in. */
export async function archivedRows(objects: ObjectStore): Promise<(InteractionEvent & { key: string })[]> {
  const out: (InteractionEvent & { key: string })[] = [];
  for (const key of await objects.list(ARCHIVE_PREFIX)) {
    const c = await decodeArchivePart(await objects.get(key), key);
    for (let i = 0; i < c.eventId.length; i++) {
      out.push({
        key,
        event_id: c.eventId[i]!,
        user_id: c.userId[i]!,
        item_id: c.itemId[i]!,
        type: c.type[i]! as InteractionEvent['type'],
        value: c.value[i] ?? null,
        ts: c.ts[i]!,
      });
    }
  }
  return out;
}

async function tableIds(db: RelationalStore): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT event_id::text AS id FROM rt_user_interactions ORDER BY 1',
  );
  return rows.map((r) => r.id);
}

const ids = (events: readonly { event_id: string }[]) => events.map((e) => e.event_id).sort();

/**
 * The invariant: each of `all` is either still in the table (then only if `inTable` says so) or
 * in exactly one part, in its day's partition, with its columns as inserted.
 */
async function assertExactlyOnce(
  h: { db: RelationalStore; objects: ObjectStore },
  all: readonly InteractionEvent[],
  inTable: (e: InteractionEvent) => boolean,
): Promise<void> {
  const archived = await archivedRows(h.objects);
  const seen = new Map<string, number>();
  for (const r of archived) seen.set(r.event_id, (seen.get(r.event_id) ?? 0) + 1);
  const dups = [...seen].filter(([, n]) => n > 1);
  assert.deepEqual(dups, [], 'no row is in two parts');
  const byId = new Map(all.map((e) => [e.event_id, e]));
  for (const r of archived) {
    const e = byId.get(r.event_id);
    assert.ok(e, `archived row ${r.event_id} was inserted`);
    const { key, ...row } = r;
    assert.deepEqual(row, e, `row ${e.event_id} archived as inserted`);
    assert.equal(dayOfKey(key), dayOf(e.ts), `row ${e.event_id} is in its day's partition`);
    assert.ok(key.endsWith('.parquet'));
  }
  const table = await tableIds(h.db);
  assert.deepEqual(table, ids(all.filter(inTable)), 'the table holds exactly the rows not due');
  assert.deepEqual(ids(archived), ids(all.filter((e) => !inTable(e))), 'every due row is archived');
}

function deps(
  h: { db: RelationalStore; objects: ObjectStore },
  over: Partial<ArchiverDeps> = {},
): ArchiverDeps {
  return { db: h.db, objects: h.objects, logger: silentLogger, retentionHours: 48, ...over };
}

export function archiverContract(name: string, create: () => Promise<ArchiverHarness>): void {
  describe(`archiver: ${name}`, () => {
    let h: ArchiverHarness;
    before(async () => {
      h = await create();
    });
    after(async () => h?.cleanup());
    beforeEach(async () => {
      await h.db.query('DELETE FROM rt_user_interactions');
      for (const key of await h.objects.list(ARCHIVE_PREFIX)) await h.objects.delete(key);
    });

    test('archives rows older than the retention into day partitions, deletes them, keeps newer ones', async () => {
      const cutoff = NOW - 48 * HOUR;
      const old = [
        event(cutoff - 1),
        event(Date.parse('2026-03-07T23:59:59.999Z'), { value: null, user_id: 'ünïcode ✓ user' }),
        event(Date.parse('2026-03-08T00:00:00.000Z'), { value: -2.5 }),
        event(Date.parse('2026-03-01T08:00:00.000Z')),
        ...Array.from({ length: 30 }, (_, i) => event(cutoff - (i + 1) * 7 * HOUR)),
      ];
      const fresh = [event(cutoff), event(cutoff + 1), event(NOW - HOUR), event(NOW + HOUR)];
      const all = [...old, ...fresh];
      await insertRows(h.db, all);
      const run = await new Archiver(deps(h)).runOnce(new Date(NOW));
      assert.equal(run.rows, old.length);
      const days = [...new Set(old.map((e) => dayOf(e.ts)))].sort();
      assert.deepEqual(run.files.map((k) => dayOfKey(k)).sort(), days, 'one part per day');
      assert.deepEqual([...run.files].sort(), await h.objects.list(ARCHIVE_PREFIX));
      await assertExactlyOnce(h, all, (e) => e.ts >= cutoff);
      // The training path reads the parts as they are.
      for (const key of run.files) {
        const t = await loadParquetBytes(await h.objects.get(key), key);
        assert.equal(t.numRows, old.filter((e) => dayOf(e.ts) === dayOfKey(key)).length);
      }
      const again = await new Archiver(deps(h)).runOnce(new Date(NOW));
      assert.deepEqual(again, { files: [], rows: 0 }, 'nothing left to do');
    });

    test('keeps parts to rowsPerFile rows', async () => {
      const day = Date.parse('2026-03-05T00:00:00.000Z');
      const old = Array.from({ length: 23 }, (_, i) => event(day + i * 60_000));
      await insertRows(h.db, old);
      const run = await new Archiver(deps(h, { rowsPerFile: 5 })).runOnce(new Date(NOW));
      assert.equal(run.rows, 23);
      assert.equal(run.files.length, 5);
      const sizes = new Map<string, number>();
      for (const r of await archivedRows(h.objects)) sizes.set(r.key, (sizes.get(r.key) ?? 0) + 1);
      assert.deepEqual([...sizes.values()].sort(), [3, 5, 5, 5, 5]);
      await assertExactlyOnce(h, old, () => false);
    });

    describe('a crash at any step, then a rerun, archives every row exactly once', () => {
      type Fault = (db: FaultyDb, objects: FaultyObjects) => void;
      const faults: [string, Fault][] = [
        ['the claim fails', (db) => db.failNext(/UPDATE rt_user_interactions/, 'before')],
        [
          'the process dies once the claim committed',
          (db) => db.failNext(/UPDATE rt_user_interactions/, 'after'),
        ],
        ['reading the claimed rows fails', (db) => db.failNext(/array_agg/, 'before')],
        ['the upload fails', (_, o) => o.failNext('put', 'before')],
        ['the process dies once the part is uploaded', (_, o) => o.failNext('put', 'after')],
        ['the second part of a run fails to upload', (_, o) => o.failNext('put', 'before', 2)],
        ['a part is stored damaged', (_, o) => o.failNext('put', 'corrupt')],
        ['the part cannot be read back', (_, o) => o.failNext('get', 'before')],
        ['the delete fails', (db) => db.failNext(/DELETE FROM rt_user_interactions/, 'before')],
        [
          'the process dies once the delete committed',
          (db) => db.failNext(/DELETE FROM rt_user_interactions/, 'after'),
        ],
        [
          'the process dies after the second delete',
          (db) => db.failNext(/DELETE FROM rt_user_interactions/, 'after', 2),
        ],
      ];
      for (const [what, inject] of faults) {
        test(what, async () => {
          const days = [Date.parse('2026-03-02T10:00:00Z'), Date.parse('2026-03-03T10:00:00Z')];
          const old = Array.from({ length: 40 }, (_, i) => event(days[i % 2]! + i * 1000));
          const fresh = Array.from({ length: 5 }, (_, i) => event(NOW - i * HOUR));
          const all = [...old, ...fresh];
          await insertRows(h.db, all);
          const db = new FaultyDb(h.db);
          const objects = new FaultyObjects(h.objects);
          inject(db, objects);
          const crashed = new Archiver(deps({ db, objects }, { rowsPerFile: 15 }));
          await assert.rejects(crashed.runOnce(new Date(NOW)), (err: Error) => {
            assert.ok(
              err.message.includes('injected') || err instanceof ArchiveVerifyError,
              `failed by the fault: ${err.message}`,
            );
            return true;
          });
          assert.equal(db.pending() + objects.pending(), 0, 'the fault fired');
          // A new process on the same stores.
          const rerun = await new Archiver(deps(h, { rowsPerFile: 15 })).runOnce(new Date(NOW));
          assert.ok(rerun.rows > 0);
          await assertExactlyOnce(h, all, (e) => e.ts >= NOW - 48 * HOUR);
          const sizes = new Map<string, number>();
          for (const r of await archivedRows(h.objects)) sizes.set(r.key, (sizes.get(r.key) ?? 0) + 1);
          assert.ok(
            [...sizes.values()].every((n) => n <= 15),
            'parts keep to rowsPerFile',
          );
        });
      }
    });

    test('late events (ts already past the retention) are archived after the grace period, into their day', async () => {
      const d1 = Date.parse('2026-03-04T09:00:00Z');
      const first = Array.from({ length: 6 }, (_, i) => event(d1 + i));
      await insertRows(h.db, first);
      const archiver = new Archiver(deps(h, { graceMs: HOUR }));
      assert.equal((await archiver.runOnce(new Date(NOW))).rows, 6);
      // Events of the same (and an older) day arrive late, stored just now.
      const late = [event(d1 + 100), event(d1 + 200), event(Date.parse('2026-02-20T00:00:00Z'))];
      await insertRows(h.db, late, new Date(NOW));
      const within = await archiver.runOnce(new Date(NOW + HOUR / 2));
      assert.equal(within.rows, 0, 'a late row stays for the grace period');
      // A redelivered copy meets the original in the table.
      const redelivered = await h.db.query(
        `INSERT INTO rt_user_interactions (event_id, user_id, item_id, type, value, ts)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
        [
          late[0]!.event_id,
          late[0]!.user_id,
          late[0]!.item_id,
          late[0]!.type,
          late[0]!.value,
          new Date(late[0]!.ts),
        ],
      );
      assert.equal(redelivered.rowCount, 0);
      const afterGrace = await archiver.runOnce(new Date(NOW + HOUR + 1));
      assert.equal(afterGrace.rows, 3);
      assert.deepEqual(afterGrace.files.map((k) => dayOfKey(k)).sort(), ['2026-02-20', '2026-03-04']);
      assert.equal(
        (await h.objects.list(`${ARCHIVE_PREFIX}dt=2026-03-04/`)).length,
        2,
        'a second part for the day',
      );
      await assertExactlyOnce(h, [...first, ...late], () => false);
    });

    test('two archivers on the same stores at once archive each row exactly once', async () => {
      const base = Date.parse('2026-03-01T00:00:00Z');
      const old = Array.from({ length: 600 }, (_, i) => event(base + i * 11 * 60_000));
      const fresh = Array.from({ length: 20 }, (_, i) => event(NOW - i * 60_000));
      const all = [...old, ...fresh];
      await insertRows(h.db, all);
      const other = await h.peer();
      try {
        const a = new Archiver(deps(h, { rowsPerFile: 40 }));
        const b = new Archiver(deps(other, { rowsPerFile: 40 }));
        const runs = await Promise.all([
          a.runOnce(new Date(NOW)),
          b.runOnce(new Date(NOW)),
          a.runOnce(new Date(NOW)),
          b.runOnce(new Date(NOW)),
        ]);
        assert.equal(
          runs.reduce((s, r) => s + r.rows, 0),
          old.length,
          'the runs together deleted each row once',
        );
        await assertExactlyOnce(h, all, (e) => e.ts >= NOW - 48 * HOUR);
      } finally {
        await other.close();
      }
    });

    test('start() sweeps on a timer without overlapping, logs failures, and stop() waits for the run', async () => {
      const logged: unknown[] = [];
      const logger: Logger = { ...silentLogger, error: (obj) => logged.push(obj) };
      const objects = new FaultyObjects(h.objects);
      objects.failNext('put', 'before');
      let active = 0;
      let maxActive = 0;
      const db = new FaultyDb(h.db, async () => {
        maxActive = Math.max(maxActive, ++active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
      });
      const old = Array.from({ length: 12 }, (_, i) => event(Date.now() - 3 * DAY - i * 1000));
      await insertRows(h.db, old, new Date(Date.now() - 3 * DAY));
      const archiver = new Archiver({ db, objects, logger, retentionHours: 48, rowsPerFile: 5 });
      archiver.start(20);
      await waitFor(async () => (await tableIds(h.db)).length === 0, 'the timer to archive every row');
      await archiver.stop();
      assert.equal(logged.length, 1, 'the injected failure was logged, and the next sweep retried');
      assert.equal(maxActive, 1, 'sweeps never overlap');
      await assertExactlyOnce(h, old, () => false);
      const later = [event(Date.now() - 3 * DAY)];
      await insertRows(h.db, later, new Date(Date.now() - 3 * DAY));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await tableIds(h.db)).length, 1, 'no sweep after stop()');
    });
  });
}
