/**
 * `recsys start`: everything in one process on embedded stores — migrate, import a
 * MovieLens folder if given, train a first model if none is active, then serve, with the
 * speed layer folding events in from the same process.
 */
import { Command } from 'commander';
import { importMovieLens } from '../batch/import-movielens.js';
import type { BackendName } from '../compute/kernels.js';
import { logger } from '../logger.js';
import { runServer, withServerOptions } from './run-server.js';
import { configFrom, type StoreOpts } from './stores-option.js';

interface StartOpts extends StoreOpts {
  port: number;
  host: string;
  backend?: BackendName;
  importMovielens?: string;
}

export function startCommand(): Command {
  return withServerOptions(
    new Command('start')
      .description('run every role in one process on embedded stores (no servers needed)')
      .option('--import-movielens <dir>', 'import a MovieLens folder (u.data, u.item) first'),
  ).action((opts: StartOpts) =>
    runServer(
      configFrom(opts, {
        mode: 'embedded',
        // MovieLens is from 1997-98: a window of the last days would hold none of it, so this
        // flag, like any flag over the environment, makes the window the whole archive.
        ...(opts.importMovielens ? { batch: { windowDays: 'all' as const } } : {}),
      }),
      {
        ...opts,
        speed: true,
        prepare: async ({ stores, models, runBatch }) => {
          if (opts.importMovielens) {
            const r = await importMovieLens(stores, opts.importMovielens);
            logger.info(r, r.already_imported ? 'MovieLens already imported' : 'MovieLens imported');
          }
          if (models.current()) return;
          // The first model: a failed run (no data yet, say) leaves popular items until one succeeds.
          const run = await runBatch();
          if (run.status === 'failed')
            logger.warn({ error: run.error }, 'no model yet: the first batch run failed');
        },
      },
    ),
  );
}
