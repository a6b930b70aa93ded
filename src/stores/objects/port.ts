/**
 * The object store port: model artifacts and exports by key. A local folder (embedded) or
 * an S3 bucket through MinIO's client (services). Keys are '/'-separated paths checked by
 * keys.ts on both adapters, so a key that works on one works on the other. One difference
 * remains: in a folder, "a" and "a/b" cannot both exist (a file is not a folder) — name
 * objects so that no key is a folder of another (e.g. "models/v3/model.bin").
 */
import type { Readable } from 'node:stream';

export interface ObjectStore {
  readonly address: string;
  /** Writes the whole object or nothing: readers never see a partial object. */
  put(key: string, data: Buffer | Uint8Array | Readable): Promise<void>;
  /** The object's bytes; NotFoundError if there is none. */
  get(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  /** Keys starting with `prefix` (a plain string prefix, as in S3), sorted. */
  list(prefix?: string): Promise<string[]>;
  /** Removes the object; no error if it did not exist. */
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}
