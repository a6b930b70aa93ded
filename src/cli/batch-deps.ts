/** What every way into a batch run (CLI, admin API, scheduler, `recsys start`) hands the pipeline. */
import type { BatchDeps, Progress } from '../batch/pipeline.js';
import type { BackendName } from '../compute/kernels.js';
import type { ComputePool } from '../compute/pool.js';
import type { RecsysConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { Stores } from '../stores/index.js';

export function batchDeps(
  config: RecsysConfig,
  stores: Pick<Stores, 'db' | 'objects' | 'cache'>,
  compute: { pool: ComputePool; backend: BackendName },
  logger: Logger,
  onProgress?: (p: Progress) => void,
): BatchDeps {
  return {
    stores,
    pool: compute.pool,
    backend: compute.backend,
    settings: config.batch,
    weights: config.events.weights,
    logger,
    onProgress,
  };
}
