/**
 * Batch runs as `batch_runs` records them, and the one-run-at-a-time rule. Beside the model
 * registry in the core because every role meets them: the batch layer runs them, the
 * scheduler and the admin API start and list them.
 *
 * A run is opened under the relational store's named lock (a PostgreSQL advisory lock held on a
 * connection of its own): whoever asks — the CLI, the admin API of any serving process, a
 * scheduler — a second opener while one runs is refused with the running run's id. The lock
 * dies with its holder, so the next opener that gets it knows every run still marked open was
 * abandoned, and marks it failed with the phase it was in.
 */

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { HeldLock, Queryable, RelationalStore } from '../stores/relational/port.js';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'rejected';
export type RunTrigger = 'cli' | 'api' | 'scheduler';

export interface RunRecord {
  run_id: string;
  trigger: RunTrigger;
  status: RunStatus;
  phase: string | null;
  /** Seconds of each finished phase, in the order they ran. */
  phases: Record<string, number>;
  scheduled_for: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  error: string | null;
  model_version: string | null;
  published: boolean;
  metrics: Record<string, unknown> | null;
  /** host:pid of the process that ran it. */
  owner: string | null;
  created_at: Date;
}

const COLUMNS = `run_id, trigger, status, phase, phases, scheduled_for, started_at, finished_at, error,
  model_version, published, metrics, owner, created_at`;

const LOCK = 'recsys:batch-run';

/** Refused: a run is in progress (its id, when its row could be read). */
export class RunInProgressError extends Error {
  constructor(readonly runId: string | null) {
    super(`a batch run is already in progress${runId ? ` (${runId})` : ''}`);
    this.name = 'RunInProgressError';
  }
}

/** Refused: this scheduled slot already ran (or runs) somewhere else. */
export class SlotTakenError extends Error {
  constructor(readonly scheduledFor: Date) {
    super(`the run scheduled for ${scheduledFor.toISOString()} already ran`);
    this.name = 'SlotTakenError';
  }
}

/** An open run: its row, the lock that makes it the only one, and the writes that follow it. */
export class OpenRun {
  private readonly phases: Record<string, number> = {};
  private phaseStart = 0;
  private phaseName: string | null = null;

  constructor(
    private readonly db: Queryable,
    private readonly lock: HeldLock,
    readonly id: string,
  ) {}

  get phaseSeconds(): Readonly<Record<string, number>> {
    return this.phases;
  }

  /** Ends the phase before (recording its seconds) and starts `name`. */
  async phase(name: string): Promise<void> {
    this.closePhase();
    this.phaseName = name;
    this.phaseStart = performance.now();
    await this.db.query(
      `UPDATE batch_runs SET status = 'running', phase = $2, phases = $3,
              started_at = COALESCE(started_at, now()) WHERE run_id = $1`,
      [this.id, name, JSON.stringify(this.phases)],
    );
  }

  private closePhase(): void {
    if (this.phaseName === null) return;
    this.phases[this.phaseName] = Math.round((performance.now() - this.phaseStart) / 10) / 100;
    this.phaseName = null;
  }

  /** The run's final state; releases the lock. */
  async finish(end: {
    status: Exclude<RunStatus, 'queued' | 'running'>;
    modelVersion?: string | null;
    published?: boolean;
    metrics?: Record<string, unknown> | null;
    error?: string | null;
  }): Promise<void> {
    const failedIn = this.phaseName;
    this.closePhase();
    try {
      await this.db.query(
        `UPDATE batch_runs SET status = $2, phase = $3, phases = $4, finished_at = now(), model_version = $5,
                published = $6, metrics = $7, error = $8 WHERE run_id = $1`,
        [
          this.id,
          end.status,
          end.status === 'failed' ? failedIn : null,
          JSON.stringify(this.phases),
          end.modelVersion ?? null,
          end.published ?? false,
          end.metrics ? JSON.stringify(end.metrics) : null,
          end.error ?? null,
        ],
      );
    } finally {
      await this.lock.release();
    }
  }
}

/**
 * Opens a run: takes the lock (or throws RunInProgressError), marks runs left open by a dead
 * process failed, refuses a scheduled slot that already ran (SlotTakenError), and records the
 * new run as queued.
 */
export async function openRun(
  db: RelationalStore,
  opts: { trigger: RunTrigger; scheduledFor?: Date },
): Promise<OpenRun> {
  const lock = await db.tryLock(LOCK);
  if (!lock) throw new RunInProgressError(await openRunId(db).catch(() => null));
  try {
    await db.query(
      `UPDATE batch_runs SET status = 'failed', finished_at = now(),
              error = 'interrupted: its process ended during ' || COALESCE(phase, 'the queue')
        WHERE status IN ('queued', 'running')`,
    );
    if (opts.scheduledFor) {
      const taken = await db.query(
        `SELECT 1 FROM batch_runs WHERE scheduled_for = $1 AND status <> 'failed'`,
        [opts.scheduledFor],
      );
      if (taken.rowCount > 0) throw new SlotTakenError(opts.scheduledFor);
    }
    const id = randomUUID();
    await db.query(
      `INSERT INTO batch_runs (run_id, trigger, status, scheduled_for, owner) VALUES ($1, $2, 'queued', $3, $4)`,
      [id, opts.trigger, opts.scheduledFor ?? null, `${hostname()}:${process.pid}`],
    );
    return new OpenRun(db, lock, id);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

async function openRunId(db: Queryable): Promise<string | null> {
  const { rows } = await db.query<{ run_id: string }>(
    `SELECT run_id FROM batch_runs WHERE status IN ('queued', 'running') ORDER BY created_at DESC LIMIT 1`,
  );
  return rows[0]?.run_id ?? null;
}

export async function listRuns(db: Queryable, limit = 50): Promise<RunRecord[]> {
  const { rows } = await db.query<RunRecord>(
    `SELECT ${COLUMNS} FROM batch_runs ORDER BY created_at DESC, run_id LIMIT $1`,
    [limit],
  );
  return rows;
}

export async function getRun(db: Queryable, runId: string): Promise<RunRecord | null> {
  const { rows } = await db.query<RunRecord>(`SELECT ${COLUMNS} FROM batch_runs WHERE run_id = $1`, [runId]);
  return rows[0] ?? null;
}

/** The latest run that ended with a model decision (published or rejected): the scheduler's catch-up reads it. */
export async function lastCompletedRun(db: Queryable): Promise<RunRecord | null> {
  const { rows } = await db.query<RunRecord>(
    `SELECT ${COLUMNS} FROM batch_runs WHERE status IN ('succeeded', 'rejected')
      ORDER BY COALESCE(scheduled_for, started_at) DESC LIMIT 1`,
  );
  return rows[0] ?? null;
}
