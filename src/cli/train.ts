/**
 * `recsys train`: load interactions, train ALS on the compute pool, evaluate on a holdout
 * file or a seeded split, optionally save the model. With --json, one JSON object on stdout.
 */
import { availableParallelism } from 'node:os';
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import { resolveBackend } from '../compute/backends.js';
import type { BackendName } from '../compute/kernels.js';
import { ComputePool } from '../compute/pool.js';
import { type InteractionFormat, loadInteractions } from '../data/loaders.js';
import { type Coo, cooFromTable } from '../data/matrix.js';
import { loadHoldout, randomSplit, selectCoo, timeSplit } from '../data/split.js';
import { type Evaluation, evaluateRanking, evaluateRatings, modelMetrics } from '../model/evaluate.js';
import { fitAls } from '../model/fit.js';
import { type AlsMode, DEFAULT_PARAMS, validateParams } from '../model/params.js';
import { CliError, numberOption } from './errors.js';
import { configFrom } from './stores-option.js';

interface TrainOpts {
  ratings: string;
  format?: InteractionFormat;
  holdout?: string;
  testFraction?: number;
  split: 'random' | 'time';
  mode: AlsMode;
  factors?: number;
  iterations?: number;
  lambda?: number;
  regExponent?: number;
  biasReg?: number;
  alpha?: number;
  cgSteps?: number;
  bias: boolean;
  backend?: BackendName;
  threads?: number;
  seed?: number;
  k: number;
  out?: string;
  json?: boolean;
}

export function trainCommand(): Command {
  return new Command('train')
    .description('train an ALS model from a ratings/interactions file')
    .requiredOption(
      '--ratings <path>',
      'MovieLens u.data / ratings.dat / ratings.csv, CSV with a header, or Parquet',
    )
    .addOption(
      new Option('--format <format>', 'input format (default: from the file name)').choices([
        'movielens',
        'csv',
        'parquet',
      ]),
    )
    .option('--holdout <path>', 'evaluate on this file (same formats)')
    .option(
      '--test-fraction <f>',
      'evaluate on a seeded split of this fraction',
      numberOption('test-fraction', { min: 0, max: 0.99 }),
    )
    .addOption(
      new Option('--split <kind>', 'how --test-fraction splits')
        .choices(['random', 'time'])
        .default('random'),
    )
    .addOption(
      new Option('--mode <mode>', 'explicit ratings or implicit feedback')
        .choices(['explicit', 'implicit'])
        .default('explicit'),
    )
    .option(
      '--factors <n>',
      'latent factors (default 64)',
      numberOption('factors', { integer: true, min: 1, max: 1024 }),
    )
    .option(
      '--iterations <n>',
      'ALS iterations (default 15)',
      numberOption('iterations', { integer: true, min: 1, max: 1000 }),
    )
    .option(
      '--lambda <l>',
      'regularisation (default 0.8 explicit, 15 implicit)',
      numberOption('lambda', { min: 0 }),
    )
    .option(
      '--reg-exponent <p>',
      'explicit penalty λ·n^p per row: 1 is weighted-λ (default 0.6)',
      numberOption('reg-exponent', { min: 0, max: 2 }),
    )
    .option(
      '--bias-reg <r>',
      'explicit bias penalty as a fraction of the factor penalty (default 0.5)',
      numberOption('bias-reg', { min: 0 }),
    )
    .option(
      '--alpha <a>',
      'implicit confidence scale: c = 1 + alpha·value (default 1)',
      numberOption('alpha', { min: 0 }),
    )
    .option(
      '--cg-steps <n>',
      'conjugate-gradient steps per implicit half-step (default 3)',
      numberOption('cg-steps', { integer: true, min: 1, max: 100 }),
    )
    .option('--no-bias', 'explicit mode without user/item biases')
    .addOption(
      new Option(
        '--backend <name>',
        'compute backend (default: RECSYS_BACKEND or the fastest available)',
      ).choices(['native', 'wasm', 'js']),
    )
    .option(
      '--threads <n>',
      'worker threads (default: one per core)',
      numberOption('threads', { integer: true, min: 1, max: 256 }),
    )
    .option('--seed <s>', 'random seed (default 42)', numberOption('seed', { integer: true }))
    .option(
      '--k <k>',
      'cut-off for ranking metrics',
      numberOption('k', { integer: true, min: 1, max: 1000 }),
      10,
    )
    .option('--out <dir>', 'save the model to this folder')
    .option('--json', 'print one JSON object with timings and metrics')
    .action((opts: TrainOpts) => train(opts));
}

