/** Cache in this process's memory (embedded mode): lru-cache, with pub/sub between this instance's subscribers. */
import { LRUCache } from 'lru-cache';
import { defaultLogger, type Logger } from '../../logger.js';
import { StoreClosedError } from '../errors.js';
import type { Cache, CacheEntry, MessageHandler } from './port.js';
import { Subscribers } from './subscribers.js';

export interface MemoryCacheOptions {
  /** Most entries kept; the least recently used go first. */
  maxEntries?: number;
  logger?: Logger;
}

export function openMemoryCache(opts: MemoryCacheOptions = {}): Cache {
  return new MemoryCache(opts);
}

class MemoryCache implements Cache {
  readonly address = 'in-process LRU';
  private readonly lru: LRUCache<string, string>;
  private readonly subscribers: Subscribers;
  private closed = false;

  constructor(opts: MemoryCacheOptions) {
    this.lru = new LRUCache({ max: opts.maxEntries ?? 100_000 });
    this.subscribers = new Subscribers(opts.logger ?? defaultLogger());
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError({ store: 'cache', address: this.address });
  }

  async get(key: string): Promise<string | null> {
    this.check();
    return this.lru.get(key) ?? null;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.check();
    this.lru.set(key, value, ttlOption(ttlMs));
  }

  async mget(keys: readonly string[]): Promise<(string | null)[]> {
    this.check();
    return keys.map((k) => this.lru.get(k) ?? null);
  }

  async mset(entries: readonly CacheEntry[]): Promise<void> {
    this.check();
    for (const e of entries)
      this.lru.set(e.key, e.value, e.ttlMs === undefined ? undefined : { ttl: e.ttlMs });
  }

  async del(keys: string | readonly string[]): Promise<number> {
    this.check();
    let n = 0;
    for (const k of typeof keys === 'string' ? [keys] : keys) if (this.lru.delete(k)) n++;
    return n;
  }

  async publish(channel: string, message: string): Promise<void> {
    this.check();
    // Delivered on a later tick, as a Redis subscriber would receive it: never inside publish().
    setImmediate(() => this.subscribers.dispatch(channel, message));
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    this.check();
    this.subscribers.add(channel, handler);
    return async () => {
      this.subscribers.remove(channel, handler);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subscribers.clear();
    this.lru.clear();
  }
}

/** lru-cache reads ttl 0 as "never expires"; Redis (PX) needs ≥ 1 ms. Both adapters round the same way. */
function ttlOption(ttlMs: number | undefined): { ttl: number } | undefined {
  return ttlMs === undefined ? undefined : { ttl: Math.max(1, Math.round(ttlMs)) };
}
