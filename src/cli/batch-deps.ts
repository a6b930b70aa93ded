/** What every way into a batch run (CLI, admin API, scheduler, `recsys start`) hands the pipeline. */
import path from 'node:path';
import type { BatchDeps, Progress } from '../batch/pipeline.js';
import type { ObjectLocation } from '../batch/spark-engine.js';
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
    objectsAt: objectLocation(config),
  };
}

/** Where the object store's keys are, for a training engine that reads them itself (Spark). */
export function objectLocation(config: RecsysConfig): ObjectLocation | undefined {
  if (config.mode === 'embedded') return { kind: 'folder', dir: path.join(config.dataDir, 'objects') };
  if (!config.s3) return undefined;
  const { endpoint, accessKey, secretKey, bucket } = config.s3;
  return {
    kind: 's3',
    endpoint: config.batch.spark.s3Endpoint ?? endpoint,
    accessKey,
    secretKey,
    bucket,
  };
}
