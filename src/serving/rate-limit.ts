/**
 * Token buckets per client (an API key's id, or an address): `rate` tokens a second up to
 * `burst`; a request takes one. Buckets live in a bounded LRU, so a flood of distinct
 * clients cannot grow memory; an evicted bucket comes back full, which errs on the side of
 * serving.
 */
import { LRUCache } from 'lru-cache';

/**
 * Wrong API keys per client address: a client that got its key wrong retries a few times,
 * one that guesses keys needs millions of tries. Not configurable, always on.
 */
export const FAILED_KEYS_PER_SECOND = 1;
export const FAILED_KEY_BURST = 10;

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    maxClients = 100_000,
  ) {
    this.buckets = new LRUCache({ max: maxClients });
  }

  get enabled(): boolean {
    return this.rate > 0;
  }

  /** 0 when the request may go on, else the seconds after which a token will be there. */
  take(client: string, now = performance.now()): number {
    if (this.rate <= 0) return 0;
    let b = this.buckets.get(client);
    if (!b) {
      b = { tokens: this.burst, at: now };
      this.buckets.set(client, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rate));
  }
}
