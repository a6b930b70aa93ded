/**
 * The relational side of a micro-batch, in one transaction so that a crash anywhere leaves
 * either all of it or none (and the bus hands the batch over again):
 *   1. its events go into rt_user_interactions once: an event seen before (a redelivery
 *      after a crash, a client retry) is not stored twice. The common case — none of them
 *      stored yet — is one COPY straight into the table; if that meets a stored event_id
 *      it is rolled back (to a savepoint) and the batch goes through a session-local
 *      staging table and INSERT … ON CONFLICT (event_id) DO NOTHING, which costs the
 *      database about twice as much;
 *   2. the events actually inserted raise their items' decayed popularity
 *      (item_popularity), so each event counts exactly once there too;
 *   3. the caller folds in the touched users (reading their history through `tx`) and writes
 *      user_profiles, again through a staging table.
 * New user and item ids are registered (users/items with a dense idx) beforehand, in a short
 * transaction of their own: that takes a table lock, which must not be held across a fold-in.
 */
import { endianness } from 'node:os';
import { registerIds } from '../data/id-rows.js';
import { EVENT_TYPES } from '../events/index.js';
import { QueryError } from '../stores/errors.js';
import { CopyBinaryWriter } from '../stores/relational/copy-binary.js';
import type { Queryable, RelationalStore } from '../stores/relational/port.js';
import type { EventColumns } from './columns.js';

const STAGE_EVENTS = `CREATE TEMP TABLE IF NOT EXISTS speed_events_stage (
  event_id uuid, user_id text, item_id text, type text, value real, ts timestamptz
) ON COMMIT DELETE ROWS`;

const STAGE_PROFILES = `CREATE TEMP TABLE IF NOT EXISTS speed_profiles_stage (
  user_id text, vector bytea, n integer
) ON COMMIT DELETE ROWS`;

// $1: the popularity half-life in seconds.
const INSERT_EVENTS = `
WITH ins AS (
  INSERT INTO rt_user_interactions (event_id, user_id, item_id, type, value, ts)
  SELECT event_id, user_id, item_id, type, value, ts FROM speed_events_stage
  ON CONFLICT (event_id) DO NOTHING
  RETURNING user_id, item_id, type
), pop AS (
  INSERT INTO item_popularity AS p (item_id, score, updated_at)
  SELECT item_id, count(*), now() FROM ins WHERE type <> 'dismiss' GROUP BY item_id ORDER BY item_id
  ON CONFLICT (item_id) DO UPDATE
    SET score = p.score * power(0.5, GREATEST(0, extract(epoch FROM now() - p.updated_at)) / $1) + excluded.score,
        updated_at = now()
)
SELECT user_id, count(*)::int AS n FROM ins GROUP BY user_id`;

// $1 item ids, $2 new events per item, $3 the half-life in seconds.
const RAISE_POPULARITY = `
INSERT INTO item_popularity AS p (item_id, score, updated_at)
SELECT item_id, n, now() FROM unnest($1::text[], $2::float8[]) AS t(item_id, n) ORDER BY item_id
ON CONFLICT (item_id) DO UPDATE
  SET score = p.score * power(0.5, GREATEST(0, extract(epoch FROM now() - p.updated_at)) / $3) + excluded.score,
      updated_at = now()`;

const EVENT_COLUMNS = ['event_id', 'user_id', 'item_id', 'type', 'value', 'ts'] as const;
const UNIQUE_VIOLATION = '23505';

const UPSERT_PROFILES = `
INSERT INTO user_profiles (user_id, model_version, vector, n_interactions, updated_at)
SELECT user_id, $1, vector, n, now() FROM speed_profiles_stage
ON CONFLICT (user_id) DO UPDATE
  SET model_version = excluded.model_version, vector = excluded.vector,
      n_interactions = excluded.n_interactions, updated_at = excluded.updated_at`;

/** Adds the batch's user and item ids that `known` has not met yet to users/items. */
export async function registerNewIds(
  db: RelationalStore,
  columns: EventColumns,
  known: { users: Set<string>; items: Set<string> },
): Promise<void> {
  const users = columns.users.filter((u) => !known.users.has(u));
  const items = columns.items.filter((i) => !known.items.has(i));
  if (users.length === 0 && items.length === 0) return;
  await db.transaction(async (tx) => {
    // Items first, users second, in every process: the two locks are always taken in one order.
    if (items.length > 0) await registerIds(tx, 'items', items);
    if (users.length > 0) await registerIds(tx, 'users', users);
  });
  for (const u of users) known.users.add(u);
  for (const i of items) known.items.add(i);
}

