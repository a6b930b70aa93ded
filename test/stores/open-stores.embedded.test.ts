// openStores in embedded mode: all four ports from one data folder, one process at a time.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { INTERACTIONS_TOPIC, openStores, StoreConfigError } from '../../src/stores/index.js';
import { tempDir } from '../helpers.js';
import { freshPgliteDir } from './support/pglite-dir.js';
import { waitFor } from './support/wait.js';

test('embedded openStores: migrated db, cache, bus and objects under the data folder; reopens after close', async () => {
  const tmp = tempDir('recsys-open-');
  try {
    await freshPgliteDir(tmp.dir); // <dataDir>/pg, pre-initialised to keep the test fast
    const config = loadConfig({ env: { RECSYS_DATA_DIR: tmp.dir } });
    const stores = await openStores(config, { logger: silentLogger });
    try {
      const { rows } = await stores.db.query<{ n: number }>('SELECT count(*) AS n FROM schema_migrations');
      assert.ok(rows[0]!.n >= 2);
      await stores.cache.set('k', 'v');
      assert.equal(await stores.cache.get('k'), 'v');
      await stores.objects.put('models/v1/x.bin', Buffer.from('x'));
      assert.ok(existsSync(path.join(tmp.dir, 'objects', 'models', 'v1', 'x.bin')));
      const got: string[] = [];
      await stores.bus.consume({
        topic: INTERACTIONS_TOPIC,
        groupId: 'stream',
        handler: async (b) => {
          got.push(...b.messages.map((m) => m.value.toString()));
        },
      });
      await stores.bus.publish(INTERACTIONS_TOPIC, [{ key: 'u1', value: 'click' }]);
      await waitFor(() => got.length === 1, 'the published event', 10_000);

      // One process per data folder: a second open is refused while the first is open.
      await assert.rejects(openStores(config, { logger: silentLogger }), (err) => {
        assert.ok(err instanceof StoreConfigError, String(err));
        assert.match(err.message, /in use by process/);
        return true;
      });
    } finally {
      await stores.close();
    }
    const again = await openStores(config, { logger: silentLogger });
    assert.equal(await again.objects.exists('models/v1/x.bin'), true);
    await again.close();
  } finally {
    tmp.cleanup();
  }
});
