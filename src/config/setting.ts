/**
 * One setting: its environment name, kind (type, bounds, how it reads), default and
 * description. Its file key is its path in the schema tree (src/config/schema.ts).
 */
import type { Kind } from './kinds.js';

/** A default computed from other settings, e.g. a burst of twice the rate. */
export interface Derived<V> {
  /** What the README's default column says. */
  readonly label: string;
  /** Reads another setting's loaded value by its file key, e.g. 'serving.rateLimit'. */
  readonly compute: (get: (key: string) => unknown) => V;
}

export interface Setting<V = unknown, I = unknown, D = unknown> {
  readonly env: string;
  readonly kind: Kind<V, I>;
  /** The value when no layer sets it; null means "none" and makes the loaded type `V | null`. */
  readonly default: D;
  readonly description: string;
  /**
   * A server's address or credential: required in services mode; in embedded mode it keeps
   * its default whatever is set (embedded mode ignores service URLs that happen to be set).
   */
  readonly servicesOnly?: boolean;
}

export function setting<V, I, const D extends V | null | Derived<V>>(
  kind: Kind<V, I>,
  opts: { env: string; default: D; description: string; servicesOnly?: boolean },
): Setting<V, I, D> {
  return { kind, ...opts };
}

export function derived<V>(label: string, compute: (get: (key: string) => unknown) => V): Derived<V> {
  return { label, compute };
}

export const isSetting = (node: unknown): node is Setting =>
  typeof node === 'object' && node !== null && 'kind' in node && 'env' in node;

export const isDerived = (d: unknown): d is Derived<unknown> =>
  typeof d === 'object' && d !== null && 'compute' in d && 'label' in d;

/** The schema tree: settings, grouped by file key. */
export interface SchemaTree {
  readonly [key: string]: Setting<unknown, unknown, unknown> | SchemaTree;
}

/** The loaded type of a tree: each setting's value (`| null` when its default is null). */
export type Values<T> = {
  -readonly [K in keyof T]: T[K] extends Setting<infer V, unknown, infer D>
    ? [D] extends [null]
      ? V | null
      : V
    : Values<T[K]>;
};

/** What the JSON file (and overrides) may hold: every key optional. */
export type Inputs<T> = {
  -readonly [K in keyof T]?: T[K] extends Setting<unknown, infer I, unknown> ? I : Inputs<T[K]>;
};

/** Every setting with its file key ('serving.rateLimit'), in declaration order. */
export function flatten(tree: SchemaTree, prefix = ''): Array<{ key: string; setting: Setting }> {
  return Object.entries(tree).flatMap(([name, node]) =>
    isSetting(node)
      ? [{ key: prefix + name, setting: node }]
      : flatten(node as SchemaTree, `${prefix}${name}.`),
  );
}
