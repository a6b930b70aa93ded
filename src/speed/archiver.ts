/**
 * Retention → archive (DESIGN.md §3, §4): rows of rt_user_interactions older than the retention
 * are written to the object store as Parquet parts (src/data/archive-format.ts, one folder per
 * UTC day of the event), each part read back and checked, and only then the rows deleted.
 *
 * A sweep works in three steps, each safe to repeat after a crash at any point:
 *   1. claim: one statement sets archive_key on up to `rowsPerFile` old, unclaimed rows
 *      (FOR UPDATE SKIP LOCKED, so concurrent sweeps claim disjoint rows). The key is the object
 *      key of the part: the row's UTC day plus a fresh name. Claims commit at once, and a row's
 *      key never changes afterwards.
 *   2. write: for a key, read every row carrying it (one snapshot: all of them, or none once
 *      they are deleted) and put the part under that key. The same key always gets the same rows,
 *      so writing it again — a rerun after a crash, or two sweeps on one key — is harmless.
 *   3. verify, then delete: read the part back, compare it with the rows (count, event ids, every
 *      column), and delete the rows carrying the key in one statement.
 * Each sweep first finishes the keys it finds claimed but not deleted (left by a crashed sweep,
 * or in progress in another process), then claims new rows until none are left. So every row
 * ends up in exactly one part: it is deleted only after its part is checked, and a key names
 * one object.
 *
 * A late event (ts already past the retention) is claimed only after it has been stored for
 * `graceMs`, so a redelivered copy of it (the stream's at-least-once delivery) still meets the
 * original in the table (ON CONFLICT (event_id)) instead of reaching the archive a second time.
 */
import { randomUUID } from 'node:crypto';
import {
  ARCHIVE_PREFIX,
  type ArchiveColumns,
  dayOf,
  dayOfKey,
  decodeArchivePart,
  encodeArchivePart,
} from '../data/archive-format.js';
import type { Logger } from '../logger.js';
import type { ObjectStore } from '../stores/objects/port.js';
import type { RelationalStore } from '../stores/relational/port.js';

export interface ArchiverDeps {
  db: RelationalStore;
  objects: ObjectStore;
  logger: Logger;
  /** Rows whose ts is older than this many hours are archived (RECSYS_RT_RETENTION_HOURS). */
  retentionHours: number;
  /** Most rows in one part (default 100,000); a claim takes at most this many rows. */
  rowsPerFile?: number;
  /** Least time a row stays in the table after it was stored, whatever its ts (default 1 hour). */
  graceMs?: number;
}

export interface ArchiveRun {
  /** Keys of the parts this run wrote and checked, and whose rows it deleted. */
  files: string[];
  /** Rows this run archived and deleted. */
  rows: number;
}

/** A part read back differs from the rows it was written from; the rows stay, a later sweep rewrites it. */
export class ArchiveVerifyError extends Error {
  readonly key: string;
  readonly retriable = true;

  constructor(key: string, detail: string, opts?: { cause?: unknown }) {
    super(`archive part ${key} does not match its rows: ${detail}`, opts);
    this.name = 'ArchiveVerifyError';
    this.key = key;
  }
}

export const DEFAULT_ROWS_PER_FILE = 100_000;
export const DEFAULT_ARCHIVE_GRACE_MS = 3_600_000;

interface KeyRows {
  n: number;
  event_id: string[] | null;
  user_id: string[] | null;
  item_id: string[] | null;
  type: string[] | null;
  value: (number | null)[] | null;
  ts: number[] | null;
}

export class Archiver {
  private readonly db: RelationalStore;
  private readonly objects: ObjectStore;
  private readonly logger: Logger;
  private readonly retentionMs: number;
  private readonly rowsPerFile: number;
  private readonly graceMs: number;
  /** The run in progress (runs never overlap: runOnce queues behind it). */
  private current: Promise<ArchiveRun> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  /** Set by stop(): the run in progress finishes the part at hand and claims nothing more. */
  private stopping = false;

