/**
 * Loading the schema's settings from (highest first) explicit overrides such as CLI flags, the
 * environment, an optional JSON file (RECSYS_CONFIG or --config), and defaults. Validated once
 * at start: every problem is reported together, naming the variable (and file key), what was
 * expected and what was found.
 */
import { readFileSync } from 'node:fs';
import type { TSchema } from '@sinclair/typebox';
import type { ValidateFunction } from 'ajv';
import AjvModule from 'ajv';
import { type READINESS_CHECKS, SCHEMA } from './schema.js';
import {
  flatten,
  type Inputs,
  isDerived,
  isSetting,
  type SchemaTree,
  type Setting,
  type Values,
} from './setting.js';

/** The environment variable naming the JSON file (`--config` overrides it). */
export const CONFIG_FILE_ENV = 'RECSYS_CONFIG';

/** File keys that moved, so an old file gets a hint rather than only "unknown key". */
const RENAMED: Record<string, string> = { busPartitions: 'bus.partitions' };

type Loaded = Values<typeof SCHEMA>;

/** The object store's address and credentials (services mode). */
export type S3Config = { [K in keyof Loaded['s3']]: NonNullable<Loaded['s3'][K]> };

/** The whole configuration: one field per setting in src/config/schema.ts. */
export type RecsysConfig = Omit<Loaded, 's3'> & {
  /** Services mode only (null in embedded mode), as are databaseUrl and redisUrl. */
  s3: S3Config | null;
};
/** The HTTP/WebSocket serving role (src/serving). */
export type ServingConfig = RecsysConfig['serving'];
export type Mode = RecsysConfig['mode'];
export type ReadinessCheck = (typeof READINESS_CHECKS)[number];

/** The JSON file's shape (and that of overrides): every key optional. */
export type ConfigInput = Inputs<typeof SCHEMA>;

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
  /** Relative paths (dataDir) are resolved against this (default process.cwd()). */
  cwd?: string;
}

const SETTINGS = flatten(SCHEMA);

const ajv = new AjvModule.default({ allErrors: true, strict: true });
const validators = new WeakMap<TSchema, ValidateFunction>();
function validatorOf(schema: TSchema): ValidateFunction {
  let v = validators.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    validators.set(schema, v);
  }
  return v;
}

/** Where a value came from, for messages. */
type Source = { layer: 'override' | 'env' | 'file'; raw: unknown };

export function loadConfig(opts: LoadConfigOptions = {}): RecsysConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const problems: string[] = [];
  const fileName = opts.configFile ?? (env[CONFIG_FILE_ENV] || undefined);
  const file = fileName ? readConfigFile(fileName, problems) : {};
  const overrides = (opts.overrides ?? {}) as Record<string, unknown>;
  checkShape(overrides, SCHEMA, '', (p) => problems.push(`overrides: ${p}`));

  const sourceOf = (key: string, s: Setting): Source | undefined => {
    const o = valueAt(overrides, key);
    if (set(o)) return { layer: 'override', raw: o };
    const e = env[s.env];
    if (set(e)) return { layer: 'env', raw: e };
    const f = valueAt(file, key);
    if (set(f)) return { layer: 'file', raw: f };
    return undefined;
  };
  const describe = (key: string, s: Setting, src: Source) =>
    src.layer === 'env'
      ? s.env
      : src.layer === 'file'
        ? `config file ${fileName}: "${key}" (${s.env})`
        : `override "${key}" (${s.env})`;

  const values = new Map<string, unknown>();
  const read = (key: string, s: Setting): unknown => {
    const src = sourceOf(key, s);
    if (s.servicesOnly && values.get('mode') !== 'services') return s.default;
    if (!src) {
      if (s.servicesOnly) {
        problems.push(`services mode needs ${s.env} (${s.kind.expected})`);
        return null;
      }
      return isDerived(s.default) ? s.default : finish(s, s.default, cwd);
    }
    const candidate =
      src.layer === 'env' ? s.kind.fromEnv(src.raw as string) : (s.kind.fromFile?.(src.raw) ?? src.raw);
    const reason = validatorOf(s.kind.schema)(candidate) ? s.kind.check?.(candidate) : '';
    if (reason !== undefined) {
      problems.push(
        `${describe(key, s, src)} must be ${s.kind.expected}, got ${JSON.stringify(src.raw)}${reason ? ` (${reason})` : ''}`,
      );
      return null;
    }
    return finish(s, candidate, cwd);
  };

  // Mode first: whether services-only settings are required depends on it.
  for (const { key, setting } of SETTINGS) values.set(key, read(key, setting));
  for (const { key, setting } of SETTINGS) {
    const v = values.get(key);
    // A derived default reads settings that may themselves be wrong: computed only when all are right.
    if (isDerived(v)) values.set(key, problems.length === 0 ? finish(setting, v.compute(get), cwd) : null);
  }
  function get(key: string): unknown {
    return values.get(key);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const config: Record<string, unknown> = {};
  for (const [key, v] of values) assign(config, key, v);
  const s3 = config.s3 as Record<string, unknown>;
  // The object store is one thing: all of it (services mode) or none (embedded mode).
  config.s3 = Object.values(s3).every((v) => v !== null) ? s3 : null;
  return config as RecsysConfig;
}

