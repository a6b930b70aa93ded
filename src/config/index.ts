/**
 * The configuration (DESIGN.md §7): one declarative schema (schema.ts) of every setting's
 * environment name, file key, type, default and description, from which loading, validation,
 * the RecsysConfig type and the README's table follow.
 */
export type { EventWeights } from '../events/types.js';
export {
  CONFIG_FILE_ENV,
  ConfigError,
  type ConfigInput,
  envSetting,
  type LoadConfigOptions,
  loadConfig,
  type Mode,
  type ReadinessCheck,
  type RecsysConfig,
  type S3Config,
  type ServingConfig,
} from './load.js';
export {
  BACKEND_NAMES,
  BATCH_ENGINES,
  LOG_LEVELS,
  type LogLevel,
  MODES,
  READINESS_CHECKS,
  SCHEMA,
} from './schema.js';
