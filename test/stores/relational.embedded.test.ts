// Relational store contract on PGlite (embedded mode).
import { openPglite } from '../../src/stores/relational/pglite.js';
import type { RelationalStore } from '../../src/stores/relational/port.js';
import { tempDir } from '../helpers.js';
import { relationalContract } from './contract/relational.js';
import { freshPgliteDir } from './support/pglite-dir.js';

relationalContract('PGlite', async () => {
  const tmp = tempDir('recsys-pglite-');
  const db = await openPglite({ dir: await freshPgliteDir(tmp.dir) });
  return {
    db,
    // One process per data folder: a second "process" is a second handle on the same instance.
    peer: async (): Promise<RelationalStore> => ({ ...bind(db), close: async () => {} }),
    async cleanup() {
      await db.close();
      tmp.cleanup();
    },
  };
});

function bind(db: RelationalStore): RelationalStore {
  return {
    address: db.address,
    query: (sql, params) => db.query(sql, params),
    exec: (sql) => db.exec(sql),
    copyRows: (t, c, r) => db.copyRows(t, c, r),
    copyBinary: (t, c, p) => db.copyBinary(t, c, p),
    transaction: (fn) => db.transaction(fn),
    tryLock: (name) => db.tryLock(name),
    close: () => db.close(),
  };
}
