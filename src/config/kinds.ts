/**
 * The kinds of value a setting can hold. A kind knows its JSON Schema (TypeBox, checked with
 * ajv), how to read it from an environment string and from the JSON file, what to say it
 * expected when a value is wrong, and how the README's table names it.
 */
import path from 'node:path';
import { Type as T, type TSchema } from '@sinclair/typebox';
import { Cron } from 'croner';
import { DEFAULT_EVENT_WEIGHTS, EVENT_TYPES, type EventWeights } from '../events/types.js';

/** What a value is checked and finished against: the working directory for relative paths. */
export interface FinishContext {
  cwd: string;
}

/**
 * A kind of value. `V` is the loaded value (what RecsysConfig holds), `I` what the JSON file and
 * the overrides may hold (ConfigInput): e.g. a list is `string[]` loaded but may be written as
 * one comma-separated string.
 */
export interface Kind<V, I = V> {
  /** JSON Schema of the value after reading (fromEnv/fromFile), before finish. */
  readonly schema: TSchema;
  /** An environment string to a candidate value (left as the string when it cannot be read). */
  fromEnv(raw: string): unknown;
  /** A file or override value to a candidate value (default: as it is). */
  fromFile?(value: unknown): unknown;
  /** Checks beyond the schema: a reason when the value is wrong, else undefined. */
  check?(value: unknown): string | undefined;
  /** Turns a valid value into the loaded one (resolve a path, fill defaults, order a list). */
  finish?(value: unknown, ctx: FinishContext): V;
  /** "an integer from 1 to 1024": completes "X must be …" in messages. */
  readonly expected: string;
  /** The README table's type column. */
  readonly type: string;
  /** Shows a default in the README table (default: JSON, lists comma-separated). */
  show?(value: V): string;
  /** Phantom field for the file type; never set. */
  readonly _input?: I;
}

const trimmed = (raw: string) => raw.trim();

const readNumber = (raw: string): unknown => {
  const s = raw.trim();
  const n = Number(s);
  return s !== '' && Number.isFinite(n) ? n : raw;
};

const splitList = (value: unknown): unknown =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean)
    : Array.isArray(value)
      ? value.map((v) => (typeof v === 'string' ? v.trim() : v)).filter((v) => v !== '')
      : value;

export function text(): Kind<string> {
  return {
    schema: T.String({ minLength: 1 }),
    fromEnv: trimmed,
    expected: 'a non-empty string',
    type: 'string',
  };
}

/** A file system path, resolved against the working directory. */
export function filePath(): Kind<string> {
  return {
    schema: T.String({ minLength: 1 }),
    fromEnv: trimmed,
    finish: (v, ctx) => path.resolve(ctx.cwd, v as string),
    expected: 'a path',
    type: 'path',
  };
}

/** A URL with one of `protocols` (e.g. 'postgres:') and a host. */
export function url(protocols: string[]): Kind<string> {
  const names = protocols.map((p) => `${p}//`).join(' or ');
  return {
    schema: T.String({ minLength: 1 }),
    fromEnv: trimmed,
    check(value) {
      let parsed: URL;
      try {
        parsed = new URL(value as string);
      } catch {
        return 'not a URL';
      }
      if (!protocols.includes(parsed.protocol)) return `it starts with ${parsed.protocol}//`;
      if (!parsed.hostname) return 'it has no host';
      return undefined;
    },
    expected: `a ${names} URL`,
    type: `URL (${names})`,
  };
}

/** An S3 bucket name. */
export function bucket(): Kind<string> {
  return {
    schema: T.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }),
    fromEnv: trimmed,
    expected: '3-63 lower-case letters, digits, dots or hyphens',
    type: 'bucket name',
  };
}

export function oneOf<const V extends string>(values: readonly V[]): Kind<V> {
  return {
    schema: T.Union(values.map((v) => T.Literal(v))),
    fromEnv: trimmed,
    expected: values.map((v) => JSON.stringify(v)).join(' or '),
    type: values.map((v) => `\`${v}\``).join(', '),
  };
}

export function integer(min: number, max: number): Kind<number> {
  return {
    schema: T.Integer({ minimum: min, maximum: max }),
    fromEnv: readNumber,
    expected: `an integer from ${min} to ${max}`,
    type: `integer ${min}–${max}`,
  };
}

/** A finite number from `min` (or above it, when `exclusiveMin`) to `max`. */
export function number(min: number, max: number, opts: { exclusiveMin?: boolean } = {}): Kind<number> {
  return {
    schema: opts.exclusiveMin
      ? T.Number({ exclusiveMinimum: min, maximum: max })
      : T.Number({ minimum: min, maximum: max }),
    fromEnv: readNumber,
    expected: opts.exclusiveMin ? `a number above ${min} up to ${max}` : `a number from ${min} to ${max}`,
    type: opts.exclusiveMin ? `number >${min}–${max}` : `number ${min}–${max}`,
  };
}

/** A number of days from 1 to `max`, or `all` (no limit). */
export function daysOrAll(max: number): Kind<number | 'all'> {
  return {
    schema: T.Union([T.Literal('all'), T.Integer({ minimum: 1, maximum: max })]),
    fromEnv: (raw) => (raw.trim().toLowerCase() === 'all' ? 'all' : readNumber(raw)),
    expected: `an integer from 1 to ${max}, or "all"`,
    type: `integer 1–${max} or \`all\``,
  };
}

