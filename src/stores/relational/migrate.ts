/**
 * Versioned SQL migrations (migrations/NNNN_name.sql), the same files on PGlite and PostgreSQL.
 * Applied versions are recorded in schema_migrations. All pending files run in one transaction
 * under a transaction-scoped advisory lock, so two processes starting at once (several serve
 * processes, say) apply each file exactly once, and a failed file leaves nothing half-done.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreConfigError } from '../errors.js';
import type { RelationalStore } from './port.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  /** File names applied by this call (empty when the schema was already current). */
  applied: string[];
  /** Highest version now recorded. */
  version: number;
}

// Any fixed 64-bit number; it only has to differ from other advisory locks the app takes.
const MIGRATION_LOCK = '7271000001';
const FILE_NAME = /^(\d{4})_[a-z0-9_]+\.sql$/;

/** The repository's migrations/ folder, found by walking up from this module (src/ or dist/src/). */
export function defaultMigrationsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'migrations');
    if (existsSync(candidate) && existsSync(path.join(dir, 'package.json'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('migrations/ folder not found above the stores module');
    dir = parent;
  }
}

export async function loadMigrations(dir = defaultMigrationsDir()): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const name of files) {
    const match = FILE_NAME.exec(name);
    if (!match) throw new Error(`migration file name must look like 0001_name.sql: ${name}`);
    const sql = await readFile(path.join(dir, name), 'utf8');
    const version = Number(match[1]);
    if (migrations.some((m) => m.version === version))
      throw new Error(`two migrations with version ${version}`);
    migrations.push({ version, name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return migrations;
}

export async function migrate(db: RelationalStore, opts: { dir?: string } = {}): Promise<MigrateResult> {
  const migrations = await loadMigrations(opts.dir);
  return db.transaction(async (tx) => {
    // Taken before anything else, so even the CREATE TABLE below cannot race.
    await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await tx.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const done = new Map(rows.map((r) => [r.version, r]));
    for (const m of migrations) {
      const prior = done.get(m.version);
      if (prior && prior.checksum !== m.checksum) {
        throw new StoreConfigError(
          `migration ${m.name} was changed after it was applied (as ${prior.name}); add a new migration instead`,
          { store: 'relational store', address: db.address },
        );
      }
    }
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        m.checksum,
      ]);
      applied.push(m.name);
    }
    const version = Math.max(0, ...rows.map((r) => r.version), ...migrations.map((m) => m.version));
    return { applied, version };
  });
}
