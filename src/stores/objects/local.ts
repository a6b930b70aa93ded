/**
 * Object store in a local folder (embedded mode): key "a/b/c" is the file <root>/a/b/c.
 * Writes go to <root>/.incoming/ first and are renamed into place (same filesystem, so the
 * rename is atomic): a reader sees the old object or the new one, never half of one.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { NotFoundError, StoreClosedError, StoreError, type StoreErrorContext } from '../errors.js';
import { checkKey, RESERVED_SEGMENT } from './keys.js';
import type { ObjectStore } from './port.js';

export interface LocalObjectsOptions {
  dir: string;
}

export async function openLocalObjects(opts: LocalObjectsOptions): Promise<ObjectStore> {
  const root = path.resolve(opts.dir);
  try {
    await mkdir(path.join(root, RESERVED_SEGMENT), { recursive: true });
  } catch (err) {
    throw new StoreError(`cannot create the folder: ${(err as Error).message}`, ctxFor(root, err), false);
  }
  return new LocalObjects(root);
}

function ctxFor(root: string, cause?: unknown): StoreErrorContext {
  return { store: 'object store', address: `folder ${root}`, cause };
}

class LocalObjects implements ObjectStore {
  readonly address: string;
  private closed = false;

  constructor(private readonly root: string) {
    this.address = `folder ${root}`;
  }

  private pathOf(key: string): string {
    if (this.closed) throw new StoreClosedError(ctxFor(this.root));
    checkKey(key, ctxFor(this.root));
    return path.join(this.root, ...key.split('/'));
  }

  private fail(op: string, err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    return new StoreError(`${op} failed: ${(err as Error).message}`, ctxFor(this.root, err), false);
  }

  async put(key: string, data: Buffer | Uint8Array | Readable): Promise<void> {
    const target = this.pathOf(key);
    const tmp = path.join(this.root, RESERVED_SEGMENT, randomUUID());
    try {
      const handle = await open(tmp, 'w');
      try {
        if (data instanceof Uint8Array) await handle.writeFile(data);
        else for await (const chunk of data) await handle.write(chunk as Uint8Array);
        await handle.sync(); // the bytes are on disk before the name points at them
      } finally {
        await handle.close();
      }
      await moveInto(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw this.fail(`put ${key}`, err);
    }
  }

  async get(key: string): Promise<Buffer> {
    const file = this.pathOf(key);
    try {
      return await readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR')
        throw new NotFoundError(key, ctxFor(this.root));
      throw this.fail(`get ${key}`, err);
    }
  }

  async exists(key: string): Promise<boolean> {
    const file = this.pathOf(key);
    try {
      return (await stat(file)).isFile();
    } catch {
      return false;
    }
  }

  async list(prefix = ''): Promise<string[]> {
    if (this.closed) throw new StoreClosedError(ctxFor(this.root));
    // Walk only the deepest folder the prefix names in full, then filter by the rest.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    if (dirPart && (dirPart.split('/').includes('..') || dirPart.includes('\\'))) return [];
    const keys: string[] = [];
    await this.walk(dirPart, keys);
    return keys.filter((k) => k.startsWith(prefix)).sort();
  }

  private async walk(relDir: string, out: string[]): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(path.join(this.root, ...relDir.split('/').filter(Boolean)), {
        withFileTypes: true,
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.fail('list', err);
    }
    for (const e of entries) {
      const rel = relDir ? `${relDir}/${e.name}` : e.name;
      if (rel === RESERVED_SEGMENT) continue;
      if (e.isDirectory()) await this.walk(rel, out);
      else if (e.isFile()) out.push(rel);
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await rm(file, { force: true });
    } catch (err) {
      throw this.fail(`delete ${key}`, err);
    }
    // Drop folders the delete left empty, so list() does not wander through dead branches.
    for (let dir = path.dirname(file); dir !== this.root; dir = path.dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty (or already gone)
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** rename() into place, creating folders; retried once because a concurrent delete() may prune a folder just made. */
async function moveInto(tmp: string, target: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await mkdir(path.dirname(target), { recursive: true });
    try {
      await rename(tmp, target);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw err;
    }
  }
}