/** A cron pattern (5 or 6 fields, or a nickname such as @daily), as croner reads it. */
export function cronPattern(): Kind<string> {
  return {
    schema: T.String({ minLength: 1 }),
    fromEnv: trimmed,
    check(value) {
      try {
        new Cron(value as string, { paused: true }).stop();
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
    expected: 'a cron pattern such as "0 2 * * *"',
    type: 'cron pattern',
  };
}

/** An IANA time zone name (Europe/Berlin, UTC). */
export function timeZone(): Kind<string> {
  return {
    schema: T.String({ minLength: 1 }),
    fromEnv: trimmed,
    check(value) {
      try {
        new Intl.DateTimeFormat('en', { timeZone: value as string });
        return undefined;
      } catch {
        return 'not a time zone this runtime knows';
      }
    },
    expected: 'an IANA time zone such as "UTC" or "Europe/Berlin"',
    type: 'time zone',
  };
}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

export function flag(): Kind<boolean> {
  return {
    schema: T.Boolean(),
    fromEnv(raw) {
      const v = raw.trim().toLowerCase();
      return TRUE.includes(v) ? true : FALSE.includes(v) ? false : raw;
    },
    expected: 'true or false',
    type: 'boolean',
  };
}

/** A list: comma-separated in the environment, an array or a comma-separated string in the file. */
export function list(): Kind<string[], string | string[]> {
  return {
    schema: T.Array(T.String({ minLength: 1 })),
    fromEnv: splitList,
    fromFile: splitList,
    expected: 'a comma-separated list (or an array of strings)',
    type: 'list',
    show: (v) => v.join(','),
  };
}

/** A list of some of `values`, loaded in their order, each once. */
export function subsetOf<const V extends string>(values: readonly V[]): Kind<V[], string | V[]> {
  return {
    schema: T.Array(T.Union(values.map((v) => T.Literal(v)))),
    fromEnv: splitList,
    fromFile: splitList,
    finish: (v) => values.filter((c) => (v as string[]).includes(c)),
    expected: `a comma-separated list of ${values.join(', ')}`,
    type: `list of ${values.map((v) => `\`${v}\``).join(', ')}`,
    show: (v) => v.join(','),
  };
}

/** Kafka brokers: host:port entries, comma-separated. */
export function brokers(): Kind<string[], string | string[]> {
  return {
    schema: T.Array(T.String({ minLength: 1 }), { minItems: 1 }),
    fromEnv: splitList,
    fromFile: splitList,
    check(value) {
      const bad = (value as string[]).filter((b) => {
        const m = /^(.+):(\d+)$/.exec(b);
        return !m || Number(m[2]) < 1 || Number(m[2]) > 65535;
      });
      return bad.length > 0 ? `${bad.map((b) => JSON.stringify(b)).join(', ')} is not host:port` : undefined;
    },
    expected: 'host:port entries, comma-separated',
    type: 'list of host:port',
    show: (v) => v.join(','),
  };
}

/**
 * Implicit weights per event type: "view=1,click=2" in the environment, {"view": 1, ...} in the
 * file. Types left out keep DEFAULT_EVENT_WEIGHTS.
 */
export function eventWeights(): Kind<EventWeights, Partial<Record<keyof EventWeights, number>>> {
  return {
    schema: T.Object(Object.fromEntries(EVENT_TYPES.map((t) => [t, T.Optional(T.Number())])), {
      additionalProperties: false,
    }),
    fromEnv(raw) {
      const out: Record<string, unknown> = {};
      for (const pair of raw.split(',')) {
        if (pair.trim() === '') continue;
        const eq = pair.indexOf('=');
        if (eq < 0) return raw;
        out[pair.slice(0, eq).trim()] = readNumber(pair.slice(eq + 1));
      }
      return out;
    },
    check(value) {
      const bad = Object.entries(value as Record<string, number>).filter(([, w]) => !Number.isFinite(w));
      return bad.length > 0 ? `${bad.map(([t]) => t).join(', ')} not finite` : undefined;
    },
    finish: (v) => Object.freeze({ ...DEFAULT_EVENT_WEIGHTS, ...(v as Partial<EventWeights>) }),
    expected: `type=weight pairs, comma-separated, with types from ${EVENT_TYPES.join(', ')} and finite numbers`,
    type: 'type=weight list',
    show: (v) =>
      Object.entries(v)
        .map(([t, w]) => `${t}=${w}`)
        .join(','),
  };
}

const SPARK_MASTER = /^(local(\[(\d+|\*)(,\d+)?\])?|(spark|mesos|k8s):\/\/\S+|yarn)$/;

/** A Spark master URL, as spark-submit's --master takes it. */
export function sparkMaster(): Kind<string> {
  return {
    schema: T.String({ minLength: 1 }),
    fromEnv: trimmed,
    check: (v) => (SPARK_MASTER.test(v as string) ? undefined : 'not a Spark master'),
    expected: '`local`, `local[N]`, `local[*]`, `spark://host:port`, `yarn` or `k8s://https://host:port`',
    type: 'Spark master',
  };
}

/** Spark properties, `spark.key=value` entries (comma-separated in the environment). */
export function sparkConf(): Kind<string[], string | string[]> {
  return {
    ...list(),
    check: (v) => {
      const bad = (v as string[]).find((e) => !/^spark\.[\w.-]+=.*$/.test(e));
      return bad === undefined ? undefined : `${JSON.stringify(bad)} is not spark.<key>=<value>`;
    },
    expected: 'a comma-separated list of spark.<key>=<value>',
    type: 'list of spark.key=value',
  };
}
