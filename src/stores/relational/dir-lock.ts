/**
 * A pid lock file beside PGlite's data folder. PGlite has no lock of its own, and two
 * processes (or two instances in one process) writing the same folder corrupt it.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { StoreConfigError } from '../errors.js';

export interface DirLock {
  release(): Promise<void>;
}

export async function acquireDirLock(dir: string): Promise<DirLock> {
  const file = `${dir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return { release: () => rm(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (pid > 0 && isAlive(pid)) {
        throw new StoreConfigError(
          `the data folder is in use by process ${pid}${pid === process.pid ? ' (this one)' : ''}; ` +
            'embedded mode allows one process per data folder (use services mode to scale out)',
          { store: 'relational store', address: `PGlite at ${dir}` },
        );
      }
      await rm(file, { force: true }); // left behind by a process that died
    }
  }
  throw new StoreConfigError(`cannot take the lock file ${file}`, {
    store: 'relational store',
    address: `PGlite at ${dir}`,
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