/**
 * Stores the events (steps 1 and 2 above) and returns, per user code, how many of the user's
 * events were new; users whose events were all stored before are absent.
 */
export async function insertEvents(
  tx: Queryable,
  columns: EventColumns,
  halfLifeSeconds: number,
  payload?: Buffer,
): Promise<Map<number, number>> {
  payload ??= await encodeEvents(columns);
  await tx.exec('SAVEPOINT speed_copy');
  try {
    await tx.copyBinary('rt_user_interactions', EVENT_COLUMNS, payload);
  } catch (err) {
    if (!(err instanceof QueryError && err.code === UNIQUE_VIOLATION)) throw err;
    await tx.exec('ROLLBACK TO SAVEPOINT speed_copy');
    return insertStaged(tx, columns, halfLifeSeconds, payload);
  }
  await tx.exec('RELEASE SAVEPOINT speed_copy');
  // Every event was new.
  const perUser = new Map<number, number>();
  const perItem = new Float64Array(columns.items.length);
  const dismiss = EVENT_TYPES.indexOf('dismiss');
  for (let i = 0; i < columns.length; i++) {
    const u = columns.userCode[i]!;
    perUser.set(u, (perUser.get(u) ?? 0) + 1);
    if (columns.typeCode[i] !== dismiss) perItem[columns.itemCode[i]!]!++;
  }
  const items: string[] = [];
  const counts: number[] = [];
  for (let c = 0; c < perItem.length; c++)
    if (perItem[c]! > 0) {
      items.push(columns.items[c]!);
      counts.push(perItem[c]!);
    }
  if (items.length > 0) await tx.query(RAISE_POPULARITY, [items, counts, halfLifeSeconds]);
  return perUser;
}

/** The slow path: some events may be stored already. */
async function insertStaged(
  tx: Queryable,
  columns: EventColumns,
  halfLifeSeconds: number,
  payload: Buffer,
): Promise<Map<number, number>> {
  await tx.exec(STAGE_EVENTS);
  await tx.copyBinary('speed_events_stage', EVENT_COLUMNS, payload);
  const { rows: fresh } = await tx.query<{ user_id: string; n: number }>(INSERT_EVENTS, [halfLifeSeconds]);
  const codeOf = new Map(columns.users.map((u, c) => [u, c]));
  const out = new Map<number, number>();
  for (const r of fresh) out.set(codeOf.get(r.user_id)!, r.n);
  return out;
}

/**
 * The events as a binary COPY payload (rt_user_interactions' EVENT_COLUMNS), built once per
 * micro-batch, in its prepare stage: the write then only sends it. Binary spares PostgreSQL
 * parsing each uuid and timestamp from text, and this side the escaping of every field.
 * Yields to the event loop every `yieldEvery` rows, as decoding does, so that the micro-batch
 * being written meanwhile gets its round trips answered.
 */
export async function encodeEvents(columns: EventColumns, yieldEvery = 16_384): Promise<Buffer> {
  const w = new CopyBinaryWriter(columns.length * 96);
  const { users, items, userCode, itemCode, typeCode, value, ts, eventId } = columns;
  for (let i = 0; i < columns.length; i++) {
    if (i > 0 && i % yieldEvery === 0) await new Promise(setImmediate);
    w.row(6)
      .uuid(eventId[i]!)
      .text(users[userCode[i]!]!)
      .text(items[itemCode[i]!]!)
      .text(EVENT_TYPES[typeCode[i]!]!)
      .float4OrNull(value[i]!)
      .timestamptz(ts[i]!);
  }
  return w.finish();
}

export interface ProfileRow {
  userId: string;
  vector: Float32Array;
  nInteractions: number;
}

export async function upsertProfiles(tx: Queryable, modelVersion: string, profiles: readonly ProfileRow[]) {
  if (profiles.length === 0) return;
  await tx.exec(STAGE_PROFILES);
  const w = new CopyBinaryWriter(profiles.length * (48 + (profiles[0]?.vector.length ?? 0) * 4));
  for (const p of profiles) w.row(3).text(p.userId).bytea(floatsToLE(p.vector)).int4(p.nInteractions);
  await tx.copyBinary('speed_profiles_stage', ['user_id', 'vector', 'n'], w.finish());
  await tx.query(UPSERT_PROFILES, [modelVersion]);
}

/** float32 little-endian bytes, user_profiles.vector's format (serving's floatsLE reads it back). */
export function floatsToLE(v: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const buf = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i]!, i * 4);
  return buf;
}

const LITTLE_ENDIAN = endianness() === 'LE';
