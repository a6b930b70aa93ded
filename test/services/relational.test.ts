// Relational store contract on PostgreSQL; each harness works in a fresh schema of recsys_test.
import { relationalContract } from '../stores/contract/relational.js';
import { freshSchema } from './schema.js';

relationalContract('PostgreSQL', async () => {
  const schema = await freshSchema('t_');
  const db = await schema.open();
  return {
    db,
    peer: schema.open, // a separate pool: another process as far as the server can tell
    async cleanup() {
      await db.close();
      await schema.drop();
    },
  };
});
