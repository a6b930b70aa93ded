/**
 * `recsys start`: everything in one process on embedded stores — migrate, import a
 * MovieLens folder if given, train a first model if none is active, then serve.
 */
import { Command, Option } from 'commander';
import { importMovieLens } from '../batch/import-movielens.js';
import { NoTrainingDataError } from '../batch/train-job.js';
import type { BackendName } from '../compute/kernels.js';
import { logger } from '../logger.js';
import { numberOption } from './errors.js';
import { runServer } from './run-server.js';
import { configFrom, type StoreOpts, withStoreOptions } from './stores-option.js';

interface StartOpts extends StoreOpts {
  port: number;
  host: string;
  backend?: BackendName;
  importMovielens?: string;
}

export function startCommand(): Command {
  return withStoreOptions(
    new Command('start')
      .description('run every role in one process on embedded stores (no servers needed)')
      .option(
        '--port <port>',
        'port (0 picks a free one)',
        numberOption('port', { integer: true, min: 0, max: 65535 }),
        8080,
      )
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--import-movielens <dir>', 'import a MovieLens folder (u.data, u.item) first')
      .addOption(new Option('--backend <name>', 'compute backend').choices(['native', 'wasm', 'js'])),
  ).action((opts: StartOpts) =>
    runServer(configFrom(opts, { mode: 'embedded' }), {
      ...opts,
      prepare: async ({ stores, models, train }) => {
        if (opts.importMovielens) {
          const r = await importMovieLens(stores, opts.importMovielens);
          logger.info(r, r.skipped ? 'MovieLens already imported' : 'MovieLens imported');
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
