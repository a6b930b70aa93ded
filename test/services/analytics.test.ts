// The analytics rollups on PostgreSQL, each harness in a fresh schema; here a second
// connection can hold a write open while a pass runs.
import { migrate } from '../../src/stores/relational/migrate.js';
import { analyticsContract } from '../analytics/contract.js';
import { freshSchema } from './schema.js';

analyticsContract(
  'PostgreSQL',
  async () => {
    const schema = await freshSchema('a_');
    const db = await schema.open();
    await migrate(db);
    return {
      db,
      peer: schema.open,
      async cleanup() {
        await db.close();
        await schema.drop();
      },
    };
  },
  { interleaved: true },
);
