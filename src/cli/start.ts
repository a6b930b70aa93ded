/**
 * `recsys start`: everything in one process on embedded stores — migrate, import a
 * MovieLens folder if given, train a first model if none is active, then serve, with the
 * speed layer folding events in from the same process.
 */
import { Command } from 'commander';
import { importMovieLens } from '../batch/import-movielens.js';
import { NoTrainingDataError } from '../batch/train-job.js';
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
    runServer(configFrom(opts, { mode: 'embedded' }), {
      ...opts,
      speed: true,
      prepare: async ({ stores, models, train }) => {
        if (opts.importMovielens) {
          const r = await importMovieLens(stores, opts.importMovielens);
          logger.info(r, r.already_imported ? 'MovieLens already imported' : 'MovieLens imported');
        }
        if (models.current()) return;
        try {
          await train();
        } catch (err) {
          if (!(err instanceof NoTrainingDataError)) throw err;
          logger.warn(err.message);
        }
      },
    }),
  );
}
