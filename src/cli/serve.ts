/** `recsys serve`: the serving role alone, on the configured stores (either mode). */
import { Command } from 'commander';
import type { BackendName } from '../compute/kernels.js';
import { runServer, withServerOptions } from './run-server.js';
import { configFrom, type StoreOpts } from './stores-option.js';

interface ServeOpts extends StoreOpts {
  port?: number;
  host: string;
  backend?: BackendName;
}

export function serveCommand(): Command {
  return withServerOptions(
    new Command('serve').description('serve recommendations over HTTP and WebSocket'),
  ).action((opts: ServeOpts) => runServer(configFrom(opts), opts));
}
