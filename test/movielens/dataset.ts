// The real MovieLens 100K for the opt-in suite (`npm run test:movielens`): the folder named by
// RECSYS_ML100K_DIR, checked before any test runs. Unset or wrong, every file of the suite
// fails with the reason; nothing is skipped. (Its licence forbids copying it into the repo.)
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const FILES: Record<string, number> = {
  'u.data': 100000,
  'u.item': 1682,
  'u1.base': 80000,
  'u1.test': 20000,
};

function lineCount(file: string): number {
  const bytes = readFileSync(file);
  let n = 0;
  for (const b of bytes) if (b === 0x0a) n++;
  return bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a ? n + 1 : n;
}

/** The MovieLens 100K folder, or an Error that says what is missing or wrong. */
export function ml100kDir(): string {
  const dir = process.env.RECSYS_ML100K_DIR;
  if (!dir) {
    throw new Error(
      'RECSYS_ML100K_DIR is not set: the MovieLens suite needs your copy of MovieLens 100K ' +
        '(https://grouplens.org/datasets/movielens/100k/), e.g. ' +
        'RECSYS_ML100K_DIR=/path/to/ml-100k npm run test:movielens',
    );
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new Error(`RECSYS_ML100K_DIR=${dir}: no such folder (give the ml-100k folder holding u.data)`);
  for (const [name, rows] of Object.entries(FILES)) {
    const file = path.join(dir, name);
    if (!existsSync(file)) throw new Error(`RECSYS_ML100K_DIR=${dir}: ${name} is missing; is this ml-100k?`);
    const n = lineCount(file);
    if (n !== rows)
      throw new Error(`RECSYS_ML100K_DIR=${dir}: ${name} has ${n} lines, MovieLens 100K's has ${rows}`);
  }
  return path.resolve(dir);
}
