// The analytics rollups on PostgreSQL, each harness in a fresh schema of recsys_test; here a
// second connection can hold a write open while a pass runs.
import pg from 'pg';
import { silentLogger } from '../../src/logger.js';
import { migrate } from '../../src/stores/relational/migrate.js';
import { openPostgres } from '../../src/stores/relational/postgres.js';
import { analyticsContract } from '../analytics/contract.js';
import { uid } from '../stores/support/wait.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';

analyticsContract(
  'PostgreSQL',
  async () => {
    const schema = uid('a_').toLowerCase();
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
    await migrate(db);
    return {
      db,
      peer: open,
      async cleanup() {
        await db.close();
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      },
    };
  },
  { interleaved: true },
);
