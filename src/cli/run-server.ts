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
        'port (default PORT or 8080; 0 picks a free one)',
        numberOption('port', { integer: true, min: 0, max: 65535 }),
      )
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .addOption(new Option('--backend <name>', 'compute backend').choices(['native', 'wasm', 'js'])),
  );
}

export interface RunServerOptions {
  /** Default: the configured port (`PORT`, else 8080). */
  port?: number;
  host: string;
  backend?: BackendName;
  /** Runs after the stores open and before serving (imports, first training). */
  prepare?: (ctx: ServerContext) => Promise<void>;
  /** Also run the speed layer and the batch scheduler in this process (`recsys start`). */
  speed?: boolean;
  /** Lines printed once the server answers, before `listening on …` (`recsys start`'s addresses). */
  banner?: (base: string, ctx: ServerContext) => string[];
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
  let stopping: Promise<void> | null = null;
  const shutdown = (signal: string) =>
    (stopping ??= (async () => {
      logger.info({ signal }, 'shutting down');
      await scheduler?.stop();
      await server?.close();
      // After the server: events it accepted last are in the bus, and the open micro-batch commits.
      await speed?.stop();
      await models.stop();
      await pool.destroy();
      await stores.close();
    })());
  // A signal while starting (an import, the first training) stops after the step under way; a
  // second one while stopping exits at once.
  let started = false;
  let signalled: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting without a clean shutdown');
      process.exit(130);
    }
    signalled = signal;
    if (!started) {
      logger.info({ signal }, 'stopping once the start-up step under way ends');
      return;
    }
    shutdown(signal).then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, onSignal);
  const interrupted = () => signalled !== null;
  try {
    await models.start();
    if (!interrupted()) await opts.prepare?.(ctx);
    if (!interrupted())
      server = await startServer(
        { config, stores, models, logger, backend, batch },
        {
          port: opts.port ?? config.serving.port,
          host: opts.host,
          metrics: speedMetrics ? [speedMetrics.registry] : [],
        },
      );
    if (speedMetrics && !interrupted()) {
      speed = await startSpeedLayer({ config, stores, models, backend, logger, metrics: speedMetrics });
      scheduler = new BatchScheduler(deps, {
        ...config.batch,
        onSlot: (_slot, r) => typeof r !== 'string' && settle(r),
      });
      await scheduler.start();
    }
  } catch (err) {
    await shutdown('error').catch(() => undefined);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, onSignal);
    throw err;
  }
  started = true;
  if (signalled || !server) {
    await shutdown(signalled ?? 'SIGTERM');
    process.exit(0);
  }
  const base = `http://${opts.host}:${server.port}`;
  await answers(base);
  if (opts.banner)
    process.stdout.write(
      opts
        .banner(base, ctx)
        .map((l) => `${l}\n`)
        .join(''),
    );
  process.stdout.write(`listening on ${base}\n`);
}

/**
 * Waits until the server answers its own /healthz (a wildcard address is asked on loopback), so
 * `listening on` means a client can connect; a server that does not answer within 5 s is logged.
 */
async function answers(base: string): Promise<void> {
  const url = new URL('/healthz', base);
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  else if (url.hostname === '[::]') url.hostname = '[::1]';
  const deadline = Date.now() + 5000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return;
      last = new Error(`HTTP ${res.status}`);
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  logger.warn({ err: last, url: url.href }, 'the server does not answer its own /healthz yet');
}
