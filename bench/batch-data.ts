/**
 * The archive bench/batch trains on: seeded synthetic interactions written as archive Parquet
 * parts (src/data/archive-format.ts) into a MinIO bucket of the bench's own, with the same files
 * kept on disk under bench/.data/ for the Spark peer (which has no s3a jars).
 *
 * - Catalog and users: ITEMS items `i0`…, popularity Zipf(0.8) (speed-data's draw); USERS users
 *   `bu0`…, activity Zipf(0.5) over a shuffled order (heavy users and a long tail).
 * - Event types and values: speed-data's TYPE_MIX (mostly views; a rating carries 1–5).
 * - Time: `days` whole UTC days ending yesterday, uniform within each day; one partition a day,
 *   cut into parts of at most `partRows` rows.
 * - Event ids: UUID-shaped strings from the seed. A share `dupShare` of rows repeats an earlier
 *   row of its part whole (event id included), as an at-least-once archive can, so a job that
 *   does not dedupe by event_id trains on different data.
 *
 * Generating 20M rows takes minutes, so a stamp (the spec and what was written) is stored last,
 * in the bucket and on disk; a later run reuses the data when both stamps match the spec and the
 * oldest day still lies inside the training window, and regenerates it otherwise.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Rng } from '../src/compute/random.js';
import {
  ARCHIVE_PREFIX,
  archiveColumnsFor,
  dayOf,
  encodeArchivePart,
  partKey,
} from '../src/data/archive-format.js';
import type { ObjectStore } from '../src/stores/objects/port.js';
import { TYPE_MIX, Zipf } from './speed-data.js';

export interface BatchDataSpec {
  rows: number;
  users: number;
  items: number;
  days: number;
  partRows: number;
  dupShare: number;
  itemExponent: number;
  userExponent: number;
  seed: number;
}

/** The size: about 20M interactions, 140K users × 27K items (MovieLens 20M's shape). */
export const FULL_SPEC: BatchDataSpec = {
  rows: 20_000_000,
  users: 140_000,
  items: 27_000,
  days: 25,
  partRows: 1_000_000,
  dupShare: 0.005,
  itemExponent: 0.8,
  userExponent: 0.5,
  seed: 11,
};

/** A twentieth of it, for trying the bench out. */
export const QUICK_SPEC: BatchDataSpec = { ...FULL_SPEC, rows: 1_000_000, users: 20_000, items: 8_000 };

/** What a generation wrote (the stamp). */
export interface BatchArchive {
  spec: BatchDataSpec;
  firstDay: string;
  lastDay: string;
  rows: number;
  uniqueEvents: number;
  distinctUsers: number;
  distinctItems: number;
  /** The parts' object keys; the local copy has the same relative paths. */
  keys: string[];
  bytes: number;
  generateSeconds: number;
}

const STAMP_KEY = 'bench-batch-stamp.json';
const DAY_MS = 86_400_000;

