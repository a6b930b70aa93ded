/**
 * `recsys stream`: the speed layer alone, on the configured stores (either mode), with a small
 * ops endpoint of its own (/healthz, /readyz, /metrics). Run several in one consumer group to
 * share the partitions; SIGINT/SIGTERM let the micro-batch in progress commit before exit.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command, Option } from 'commander';
import { resolveBackend } from '../compute/backends.js';
import type { BackendName } from '../compute/kernels.js';
import { logger } from '../logger.js';
import { ActiveModel } from '../model/active.js';
import { type SpeedLayer, SpeedMetrics, startSpeedLayer } from '../speed/index.js';
import { numberOption } from './errors.js';
import { configFrom, openFrom, type StoreOpts, withStoreOptions } from './stores-option.js';

interface StreamOpts extends StoreOpts {
  port?: number;
  host: string;
  backend?: BackendName;
}

export function streamCommand(): Command {
  return withStoreOptions(
    new Command('stream')
      .description('run the speed layer: fold events from the bus into user profiles in micro-batches')
      .option(
        '--port <port>',
        'ops port: /healthz, /readyz, /metrics (default RECSYS_STREAM_PORT or 9465; 0 picks a free one)',
        numberOption('port', { integer: true, min: 0, max: 65535 }),
      )
      .option('--host <host>', 'address of the ops port', '127.0.0.1')
      .addOption(new Option('--backend <name>', 'compute backend').choices(['native', 'wasm', 'js'])),
  ).action(runStream);
}

async function runStream(opts: StreamOpts): Promise<void> {
  const config = configFrom(opts);
  const metrics = new SpeedMetrics({ defaultMetrics: true });
  let speed: SpeedLayer | null = null;
  const ops = await listen(opts.port ?? config.speed.port, opts.host, metrics, () => speed !== null);
  const stores = await openFrom(config);
  const backend = await resolveBackend(opts.backend ?? config.compute.backend);
  const models = new ActiveModel(stores, {
    backend,
    onError: (err) => logger.warn({ err }, 'model reload failed'),
  });
  const shutdown = async () => {
    await speed?.stop();
    await models.stop();
    await stores.close();
    ops.close();
  };
  try {
    await models.start();
    if (!models.current()) logger.warn('no active model yet: events are stored, profiles wait for a model');
    speed = await startSpeedLayer({ config, stores, models, backend, logger, metrics });
  } catch (err) {
    await shutdown().catch(() => undefined);
    throw err;
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'stopping the speed layer');
      void shutdown().then(() => process.exit(0));
    });
  }
  const { port } = ops.address() as AddressInfo;
  process.stdout.write(
    `stream: consuming interactions as group ${config.speed.groupId}; ops on http://${opts.host}:${port}\n`,
  );
}

function listen(port: number, host: string, metrics: SpeedMetrics, ready: () => boolean): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return json(405, { error: { code: 'method_not_allowed', message: 'only GET is served here' } });
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz')
      return ready() ? json(200, { status: 'ready' }) : json(503, { status: 'starting' });
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        (err: Error) => json(500, { error: { code: 'internal', message: err.message } }),
      );
      return;
    }
    json(404, { error: { code: 'not_found', message: `no route ${path}` } });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
