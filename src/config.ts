/**
 * Configuration from (highest first) explicit overrides such as CLI flags, the environment,
 * an optional JSON file (RECSYS_CONFIG or --config), and defaults. Validated once at start:
 * every problem is reported together, with what was expected and what was found.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export type Mode = 'embedded' | 'services';

export interface S3Config {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
}

/** The HTTP/WebSocket serving role (src/serving). */
export interface ServingConfig {
  /**
   * Keys accepted in `x-api-key` by the event, feedback and admin endpoints (RECSYS_API_KEYS,
   * comma-separated). Empty: those endpoints are open (the server logs a warning at start).
   */
  apiKeys: string[];
  /** Read endpoints (recommendations, similar, popular, stream) answer without a key (RECSYS_PUBLIC_READS). */
  publicReads: boolean;
  /** Token bucket per API key: requests per second (RECSYS_RATE_LIMIT, 0 = off) and burst (RECSYS_RATE_BURST). */
  rateLimit: number;
  rateBurst: number;
  /**
   * The same per client address for requests without a valid key (RECSYS_IP_RATE_LIMIT, 0 = off,
   * the default: behind a load balancer every client shares its address unless
   * RECSYS_TRUSTED_PROXIES says how to find the client's).
   */
  ipRateLimit: number;
  /**
   * Proxies in front of the server that append the client's address to X-Forwarded-For
   * (RECSYS_TRUSTED_PROXIES, default 0: the socket's address is the client's). With N, the
   * client is the N-th address from the right: entries further left are whatever the client
   * sent, so they are never trusted.
   */
  trustedProxies: number;
  /** Origins allowed by CORS (RECSYS_CORS_ORIGINS, comma-separated; "*" for any; empty: no CORS headers). */
  corsOrigins: string[];
  /** Largest request body accepted; larger ones get 413 (RECSYS_MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** In-process cache of serialized answers: users kept (RECSYS_L0_SIZE, 0 = off) and time to live (RECSYS_L0_TTL_MS). */
  l0Size: number;
  l0TtlMs: number;
  /** Time to live of a user's candidates in the shared cache (RECSYS_L1_TTL_MS). */
  l1TtlMs: number;
  /** Bound on one cache or database call on the request path (RECSYS_STORE_TIMEOUT_MS). */
  storeTimeoutMs: number;
  /**
   * What /readyz needs to answer 200 (RECSYS_READY_REQUIRES, comma-separated from db, cache,
   * bus, model; default all four). Serving goes on without the cache or the database, so a
   * deployment whose load balancer should keep it in rotation through such an outage lists
   * fewer; /readyz then answers 200 "degraded" and its checks still say what is missing.
   */
  readyRequires: ReadinessCheck[];
}

export const READINESS_CHECKS = ['db', 'cache', 'bus', 'model'] as const;
export type ReadinessCheck = (typeof READINESS_CHECKS)[number];

export interface RecsysConfig {
  mode: Mode;
  /** Embedded mode's files: <dataDir>/pg (PGlite), <dataDir>/objects. Absolute. */
  dataDir: string;
  /** Services mode only (null in embedded mode). */
  databaseUrl: string | null;
  redisUrl: string | null;
  kafkaBrokers: string[];
  s3: S3Config | null;
  /** Partitions of the interactions topic when the bus creates it. */
  busPartitions: number;
  /** Bound on reaching any server at start. */
  connectTimeoutMs: number;
  serving: ServingConfig;
}

/** The JSON file's shape (and of overrides): every key optional. */
export interface ConfigInput {
  mode?: string;
  dataDir?: string;
  databaseUrl?: string;
  redisUrl?: string;
  kafkaBrokers?: string | string[];
  s3?: Partial<S3Config>;
  busPartitions?: number | string;
  connectTimeoutMs?: number | string;
  serving?: ServingInput;
}

