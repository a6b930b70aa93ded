// `recsys serve` as a real process in services mode: on the real PostgreSQL, Redis, Kafka and
// MinIO it finds the active model in the registry, reports every store ready, answers from
// that model, takes events into Kafka, and exits cleanly on SIGTERM. (test/cli/serve.test.ts
// does the same in embedded mode.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { publishModel } from '../../src/model/registry.js';
import { openStores, type Stores } from '../../src/stores/index.js';
import { launch } from '../cli/launch.js';
import { API_KEY, trainModel } from '../serving/fixture.js';
import { uid } from '../stores/support/wait.js';
import { eventsOf, servicesEnv } from './serving-stores.js';

// The public schema of the test database: the CLI has no schema setting, and no other test
// uses that schema for its own tables.
const env = servicesEnv({ RECSYS_API_KEYS: API_KEY, RECSYS_LOG_LEVEL: 'info' });

describe('recsys serve in services mode', () => {
  let stores: Stores;
  let version: string;

  before(async () => {
    stores = await openStores(loadConfig({ env }), { logger: silentLogger });
    const model = await trainModel();
    await publishModel(stores, model, { activate: true });
    version = model.meta.version;
  });
  after(() => stores?.close());

  it('serves the registry’s active model on the real servers and shuts down on SIGTERM', async () => {
    const serve = await launch(['serve', '--port', '0'], env);
    let end: Awaited<ReturnType<typeof serve.stop>> | undefined;
    try {
      const ready = await fetch(`${serve.url}/readyz`);
      const readiness = (await ready.json()) as { status: string; model_version: string; checks: object };
      assert.equal(ready.status, 200, JSON.stringify(readiness));
      assert.deepEqual(readiness.checks, { db: 'ok', cache: 'ok', bus: 'ok', model: 'ok' });
      assert.equal(readiness.model_version, version);

      const res = await fetch(`${serve.url}/v1/recommendations/u3?k=4`);
      assert.equal(res.status, 200);
      const answer = (await res.json()) as { model_version: string; items: unknown[] };
      assert.equal(answer.model_version, version);
      assert.equal(answer.items.length, 4);

      const user = uid('serve-cli-');
      const ev = await fetch(`${serve.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
        body: JSON.stringify({ user_id: user, item_id: 'i1', type: 'view' }),
      });
      assert.equal(ev.status, 202);
      await eventsOf(stores.bus, user, (e) => e.length === 1, 'the event in Kafka');
    } finally {
      end = await serve.stop();
    }
    assert.deepEqual([end.code, end.signal], [0, null], end.stderr.slice(-2000));
  });
});
