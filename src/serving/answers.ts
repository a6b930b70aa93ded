/**
 * What a recommendation answer is made of. Its JSON form,
 *   {"rec_id": uuid, "user_id"?, "model_version", "source", "items": [{"item_id", "score"}]},
 * is written by answer-writer.ts.
 */

/** Where an answer came from (the recommendation_logs.source values). */
export type Source = 'l0' | 'l1' | 'l2' | 'batch' | 'realtime' | 'popular';

/**
 * A ranked list: items best first with their scores.
 *  - batch: a batch_recommendations row;
 *  - realtime: scored now from the speed layer's user_profiles vector, or folded in;
 *  - l2: scored now from the active model's own factors (no batch row, no fresher profile);
 *  - popular: the popular items (unknown user, or no model);
 *  - l0 / l1: served from the in-process / shared cache (whatever filled it).
 */
export interface Candidates {
  modelVersion: string | null;
  source: Source;
  items: string[];
  scores: number[];
}

/**
 * Scores as sent: 6 decimals (float32 carries about 7 significant digits), or 6 significant
 * digits for scores under 0.01 — arithmetic only, no string round trip.
 */
export function roundScore(s: number): number {
  if (s === 0 || !Number.isFinite(s)) return s;
  if (Math.abs(s) >= 0.01) return Math.round(s * 1e6) / 1e6;
  const scale = 10 ** (5 - Math.floor(Math.log10(Math.abs(s))));
  return Math.round(s * scale) / scale;
}
