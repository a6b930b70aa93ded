// The archiver on the embedded stores: PGlite and a local folder. The peer is a second folder
// handle on the same directory; PGlite allows one process per data folder, so it shares the db.
import path from 'node:path';
import { openLocalObjects } from '../../src/stores/objects/local.js';
import { tempDir } from '../helpers.js';
import { openEmbeddedStores } from '../stores/support/pglite-dir.js';
import { archiverContract } from './archiver-contract.js';

archiverContract('PGlite and a local folder', async () => {
  const tmp = tempDir('recsys-archiver-');
  const stores = await openEmbeddedStores(tmp.dir);
  return {
    db: stores.db,
    objects: stores.objects,
    async peer() {
      const objects = await openLocalObjects({ dir: path.join(tmp.dir, 'objects') });
      return { db: stores.db, objects, close: () => objects.close() };
    },
    async cleanup() {
      await stores.close();
      tmp.cleanup();
    },
  };
});