  constructor(deps: ArchiverDeps) {
    if (!(deps.retentionHours > 0))
      throw new RangeError(`retentionHours must be > 0, got ${deps.retentionHours}`);
    const rowsPerFile = deps.rowsPerFile ?? DEFAULT_ROWS_PER_FILE;
    if (!Number.isInteger(rowsPerFile) || rowsPerFile < 1)
      throw new RangeError(`rowsPerFile must be a positive integer, got ${rowsPerFile}`);
    const graceMs = deps.graceMs ?? DEFAULT_ARCHIVE_GRACE_MS;
    if (!(graceMs >= 0)) throw new RangeError(`graceMs must be ≥ 0, got ${graceMs}`);
    this.db = deps.db;
    this.objects = deps.objects;
    this.logger = deps.logger;
    this.retentionMs = deps.retentionHours * 3_600_000;
    this.rowsPerFile = rowsPerFile;
    this.graceMs = graceMs;
  }

  /**
   * One sweep at `now` (default: when it starts): finishes keys left claimed, then archives every
   * row older than the retention. Waits for a run in progress first. Throws what failed (the
   * rows concerned stay in the table, claimed, for the next sweep).
   */
  runOnce(now?: Date): Promise<ArchiveRun> {
    const prev = this.current;
    const run = (async () => {
      if (prev) await prev.catch(() => {});
      return this.sweep(now ?? new Date());
    })();
    this.current = run;
    const clear = () => {
      if (this.current === run) this.current = null;
    };
    run.then(clear, clear);
    return run;
  }

  /**
   * Sweeps now and then every `everyMs` after the previous sweep ended (never two at once), on an
   * unref'd timer; a failed sweep is logged and the next one retries.
   */
  start(everyMs: number): void {
    if (!(everyMs > 0)) throw new RangeError(`everyMs must be > 0, got ${everyMs}`);
    if (this.scheduled) return;
    this.scheduled = true;
    const tick = async () => {
      this.timer = undefined;
      try {
        await this.runOnce();
      } catch (err) {
        this.logger.error({ err }, 'archive sweep failed; rows stay in rt_user_interactions until the next');
      }
      if (this.scheduled) {
        this.timer = setTimeout(tick, everyMs);
        this.timer.unref();
      }
    };
    this.timer = setTimeout(tick, 0);
    this.timer.unref();
  }

  /** Stops the timer and waits for the run in progress, which claims nothing more. */
  async stop(): Promise<void> {
    this.scheduled = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.stopping = true;
    try {
      while (this.current) await this.current.catch(() => {});
    } finally {
      this.stopping = false;
    }
  }

  private async sweep(now: Date): Promise<ArchiveRun> {
    const started = Date.now();
    const out: ArchiveRun = { files: [], rows: 0 };
    const archive = async (key: string) => {
      const n = await this.archiveKey(key);
      if (n > 0) {
        out.files.push(key);
        out.rows += n;
      }
    };
    for (const key of await this.pendingKeys()) {
      if (this.stopping) return this.done(out, started);
      await archive(key);
    }
    const cutoff = new Date(now.getTime() - this.retentionMs);
    const storedBefore = new Date(now.getTime() - this.graceMs);
    while (!this.stopping) {
      const claimed = await this.claim(cutoff, storedBefore);
      for (const { key } of claimed) await archive(key);
      if (claimed.reduce((s, c) => s + c.n, 0) < this.rowsPerFile) break;
    }
    return this.done(out, started);
  }

  private done(out: ArchiveRun, started: number): ArchiveRun {
    if (out.rows > 0) {
      this.logger.info(
        { files: out.files.length, rows: out.rows, ms: Date.now() - started },
        'archived old interactions',
      );
    }
    return out;
  }

  /** Keys claimed and not yet deleted, by this process or another (or a crashed one). */
  private async pendingKeys(): Promise<string[]> {
    const { rows } = await this.db.query<{ archive_key: string }>(
      `SELECT DISTINCT archive_key FROM rt_user_interactions WHERE archive_key IS NOT NULL ORDER BY archive_key`,
    );
    return rows.map((r) => r.archive_key);
  }

