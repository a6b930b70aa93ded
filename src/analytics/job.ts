/**
 * The analytics job of a serve process: every interval, one rollup pass — by whichever
 * process takes the lock first; the others skip rather than queue — then this process's
 * gauges from the report over the trailing window. A failed pass is logged and retried at
 * the next tick: rollups lag, nothing is lost (the rows stay in the logs).
 */
import type { Logger } from '../logger.js';
import type { RelationalStore } from '../stores/relational/port.js';
import type { AnalyticsGauges } from './gauges.js';
import { analyticsReport } from './report.js';
import { type RollupResult, rollUp } from './rollup.js';
import { trailingWindow } from './window.js';

export const ANALYTICS_LOCK = 'recsys:analytics-rollup';

export interface AnalyticsJobOptions {
  intervalMs: number;
  windowHours: number;
}

export class AnalyticsJob {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<RollupResult | null> | null = null;

  constructor(
    private readonly db: RelationalStore,
    private readonly gauges: AnalyticsGauges,
    private readonly logger: Logger,
    private readonly opts: AnalyticsJobOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  /**
   * One pass and a gauge refresh, now (joins one in flight). Resolves with the pass's figures,
   * or null when another process held the lock (the gauges are refreshed either way).
   */
  runOnce(): Promise<RollupResult | null> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async tick(): Promise<void> {
    try {
      await this.runOnce();
    } catch (err) {
      this.logger.warn({ err }, 'analytics rollup failed; retrying at the next interval');
    }
  }

  private async pass(): Promise<RollupResult | null> {
    let result: RollupResult | null = null;
    const lock = await this.db.tryLock(ANALYTICS_LOCK);
    if (lock) {
      try {
        result = await rollUp(this.db);
        this.gauges.rollupDuration.observe(result.ms / 1000);
        if (result.ms > 1000) this.logger.info(result, 'analytics rollup');
      } finally {
        await lock.release();
      }
    }
    this.gauges.set(await analyticsReport(this.db, trailingWindow(this.opts.windowHours)));
    return result;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }
}