/** A version-4-shaped UUID from the seeded generator (crypto's would not repeat across runs). */
function seededUuid(rng: Rng): string {
  const w = [0, 1, 2, 3].map(() => Math.floor(rng.next() * 4294967296) >>> 0);
  w[1] = ((w[1]! & 0xffff0fff) | 0x00004000) >>> 0; // version 4
  w[2] = ((w[2]! & 0x3fffffff) | 0x80000000) >>> 0; // variant 10
  const h = w.map((x) => x.toString(16).padStart(8, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The UTC day `n` days before today's. */
export const daysAgo = (n: number, now = Date.now()) => dayOf(now - n * DAY_MS);

function sameSpec(a: BatchDataSpec, b: BatchDataSpec): boolean {
  return (Object.keys(b) as (keyof BatchDataSpec)[]).every((k) => a[k] === b[k]);
}

async function readStamp(objects: ObjectStore, localDir: string): Promise<BatchArchive | null> {
  const local = path.join(localDir, STAMP_KEY);
  if (!existsSync(local) || !(await objects.exists(STAMP_KEY))) return null;
  const remote = (await objects.get(STAMP_KEY)).toString('utf8');
  if (remote !== readFileSync(local, 'utf8')) return null;
  const stamp = JSON.parse(remote) as BatchArchive;
  const listed = await objects.list(ARCHIVE_PREFIX);
  const complete =
    listed.join('\n') === [...stamp.keys].sort().join('\n') &&
    stamp.keys.every((k) => existsSync(path.join(localDir, k)));
  return complete ? stamp : null;
}

/**
 * The archive of `spec` in `objects` and under `localDir`: reused when its stamp matches and
 * its oldest day is no older than `windowDays` − 1 days before today, else written anew.
 */
export async function ensureBatchArchive(
  spec: BatchDataSpec,
  objects: ObjectStore,
  localDir: string,
  windowDays: number,
  log: (msg: string) => void,
): Promise<BatchArchive & { reused: boolean }> {
  const stamp = await readStamp(objects, localDir);
  if (stamp && sameSpec(stamp.spec, spec) && stamp.firstDay >= daysAgo(windowDays - 1)) {
    log(`reusing the archive of ${stamp.rows} rows (${stamp.firstDay}..${stamp.lastDay})`);
    return { ...stamp, reused: true };
  }
  log(`writing an archive of ${spec.rows} rows (this takes a while; it is reused afterwards)`);
  return { ...(await generateBatchArchive(spec, objects, localDir, log)), reused: false };
}

/** Removes any earlier archive from both places and writes `spec`'s, stamp last. */
export async function generateBatchArchive(
  spec: BatchDataSpec,
  objects: ObjectStore,
  localDir: string,
  log: (msg: string) => void,
): Promise<BatchArchive> {
  const t0 = performance.now();
  await objects.delete(STAMP_KEY);
  for (const key of await objects.list(ARCHIVE_PREFIX)) await objects.delete(key);
  rmSync(localDir, { recursive: true, force: true });
  mkdirSync(localDir, { recursive: true });

  const rng = new Rng(spec.seed);
  const items = new Zipf(spec.items, spec.itemExponent);
  const users = new Zipf(spec.users, spec.userExponent);
  const order = new Int32Array(spec.users);
  for (let i = 0; i < spec.users; i++) order[i] = i;
  for (let i = spec.users - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const userSeen = new Uint8Array(spec.users);
  const itemSeen = new Uint8Array(spec.items);
  const firstDay = daysAgo(spec.days);
  const dayStart0 = Date.parse(`${firstDay}T00:00:00Z`);
  let written = 0;
  let unique = 0;
  const keys: string[] = [];
  let bytes = 0;
  for (let d = 0; d < spec.days; d++) {
    const day = dayOf(dayStart0 + d * DAY_MS);
    const dayRows = Math.floor((spec.rows * (d + 1)) / spec.days) - Math.floor((spec.rows * d) / spec.days);
    const nParts = Math.ceil(dayRows / spec.partRows);
    for (let p = 0; p < nParts; p++) {
      const n = Math.floor((dayRows * (p + 1)) / nParts) - Math.floor((dayRows * p) / nParts);
      const cols = archiveColumnsFor(n);
      for (let r = 0; r < n; r++) {
        if (r > 0 && rng.next() < spec.dupShare) {
          const from = rng.int(r);
          cols.eventId[r] = cols.eventId[from]!;
          cols.userId[r] = cols.userId[from]!;
          cols.itemId[r] = cols.itemId[from]!;
          cols.type[r] = cols.type[from]!;
          cols.value[r] = cols.value[from]!;
          cols.ts[r] = cols.ts[from]!;
          continue;
        }
        unique++;
        const u = order[users.draw(rng)]!;
        const i = items.draw(rng);
        userSeen[u] = 1;
        itemSeen[i] = 1;
        const type = drawType(rng);
        cols.eventId[r] = seededUuid(rng);
        cols.userId[r] = `bu${u}`;
        cols.itemId[r] = `i${i}`;
        cols.type[r] = type;
        cols.value[r] = type === 'rating' ? 1 + rng.int(5) : null;
        cols.ts[r] = dayStart0 + d * DAY_MS + rng.int(DAY_MS);
      }
      const key = partKey(day, `part-${String(p).padStart(3, '0')}`);
      const data = await encodeArchivePart(cols);
      // A busy MinIO can drop an upload (EPIPE) 20 minutes into writing the archive: try again.
      for (let attempt = 1; ; attempt++) {
        try {
          await objects.put(key, data);
          break;
        } catch (err) {
          if (attempt >= 3 || !(err as { retriable?: boolean }).retriable) throw err;
          await new Promise((r) => setTimeout(r, 2000 * attempt));
        }
      }
      const file = path.join(localDir, key);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, data);
      written += n;
      keys.push(key);
      bytes += data.byteLength;
    }
    log(`  ${day}: ${written} rows so far`);
  }
  const stamp: BatchArchive = {
    spec,
    firstDay,
    lastDay: dayOf(dayStart0 + (spec.days - 1) * DAY_MS),
    rows: written,
    uniqueEvents: unique,
    distinctUsers: userSeen.reduce((s, x) => s + x, 0),
    distinctItems: itemSeen.reduce((s, x) => s + x, 0),
    keys,
    bytes,
    generateSeconds: (performance.now() - t0) / 1000,
  };
  const json = JSON.stringify(stamp);
  writeFileSync(path.join(localDir, STAMP_KEY), json);
  await objects.put(STAMP_KEY, Buffer.from(json));
  return stamp;
}

function drawType(rng: Rng): string {
  let x = rng.next();
  for (const [t, share] of TYPE_MIX) {
    if (x < share) return t;
    x -= share;
  }
  return 'view';
}