/** ServingConfig as found in the file or environment: lists may be comma-separated strings, numbers strings. */
export type ServingInput = {
  [K in keyof ServingConfig]?: ServingConfig[K] extends string[]
    ? string | string[]
    : ServingConfig[K] | string;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** JSON config file; defaults to env.RECSYS_CONFIG when set. */
  configFile?: string;
  /** Highest precedence, e.g. from --data-dir. */
  overrides?: ConfigInput;
  /** Relative dataDir is resolved against this (default process.cwd()). */
  cwd?: string;
}

const FILE_KEYS = new Set([
  'mode',
  'dataDir',
  'databaseUrl',
  'redisUrl',
  'kafkaBrokers',
  's3',
  'busPartitions',
  'connectTimeoutMs',
  'serving',
]);
const S3_KEYS = new Set(['endpoint', 'accessKey', 'secretKey', 'bucket']);
const SERVING_KEYS = new Set<string>([
  'apiKeys',
  'publicReads',
  'rateLimit',
  'rateBurst',
  'ipRateLimit',
  'trustedProxies',
  'corsOrigins',
  'maxBodyBytes',
  'l0Size',
  'l0TtlMs',
  'l1TtlMs',
  'storeTimeoutMs',
  'readyRequires',
]);

export function loadConfig(opts: LoadConfigOptions = {}): RecsysConfig {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  const fileName = opts.configFile ?? env.RECSYS_CONFIG;
  const file = fileName ? readConfigFile(fileName, problems) : {};
  const fromEnv: ConfigInput = {
    mode: env.RECSYS_MODE,
    dataDir: env.RECSYS_DATA_DIR,
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    kafkaBrokers: env.KAFKA_BROKERS,
    s3: {
      endpoint: env.S3_ENDPOINT,
      accessKey: env.S3_ACCESS_KEY,
      secretKey: env.S3_SECRET_KEY,
      bucket: env.S3_BUCKET,
    },
    busPartitions: env.RECSYS_BUS_PARTITIONS,
    connectTimeoutMs: env.RECSYS_CONNECT_TIMEOUT_MS,
    serving: {
      apiKeys: env.RECSYS_API_KEYS,
      publicReads: env.RECSYS_PUBLIC_READS,
      rateLimit: env.RECSYS_RATE_LIMIT,
      rateBurst: env.RECSYS_RATE_BURST,
      ipRateLimit: env.RECSYS_IP_RATE_LIMIT,
      trustedProxies: env.RECSYS_TRUSTED_PROXIES,
      corsOrigins: env.RECSYS_CORS_ORIGINS,
      maxBodyBytes: env.RECSYS_MAX_BODY_BYTES,
      l0Size: env.RECSYS_L0_SIZE,
      l0TtlMs: env.RECSYS_L0_TTL_MS,
      l1TtlMs: env.RECSYS_L1_TTL_MS,
      storeTimeoutMs: env.RECSYS_STORE_TIMEOUT_MS,
      readyRequires: env.RECSYS_READY_REQUIRES,
    },
  };
  const layers = [opts.overrides ?? {}, fromEnv, file];
  const pick = <K extends keyof ConfigInput>(key: K) => firstSet(layers.map((l) => l[key]));
  const pickS3 = (key: keyof S3Config) => firstSet(layers.map((l) => l.s3?.[key]));
  const pickServing = <K extends keyof ServingConfig>(key: K) =>
    firstSet(layers.map((l) => l.serving?.[key]));

  const mode = pick('mode') ?? 'embedded';
  if (mode !== 'embedded' && mode !== 'services') {
    problems.push(`RECSYS_MODE must be "embedded" or "services", got ${JSON.stringify(mode)}`);
  }
  const dataDir = path.resolve(opts.cwd ?? process.cwd(), String(pick('dataDir') ?? './data'));
  const busPartitions = integer('RECSYS_BUS_PARTITIONS', pick('busPartitions') ?? 8, 1, 1024, problems);
  const connectTimeoutMs = integer(
    'RECSYS_CONNECT_TIMEOUT_MS',
    pick('connectTimeoutMs') ?? 5000,
    100,
    600_000,
    problems,
  );

  const rateLimit = number('RECSYS_RATE_LIMIT', pickServing('rateLimit') ?? 1000, 0, 1e9, problems);
  const serving: ServingConfig = {
    apiKeys: list(pickServing('apiKeys')),
    publicReads: flag('RECSYS_PUBLIC_READS', pickServing('publicReads') ?? true, problems),
    rateLimit,
    rateBurst: number(
      'RECSYS_RATE_BURST',
      pickServing('rateBurst') ?? Math.max(1, 2 * rateLimit),
      1,
      1e9,
      problems,
    ),
    ipRateLimit: number('RECSYS_IP_RATE_LIMIT', pickServing('ipRateLimit') ?? 0, 0, 1e9, problems),
    trustedProxies: integer('RECSYS_TRUSTED_PROXIES', pickServing('trustedProxies') ?? 0, 0, 16, problems),
    corsOrigins: list(pickServing('corsOrigins')),
    maxBodyBytes: integer(
      'RECSYS_MAX_BODY_BYTES',
      pickServing('maxBodyBytes') ?? 1 << 20,
      64,
      1 << 30,
      problems,
    ),
    l0Size: integer('RECSYS_L0_SIZE', pickServing('l0Size') ?? 50_000, 0, 1e8, problems),
    l0TtlMs: integer('RECSYS_L0_TTL_MS', pickServing('l0TtlMs') ?? 5000, 1, 86_400_000, problems),
    l1TtlMs: integer('RECSYS_L1_TTL_MS', pickServing('l1TtlMs') ?? 600_000, 1, 30 * 86_400_000, problems),
    storeTimeoutMs: integer(
      'RECSYS_STORE_TIMEOUT_MS',
      pickServing('storeTimeoutMs') ?? 1000,
      1,
      600_000,
      problems,
    ),
    readyRequires: readinessChecks(pickServing('readyRequires'), problems),
  };

  const config: RecsysConfig = {
    mode: mode as Mode,
    dataDir,
    databaseUrl: null,
    redisUrl: null,
    kafkaBrokers: [],
    s3: null,
    busPartitions,
    connectTimeoutMs,
    serving,
  };
  if (mode === 'services') {
    // Every server is required: a silent fallback to embedded would split state between two stores.
    config.databaseUrl = url('DATABASE_URL', pick('databaseUrl'), ['postgres:', 'postgresql:'], problems);
    config.redisUrl = url('REDIS_URL', pick('redisUrl'), ['redis:', 'rediss:'], problems);
    config.kafkaBrokers = brokers(pick('kafkaBrokers'), problems);
    const endpoint = url('S3_ENDPOINT', pickS3('endpoint'), ['http:', 'https:'], problems);
    const accessKey = required('S3_ACCESS_KEY', pickS3('accessKey'), problems);
    const secretKey = required('S3_SECRET_KEY', pickS3('secretKey'), problems);
    const bucket = required('S3_BUCKET', pickS3('bucket'), problems);
    if (bucket && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      problems.push(
        `S3_BUCKET must be 3-63 lower-case letters, digits, dots or hyphens, got ${JSON.stringify(bucket)}`,
      );
    }
    if (endpoint && accessKey && secretKey && bucket) config.s3 = { endpoint, accessKey, secretKey, bucket };
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function firstSet<T>(values: (T | undefined)[]): T | undefined {
  return values.find((v) => v !== undefined && v !== '');
}

function readConfigFile(file: string, problems: string[]): ConfigInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    problems.push(`config file ${file}: ${(err as Error).message}`);
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`config file ${file}: must hold a JSON object`);
    return {};
  }
  const obj = parsed as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!FILE_KEYS.has(key))
      problems.push(`config file ${file}: unknown key "${key}" (known: ${[...FILE_KEYS].join(', ')})`);
  }
  const s3 = obj.s3;
  if (s3 !== undefined) {
    if (typeof s3 !== 'object' || s3 === null || Array.isArray(s3))
      problems.push(`config file ${file}: "s3" must be an object`);
    else
      for (const key of Object.keys(s3)) {
        if (!S3_KEYS.has(key))
          problems.push(`config file ${file}: unknown key "s3.${key}" (known: ${[...S3_KEYS].join(', ')})`);
      }
  }
  const serving = obj.serving;
  if (serving !== undefined) {
    if (typeof serving !== 'object' || serving === null || Array.isArray(serving))
      problems.push(`config file ${file}: "serving" must be an object`);
    else
      for (const key of Object.keys(serving)) {
        if (!SERVING_KEYS.has(key))
          problems.push(
            `config file ${file}: unknown key "serving.${key}" (known: ${[...SERVING_KEYS].join(', ')})`,
          );
      }
  }
  for (const key of ['mode', 'dataDir', 'databaseUrl', 'redisUrl'] as const) {
    if (obj[key] !== undefined && typeof obj[key] !== 'string')
      problems.push(`config file ${file}: "${key}" must be a string`);
  }
  return obj as ConfigInput;
}

