/**
 * The cache port: string values with optional TTL, plus publish/subscribe for invalidation
 * messages ("user u42's recommendations changed"). In-process LRU (embedded) or Redis
 * (services). Values are strings; callers serialise (JSON, base64) as they need.
 * Failures are StoreError subclasses; a cache that is down should make callers degrade
 * (compute instead of read), so every method fails fast rather than queueing.
 */

export interface CacheEntry {
  key: string;
  value: string;
  /** Time to live in milliseconds; absent means no expiry (eviction may still drop it). */
  ttlMs?: number;
}

/** Called for each message on a subscribed channel; errors it throws are logged, not propagated. */
export type MessageHandler = (message: string, channel: string) => void;

export interface Cache {
  readonly address: string;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Values in the order of `keys`, null where missing or expired. */
  mget(keys: readonly string[]): Promise<(string | null)[]>;
  /** Sets many entries in one round trip (a pipeline on Redis); not atomic. */
  mset(entries: readonly CacheEntry[]): Promise<void>;
  /** Deletes keys; returns how many existed. */
  del(keys: string | readonly string[]): Promise<number>;
  /** Delivers `message` to every subscriber of `channel` (in every process, on Redis). */
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is active; returns a function that ends it. */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
