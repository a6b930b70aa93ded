/** The `recsys` command line: one sub-command per file in this folder. */
import { Command, CommanderError } from 'commander';
import { envSetting } from '../config/index.js';
import { batchCommand } from './batch.js';
import { demoDataCommand } from './demo-data.js';
import { CliError } from './errors.js';
import { importCommand } from './import.js';
import { loadtestCommand } from './loadtest.js';
import { migrateCommand } from './migrate.js';
import { recommendCommand } from './recommend.js';
import { schedulerCommand } from './scheduler.js';
import { serveCommand } from './serve.js';
import { simulateCommand } from './simulate.js';
import { startCommand } from './start.js';
import { streamCommand } from './stream.js';
import { trainCommand } from './train.js';

const program = new Command('recsys')
  .description('Real-time recommender: ALS on SIMD WebAssembly and native kernels')
  .showHelpAfterError()
  .exitOverride();

program.addCommand(trainCommand());
program.addCommand(recommendCommand());
program.addCommand(migrateCommand());
program.addCommand(serveCommand());
program.addCommand(startCommand());
program.addCommand(streamCommand());
program.addCommand(demoDataCommand());
program.addCommand(batchCommand());
program.addCommand(schedulerCommand());
program.addCommand(importCommand());
program.addCommand(simulateCommand());
program.addCommand(loadtestCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else if (err instanceof CliError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`error: ${(err as Error).message ?? err}\n`);
    if (envSetting('debug')) process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  }
}
