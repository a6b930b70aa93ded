/** `recsys serve`: the serving role alone, on the configured stores (either mode). */
import { Command, Option } from 'commander';
import type { BackendName } from '../compute/kernels.js';
import { numberOption } from './errors.js';
import { runServer } from './run-server.js';
import { configFrom, type StoreOpts, withStoreOptions } from './stores-option.js';

interface ServeOpts extends StoreOpts {
  port: number;
  host: string;
  backend?: BackendName;
}

export function serveCommand(): Command {
  return withStoreOptions(
    new Command('serve')
      .description('serve recommendations over HTTP and WebSocket')
      .option(
        '--port <port>',
        'port (0 picks a free one)',
        numberOption('port', { integer: true, min: 0, max: 65535 }),
        8080,
      )
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .addOption(new Option('--backend <name>', 'compute backend').choices(['native', 'wasm', 'js'])),
  ).action((opts: ServeOpts) => runServer(configFrom(opts), opts));
}
