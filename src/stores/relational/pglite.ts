/** Relational store on PGlite (PostgreSQL compiled to WASM) with its data folder on disk (embedded mode). */
import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { StoreClosedError, StoreConfigError } from '../errors.js';
import { copyChunks, copyTarget } from './copy-text.js';
import { acquireDirLock, type DirLock } from './dir-lock.js';
import type { HeldLock, Queryable, QueryResult, RelationalStore } from './port.js';
import { toRelationalError } from './sql-errors.js';

export interface PgliteOptions {
  /** Data folder; created if missing. One process at a time may open it. */
  dir: string;
}

const INT8 = 20;
const INT8_ARRAY = 1016;
const BYTEA = 17;

// Same JS types as the pg adapter returns (see port.ts): int8 → number, bytea → Buffer.
const parsers = {
  [INT8]: (v: string) => Number(v),
  [INT8_ARRAY]: (v: string) => parseFlatArray(v).map((x) => (x === null ? null : Number(x))),
  [BYTEA]: (v: string) => Buffer.from(v.slice(2), 'hex'),
};

export async function openPglite(opts: PgliteOptions): Promise<RelationalStore> {
  const address = `PGlite at ${opts.dir}`;
  const ctx = { store: 'relational store' as const, address };
  let lock: DirLock | undefined;
  try {
    await mkdir(opts.dir, { recursive: true });
    lock = await acquireDirLock(opts.dir);
    const db = await PGlite.create(opts.dir, { parsers });
    return new PgliteStore(db, lock, address);
  } catch (err) {
    await lock?.release();
    if (err instanceof StoreConfigError) throw err;
    throw new StoreConfigError(`cannot open the database folder: ${(err as Error).message ?? err}`, {
      ...ctx,
      cause: err,
    });
  }
}

class PgliteStore implements RelationalStore {
  private closed = false;
  /** Locks held: this process owns the data folder (dir-lock.ts), so that is every holder. */
  private readonly locks = new Set<string>();

  constructor(
    private readonly db: PGlite,
    private readonly lock: DirLock,
    readonly address: string,
  ) {}

  private ctx() {
    return { store: 'relational store' as const, address: this.address };
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError(this.ctx());
  }

  async query<R>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    this.check();
    return runQuery<R>(this.db, sql, params, this.ctx());
  }

  async exec(sql: string): Promise<void> {
    this.check();
    await runExec(this.db, sql, this.ctx());
  }

  async copyRows(
    table: string,
    columns: readonly string[],
    rows: Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>,
  ): Promise<number> {
    this.check();
    // Several COPY chunks must land together, so they share one transaction.
    try {
      return await this.db.transaction((tx) => copyOn(tx, table, columns, rows));
    } catch (err) {
      throw toRelationalError(err, this.ctx());
    }
  }

  async copyBinary(table: string, columns: readonly string[], payload: Buffer): Promise<void> {
    this.check();
    try {
      await copyBinaryOn(this.db, table, columns, payload);
    } catch (err) {
      throw toRelationalError(err, this.ctx());
    }
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.check();
    const ctx = this.ctx();
    let failedInFn = false;
    try {
      return await this.db.transaction(async (tx) => {
        try {
          return await fn({
            query: (sql, params) => runQuery(tx, sql, params, ctx),
            exec: (sql) => runExec(tx, sql, ctx),
            copyRows: async (table, columns, rows) => {
              try {
                return await copyOn(tx, table, columns, rows);
              } catch (err) {
                throw toRelationalError(err, ctx);
              }
            },
            copyBinary: async (table, columns, payload) => {
              try {
                await copyBinaryOn(tx, table, columns, payload);
              } catch (err) {
                throw toRelationalError(err, ctx);
              }
            },
          });
        } catch (err) {
          failedInFn = true;
          throw err;
        }
      });
    } catch (err) {
      // The caller's own errors pass through unchanged; BEGIN/COMMIT failures are wrapped.
      throw failedInFn ? err : toRelationalError(err, ctx);
    }
  }

  async tryLock(name: string): Promise<HeldLock | null> {
    this.check();
    if (this.locks.has(name)) return null;
    this.locks.add(name);
    return {
      release: async () => {
        this.locks.delete(name);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.db.close();
    } finally {
      await this.lock.release();
    }
  }
}

type Runner = Pick<Transaction, 'query' | 'exec'>;

async function runQuery<R>(
  db: Runner,
  sql: string,
  params: readonly unknown[] | undefined,
  ctx: { store: 'relational store'; address: string },
): Promise<QueryResult<R>> {
  try {
    const res = await db.query<R>(sql, params as unknown[] | undefined);
    return { rows: res.rows, rowCount: res.affectedRows || res.rows.length };
  } catch (err) {
    throw toRelationalError(err, ctx);
  }
}

async function runExec(db: Runner, sql: string, ctx: { store: 'relational store'; address: string }) {
  try {
    await db.exec(sql);
  } catch (err) {
    throw toRelationalError(err, ctx);
  }
}

async function copyOn(
  tx: Runner,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>,
): Promise<number> {
  // PGlite reads COPY input from a Blob mounted at /dev/blob; 8 MiB blobs bound the memory held.
  let total = 0;
  for await (const chunk of copyChunks(rows, columns.length, 8 << 20)) {
    await tx.query(`COPY ${copyTarget(table, columns)} FROM '/dev/blob'`, [], {
      blob: new Blob([new Uint8Array(chunk)]),
    });
    total += countLines(chunk); // one line per row: newlines inside values are escaped
  }
  return total;
}

async function copyBinaryOn(
  tx: Runner,
  table: string,
  columns: readonly string[],
  payload: Buffer,
): Promise<void> {
  await tx.query(`COPY ${copyTarget(table, columns)} FROM '/dev/blob' (FORMAT binary)`, [], {
    blob: new Blob([new Uint8Array(payload)]),
  });
}

function countLines(chunk: Buffer): number {
  let n = 0;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  return n;
}

/** A one-dimensional array literal like {1,NULL,3} → ['1', null, '3'] (int8[] only has plain elements). */
function parseFlatArray(literal: string): (string | null)[] {
  const body = literal.slice(1, -1);
  if (body === '') return [];
  return body.split(',').map((x) => (x === 'NULL' ? null : x));
}
