// A real server on real stores for the serving tests: embedded stores in a temp folder (or
// services stores given by the caller), a small implicit model trained in-process and
// published through the registry, a catalog with categories, and helpers for HTTP calls.
import { type RunOutcome, startBatchRun } from '../../src/batch/pipeline.js';
import { batchDeps } from '../../src/cli/batch-deps.js';
import { ComputePool } from '../../src/compute/pool.js';
import { loadConfig, type RecsysConfig } from '../../src/config/index.js';
import { plantedLowRank, powerLawImplicit } from '../../src/data/synthetic.js';
import { silentLogger } from '../../src/logger.js';
import { ActiveModel } from '../../src/model/active.js';
import { fitAls } from '../../src/model/fit.js';
import type { AlsModel } from '../../src/model/model.js';
import { DEFAULT_PARAMS } from '../../src/model/params.js';
import { publishModel } from '../../src/model/registry.js';
import { type RunningServer, type ServerOptions, startServer } from '../../src/serving/index.js';
import { openStores, type Stores } from '../../src/stores/index.js';
import { tempDir } from '../helpers.js';

export const API_KEY = 'test-key-0123456789abcdef';
export const N_USERS = 60;
export const N_ITEMS = 50;

/** Category of item i{n}: "even" or "odd"; i49 is inactive. */
export const categoryOf = (item: string) => (Number(item.slice(1)) % 2 === 0 ? 'even' : 'odd');
export const INACTIVE_ITEM = 'i49';

export async function trainModel(
  version?: string,
  mode: 'implicit' | 'explicit' = 'implicit',
): Promise<AlsModel> {
  const pool = new ComputePool(1);
  try {
    if (mode === 'explicit') {
      // Ratings around 3 with biases: the scorer ranks by x·y + b_i.
      const data = plantedLowRank({
        users: N_USERS,
        items: N_ITEMS,
        rank: 3,
        perUser: 15,
        noise: 0.2,
        seed: 5,
      });
      const params = { ...DEFAULT_PARAMS.explicit, factors: 8, iterations: 6 };
      return (await fitAls(data, params, { backend: 'js', pool, version })).model;
    }
    const data = powerLawImplicit({ users: N_USERS, items: N_ITEMS, nnz: 900, seed: 5 });
    const params = { ...DEFAULT_PARAMS.implicit, factors: 8, iterations: 6, lambda: 0.1, alpha: 5 };
    return (await fitAls(data, params, { backend: 'js', pool, version })).model;
  } finally {
    await pool.destroy();
  }
}

export interface Fixture {
  base: string;
  config: RecsysConfig;
  stores: Stores;
  models: ActiveModel;
  model: AlsModel;
  server: RunningServer;
  /** Batch runs started through POST /v1/admin/train (with `batch: true`), as they end. */
  runs: Promise<RunOutcome>[];
  /** Restarts the server on the same stores and model with other settings. */
  restart(env?: Record<string, string>, options?: Partial<ServerOptions>): Promise<void>;
  close(): Promise<void>;
}

export interface FixtureOptions {
  env?: Record<string, string>;
  options?: Partial<ServerOptions>;
  /** Stores to use instead of fresh embedded ones (closed by the caller). */
  stores?: Stores;
  /** POST /v1/admin/train starts real batch runs on the fixture's stores (else it is 501). */
  batch?: boolean;
  /** The kind of model to train and serve (default implicit). */
  mode?: 'implicit' | 'explicit';
}

export async function startFixture(opts: FixtureOptions = {}): Promise<Fixture> {
  const tmp = tempDir('recsys-serving-');
  const baseEnv = { RECSYS_API_KEYS: API_KEY, RECSYS_LOG_LEVEL: 'silent' };
  const makeConfig = (env: Record<string, string> = {}) =>
    loadConfig({ env: { ...baseEnv, ...opts.env, ...env }, overrides: { dataDir: tmp.dir } });
  let config = makeConfig();
  const stores = opts.stores ?? (await openStores(config, { logger: silentLogger }));
  const model = await trainModel(undefined, opts.mode);
  await stores.db.copyRows(
    'items',
    ['item_id', 'idx', 'title', 'category', 'active'],
    model.itemIds.map((id, idx) => [id, idx, `Item ${id}`, categoryOf(id), id !== INACTIVE_ITEM]),
  );
  await publishModel(stores, model, { activate: true });
  const models = new ActiveModel(stores, { backend: 'js', pollMs: 60_000 });
  await models.start();
  const runs: Promise<RunOutcome>[] = [];
  const pool = opts.batch ? new ComputePool(1) : null;
  const batch = pool && {
    start: async () => {
      const deps = batchDeps(config, stores, { pool, backend: 'js' }, silentLogger);
      const { runId, done } = await startBatchRun(deps, { trigger: 'api' });
      runs.push(done);
      return { runId };
    },
  };
  const launch = (options: Partial<ServerOptions> = {}) =>
    startServer(
      { config, stores, models, logger: silentLogger, backend: 'js', batch: batch ?? undefined },
      {
        port: 0,
        refresh: { popularMs: 200, catalogMs: 200 },
        recLog: { intervalMs: 20 },
        ...opts.options,
        ...options,
      },
    );
  let server = await launch();
  const fixture: Fixture = {
    base: `http://127.0.0.1:${server.port}`,
    config,
    stores,
    models,
    model,
    server,
    runs,
    async restart(env, options) {
      await server.close();
      config = makeConfig(env);
      fixture.config = config;
      server = await launch(options);
      fixture.server = server;
      fixture.base = `http://127.0.0.1:${server.port}`;
    },
    async close() {
      await server.close();
      await Promise.all(runs);
      await pool?.destroy();
      await models.stop();
      if (!opts.stores) await stores.close();
      tmp.cleanup();
    },
  };
  return fixture;
}

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected field by field
  body: any;
  text: string;
}

export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (metrics, dashboard)
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

export const keyed = { 'x-api-key': API_KEY };

/** The k best item ids for a factor vector by plain dot product, skipping `skip` ids and the inactive item. */
export function expectedTop(
  model: AlsModel,
  vector: Float32Array,
  k: number,
  skip: Iterable<string> = [],
): string[] {
  const f = model.factors;
  const banned = new Set([...skip, INACTIVE_ITEM]);
  return model.itemIds
    .map((id, i) => {
      // Models that rank with biases add the item bias (model.queryFor appends a 1).
      let s = model.usesBias ? model.itemBias[i] : 0;
      for (let c = 0; c < f; c++) s += vector[c] * model.itemFactors[i * f + c];
      return [Math.fround(s), i, id] as const;
    })
    .filter(([, , id]) => !banned.has(id))
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k)
    .map(([, , id]) => id);
}

/** Item ids the model saw for a user in training. */
export function seenBy(model: AlsModel, user: string): string[] {
  return Array.from(model.seen(model.userIdx(user)!), (i) => model.itemIds[i]);
}

/** float32 little-endian bytes of a vector, as user_profiles.vector holds them. */
export function vectorBytes(v: Float32Array): Buffer {
  const b = Buffer.alloc(v.length * 4);
  for (const [i, x] of v.entries()) b.writeFloatLE(x, i * 4);
  return b;
}

/** A UUID v4: rec_ids. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** A UUID v7: the event_ids the server fills in. */
export const UUID_V7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
