/** The parts of one running server that the route modules share (built in server.ts). */
import type { ServingConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { ActiveModel } from '../model/active.js';
import type { Stores } from '../stores/index.js';
import type { AnswerWriter } from './answer-writer.js';
import type { CircuitBreaker } from './breaker.js';
import type { Catalog } from './catalog.js';
import type { L0Cache } from './l0-cache.js';
import type { ServingMetrics } from './metrics.js';
import type { ModelView } from './model-view.js';
import type { PopularItems } from './popular.js';
import type { RecIds } from './rec-ids.js';
import type { RecLog } from './rec-log.js';
import type { Recommender } from './recommender.js';
import type { Validators } from './schemas.js';
import type { Stream } from './stream.js';

export interface Serving {
  config: ServingConfig;
  stores: Stores;
  models: ActiveModel;
  logger: Logger;
  metrics: ServingMetrics;
  breakers: { db: CircuitBreaker; cache: CircuitBreaker; bus: CircuitBreaker };
  l0: L0Cache;
  catalog: Catalog;
  popular: PopularItems;
  recommender: Recommender;
  recLog: RecLog;
  recIds: RecIds;
  /** Writes every answer that is not a cached one (the bytes last until the next answer). */
  answers: AnswerWriter;
  validators: Validators;
  stream: Stream;
  /** The view of the model being served now, or null before the first model. */
  view(): ModelView | null;
  train?: () => Promise<{ version: string }>;
}
