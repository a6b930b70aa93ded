/**
 * The speed layer (role `recsys stream`; `recsys start` runs it in-process): a member of the
 * consumer group on the interactions topic that works in micro-batches (micro-batcher.ts,
 * processor.ts), and the retention sweep that moves old interactions to the archive
 * (archiver.ts). Stopping lets the micro-batch in progress finish and commit; a process
 * killed instead leaves its uncommitted batches to the next owner, and their effects are
 * idempotent, so every event counts once.
 */
import type { BackendName } from '../compute/kernels.js';
import type { RecsysConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { ActiveModel } from '../model/active.js';
import type { Consumer } from '../stores/bus/port.js';
import type { Stores } from '../stores/index.js';
import { Archiver } from './archiver.js';
import { SpeedMetrics } from './metrics.js';
import { MicroBatcher } from './micro-batcher.js';
import { type BatchSummary, MicroBatchProcessor } from './processor.js';

export { SpeedMetrics } from './metrics.js';
export type { BatchSummary } from './processor.js';

export interface SpeedLayerDeps {
  config: RecsysConfig;
  stores: Pick<Stores, 'db' | 'cache' | 'bus' | 'objects'>;
  models: Pick<ActiveModel, 'current'>;
  backend: BackendName;
  logger: Logger;
  metrics?: SpeedMetrics;
}

export interface SpeedLayer {
  readonly metrics: SpeedMetrics;
  /** Partitions held now. */
  assignment(): number[];
  onBatch(fn: (s: BatchSummary) => void): () => void;
  /** Finishes the micro-batch in progress (committing it), then leaves the group. */
  stop(): Promise<void>;
}

export async function startSpeedLayer(d: SpeedLayerDeps): Promise<SpeedLayer> {
  const { config, stores, logger } = d;
  const metrics = d.metrics ?? new SpeedMetrics();
  const stopping = new AbortController();
  let consumer: Consumer | null = null;
  const assignment = () => consumer?.assignment() ?? [];
  // PostgreSQL's pool lets the fold-in run while the database takes the events; PGlite has
  // one connection, so there they take turns.
  const concurrent = config.mode === 'services';
  const processor = new MicroBatchProcessor({
    db: stores.db,
    cache: stores.cache,
    model: () => d.models.current(),
    backend: d.backend,
    weights: config.events.weights,
    popularHalfLifeHours: config.speed.popularHalfLifeHours,
    metrics,
    logger,
    assignment,
    maxHistories: config.speed.maxHistories,
    signal: stopping.signal,
    parallelReads: concurrent,
  });
  const batcher = new MicroBatcher({
    intervalMs: config.speed.microbatchMs,
    maxEvents: config.speed.maxBatchEvents,
    assigned: () => assignment().length,
    prepare: processor.prepare,
  });
  const topic = config.bus.topic;
  await stores.bus.ensureTopic(topic);
  consumer = await stores.bus.consume({
    topic,
    groupId: config.speed.groupId,
    handler: batcher.handle,
    maxBatchSize: config.speed.maxBatchEvents,
    // Every partition held can have its batch in the open micro-batch.
    partitionsConcurrently: 1024,
    onError: (err) => logger.debug({ err }, 'speed layer consumer recovered from an error'),
  });
  logger.info(
    { group: config.speed.groupId, intervalMs: config.speed.microbatchMs },
    `speed layer consuming ${topic}`,
  );
  // Retention: rows past RECSYS_RT_RETENTION_HOURS go to the Parquet archive. PGlite runs in
  // this process, so embedded sweeps take smaller bites to keep the event loop responsive.
  const archiver = new Archiver({
    db: stores.db,
    objects: stores.objects,
    logger,
    retentionHours: config.speed.retentionHours,
    graceMs: config.speed.archiveGraceMs,
    ...(config.mode === 'embedded' ? { rowsPerFile: 20_000 } : {}),
  });
  archiver.start(config.speed.archiveEveryMs);
  return {
    metrics,
    assignment,
    onBatch: (fn) => processor.onBatch(fn),
    async stop() {
      // Close the open window now rather than at its timer, so stop() is quick.
      const flushing = batcher.flush();
      await Promise.all([consumer!.stop(), flushing, archiver.stop()]);
      stopping.abort();
    },
  };
}
