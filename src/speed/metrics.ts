/**
 * Prometheus metrics of the speed layer, in a registry of its own: `recsys stream` serves it on
 * its ops port; `recsys start` adds it to the server's /metrics.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../process-metrics.js';

export type EventOutcome = 'stored' | 'duplicate' | 'dead_letter';

// From well under the shortest micro-batch (100 ms) to past a slow 5 s one.
const SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 7.5, 10, 15, 30, 60];

export class SpeedMetrics {
  readonly registry = new Registry();
  readonly events: Counter<'outcome'>;
  readonly batchSeconds: Histogram;
  readonly batchEvents: Histogram;
  readonly profiles: Counter;
  readonly updates: Counter;
  readonly freshness: Histogram;
  readonly storeRetries: Counter;
  private readonly behind = new Map<number, number>();

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics) collectProcessMetrics(this.registry);
    this.events = new Counter({
      name: 'recsys_stream_events_total',
      help: 'Events read from the bus, by outcome: stored (new), duplicate (stored before, or repeated in the micro-batch), dead_letter (refused, sent to the dead letter with the reason)',
      labelNames: ['outcome'],
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'recsys_stream_batch_seconds',
      help: 'Time to process one micro-batch, from its window closing to its tables written and updates published',
      buckets: SECONDS,
      registers,
    });
    this.batchEvents = new Histogram({
      name: 'recsys_stream_batch_events',
      help: 'Messages per micro-batch',
      buckets: [1, 10, 100, 1000, 5000, 10_000, 25_000, 50_000, 100_000],
      registers,
    });
    this.profiles = new Counter({
      name: 'recsys_stream_profiles_written_total',
      help: 'User profiles (folded-in vectors) written to user_profiles',
      registers,
    });
    this.updates = new Counter({
      name: 'recsys_stream_user_updates_total',
      help: 'Users announced on the user-update channel (each serving process drops their cached answers and pushes to their subscribers)',
      registers,
    });
    this.freshness = new Histogram({
      name: 'recsys_stream_freshness_seconds',
      help: 'From the bus accepting an event to the profile that folds it in being written',
      buckets: SECONDS,
      registers,
    });
    this.storeRetries = new Counter({
      name: 'recsys_stream_store_retries_total',
      help: 'Micro-batches retried because a store was unavailable (the batch waits; nothing is dead-lettered for it)',
      registers,
    });
    const behind = this.behind;
    new Gauge({
      name: 'recsys_stream_consumer_lag',
      help: 'Messages on the partitions this process holds that it has not read yet (as of each partition’s last batch)',
      registers,
      collect() {
        let sum = 0;
        for (const n of behind.values()) sum += n;
        this.set(sum);
      },
    });
  }

  /** A partition's lag after its latest batch; partitions no longer held are forgotten. */
  setLag(partition: number, behind: number | undefined, held: readonly number[]): void {
    if (behind !== undefined) this.behind.set(partition, behind);
    for (const p of this.behind.keys()) if (!held.includes(p)) this.behind.delete(p);
  }
}
