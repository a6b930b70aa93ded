/**
 * Every setting, declared once: environment name, file key (its path in this tree), kind
 * (type, bounds), default and description. Loading, validation, the RecsysConfig type and the
 * README's table (`npm run docs:config`) all follow from this tree, so adding a setting is one
 * entry here.
 */
import { DEFAULT_EVENT_WEIGHTS, EVENT_TYPES } from '../events/types.js';
import {
  brokers,
  bucket,
  cronPattern,
  daysOrAll,
  eventWeights,
  filePath,
  flag,
  integer,
  list,
  number,
  oneOf,
  sparkConf,
  sparkMaster,
  subsetOf,
  text,
  timeZone,
  url,
} from './kinds.js';
import { derived, type SchemaTree, setting } from './setting.js';

export const MODES = ['embedded', 'services'] as const;
export const READINESS_CHECKS = ['db', 'cache', 'bus', 'model'] as const;
export const BATCH_ENGINES = ['builtin', 'spark'] as const;
export const BACKEND_NAMES = ['native', 'wasm', 'js'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const SCHEMA = {
  mode: setting(oneOf(MODES), {
    env: 'RECSYS_MODE',
    default: 'embedded',
    description:
      'embedded: one process on PGlite, an in-process cache, a table bus and a local folder; services: PostgreSQL, Redis, Kafka and S3',
  }),
  dataDir: setting(filePath(), {
    env: 'RECSYS_DATA_DIR',
    default: './data',
    description:
      "embedded mode's files (`<dataDir>/pg`, `<dataDir>/objects`), relative to the working directory; also `--data-dir`",
  }),
  databaseUrl: setting(url(['postgres:', 'postgresql:']), {
    env: 'DATABASE_URL',
    default: null,
    servicesOnly: true,
    description: 'the PostgreSQL database',
  }),
  redisUrl: setting(url(['redis:', 'rediss:']), {
    env: 'REDIS_URL',
    default: null,
    servicesOnly: true,
    description: 'the Redis server (cache and pub/sub)',
  }),
  kafkaBrokers: setting(brokers(), {
    env: 'KAFKA_BROKERS',
    default: [],
    servicesOnly: true,
    description: 'the Kafka brokers',
  }),
  s3: {
    endpoint: setting(url(['http:', 'https:']), {
      env: 'S3_ENDPOINT',
      default: null,
      servicesOnly: true,
      description: 'MinIO or any S3',
    }),
    accessKey: setting(text(), {
      env: 'S3_ACCESS_KEY',
      default: null,
      servicesOnly: true,
      description: 'object store access key',
    }),
    secretKey: setting(text(), {
      env: 'S3_SECRET_KEY',
      default: null,
      servicesOnly: true,
      description: 'object store secret key',
    }),
    bucket: setting(bucket(), {
      env: 'S3_BUCKET',
      default: null,
      servicesOnly: true,
      description: 'bucket for the archive and models',
    }),
  },
  connectTimeoutMs: setting(integer(100, 600_000), {
    env: 'RECSYS_CONNECT_TIMEOUT_MS',
    default: 5000,
    description: 'bound on reaching any server at start; an unreachable one fails with its name and address',
  }),
  bus: {
    topic: setting(text(), {
      env: 'RECSYS_INTERACTIONS_TOPIC',
      default: 'interactions',
      description:
        'the topic events are published to and the speed layer reads (its dead letters go to `<topic>.dlq`); another name lets systems share one Kafka cluster',
    }),
    partitions: setting(integer(1, 1024), {
      env: 'RECSYS_BUS_PARTITIONS',
      default: 8,
      description: 'partitions of the interactions topic when the bus creates it',
    }),
    maxAttempts: setting(integer(1, 1000), {
      env: 'RECSYS_BUS_MAX_ATTEMPTS',
      default: 5,
      description: 'delivery attempts of a batch before its messages go to the dead letter',
    }),
    retentionHours: setting(number(0, 8760, { exclusiveMin: true }), {
      env: 'RECSYS_BUS_RETENTION_HOURS',
      default: 168,
      description:
        'how long the event bus keeps messages, read or not: the embedded table is pruned hourly, Kafka topics the app creates get it as retention.ms',
    }),
  },
  events: {
    weights: setting(eventWeights(), {
      env: 'RECSYS_EVENT_WEIGHTS',
      default: DEFAULT_EVENT_WEIGHTS,
      description: `implicit weight per event type (${EVENT_TYPES.join(', ')}), e.g. \`view=1,dismiss=-2\` (file: an object); types left out keep their default; 0 drops a type`,
    }),
  },
  serving: {
    apiKeys: setting(list(), {
      env: 'RECSYS_API_KEYS',
      default: [],
      description:
        'keys accepted in `x-api-key` by the event, feedback and admin endpoints (held as SHA-256 hashes); empty: those endpoints are open, with a warning',
    }),
    publicReads: setting(flag(), {
      env: 'RECSYS_PUBLIC_READS',
      default: true,
      description: 'read endpoints (recommendations, similar, popular, stream) answer without a key',
    }),
    rateLimit: setting(number(0, 1e9), {
      env: 'RECSYS_RATE_LIMIT',
      default: 1000,
      description: 'token bucket per API key: requests per second (0 = off)',
    }),
    rateBurst: setting(number(1, 1e9), {
      env: 'RECSYS_RATE_BURST',
      default: derived('2 × rate limit (at least 1)', (get) =>
        Math.max(1, 2 * (get('serving.rateLimit') as number)),
      ),
      description: "the token bucket's burst",
    }),
    ipRateLimit: setting(number(0, 1e9), {
      env: 'RECSYS_IP_RATE_LIMIT',
      default: 0,
      description:
        'the same per client address for requests without a valid key (0 = off: behind a load balancer every client shares its address unless `RECSYS_TRUSTED_PROXIES` says how to find it)',
    }),
    trustedProxies: setting(integer(0, 16), {
      env: 'RECSYS_TRUSTED_PROXIES',
      default: 0,
      description:
        "proxies in front that append the client's address to `X-Forwarded-For`; with N the client is the N-th address from the right (0: the socket's address)",
    }),
    corsOrigins: setting(list(), {
      env: 'RECSYS_CORS_ORIGINS',
      default: [],
      description: 'origins allowed by CORS (`*` for any; empty: no CORS headers)',
    }),
    maxBodyBytes: setting(integer(64, 1 << 30), {
      env: 'RECSYS_MAX_BODY_BYTES',
      default: 1 << 20,
      description: 'largest request body accepted; larger ones get 413',
    }),
    l0Size: setting(integer(0, 1e8), {
      env: 'RECSYS_L0_SIZE',
      default: 50_000,
      description: 'in-process cache of serialized answers: users kept (0 = off)',
    }),
    l0TtlMs: setting(integer(1, 86_400_000), {
      env: 'RECSYS_L0_TTL_MS',
      default: 5000,
      description: "in-process cache's time to live",
    }),
    l1TtlMs: setting(integer(1, 30 * 86_400_000), {
      env: 'RECSYS_L1_TTL_MS',
      default: 600_000,
      description: "time to live of a user's candidates in the shared cache",
    }),
    storeTimeoutMs: setting(integer(1, 600_000), {
      env: 'RECSYS_STORE_TIMEOUT_MS',
      default: 1000,
      description: 'bound on one cache or database call on the request path',
    }),
    readyRequires: setting(subsetOf(READINESS_CHECKS), {
      env: 'RECSYS_READY_REQUIRES',
      default: [...READINESS_CHECKS],
      description:
        'what `/readyz` needs to answer 200; with fewer it answers 200 `degraded` while only the others are missing',
    }),
    port: setting(integer(0, 65_535), {
      env: 'PORT',
      default: 8080,
      description:
        '`recsys serve` and `recsys start`: the HTTP and WebSocket port; 0 = any free port; `--port` overrides',
    }),
    reusePort: setting(flag(), {
      env: 'RECSYS_REUSE_PORT',
      default: derived('on in services mode, off in embedded mode', (get) => get('mode') === 'services'),
      description:
        'listen with `SO_REUSEPORT`, so that several `recsys serve` on the same stores share one port (the kernel spreads connections); off, a port in use is refused at start',
    }),
  },
  speed: {
    microbatchMs: setting(integer(100, 3_600_000), {
      env: 'RECSYS_MICROBATCH_MS',
      default: 5000,
      description:
        "the speed layer's micro-batch interval: events are folded in at least this often (a backlog is drained without waiting)",
    }),
    maxBatchEvents: setting(integer(1, 1_000_000), {
      env: 'RECSYS_MICROBATCH_MAX_EVENTS',
      default: 200_000,
      description: 'most events in one micro-batch (and in one batch of one partition from the bus)',
    }),
    groupId: setting(text(), {
      env: 'RECSYS_STREAM_GROUP',
      default: 'recsys-speed',
      description: 'consumer group of the stream processors on the interactions topic',
    }),
    port: setting(integer(0, 65_535), {
      env: 'RECSYS_STREAM_PORT',
      default: 9465,
      description:
        '`recsys stream`: port of its ops endpoints (/healthz, /readyz, /metrics); 0 = any free port; `--port` overrides',
    }),
    popularHalfLifeHours: setting(number(0, 8760, { exclusiveMin: true }), {
      env: 'RECSYS_POPULAR_HALF_LIFE_HOURS',
      default: 24,
      description:
        'popular items: an interaction counts half after this long (decayed counts kept by the speed layer)',
    }),
    maxHistories: setting(integer(1, 1e8), {
      env: 'RECSYS_STREAM_HISTORIES',
      default: 200_000,
      description:
        "users' histories a stream process keeps in memory between micro-batches (others are read from the store)",
    }),
    retentionHours: setting(number(0, 8760, { exclusiveMin: true }), {
      env: 'RECSYS_RT_RETENTION_HOURS',
      default: 48,
      description:
        'rows of `rt_user_interactions` older than this are written to the Parquet archive, checked, then deleted',
    }),
    archiveEveryMs: setting(integer(1000, 86_400_000), {
      env: 'RECSYS_ARCHIVE_EVERY_MS',
      default: 600_000,
      description: 'pause between two archive sweeps of the stream process',
    }),
    archiveGraceMs: setting(integer(0, 604_800_000), {
      env: 'RECSYS_ARCHIVE_GRACE_MS',
      default: 3_600_000,
      description:
        'a row is archived only once it has been stored this long, so that a redelivered copy of a late event still meets it in the table (short only for tests that want the archive to fill)',
    }),
  },
  batch: {
    mode: setting(oneOf(['explicit', 'implicit'] as const), {
      env: 'RECSYS_TRAIN_MODE',
      default: 'explicit',
      description:
        'what the batch model learns: `explicit` ratings (rating events; RMSE) or `implicit` feedback (every event type by its weight; ranking metrics)',
    }),
    windowDays: setting(daysOrAll(36_500), {
      env: 'RECSYS_TRAIN_WINDOW_DAYS',
      default: 30,
      description:
        'days of interactions a batch run trains on, up to now; `all` for the whole archive (data with old timestamps, such as MovieLens)',
    }),
    factors: setting(integer(1, 1024), {
      env: 'RECSYS_ALS_FACTORS',
      default: 64,
      description: 'latent factors of a batch model',
    }),
    iterations: setting(integer(1, 1000), {
      env: 'RECSYS_ALS_ITERATIONS',
      default: 15,
      description: 'ALS iterations of a batch run',
    }),
    lambda: setting(number(0, 1e6, { exclusiveMin: true }), {
      env: 'RECSYS_ALS_LAMBDA',
      default: null,
      description: "regularisation (none: the mode's default, 0.8·n^0.6 explicit, see `recsys train --help`)",
    }),
    alpha: setting(number(0, 1e6, { exclusiveMin: true }), {
      env: 'RECSYS_ALS_ALPHA',
      default: null,
      description: 'implicit confidence scale, c = 1 + alpha·weight (none: the implicit default)',
    }),
    holdoutFraction: setting(number(0, 0.5, { exclusiveMin: true }), {
      env: 'RECSYS_HOLDOUT_FRACTION',
      default: 0.1,
      description:
        'the latest interactions (by time) a run holds out to evaluate the new and the active model on',
    }),
    gateMetric: setting(text(), {
      env: 'RECSYS_GATE_METRIC',
      default: null,
      description:
        'the metric the promotion gate compares (`rmse`, `mae`, `ndcg_at_10`, `precision_at_10`, `recall_at_10`, `map_at_10`); none: `rmse` explicit, `ndcg_at_10` implicit',
    }),
    gateTolerance: setting(number(0, 1), {
      env: 'RECSYS_GATE_TOLERANCE',
      default: 0.01,
      description:
        'how much worse than the active model, as a fraction of its metric, a new model may be and still be published',
    }),
    topN: setting(integer(1, 1000), {
      env: 'RECSYS_TOP_N',
      default: 100,
      description: 'recommendations precomputed per user by a batch run',
    }),
    keepModels: setting(integer(1, 1000), {
      env: 'RECSYS_KEEP_MODELS',
      default: 3,
      description:
        'model versions kept (artifacts, registry rows and precomputed answers; the active one always): older ones are deleted after a run',
    }),
    schedule: setting(cronPattern(), {
      env: 'RECSYS_BATCH_SCHEDULE',
      default: '0 2 * * *',
      description: '`recsys scheduler`: when batch runs start (cron)',
    }),
    timeZone: setting(timeZone(), {
      env: 'RECSYS_BATCH_TIMEZONE',
      default: 'UTC',
      description: 'the time zone the schedule is read in',
    }),
    retries: setting(integer(0, 100), {
      env: 'RECSYS_BATCH_RETRIES',
      default: 3,
      description: 'a failed scheduled run is tried again this many times',
    }),
    retryDelayMs: setting(integer(100, 86_400_000), {
      env: 'RECSYS_BATCH_RETRY_DELAY_MS',
      default: 60_000,
      description: 'pause before the first retry; each further one waits twice as long',
    }),
    engine: setting(oneOf(BATCH_ENGINES), {
      env: 'RECSYS_BATCH_ENGINE',
      default: 'builtin',
      description:
        "what trains a batch run's model: `builtin` (ALS in this process) or `spark` (a PySpark job, deploy/spark/, on `SPARK_MASTER`); `--engine` overrides",
    }),
    spark: {
      master: setting(sparkMaster(), {
        env: 'SPARK_MASTER',
        default: 'local[*]',
        description:
          'the Spark engine: where the job runs (`local[N]`, `spark://host:7077`, `yarn`, `k8s://…`)',
      }),
      submit: setting(filePath(), {
        env: 'RECSYS_SPARK_SUBMIT',
        default: null,
        description:
          'the Spark engine: the spark-submit to run (none: `.spark/venv/bin/spark-submit`, which `scripts/spark.sh` installs)',
      }),
      jars: setting(list(), {
        env: 'RECSYS_SPARK_JARS',
        default: null,
        description:
          'the Spark engine: jars for s3a (hadoop-aws, the AWS SDK bundle); none: the ones in `.spark/jars`',
      }),
      conf: setting(sparkConf(), {
        env: 'RECSYS_SPARK_CONF',
        default: [],
        description:
          'the Spark engine: more Spark properties, e.g. `spark.executor.memory=8g,spark.driver.memory=4g`',
      }),
      recommend: setting(flag(), {
        env: 'RECSYS_SPARK_RECOMMEND',
        default: false,
        description:
          "the Spark engine: take each user's top-N from Spark's `recommendForAllUsers` (training items left out) instead of scoring them in the precompute phase",
      }),
      s3Endpoint: setting(url(['http:', 'https:']), {
        env: 'RECSYS_SPARK_S3_ENDPOINT',
        default: null,
        description:
          "the Spark engine: the object store's address as the Spark cluster reaches it (none: `S3_ENDPOINT`)",
      }),
    },
  },
  analytics: {
    intervalMs: setting(integer(100, 86_400_000), {
      env: 'RECSYS_ANALYTICS_INTERVAL_MS',
      default: 10_000,
      description:
        'how often a serve process folds new answer logs, feedback and rating events into the hourly rollups (one process at a time) and refreshes its analytics gauges',
    }),
    windowHours: setting(integer(1, 24 * 366), {
      env: 'RECSYS_ANALYTICS_WINDOW_HOURS',
      default: 24,
      description:
        'the trailing window of the analytics gauges on /metrics (`recsys_ctr`, `recsys_catalog_coverage`, `recsys_rmse`, …), in whole hours',
    }),
  },
  compute: {
    backend: setting(oneOf(BACKEND_NAMES), {
      env: 'RECSYS_BACKEND',
      default: null,
      description: 'compute kernels; `--backend` overrides; none: the fastest that loads (native, wasm, js)',
    }),
    wasm: setting(filePath(), {
      env: 'RECSYS_WASM',
      default: null,
      description: 'the wasm kernels to load instead of `assembly/build/recsys.wasm`',
    }),
    nativeAddon: setting(filePath(), {
      env: 'RECSYS_NATIVE_ADDON',
      default: null,
      description: 'the native addon to load instead of `native/index.<platform>.node`',
    }),
  },
  logLevel: setting(oneOf(LOG_LEVELS), {
    env: 'RECSYS_LOG_LEVEL',
    default: 'info',
    description: 'log level (pino, on stderr)',
  }),
  debug: setting(flag(), {
    env: 'RECSYS_DEBUG',
    default: false,
    description: "the CLI prints a failed command's stack trace",
  }),
} satisfies SchemaTree;
