/**
 * `recsys demo-data DIR`: writes a MovieLens-format folder of made-up ratings (u.data, u.item,
 * u.genre, u1..u5 splits) with planted taste structure, so a fresh clone can try
 * `recsys start --import-movielens DIR` and `recsys train` without downloading anything.
 */
import { mkdirSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { writeSyntheticMovieLens } from '../data/synthetic-movielens.js';
import { CliError } from './errors.js';

const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};

export function demoDataCommand(): Command {
  return new Command('demo-data')
    .description('write a synthetic MovieLens-format folder (u.data, u.item, splits) to try recsys on')
    .argument('<dir>', 'folder to write (created if missing)')
    .option('--users <n>', 'users', positive('--users'), 300)
    .option('--items <n>', 'items (at least 40)', positive('--items'), 400)
    .option('--seed <n>', 'seed: the same seed writes the same files', positive('--seed'), 1)
    .action((dir: string, opts: { users: number; items: number; seed: number }) => {
      mkdirSync(dir, { recursive: true });
      let written: ReturnType<typeof writeSyntheticMovieLens>;
      try {
        written = writeSyntheticMovieLens(dir, opts);
      } catch (err) {
        if (err instanceof RangeError) throw new CliError(err.message);
        throw err;
      }
      process.stdout.write(
        `${written.dir}: ${written.ratings} ratings by ${written.users} users of ${written.items} items\n`,
      );
    });
}
