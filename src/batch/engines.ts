/** The training engine a run uses: `batch.engine` (RECSYS_BATCH_ENGINE, `--engine`). */
import { builtinEngine, type TrainingEngine } from './engine.js';
import type { BatchDeps } from './pipeline.js';
import { sparkEngine } from './spark-engine.js';

export function selectEngine(deps: BatchDeps): TrainingEngine {
  const { settings } = deps;
  if (settings.engine === 'builtin') return builtinEngine(deps);
  if (!deps.objectsAt)
    throw new Error('the Spark engine needs to know where the object store is (objectsAt); see batchDeps');
  return sparkEngine({
    settings: settings.spark,
    location: deps.objectsAt,
    stores: deps.stores,
    weights: deps.weights,
    topN: settings.topN,
    logger: deps.logger,
  });
}
