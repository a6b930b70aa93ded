/**
 * What `recsys serve` and `recsys start` share: open the stores, follow the active model,
 * start the HTTP/WebSocket server, and shut everything down cleanly on SIGINT/SIGTERM.
 */
import { availableParallelism } from 'node:os';
import { type Command, Option } from 'commander';
import { type RunOutcome, startBatchRun } from '../batch/pipeline.js';
import { BatchScheduler } from '../batch/scheduler.js';
import { resolveBackend } from '../compute/backends.js';
import type { BackendName } from '../compute/kernels.js';
import { ComputePool } from '../compute/pool.js';
import type { RecsysConfig } from '../config/index.js';
import { logger } from '../logger.js';
import { ActiveModel } from '../model/active.js';
import { startServer } from '../serving/server.js';
import { type SpeedLayer, SpeedMetrics, startSpeedLayer } from '../speed/index.js';
import type { Stores } from '../stores/index.js';
import { batchDeps } from './batch-deps.js';
import { numberOption } from './errors.js';
import { openFrom, withStoreOptions } from './stores-option.js';

/** The options `serve` and `start` share: where to listen, which kernels, which stores. */
export function withServerOptions(cmd: Command): Command {
  return withStoreOptions(
    cmd
      .option(
        '--port <port>',
        'port (0 picks a free one)',
        numberOption('port', { integer: true, min: 0, max: 65535 }),
        8080,
      )
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .addOption(new Option('--backend <name>', 'compute backend').choices(['native', 'wasm', 'js'])),
  );
}

export interface RunServerOptions {
  port: number;
  host: string;
  backend?: BackendName;
  /** Runs after the stores open and before serving (imports, first training). */
  prepare?: (ctx: ServerContext) => Promise<void>;
  /** Also run the speed layer and the batch scheduler in this process (`recsys start`). */
  speed?: boolean;
}

export interface ServerContext {
  config: RecsysConfig;
  stores: Stores;
  models: ActiveModel;
  pool: ComputePool;
  backend: BackendName;
  /** Runs the batch pipeline here and now (the first model of `recsys start`). */
  runBatch: () => Promise<RunOutcome>;
}

export async function runServer(config: RecsysConfig, opts: RunServerOptions): Promise<void> {
  const stores = await openFrom(config);
  const backend = await resolveBackend(opts.backend ?? config.compute.backend);
  const pool = new ComputePool(Math.max(1, availableParallelism()));
  const models = new ActiveModel(stores, {
    backend,
    onError: (err) => logger.warn({ err }, 'model reload failed'),
  });
  const deps = batchDeps(config, stores, { pool, backend }, logger);
  // A run this process carried out is taken up at once (others hear the registry's announcement).
  const settle = async (o: RunOutcome) => {
    logger.info(o, `batch run ${o.status}`);
    if (o.published) await models.reload().catch((err) => logger.warn({ err }, 'model reload failed'));
    return o;
  };
  const runBatch = async () => settle(await (await startBatchRun(deps, { trigger: 'cli' })).done);
  const batch = {
    start: async () => {
      const { runId, done } = await startBatchRun(deps, { trigger: 'api' });
      void done.then(settle);
      return { runId };
    },
  };
  const ctx: ServerContext = { config, stores, models, pool, backend, runBatch };
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  let speed: SpeedLayer | null = null;
  let scheduler: BatchScheduler | null = null;
  const speedMetrics = opts.speed ? new SpeedMetrics() : null;
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await scheduler?.stop();
    await server?.close();
    // After the server: events it accepted last are in the bus, and the open micro-batch commits.
    await speed?.stop();
    await models.stop();
    await pool.destroy();
    await stores.close();
  };
  try {
    await models.start();
    await opts.prepare?.(ctx);
    server = await startServer(
      { config, stores, models, logger, backend, batch },
      { port: opts.port, host: opts.host, metrics: speedMetrics ? [speedMetrics.registry] : [] },
    );
    if (speedMetrics) {
      speed = await startSpeedLayer({ config, stores, models, backend, logger, metrics: speedMetrics });
      scheduler = new BatchScheduler(deps, {
        ...config.batch,
        onSlot: (_slot, r) => typeof r !== 'string' && settle(r),
      });
      await scheduler.start();
    }
  } catch (err) {
    await shutdown('error').catch(() => undefined);
    throw err;
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void shutdown(signal).then(() => process.exit(0));
    });
  }
  process.stdout.write(`listening on http://${opts.host}:${server.port}\n`);
}
