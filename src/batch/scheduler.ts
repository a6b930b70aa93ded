/**
 * The batch scheduler (the seed design's Airflow DAG, without Airflow): a cron schedule read in
 * a time zone (croner), each tick a *slot* named by its scheduled time. A slot runs once across
 * every scheduler on the database — `batch_runs` holds at most one non-failed run per slot,
 * and runs exclude each other through their lock — and a failed slot is retried with
 * exponential backoff. At start, when the last completed run is older than the latest slot
 * (the process was down when it came), that slot runs at once: the catch-up.
 */
import { Cron } from 'croner';
import { lastCompletedRun, RunInProgressError, SlotTakenError } from '../model/runs.js';
import { type BatchDeps, type RunOutcome, startBatchRun } from './pipeline.js';

export interface SchedulerOptions {
  schedule: string;
  timeZone: string;
  retries: number;
  retryDelayMs: number;
  /** Told of every slot's end: its outcome, or why it did not run here. */
  onSlot?: (slot: Date, result: RunOutcome | 'taken' | 'gave-up') => void;
}

export class BatchScheduler {
  private cron: Cron | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly deps: BatchDeps,
    private readonly opts: SchedulerOptions,
  ) {}

  /** Starts the schedule; runs the missed slot first when there is one. */
  async start(): Promise<void> {
    this.cron = new Cron(this.opts.schedule, { timezone: this.opts.timeZone, protect: true }, () => {
      const now = this.cron?.currentRun() ?? new Date();
      this.slot(new Date(Math.floor(now.getTime() / 1000) * 1000));
    });
    const missed = await this.missedSlot();
    if (missed) {
      this.deps.logger.info({ slot: missed.toISOString() }, 'scheduler: catching up a missed run');
      this.slot(missed);
    }
  }

  /** The next slot's time, for the start-up message. */
  nextRun(): Date | null {
    return this.cron?.nextRun() ?? null;
  }

  /** Stops the schedule and pending retries; waits for a run in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cron?.stop();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.running);
  }

  private async missedSlot(): Promise<Date | null> {
    const now = this.deps.now?.() ?? Date.now();
    const [latest] = this.cron!.previousRuns(1, new Date(now));
    if (!latest) return null;
    const last = await lastCompletedRun(this.deps.stores.db);
    const lastAt = last ? (last.scheduled_for ?? last.started_at ?? last.created_at) : null;
    return lastAt && new Date(lastAt).getTime() >= latest.getTime() ? null : latest;
  }

  private slot(at: Date, attempt = 0): void {
    if (this.stopped) return;
    const p = this.attempt(at, attempt).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  private async attempt(at: Date, attempt: number): Promise<void> {
    const log = this.deps.logger;
    let outcome: RunOutcome | null = null;
    try {
      const { done } = await startBatchRun(this.deps, { trigger: 'scheduler', scheduledFor: at });
      outcome = await done;
      this.opts.onSlot?.(at, outcome);
      if (outcome.status !== 'failed') return;
    } catch (err) {
      if (err instanceof SlotTakenError) {
        log.info({ slot: at.toISOString() }, 'scheduler: this slot ran elsewhere');
        this.opts.onSlot?.(at, 'taken');
        return;
      }
      // Another run holds the lock (a manual one, or another scheduler on this slot): try later.
      if (!(err instanceof RunInProgressError)) log.error({ err }, 'scheduler: could not start a run');
    }
    if (attempt >= this.opts.retries) {
      log.error({ slot: at.toISOString(), attempts: attempt + 1 }, 'scheduler: giving up on this slot');
      this.opts.onSlot?.(at, 'gave-up');
      return;
    }
    const delay = this.opts.retryDelayMs * 2 ** attempt;
    log.warn(
      { slot: at.toISOString(), retryInMs: delay, error: outcome?.error },
      'scheduler: run failed, retrying',
    );
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.slot(at, attempt + 1);
    }, delay);
    this.timers.add(t);
  }
}
