/** The parts of one running server that the route modules share (built in server.ts). */
import type { AnalyticsJob } from '../analytics/index.js';
import type { ServingConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { ActiveModel } from '../model/active.js';
import type { EventBus } from '../stores/bus/port.js';
import type { Cache } from '../stores/cache/port.js';
import type { Stores } from '../stores/index.js';
import type { RelationalStore } from '../stores/relational/port.js';
import type { Circuit, Resilient } from '../stores/resilience.js';
import type { AnswerWriter } from './answer-writer.js';
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
  /** Where POST /v1/events publishes (RECSYS_INTERACTIONS_TOPIC). */
  interactionsTopic: string;
  /** What the routes call: each store behind a per-call timeout and a circuit breaker (stores/resilience.ts). */
  stores: { db: Resilient<RelationalStore>; cache: Resilient<Cache>; bus: Resilient<EventBus> };
  /** The stores as opened: /readyz probes these, past any open circuit. */
  raw: Stores;
  /** Every circuit of this server by its metrics label (db, cache, bus, db_log). */
  circuits: Record<string, Circuit>;
  models: ActiveModel;
  logger: Logger;
  metrics: ServingMetrics;
  l0: L0Cache;
  catalog: Catalog;
  popular: PopularItems;
  recommender: Recommender;
  recLog: RecLog;
  /** Rolls answers and feedback up into the analytics tables and keeps the gauges current. */
  analytics: AnalyticsJob;
  recIds: RecIds;
  /** Writes every answer that is not a cached one (the bytes last until the next answer). */
  answers: AnswerWriter;
  validators: Validators;
  stream: Stream;
  /** The view of the model being served now, or null before the first model. */
  view(): ModelView | null;
  /** Starts a batch run (throws RunInProgressError while one runs); absent: 501. */
  batch?: BatchStarter;
}

export interface BatchStarter {
  start(): Promise<{ runId: string }>;
}
