/**
 * L1: each user's candidate list in the shared cache (Redis in services mode), under
 * `recs:<user id>`, as JSON {"model_version", "source", "items", "scores"} — the format the
 * speed and batch layers may write too, and the one bench/peers/fastapi_server.py serves.
 * The list holds more items than one answer (the over-fetch that filters draw from).
 * Lookups arriving in one event-loop turn share one MGET (one round trip and one socket
 * write for all of them rather than one each). The cache comes wrapped (stores/resilience.ts):
 * when it is down, a lookup is a miss and a write is skipped, so answers come from the
 * relational store instead.
 */

import { jsonObject } from '../events/json.js';
import type { Cache } from '../stores/cache/port.js';
import type { Resilient } from '../stores/resilience.js';
import { type Candidates, roundScore, type Source } from './answers.js';
import type { ServingMetrics } from './metrics.js';

export const l1Key = (user: string) => `recs:${user}`;

const STORED_SOURCES = new Set<Source>(['batch', 'realtime', 'l2']);

export class L1Cache {
  private readonly reads: BatchedGets;

  constructor(
    private readonly cache: Resilient<Cache>,
    private readonly metrics: ServingMetrics,
    private readonly ttlMs: number,
  ) {
    this.reads = new BatchedGets((keys) => this.cache.mget(keys));
  }

  /**
   * The user's candidates, or null on a miss, an unreadable entry, a cache outage, or an
   * entry made with another model than `modelVersion` (stale once a new model is active).
   */
  async get(user: string, modelVersion: string | null): Promise<Candidates | null> {
    let raw: string | null;
    try {
      raw = await this.reads.get(l1Key(user));
    } catch {
      this.metrics.storeErrors.inc({ store: 'cache' });
      return null;
    }
    let parsed = raw === null ? null : parseCandidates(raw);
    if (parsed && modelVersion !== null && parsed.modelVersion !== modelVersion) parsed = null;
    this.metrics.cacheLookup('l1', parsed !== null);
    return parsed;
  }

  /** Best effort: a failed write only means the next request reads the relational store. */
  async set(user: string, c: Candidates): Promise<void> {
    if (this.cache.circuit.refusing) return;
    await this.cache.set(l1Key(user), encodeCandidates(c), this.ttlMs).catch(() => {
      this.metrics.storeErrors.inc({ store: 'cache' });
    });
  }

  async drop(user: string | readonly string[]): Promise<void> {
    const keys = typeof user === 'string' ? l1Key(user) : user.map(l1Key);
    await this.cache.del(keys).catch(() => {
      this.metrics.storeErrors.inc({ store: 'cache' });
    });
  }
}

/**
 * An L1 entry's JSON. Scores keep the precision answers carry (answers.ts roundScore): a
 * float32 printed as a double has 17 digits, and parsing them was a good part of an L1 hit.
 */
export function encodeCandidates(c: Candidates): string {
  return JSON.stringify({
    model_version: c.modelVersion,
    source: c.source,
    items: c.items,
    scores: c.scores.map(roundScore),
  });
}

/** Parses an L1 entry; anything malformed counts as absent (never as an error to the client). */
export function parseCandidates(raw: string): Candidates | null {
  const o = jsonObject(raw);
  if (o === null) return null;
  const { items, scores } = o;
  if (!Array.isArray(items) || !Array.isArray(scores) || items.length !== scores.length) return null;
  if (!items.every((i) => typeof i === 'string') || !scores.every((s) => typeof s === 'number')) return null;
  const source = STORED_SOURCES.has(o.source as Source) ? (o.source as Source) : 'batch';
  const modelVersion = typeof o.model_version === 'string' ? o.model_version : null;
  return { modelVersion, source, items: items as string[], scores: scores as number[] };
}

/**
 * Collects the gets of one event-loop turn (uWS hands over every request that arrived in
 * one poll before `setImmediate` runs) and sends them as one MGET of at most MAX_BATCH keys.
 */
class BatchedGets {
  private pending: Array<{ key: string; resolve: (v: string | null) => void; reject: (e: unknown) => void }> =
    [];
  private scheduled = false;

  constructor(private readonly mget: (keys: string[]) => Promise<(string | null)[]>) {}

  get(key: string): Promise<string | null> {
    return new Promise((resolve, reject) => {
      this.pending.push({ key, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    for (let start = 0; start < all.length; start += MAX_BATCH) {
      const batch = all.slice(start, start + MAX_BATCH);
      this.mget(batch.map((b) => b.key)).then(
        (values) => {
          for (let i = 0; i < batch.length; i++) batch[i].resolve(values[i] ?? null);
        },
        (err) => {
          for (const b of batch) b.reject(err);
        },
      );
    }
  }
}

const MAX_BATCH = 256;
