/** The data layer's public surface: loaders, id maps, sparse matrices, splits and metrics. */
export { DataError } from './errors.js';
export { IdMap } from './ids.js';
export {
  type InteractionFormat,
  loadInteractions,
  loadItemsMovieLens,
  MOVIELENS_GENRES,
  type MovieLensItem,
  resolveFormat,
} from './loaders.js';
export {
  type Alloc,
  type Coo,
  type CsrOptions,
  cooFromTable,
  cooFromTableKnown,
  cooToCsrPair,
  type DropStats,
  toCsr,
  transposeCsr,
} from './matrix.js';
export {
  catalogCoverage,
  mae,
  mapAtK,
  ndcgAtK,
  precisionAtK,
  type RankingMetrics,
  type RankingOptions,
  rankingMetricsAtK,
  recallAtK,
  rmse,
  type TestItems,
} from './metrics.js';
export {
  type Holdout,
  holdoutFromTable,
  loadHoldout,
  randomSplit,
  type Split,
  selectCoo,
  timeSplit,
} from './split.js';
