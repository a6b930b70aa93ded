/**
 * L0: serialized answers in this process, for the sub-millisecond path. Entries are grouped
 * by user (one LRU entry per user holding that user's query variants — k, filters — up to
 * a few), so invalidating a user drops all of them at once. Bounded by user count, with a
 * short TTL as the backstop for a lost invalidation message.
 *
 * Invalidation races a fill in flight: a request that read the old answer from L1/L2 just
 * before an update must not store it after the update's invalidation. Fills therefore note
 * when they started and skip caching when the user (or everything) was invalidated since.
 */
import { LRUCache } from 'lru-cache';
import type { Source } from './answers.js';
import type { PreparedAnswer } from './prepared-answer.js';

export interface CachedAnswer {
  /** The answer body (source "l0") as bytes, ready for a fresh rec_id. */
  answer: PreparedAnswer;
  modelVersion: string | null;
  /** The source that filled this entry (logged as l0 when served from here). */
  filledFrom: Source;
  items: string[];
  scores: number[];
}

const MAX_VARIANTS_PER_USER = 8;

export class L0Cache {
  private readonly entries: LRUCache<string, Map<string, CachedAnswer>> | null;
  private readonly invalidated: LRUCache<string, number>;
  private clearedAt = 0;
  /** The latest invalidation time among the marks `invalidated` no longer holds. */
  private forgottenAt = 0;

  constructor(maxUsers: number, ttlMs: number) {
    this.entries = maxUsers > 0 ? new LRUCache({ max: maxUsers, ttl: ttlMs, ttlAutopurge: false }) : null;
    // Only needs to outlive fills in flight (bounded by the store timeouts), not the entries.
    // A mark pushed out (more than `max` users invalidated during one fill) or expired must not
    // let that fill through as if nothing had changed: losing a mark at time t turns away
    // every fill started before t, which is what a clear() at t would do (a tested bug fix).
    this.invalidated = new LRUCache({
      max: 100_000,
      ttl: 60_000,
      dispose: (at, _user, reason) => {
        if (reason === 'evict' || reason === 'expire') this.forgottenAt = Math.max(this.forgottenAt, at);
      },
    });
  }

  get enabled(): boolean {
    return this.entries !== null;
  }

  get(user: string, variant: string): CachedAnswer | undefined {
    return this.entries?.get(user)?.get(variant);
  }

  /** Stores unless the user or the whole cache was invalidated after `fillStarted`. */
  set(user: string, variant: string, answer: CachedAnswer, fillStarted: number): void {
    if (!this.entries || this.changedSince(user, fillStarted)) return;
    let variants = this.entries.get(user);
    if (!variants) {
      variants = new Map();
      this.entries.set(user, variants);
    } else if (variants.size >= MAX_VARIANTS_PER_USER && !variants.has(variant)) {
      variants.clear();
    }
    variants.set(variant, answer);
  }

  /** Was `user` (or everything) invalidated after time `since` (performance.now())? */
  changedSince(user: string, since: number): boolean {
    const mark = this.invalidated.get(user) ?? -1;
    return this.clearedAt >= since || this.forgottenAt >= since || mark >= since;
  }

  dropUser(user: string): void {
    this.invalidated.set(user, performance.now());
    this.entries?.delete(user);
  }

  clear(): void {
    this.clearedAt = performance.now();
    this.entries?.clear();
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }
}
