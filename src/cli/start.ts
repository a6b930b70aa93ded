/**
 * `recsys start`: everything in one process on embedded stores — migrate, import a MovieLens
 * folder if given (or, on a data folder that holds nothing yet, the demo catalog and history),
 * train a first model if none is active, then serve, with the speed layer folding events in
 * and the batch scheduler running from the same process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { importMovieLens } from '../batch/import-movielens.js';
import type { BackendName } from '../compute/kernels.js';
import { ARCHIVE_PREFIX } from '../data/archive-format.js';
import { DEMO_DEFAULTS, writeDemoMovieLens } from '../data/synthetic-movielens.js';
import { logger } from '../logger.js';
import type { Stores } from '../stores/index.js';
import { numberOption } from './errors.js';
import { runServer, withServerOptions } from './run-server.js';
import { configFrom, type StoreOpts } from './stores-option.js';

interface StartOpts extends StoreOpts {
  port?: number;
  host: string;
  backend?: BackendName;
  importMovielens?: string;
  /** False with --no-demo. */
  demo: boolean;
  demoUsers: number;
  demoItems: number;
  demoSeed: number;
}

/** What the demo import leaves in the object store, so later starts can say what the data is. */
export const DEMO_INFO_KEY = 'demo/demo.json';

export interface DemoInfo {
  seed: number;
  users: number;
  items: number;
  ratings: number;
  imported_at: string;
  /** The planted favourite genres of the first users (by user id). */
  tastes: Record<string, string[]>;
}

export function startCommand(): Command {
  const count = (name: string, min: number) => numberOption(name, { integer: true, min, max: 1_000_000 });
  return withServerOptions(
    new Command('start')
      .description('run every role in one process on embedded stores (no servers needed)')
      .option('--import-movielens <dir>', 'import a MovieLens folder (u.data, u.item) first')
      .option('--no-demo', 'on an empty data folder, do not load the demo data (start with no model)')
      .option('--demo-users <n>', 'users of the demo data', count('demo-users', 1), DEMO_DEFAULTS.users)
      .option('--demo-items <n>', 'items of the demo data', count('demo-items', 40), DEMO_DEFAULTS.items)
      .option('--demo-seed <n>', 'seed of the demo data', count('demo-seed', 1), DEMO_DEFAULTS.seed),
  ).action((opts: StartOpts) => {
    const config = configFrom(opts, {
      mode: 'embedded',
      // MovieLens is from 1997-98: a window of the last days would hold none of it, so this
      // flag, like any flag over the environment, makes the window the whole archive.
      ...(opts.importMovielens ? { batch: { windowDays: 'all' as const } } : {}),
    });
    let demo: DemoInfo | null = null;
    return runServer(config, {
      ...opts,
      speed: true,
      prepare: async ({ stores, models, runBatch }) => {
        if (opts.importMovielens) {
          const r = await importMovieLens(stores, opts.importMovielens);
          logger.info(r, r.already_imported ? 'MovieLens already imported' : 'MovieLens imported');
        } else if (opts.demo && !models.current() && !(await holdsData(stores))) {
          demo = await importDemo(stores, opts);
        }
        demo ??= await readDemoInfo(stores);
        if (models.current()) return;
        // The first model: a failed run (no data yet, say) leaves popular items until one succeeds.
        const run = await runBatch();
        if (run.status === 'failed')
          logger.warn({ error: run.error }, 'no model yet: the first batch run failed');
      },
      banner: (base, { models }) => {
        const ws = base.replace(/^http/, 'ws');
        const model = models.current()?.model.meta.version;
        const lines = [
          `recsys: every role in one process, data in ${path.resolve(config.dataDir)}, ${
            model ? `model ${model}` : 'no model yet (popular items until a batch run succeeds)'
          }`,
          `  API        ${base}/v1/recommendations/:userId (spec: ${base}/openapi.json)`,
          `  WebSocket  ${ws}/v1/stream`,
          `  Dashboard  ${base}/dashboard`,
        ];
        if (demo) {
          const [user, tastes] = Object.entries(demo.tastes)[0] ?? ['1', []];
          lines.push(
            `  Demo data  ${demo.users} users (ids 1..${demo.users}), ${demo.items} items, ${demo.ratings} ratings;` +
              ` user ${user} likes ${tastes.join(' and ')}: curl '${base}/v1/recommendations/${user}?k=5'`,
          );
        }
        return lines;
      },
    });
  });
}

/** Whether the data folder has anything to train on or a model: then the demo stays out. */
async function holdsData(stores: Stores): Promise<boolean> {
  const { rows } = await stores.db.query<{ has: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM models) OR EXISTS (SELECT 1 FROM rt_user_interactions)
         OR EXISTS (SELECT 1 FROM event_log) AS has`,
  );
  if (rows[0]?.has) return true;
  return (await stores.objects.list(ARCHIVE_PREFIX)).length > 0;
}

/**
 * Writes the demo (writeDemoMovieLens) to a temp folder and imports it as any MovieLens folder
 * is: the catalog into `items`, the ratings into the Parquet archive.
 */
async function importDemo(
  stores: Stores,
  opts: Pick<StartOpts, 'demoUsers' | 'demoItems' | 'demoSeed'>,
): Promise<DemoInfo> {
  const dir = mkdtempSync(path.join(tmpdir(), 'recsys-demo-'));
  try {
    const demo = writeDemoMovieLens(dir, {
      users: opts.demoUsers,
      items: opts.demoItems,
      seed: opts.demoSeed,
    });
    const r = await importMovieLens(stores, dir);
    const info: DemoInfo = {
      seed: opts.demoSeed,
      users: demo.users,
      items: demo.items,
      ratings: r.rows,
      imported_at: new Date().toISOString(),
      tastes: Object.fromEntries(demo.tastes.slice(0, 10).map((t, u) => [String(u + 1), t])),
    };
    await stores.objects.put(DEMO_INFO_KEY, Buffer.from(JSON.stringify(info, null, 2)));
    logger.info(
      { users: info.users, items: info.items, ratings: r.rows, days: r.days },
      'demo data imported (an empty data folder; --no-demo leaves it empty, `recsys import` brings your own)',
    );
    return info;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function readDemoInfo(stores: Stores): Promise<DemoInfo | null> {
  if (!(await stores.objects.exists(DEMO_INFO_KEY))) return null;
  try {
    return JSON.parse((await stores.objects.get(DEMO_INFO_KEY)).toString('utf8')) as DemoInfo;
  } catch (err) {
    logger.warn({ err }, `${DEMO_INFO_KEY} is unreadable`);
    return null;
  }
}
