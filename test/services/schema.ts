// A fresh schema of recsys_test per harness: tests on the shared PostgreSQL never see each
// other's rows, and dropping the schema cleans up everything they made.
import pg from 'pg';
import { silentLogger } from '../../src/logger.js';
import type { RelationalStore } from '../../src/stores/relational/port.js';
import { openPostgres } from '../../src/stores/relational/postgres.js';
import { uid } from '../stores/support/wait.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';

export interface FreshSchema {
  name: string;
  /** A new pool on the schema: another process, as far as the server can tell. */
  open(): Promise<RelationalStore>;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

export async function freshSchema(prefix: string): Promise<FreshSchema> {
  const name = uid(prefix).toLowerCase();
  const admin = new pg.Client({
    connectionString: servers.databaseUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${name}`);
  return {
    name,
    open: () =>
      openPostgres({
        url: servers.databaseUrl,
        schema: name,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        logger: silentLogger,
      }),
    async drop() {
      await admin.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      await admin.end();
    },
  };
}
