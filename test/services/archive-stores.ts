// The archiver's stores on the real servers: a fresh PostgreSQL schema of recsys_test (migrated)
// and a fresh MinIO bucket, both named uniquely so parallel runs never meet, and both removed
// afterwards.
import { Client } from 'minio';
import pg from 'pg';
import { silentLogger } from '../../src/logger.js';
import { migrate } from '../../src/stores/index.js';
import { openMinioObjects } from '../../src/stores/objects/minio.js';
import type { ObjectStore } from '../../src/stores/objects/port.js';
import type { RelationalStore } from '../../src/stores/relational/port.js';
import { openPostgres } from '../../src/stores/relational/postgres.js';
import { uid } from '../stores/support/wait.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';

export interface ArchiveServers {
  db: RelationalStore;
  objects: ObjectStore;
  /** Another pool and another S3 client on the same schema and bucket: a second process. */
  peer(): Promise<{ db: RelationalStore; objects: ObjectStore; close(): Promise<void> }>;
  cleanup(): Promise<void>;
}

export async function openArchiveServers(): Promise<ArchiveServers> {
  const schema = uid('archive_').toLowerCase();
  const bucket = uid('archive-').toLowerCase();
  const admin = new pg.Client({
    connectionString: servers.databaseUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const open = async () => {
    const db = await openPostgres({
      url: servers.databaseUrl,
      schema,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    });
    const objects = await openMinioObjects({ ...servers.s3, bucket, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    return { db, objects, close: async () => void (await Promise.all([db.close(), objects.close()])) };
  };
  const main = await open();
  await migrate(main.db);
  return {
    db: main.db,
    objects: main.objects,
    peer: open,
    async cleanup() {
      await main.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
      const url = new URL(servers.s3.endpoint);
      const s3 = new Client({
        endPoint: url.hostname,
        port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
        useSSL: url.protocol === 'https:',
        accessKey: servers.s3.accessKey,
        secretKey: servers.s3.secretKey,
      });
      const names: string[] = [];
      for await (const o of s3.listObjectsV2(bucket, '', true)) if (o.name) names.push(o.name);
      if (names.length > 0) await s3.removeObjects(bucket, names);
      await s3.removeBucket(bucket);
    },
  };
}
