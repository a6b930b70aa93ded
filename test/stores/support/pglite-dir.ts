// Fresh PGlite data folders for tests. initdb takes 5-10 s on a small machine, so it runs
// once into a cached template (per PGlite version, reused across test files and runs) and
// each test copies the template instead.
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { loadConfig } from '../../../src/config/index.js';
import { openStores, type Stores } from '../../../src/stores/index.js';
import { tempDir } from '../../helpers.js';

const require = createRequire(import.meta.url);
const version = JSON.parse(
  readFileSync(path.join(path.dirname(require.resolve('@electric-sql/pglite')), '../package.json'), 'utf8'),
).version as string;
const template = path.join(tmpdir(), `recsys-pglite-template-${version}`);

async function ensureTemplate(): Promise<void> {
  if (existsSync(path.join(template, 'PG_VERSION'))) return;
  const building = await mkdtemp(`${template}-building-`);
  const db = await PGlite.create(building);
  await db.close();
  // rename is atomic: a concurrent builder either wins or finds the template in place.
  await rename(building, template).catch(() => rm(building, { recursive: true, force: true }));
}

/** A new, empty (unmigrated) PGlite data folder under `parent`. */
export async function freshPgliteDir(parent: string): Promise<string> {
  await ensureTemplate();
  const dir = path.join(parent, 'pg');
  await cp(template, dir, { recursive: true });
  return dir;
}

/** The embedded stores (PGlite, memory cache, table bus, local folder) in a fresh `parent`, migrated. */
export async function openEmbeddedStores(parent: string): Promise<Stores> {
  await freshPgliteDir(parent);
  return openStores(loadConfig({ env: {}, overrides: { mode: 'embedded', dataDir: parent } }));
}

/**
 * Embedded stores for the enclosing describe(): opened in a fresh temp folder before its tests,
 * closed and removed after them. `dir` is that folder (tests may put their own files in it).
 */
export function embeddedStoresForSuite(prefix?: string): { readonly stores: Stores; readonly dir: string } {
  const tmp = tempDir(prefix);
  let stores: Stores | undefined;
  before(async () => {
    stores = await openEmbeddedStores(tmp.dir);
  });
  after(async () => {
    await stores?.close();
    tmp.cleanup();
  });
  return {
    get stores() {
      if (!stores) throw new Error('embeddedStoresForSuite: the stores open in before()');
      return stores;
    },
    dir: tmp.dir,
  };
}
