/** Cache on a Redis server through ioredis (services mode). */
import { Redis, type RedisOptions } from 'ioredis';
import { defaultLogger, type Logger } from '../../logger.js';
import { describeUrl } from '../address.js';
import {
  messageOf,
  StoreClosedError,
  StoreConfigError,
  StoreError,
  type StoreErrorContext,
  StoreUnavailableError,
} from '../errors.js';
import { withTimeout } from '../timeout.js';
import type { Cache, CacheEntry, MessageHandler } from './port.js';
import { Subscribers } from './subscribers.js';

export interface RedisCacheOptions {
  url: string;
  connectTimeoutMs?: number;
  /** A command with no reply after this long fails (a half-dead connection must not hang callers). */
  commandTimeoutMs?: number;
  /** Prepended to every key and channel, so several apps (or test runs) can share one server. */
  namespace?: string;
  logger?: Logger;
}

export async function openRedisCache(opts: RedisCacheOptions): Promise<Cache> {
  const cache = new RedisCache(opts);
  await cache.connect();
  return cache;
}

class RedisCache implements Cache {
  readonly address: string;
  private readonly client: Redis;
  private subscriber: Redis | undefined;
  private subscriberReady: Promise<Redis> | undefined;
  private readonly subscribers: Subscribers;
  private readonly logger: Logger;
  private readonly namespace: string;
  private readonly connectTimeoutMs: number;
  private closed = false;
  private lastErrorLog = 0;

  constructor(opts: RedisCacheOptions) {
    this.address = describeUrl('Redis', opts.url);
    this.logger = opts.logger ?? defaultLogger();
    this.namespace = opts.namespace ?? '';
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.subscribers = new Subscribers(this.logger);
    const options: RedisOptions = {
      lazyConnect: true,
      connectTimeout: this.connectTimeoutMs,
      commandTimeout: opts.commandTimeoutMs ?? 2000,
      // Fail fast while disconnected instead of queueing: callers degrade, and reconnection
      // continues in the background with capped backoff.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(100 * 2 ** times, 2000),
      keyPrefix: this.namespace || undefined,
    };
    this.client = new Redis(opts.url, options);
    this.client.on('error', (err) => this.logError(err));
  }

  private ctx(cause?: unknown): StoreErrorContext {
    return { store: 'cache', address: this.address, cause };
  }

  /** Without a listener ioredis reports every failed reconnect as an unhandled 'error'; log them, rate-limited. */
  private logError(err: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = now;
    this.logger.warn({ err, store: this.address }, 'Redis connection error (reconnecting)');
  }

  async connect(): Promise<void> {
    try {
      await withTimeout(
        this.client.connect(),
        this.connectTimeoutMs + 1000,
        () => new Error('connect timed out'),
      );
    } catch (err) {
      this.client.disconnect();
      throw this.wrap(err);
    }
  }

  private wrap(err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    const message = messageOf(err);
    if (/NOAUTH|WRONGPASS|invalid password|invalid (username|DB index)/i.test(message)) {
      return new StoreConfigError(message, this.ctx(err));
    }
    if ((err as Error)?.name === 'ReplyError') return new StoreError(message, this.ctx(err), false);
    return new StoreUnavailableError(message, this.ctx(err));
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreClosedError(this.ctx());
    try {
      return await op();
    } catch (err) {
      throw this.wrap(err);
    }
  }

  get(key: string): Promise<string | null> {
    return this.run(() => this.client.get(key));
  }

  set(key: string, value: string, ttlMs?: number): Promise<void> {
    return this.run(async () => {
      if (ttlMs === undefined) await this.client.set(key, value);
      else await this.client.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)));
    });
  }

  mget(keys: readonly string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.run(() => this.client.mget(...keys));
  }

  mset(entries: readonly CacheEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    return this.run(async () => {
      const pipe = this.client.pipeline();
      for (const e of entries) {
        if (e.ttlMs === undefined) pipe.set(e.key, e.value);
        else pipe.set(e.key, e.value, 'PX', Math.max(1, Math.round(e.ttlMs)));
      }
      const results = (await pipe.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
    });
  }

  del(keys: string | readonly string[]): Promise<number> {
    const list = typeof keys === 'string' ? [keys] : [...keys];
    if (list.length === 0) return Promise.resolve(0);
    return this.run(() => this.client.del(...list));
  }

  publish(channel: string, message: string): Promise<void> {
    // keyPrefix does not apply to channels, so the namespace is added by hand.
    return this.run(async () => {
      await this.client.publish(this.namespace + channel, message);
    });
  }

  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    return this.run(async () => {
      const sub = await this.subscriberConnection();
      if (this.subscribers.add(channel, handler)) {
        try {
          await sub.subscribe(this.namespace + channel);
        } catch (err) {
          this.subscribers.remove(channel, handler);
          throw err;
        }
      }
      return async () => {
        if (this.subscribers.remove(channel, handler) && !this.closed) {
          await this.run(() => sub.unsubscribe(this.namespace + channel));
        }
      };
    });
  }

  /** A subscribed Redis connection can run nothing else, so pub/sub gets its own (auto-resubscribes on reconnect). */
  private subscriberConnection(): Promise<Redis> {
    this.subscriberReady ??= (async () => {
      const sub = this.client.duplicate();
      this.subscriber = sub;
      sub.on('error', (err) => this.logError(err));
      sub.on('message', (channel: string, message: string) => {
        this.subscribers.dispatch(channel.slice(this.namespace.length), message);
      });
      try {
        await withTimeout(sub.connect(), this.connectTimeoutMs + 1000, () => new Error('connect timed out'));
        return sub;
      } catch (err) {
        this.subscriberReady = undefined;
        this.subscriber = undefined;
        sub.disconnect();
        throw err;
      }
    })();
    return this.subscriberReady;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscribers.clear();
    // quit() waits for replies to commands in flight; disconnect() is the fallback when the server is gone.
    await Promise.all(
      [this.client, this.subscriber].map(async (c) => {
        if (!c) return;
        if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
        else c.disconnect();
      }),
    );
  }
}
