/**
 * L2: what the relational store knows about a user, in one round trip — the batch layer's
 * answer for the served model version (batch_recommendations), the speed layer's fresher vector (user_profiles) and the
 * items the user touched recently (rt_user_interactions, to leave out of answers).
 * The store comes wrapped (stores/resilience.ts): an outage fails fast and the caller
 * degrades to what it has in memory.
 */
import type { Stores } from '../stores/index.js';

export interface BatchRow {
  modelVersion: string;
  items: string[];
  scores: number[];
  generatedAt: Date;
}

export interface ProfileRow {
  modelVersion: string;
  vector: Float32Array;
  updatedAt: Date;
}

export interface UserRecord {
  batch: BatchRow | null;
  profile: ProfileRow | null;
  /** Items of the user's recent interactions (at most 1000). */
  recent: string[];
}

interface Row {
  batch_version: string | null;
  item_ids: string[] | null;
  scores: number[] | null;
  generated_at: Date | null;
  profile_version: string | null;
  vector: Buffer | null;
  updated_at: Date | null;
  recent: string[] | null;
}

const USER_SQL = `
SELECT b.model_version AS batch_version, b.item_ids, b.scores, b.generated_at,
       p.model_version AS profile_version, p.vector, p.updated_at,
       ARRAY(SELECT DISTINCT r.item_id FROM rt_user_interactions r WHERE r.user_id = $1 LIMIT 1000) AS recent
  FROM (SELECT $1::text AS user_id) q
  LEFT JOIN batch_recommendations b ON b.user_id = q.user_id
        AND b.model_version = COALESCE($2, (SELECT version FROM models WHERE status = 'active'))
  LEFT JOIN user_profiles p ON p.user_id = q.user_id`;

export class L2Store {
  constructor(private readonly db: Stores['db']) {}

  /** `version`: the model this process serves (its batch rows); null: the registry's active one. */
  async user(user: string, version: string | null): Promise<UserRecord> {
    const { rows } = await this.db.query<Row>(USER_SQL, [user, version]);
    const r = rows[0];
    if (!r) return { batch: null, profile: null, recent: [] };
    const batch =
      r.batch_version !== null && r.item_ids && r.scores
        ? { modelVersion: r.batch_version, items: r.item_ids, scores: r.scores, generatedAt: r.generated_at! }
        : null;
    const profile =
      r.profile_version !== null && r.vector
        ? { modelVersion: r.profile_version, vector: floatsLE(r.vector), updatedAt: r.updated_at! }
        : null;
    return { batch, profile, recent: r.recent ?? [] };
  }
}

/** bytea of float32 little-endian → Float32Array (a copy, whatever the Buffer's alignment). */
export function floatsLE(buf: Buffer): Float32Array {
  const out = new Float32Array(Math.floor(buf.length / 4));
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}
