// Relational store contract on PostgreSQL; each harness works in a fresh schema of recsys_test.
import pg from 'pg';
import { silentLogger } from '../../src/logger.js';
import { openPostgres } from '../../src/stores/relational/postgres.js';
import { relationalContract } from '../stores/contract/relational.js';
import { uid } from '../stores/support/wait.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';

relationalContract('PostgreSQL', async () => {
  const schema = uid('t_').toLowerCase();
  const admin = new pg.Client({
    connectionString: servers.databaseUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const open = () =>
    openPostgres({
      url: servers.databaseUrl,
      schema,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: silentLogger,
    });
  const db = await open();
  return {
    db,
    peer: open, // a separate pool: another process as far as the server can tell
    async cleanup() {
      await db.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
});