function required(name: string, value: string | undefined, problems: string[]): string | null {
  if (value === undefined || value === '') {
    problems.push(`services mode needs ${name}`);
    return null;
  }
  return value;
}

function url(
  name: string,
  value: string | undefined,
  protocols: string[],
  problems: string[],
): string | null {
  if (!required(name, value, problems)) return null;
  let parsed: URL;
  try {
    parsed = new URL(value!);
  } catch {
    problems.push(`${name} is not a URL: ${JSON.stringify(value)}`);
    return null;
  }
  if (!protocols.includes(parsed.protocol)) {
    problems.push(
      `${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}, got ${parsed.protocol}//…`,
    );
    return null;
  }
  if (!parsed.hostname) {
    problems.push(`${name} has no host: ${JSON.stringify(value)}`);
    return null;
  }
  return value!;
}

function brokers(value: string | string[] | undefined, problems: string[]): string[] {
  const list = (Array.isArray(value) ? value : (value ?? '').split(',')).map((b) => b.trim()).filter(Boolean);
  if (list.length === 0) {
    problems.push('services mode needs KAFKA_BROKERS (host:port, comma-separated)');
    return [];
  }
  for (const b of list) {
    const m = /^(.+):(\d+)$/.exec(b);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      problems.push(`KAFKA_BROKERS entry ${JSON.stringify(b)} is not host:port`);
    }
  }
  return list;
}

