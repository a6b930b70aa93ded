/**
 * The message that says "this user's recommendations changed", published on the cache's
 * pub/sub channel USER_UPDATES_CHANNEL by the speed layer (after it wrote the user's new
 * vector to user_profiles) and by anything else that changes a user's answer. Every serving
 * process then drops the user's L0 entries and the shared L1 entry (the next request
 * rebuilds it from user_profiles), and pushes the new list to the user's WebSocket
 * subscribers. Publishers need not write recs:<user> themselves. A message without items (what
 * the speed layer sends) says "the profile changed": serving scores it for the user's
 * subscribers, and nobody pays for a top-K that no one is listening for.
 *
 * Such "profile changed" notices come by the ten thousand per micro-batch, so they also have
 * a bulk form, one message for many users: {"users": [...], "accepted_at": [...],
 * "model_version", "source"}; parseUserUpdates reads both forms.
 */
import { jsonObject } from './json.js';

export const USER_UPDATES_CHANNEL = 'recsys:user-updates';

export interface UserUpdateMessage {
  user_id: string;
  model_version: string | null;
  /** The user's new top items, best first (may be empty: then only the caches are dropped). */
  items: string[];
  scores: number[];
  /** Where the list came from (default "realtime": the speed layer's fold-in). */
  source: 'realtime' | 'batch';
  /**
   * When the bus accepted the oldest event behind this update (epoch ms), if it came from
   * events: serving measures freshness up to the WebSocket push with it.
   */
  accepted_at?: number;
}

export function encodeUserUpdate(
  m: Omit<UserUpdateMessage, 'source'> & { source?: UserUpdateMessage['source'] },
): string {
  return JSON.stringify(m);
}

/** The message, or null when it is not one (logged and ignored by the receiver, never thrown). */
export function parseUserUpdate(raw: string): UserUpdateMessage | null {
  const o = jsonObject(raw);
  if (o === null) return null;
  if (typeof o.user_id !== 'string' || o.user_id === '') return null;
  const items =
    Array.isArray(o.items) && o.items.every((i) => typeof i === 'string') ? (o.items as string[]) : [];
  const scores =
    Array.isArray(o.scores) &&
    o.scores.length === items.length &&
    o.scores.every((s) => typeof s === 'number')
      ? (o.scores as number[])
      : items.map(() => 0);
  return {
    user_id: o.user_id,
    model_version: typeof o.model_version === 'string' ? o.model_version : null,
    items,
    scores,
    source: o.source === 'batch' ? 'batch' : 'realtime',
    ...(typeof o.accepted_at === 'number' && Number.isFinite(o.accepted_at)
      ? { accepted_at: o.accepted_at }
      : {}),
  };
}

/** Users per bulk message by default: about 30 KB of JSON. */
export const PROFILE_UPDATES_PER_MESSAGE = 1000;

/** Users whose profiles changed (no lists), as bulk messages of at most `perMessage` users each. */
export function encodeProfileUpdates(
  users: readonly { user_id: string; accepted_at?: number }[],
  modelVersion: string | null,
  perMessage = PROFILE_UPDATES_PER_MESSAGE,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < users.length; i += perMessage) {
    const chunk = users.slice(i, i + perMessage);
    out.push(
      JSON.stringify({
        users: chunk.map((u) => u.user_id),
        accepted_at: chunk.map((u) => u.accepted_at ?? null),
        model_version: modelVersion,
        source: 'realtime',
      }),
    );
  }
  return out;
}

/** Every update a message carries (one, or a bulk form's many), or null when it is not one. */
export function parseUserUpdates(raw: string): UserUpdateMessage[] | null {
  const o = jsonObject(raw);
  if (o === null) return null;
  if (!Array.isArray(o.users)) {
    const one = parseUserUpdate(raw);
    return one ? [one] : null;
  }
  if (!o.users.every((u) => typeof u === 'string' && u !== '')) return null;
  const at = Array.isArray(o.accepted_at) ? o.accepted_at : [];
  const version = typeof o.model_version === 'string' ? o.model_version : null;
  const source = o.source === 'batch' ? 'batch' : 'realtime';
  return (o.users as string[]).map((user_id, j) => {
    const t = at[j];
    return {
      user_id,
      model_version: version,
      items: [],
      scores: [],
      source,
      ...(typeof t === 'number' && Number.isFinite(t) ? { accepted_at: t } : {}),
    };
  });
}
