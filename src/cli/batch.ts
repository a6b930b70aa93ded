/**
 * `recsys batch run`: one batch run on the configured stores, in this process — the same
 * pipeline the scheduler and POST /v1/admin/train start. A progress bar on a terminal; with
 * --json one line `{run_id, status, model_version, published, phases, metrics}` on stdout.
 * Exit status: 0 succeeded or rejected (the gate decided), 1 failed, 3 another run in progress.
 */
import { availableParallelism } from 'node:os';
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import { type Progress, type RunOutcome, startBatchRun } from '../batch/pipeline.js';
import { resolveBackend } from '../compute/backends.js';
import type { BackendName } from '../compute/kernels.js';
import { ComputePool } from '../compute/pool.js';
import { BATCH_ENGINES } from '../config/index.js';
import { logger } from '../logger.js';
import { RunInProgressError } from '../model/runs.js';
import { batchDeps } from './batch-deps.js';
import { CliError, numberOption } from './errors.js';
import { configFrom, openFrom, type StoreOpts, withStoreOptions } from './stores-option.js';

interface RunOpts extends StoreOpts {
  json?: boolean;
  backend?: BackendName;
  threads?: number;
  engine?: 'builtin' | 'spark';
}

export function batchCommand(): Command {
  const batch = new Command('batch').description('the batch layer: train, evaluate, publish and precompute');
  batch.addCommand(
    withStoreOptions(
      new Command('run')
        .description('run the batch pipeline once, now (refused while another run is in progress)')
        .option('--json', 'print one JSON line with the outcome')
        .addOption(new Option('--backend <name>', 'compute backend').choices(['native', 'wasm', 'js']))
        .addOption(
          new Option('--engine <name>', 'what trains the model (default: RECSYS_BATCH_ENGINE)').choices([
            ...BATCH_ENGINES,
          ]),
        )
        .option(
          '--threads <n>',
          'worker threads (default: one per core)',
          numberOption('threads', { integer: true, min: 1, max: 256 }),
        ),
    ).action(runOnce),
  );
  return batch;
}

async function runOnce(opts: RunOpts): Promise<void> {
  const loaded = configFrom(opts);
  const config = opts.engine ? { ...loaded, batch: { ...loaded.batch, engine: opts.engine } } : loaded;
  const stores = await openFrom(config);
  const pool = new ComputePool(opts.threads ?? availableParallelism());
  const bar = !opts.json && process.stderr.isTTY ? progressBar() : null;
  try {
    const backend = await resolveBackend(opts.backend ?? config.compute.backend);
    let started: Awaited<ReturnType<typeof startBatchRun>>;
    try {
      started = await startBatchRun(batchDeps(config, stores, { pool, backend }, logger, bar?.update), {
        trigger: 'cli',
      });
    } catch (err) {
      if (err instanceof RunInProgressError) throw new CliError(err.message, 3);
      throw err;
    }
    const outcome = await started.done;
    bar?.stop();
    report(outcome, opts.json ?? false);
    if (outcome.status === 'failed') process.exitCode = 1;
  } finally {
    bar?.stop();
    await pool.destroy();
    await stores.close();
  }
}

function report(o: RunOutcome, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(o)}\n`);
    return;
  }
  const phases = Object.entries(o.phases)
    .map(([name, s]) => `${name} ${s}s`)
    .join(', ');
  process.stdout.write(
    `run ${o.run_id}: ${o.status}${o.model_version ? ` (model ${o.model_version})` : ''}\n`,
  );
  process.stdout.write(`phases: ${phases}\n`);
  const gate = o.metrics.gate as { reason?: string } | undefined;
  if (gate?.reason) process.stdout.write(`gate: ${gate.reason}\n`);
  if (o.error) process.stdout.write(`error: ${o.error}\n`);
}

/** One bar that follows the phases: parts read, then ALS iterations. */
function progressBar() {
  const bar = new cliProgress.SingleBar(
    { format: '{phase} {bar} {value}/{total}', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p: Progress) {
      if (!started) {
        bar.start(p.total ?? 1, p.done ?? 0, { phase: p.phase.padEnd(10) });
        started = true;
      }
      bar.setTotal(p.total ?? 1);
      bar.update(p.done ?? 0, { phase: p.phase.padEnd(10) });
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
