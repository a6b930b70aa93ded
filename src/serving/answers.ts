/**
 * What a recommendation answer is made of, and its JSON form. An answer body is
 *   {"rec_id": uuid, "user_id"?, "model_version", "source", "items": [{"item_id", "score"}]}
 * and everything after the rec_id is fixed for a given list, so it is serialized once (the
 * "tail") and kept by the in-process cache; each answer then only prepends a fresh rec_id.
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

/** Ids made of printable ASCII other than `"` and `\` need no JSON escaping (nearly all of them). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const quote = (id: string) => (PLAIN.test(id) ? `"${id}"` : JSON.stringify(id));

/**
 * The part of an answer after its rec_id, starting with a comma. Built by hand: on a cache
 * miss this runs per request, and concatenation is several times faster than
 * JSON.stringify over an array of objects.
 */
export function answerTail(
  fields: Readonly<Record<string, unknown>>,
  modelVersion: string | null,
  source: Source,
  items: readonly string[],
  scores: readonly number[],
): string {
  let s = '';
  for (const key in fields) s += `,"${key}":${JSON.stringify(fields[key])}`;
  s += `,"model_version":${modelVersion === null ? 'null' : quote(modelVersion)},"source":"${source}","items":[`;
  for (let i = 0; i < items.length; i++) {
    const score = roundScore(scores[i]);
    s += `${i === 0 ? '{"item_id":' : ',{"item_id":'}${quote(items[i])},"score":${Number.isFinite(score) ? score : 'null'}}`;
  }
  return `${s}]}`;
}

export function answerBody(recId: string, tail: string): string {
  return `{"rec_id":"${recId}"${tail}`;
}