async function train(opts: TrainOpts): Promise<void> {
  const config = configFrom({});
  if (opts.holdout && opts.testFraction !== undefined)
    throw new CliError('use either --holdout or --test-fraction, not both', 2);
  const base = DEFAULT_PARAMS[opts.mode];
  const params = validateParams({
    ...base,
    factors: opts.factors ?? base.factors,
    iterations: opts.iterations ?? base.iterations,
    lambda: opts.lambda ?? base.lambda,
    regExponent: opts.regExponent ?? base.regExponent,
    biasReg: opts.biasReg ?? base.biasReg,
    alpha: opts.alpha ?? base.alpha,
    cgSteps: opts.cgSteps ?? base.cgSteps,
    useBias: opts.mode === 'explicit' && opts.bias,
    seed: opts.seed ?? base.seed,
  });
  const backend = await resolveBackend(opts.backend ?? config.compute.backend);
  const threads = opts.threads ?? availableParallelism();

  const all = cooFromTable(await loadInteractions(opts.ratings, opts.format));
  if (all.rows.length === 0) throw new CliError(`${opts.ratings}: no interactions`);
  let train: Coo = all;
  let test: Coo | null = null;
  if (opts.holdout) {
    const holdout = await loadHoldout(opts.holdout, all);
    test = holdout.test;
    if (holdout.dropped.rows > 0 && !opts.json) {
      process.stderr.write(
        `holdout: ${holdout.dropped.rows} interactions with ids unknown to training were skipped\n`,
      );
    }
  } else if (opts.testFraction) {
    const split =
      opts.split === 'time'
        ? timeSplit(all, opts.testFraction)
        : randomSplit(all, opts.testFraction, params.seed);
    train = selectCoo(all, split.train);
    test = selectCoo(all, split.test);
  }

  const pool = new ComputePool(threads);
  try {
    const bar = process.stderr.isTTY
      ? new cliProgress.SingleBar(
          {
            format: 'ALS {bar} {value}/{total} iterations | loss {loss} | {secs}s/it',
            stream: process.stderr,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
    bar?.start(params.iterations, 0, { loss: '-', secs: '-' });
    const t0 = performance.now();
    const { model, iterationSeconds } = await fitAls(train, params, {
      backend,
      pool,
      computeLoss: bar !== null,
      onIteration: (it, secs, loss) =>
        bar?.update(it, { loss: loss?.toFixed(4) ?? '-', secs: secs.toFixed(3) }),
    });
    const trainSeconds = (performance.now() - t0) / 1000;
    bar?.stop();

    let evaluation: Evaluation | null = null;
    if (test) {
      evaluation =
        params.mode === 'explicit'
          ? evaluateRatings(model, test)
          : await evaluateRanking(model, test, opts.k, backend, pool);
    }
    const metrics = evaluation ? modelMetrics(evaluation) : {};
    Object.assign(model.meta.metrics, metrics);
    if (opts.out) await model.save(opts.out);

    const secondsPerIteration = iterationSeconds.reduce((a, b) => a + b, 0) / iterationSeconds.length;
    const summary = {
      backend,
      threads,
      mode: params.mode,
      factors: params.factors,
      iterations: params.iterations,
      users: model.userIds.length,
      items: model.itemIds.length,
      interactions: model.meta.shapes.interactions,
      train_seconds: round(trainSeconds),
      seconds_per_iteration: round(secondsPerIteration),
      ...metrics,
      ...(opts.out ? { model_dir: opts.out, model_version: model.meta.version } : {}),
    };
    if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else
      for (const [key, value] of Object.entries(summary))
        process.stdout.write(`${key.padEnd(22)} ${value}\n`);
  } finally {
    await pool.destroy();
  }
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;
