/**
 * `recsys scheduler`: starts batch runs on the cron schedule (RECSYS_BATCH_SCHEDULE, default
 * 02:00 daily in RECSYS_BATCH_TIMEZONE), catching up a missed slot at start and retrying failed
 * ones. Several schedulers on one database run each slot once. The first SIGINT/SIGTERM lets
 * a run in progress finish; a second one exits at once (the next start marks that run failed,
 * and the active model is untouched).
 */
import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import { BatchScheduler } from '../batch/scheduler.js';
import { resolveBackend } from '../compute/backends.js';
import type { BackendName } from '../compute/kernels.js';
import { ComputePool } from '../compute/pool.js';
import { logger } from '../logger.js';
import { batchDeps } from './batch-deps.js';
import { configFrom, openFrom, type StoreOpts, withStoreOptions } from './stores-option.js';

interface SchedulerOpts extends StoreOpts {
  backend?: BackendName;
}

export function schedulerCommand(): Command {
  return withStoreOptions(
    new Command('scheduler')
      .description('start batch runs on a cron schedule (RECSYS_BATCH_SCHEDULE)')
      .addOption(new Option('--backend <name>', 'compute backend').choices(['native', 'wasm', 'js'])),
  ).action(runScheduler);
}

async function runScheduler(opts: SchedulerOpts): Promise<void> {
  const config = configFrom(opts);
  const stores = await openFrom(config);
  const pool = new ComputePool(availableParallelism());
  const backend = await resolveBackend(opts.backend ?? config.compute.backend);
  const scheduler = new BatchScheduler(batchDeps(config, stores, { pool, backend }, logger), {
    ...config.batch,
    onSlot: (slot, result) =>
      logger.info(
        { slot: slot.toISOString(), ...(typeof result === 'string' ? { result } : result) },
        'scheduler: slot done',
      ),
  });
  let stopping = false;
  const stop = async () => {
    await scheduler.stop();
    await pool.destroy();
    await stores.close();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(130);
      stopping = true;
      logger.info({ signal }, 'scheduler stopping (after the run in progress; signal again to exit now)');
      void stop().then(() => process.exit(0));
    });
  }
  await scheduler.start();
  const next = scheduler.nextRun();
  process.stdout.write(
    `scheduler: "${config.batch.schedule}" (${config.batch.timeZone}); next run ${next?.toISOString() ?? 'never'}\n`,
  );
}