/** A list from a comma-separated string or an array; blanks dropped. */
function readinessChecks(value: string | string[] | undefined, problems: string[]): ReadinessCheck[] {
  if (value === undefined) return [...READINESS_CHECKS];
  const names = list(value);
  const unknown = names.filter((n) => !(READINESS_CHECKS as readonly string[]).includes(n));
  if (unknown.length > 0)
    problems.push(
      `RECSYS_READY_REQUIRES lists ${unknown.map((n) => JSON.stringify(n)).join(', ')}; allowed: ${READINESS_CHECKS.join(', ')}`,
    );
  return READINESS_CHECKS.filter((c) => names.includes(c));
}

function list(value: string | string[] | undefined): string[] {
  return (Array.isArray(value) ? value : (value ?? '').split(','))
    .map((v) => String(v).trim())
    .filter(Boolean);
}

function flag(name: string, value: boolean | string, problems: string[]): boolean {
  if (typeof value === 'boolean') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  problems.push(`${name} must be true or false, got ${JSON.stringify(value)}`);
  return true;
}

function number(name: string, value: number | string, min: number, max: number, problems: string[]): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    problems.push(`${name} must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return min;
  }
  return n;
}

function integer(name: string, value: number | string, min: number, max: number, problems: string[]): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return min;
  }
  return n;
}
