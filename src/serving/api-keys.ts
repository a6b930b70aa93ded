/**
 * API keys for the keyed endpoints. Only SHA-256 digests are kept in memory (a heap dump
 * or a log line never shows a key); a presented key is hashed and compared with every
 * digest in constant time, with no early exit, so timing tells nothing about which key
 * (or how much of one) matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export class ApiKeys {
  private readonly digests: Buffer[];
  /** Stable, non-secret names of the keys (a digest prefix) for rate-limit buckets and logs. */
  private readonly ids: string[];

  constructor(keys: readonly string[]) {
    this.digests = [...new Set(keys)].map(sha256);
    this.ids = this.digests.map((d) => `key:${d.subarray(0, 6).toString('hex')}`);
  }

  /** False when no keys are configured: keyed endpoints are then open. */
  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The matching key's id, or null when `presented` is no configured key. */
  check(presented: string): string | null {
    if (presented === '' || presented.length > 1024) return null;
    const digest = sha256(presented);
    let found = -1;
    for (let i = 0; i < this.digests.length; i++) {
      if (timingSafeEqual(digest, this.digests[i])) found = i;
    }
    return found >= 0 ? this.ids[found] : null;
  }
}
