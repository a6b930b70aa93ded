// The analytics rollups on PGlite (embedded mode).
import { migrate } from '../../src/stores/relational/migrate.js';
import { openPglite } from '../../src/stores/relational/pglite.js';
import { tempDir } from '../helpers.js';
import { freshPgliteDir } from '../stores/support/pglite-dir.js';
import { analyticsContract } from './contract.js';

analyticsContract(
  'PGlite',
  async () => {
    const tmp = tempDir('recsys-analytics-');
    const db = await openPglite({ dir: await freshPgliteDir(tmp.dir) });
    await migrate(db);
    return {
      db,
      async cleanup() {
        await db.close();
        tmp.cleanup();
      },
    };
  },
  { interleaved: false },
);
