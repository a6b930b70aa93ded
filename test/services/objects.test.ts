// Object store contract on MinIO, with 5 MiB parts so the large-object case uploads in parts.
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { openMinioObjects } from '../../src/stores/objects/minio.js';
import type { ObjectStore } from '../../src/stores/objects/port.js';
import { objectsContract } from '../stores/contract/objects.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';

const PART_SIZE = 5 * 1024 * 1024;

objectsContract('MinIO', async () => {
  const store = await openMinioObjects({
    ...servers.s3,
    partSize: PART_SIZE,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  });
  const written = new Set<string>();
  // Remembers what the suite wrote, so cleanup leaves the shared bucket as it found it.
  const objects: ObjectStore = {
    address: store.address,
    put: (key: string, data: Buffer | Uint8Array | Readable) => {
      written.add(key);
      return store.put(key, data);
    },
    get: (key) => store.get(key),
    exists: (key) => store.exists(key),
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
    close: () => store.close(),
  };
  return {
    objects,
    async checkLarge(key, size) {
      // S3 ETags of multipart uploads end in "-<number of parts>".
      const parts = Math.ceil(size / PART_SIZE);
      assert.match(await store.etag(key), new RegExp(`-${parts}"?$`), 'uploaded in parts');
    },
    async cleanup() {
      const cleaner = await openMinioObjects({ ...servers.s3, connectTimeoutMs: CONNECT_TIMEOUT_MS });
      for (const key of written) await cleaner.delete(key).catch(() => {});
      await cleaner.close();
      await store.close();
    },
  };
});