  /** Claims up to rowsPerFile rows, oldest first; one key per UTC day among them. Committed on return. */
  private async claim(cutoff: Date, storedBefore: Date): Promise<{ key: string; n: number }[]> {
    const { rows } = await this.db.query<{ key: string; n: number }>(
      `WITH picked AS (
         SELECT event_id FROM rt_user_interactions
          WHERE archive_key IS NULL AND ts < $1 AND inserted_at < $2
          ORDER BY ts
          LIMIT $3
          FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE rt_user_interactions r
            SET archive_key = $4 || to_char(r.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') || $5
           FROM picked
          WHERE r.event_id = picked.event_id
         RETURNING r.archive_key
       )
       SELECT archive_key AS key, count(*)::int AS n FROM claimed GROUP BY archive_key ORDER BY archive_key`,
      [cutoff, storedBefore, this.rowsPerFile, `${ARCHIVE_PREFIX}dt=`, `/part-${randomUUID()}.parquet`],
    );
    return rows;
  }

  /**
   * Writes, checks and deletes one key's rows; returns how many this call deleted (0 when they
   * were gone already: another sweep finished the key).
   */
  private async archiveKey(key: string): Promise<number> {
    const day = dayOfKey(key);
    if (day === null || !key.startsWith(ARCHIVE_PREFIX))
      throw new ArchiveVerifyError(key, 'the key is not in a dt= partition of the archive');
    const cols = await this.rowsOf(key);
    const n = cols.eventId.length;
    if (n === 0) return 0;
    for (let i = 0; i < n; i++) {
      if (dayOf(cols.ts[i]!) !== day)
        throw new ArchiveVerifyError(key, `event ${cols.eventId[i]} has ts ${cols.ts[i]}, not on ${day}`);
    }
    await this.objects.put(key, await encodeArchivePart(cols));
    await this.verify(key, cols);
    const { rowCount } = await this.db.query(`DELETE FROM rt_user_interactions WHERE archive_key = $1`, [
      key,
    ]);
    this.logger.debug({ key, rows: n, deleted: rowCount }, 'archived a part');
    return rowCount;
  }

  /**
   * The rows carrying `key`, ordered by event id, as columns (one statement: one snapshot). ts goes
   * out as epoch ms, floored: extract(epoch) is numeric (exact) since PostgreSQL 14, and flooring
   * to the ms never crosses the midnight the key's day came from.
   */
  private async rowsOf(key: string): Promise<ArchiveColumns> {
    const { rows } = await this.db.query<KeyRows>(
      `SELECT count(*)::int AS n,
              array_agg(event_id::text ORDER BY event_id) AS event_id,
              array_agg(user_id ORDER BY event_id) AS user_id,
              array_agg(item_id ORDER BY event_id) AS item_id,
              array_agg(type ORDER BY event_id) AS type,
              array_agg(value ORDER BY event_id) AS value,
              array_agg(floor(extract(epoch FROM ts) * 1000)::float8 ORDER BY event_id) AS ts
         FROM rt_user_interactions WHERE archive_key = $1`,
      [key],
    );
    const r = rows[0]!;
    return {
      eventId: r.event_id ?? [],
      userId: r.user_id ?? [],
      itemId: r.item_id ?? [],
      type: r.type ?? [],
      value: r.value ?? [],
      ts: r.ts ?? [],
    };
  }

  /** Reads the part back and compares it with the rows it was written from. */
  private async verify(key: string, want: ArchiveColumns): Promise<void> {
    let got: ArchiveColumns;
    try {
      got = await decodeArchivePart(await this.objects.get(key), key);
    } catch (err) {
      throw new ArchiveVerifyError(key, `cannot read it back (${(err as Error).message})`, { cause: err });
    }
    const n = want.eventId.length;
    if (got.eventId.length !== n)
      throw new ArchiveVerifyError(key, `${got.eventId.length} rows, expected ${n}`);
    const strings = ['eventId', 'userId', 'itemId', 'type'] as const;
    for (let i = 0; i < n; i++) {
      for (const c of strings) {
        if (got[c][i] !== want[c][i])
          throw new ArchiveVerifyError(key, `row ${i + 1}: ${c} ${got[c][i]}, expected ${want[c][i]}`);
      }
      const gv = got.value[i] ?? null;
      const wv = want.value[i] ?? null;
      if (!Object.is(gv, wv === null ? null : Math.fround(wv)))
        throw new ArchiveVerifyError(key, `row ${i + 1} (${want.eventId[i]}): value ${gv}, expected ${wv}`);
      if (got.ts[i] !== want.ts[i])
        throw new ArchiveVerifyError(
          key,
          `row ${i + 1} (${want.eventId[i]}): ts ${got.ts[i]}, expected ${want.ts[i]}`,
        );
    }
  }
}