type TopLevelSetting = {
  [K in keyof typeof SCHEMA]: (typeof SCHEMA)[K] extends Setting ? K : never;
}[keyof typeof SCHEMA];

/**
 * One top-level setting from the environment alone, falling back to its default when unset or
 * wrong (loadConfig reports it then). For what is needed before or without loading the
 * whole configuration: the logger's first level, the CLI's stack traces.
 */
export function envSetting<K extends TopLevelSetting>(
  key: K,
  env: NodeJS.ProcessEnv = process.env,
): Loaded[K] {
  const s = SCHEMA[key] as Setting;
  const raw = env[s.env];
  if (set(raw)) {
    const candidate = s.kind.fromEnv(raw);
    if (validatorOf(s.kind.schema)(candidate) && s.kind.check?.(candidate) === undefined)
      return finish(s, candidate, process.cwd()) as Loaded[K];
  }
  return s.default as Loaded[K];
}

function finish(s: Setting, value: unknown, cwd: string): unknown {
  return value === null || !s.kind.finish ? value : s.kind.finish(value, { cwd });
}

/** Unset: absent, or blank (an exported-but-empty variable counts as unset). */
function set<T>(v: T): v is NonNullable<T> {
  return v !== undefined && v !== null && v !== '';
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function valueAt(obj: Record<string, unknown>, key: string): unknown {
  let node: unknown = obj;
  for (const part of key.split('.')) {
    if (!isObject(node)) return undefined;
    node = node[part];
  }
  return node;
}

function assign(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = obj;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

/** Unknown keys, and groups (s3, serving, …) that are not objects. */
function checkShape(
  obj: Record<string, unknown>,
  tree: SchemaTree,
  prefix: string,
  report: (problem: string) => void,
): void {
  for (const [name, value] of Object.entries(obj)) {
    const key = prefix + name;
    const node = tree[name];
    if (node === undefined) {
      const renamed = RENAMED[key];
      report(
        renamed
          ? `unknown key "${key}" (now "${renamed}")`
          : `unknown key "${key}" (known: ${Object.keys(tree).join(', ')})`,
      );
    } else if (!isSetting(node) && value !== undefined) {
      if (isObject(value)) checkShape(value, node as SchemaTree, `${key}.`, report);
      else report(`"${key}" must be an object, got ${JSON.stringify(value)}`);
    }
  }
}

function readConfigFile(file: string, problems: string[]): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    problems.push(`config file ${file}: ${(err as Error).message}`);
    return {};
  }
  if (!isObject(parsed)) {
    problems.push(`config file ${file}: must hold a JSON object`);
    return {};
  }
  checkShape(parsed, SCHEMA, '', (p) => problems.push(`config file ${file}: ${p}`));
  return parsed;
}
