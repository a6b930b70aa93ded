/** Relational store on a PostgreSQL server through a pg Pool (services mode). */
import pg from 'pg';
import { defaultLogger, type Logger } from '../../logger.js';
import { describeUrl } from '../address.js';
import { StoreClosedError } from '../errors.js';
import { copyChunks, copyTarget } from './copy-text.js';
import { CopyFromQuery } from './pg-copy.js';
import type { HeldLock, Queryable, QueryResult, RelationalStore } from './port.js';
import { toRelationalError } from './sql-errors.js';

export interface PostgresOptions {
  url: string;
  /** Bound on opening a connection (TCP + auth); the pool fails the query after it. */
  connectTimeoutMs?: number;
  poolSize?: number;
  /** Schema to work in (tests use a fresh one per run); default: the server's search_path. */
  schema?: string;
  logger?: Logger;
}

type TypeId = Parameters<typeof pg.types.getTypeParser>[0];

const INT8 = 20;
const INT8_ARRAY = 1016;

// int8 (bigserial ids, counts) as number rather than pg's default string, to match PGlite.
const textArray = pg.types.getTypeParser(INT8_ARRAY as TypeId, 'text') as (v: string) => (string | null)[];
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8) return (v: string) => Number(v);
    if (oid === INT8_ARRAY) return (v: string) => textArray(v).map((x) => (x === null ? null : Number(x)));
    return pg.types.getTypeParser(oid as TypeId, format ?? 'text');
  },
} as pg.CustomTypesConfig;

export async function openPostgres(opts: PostgresOptions): Promise<RelationalStore> {
  const store = new PostgresStore(opts);
  try {
    await store.query('SELECT 1');
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

class PostgresStore implements RelationalStore {
  private readonly held = new Set<HeldLock>();
  private readonly schema: string | undefined;
  readonly address: string;
  private readonly pool: pg.Pool;
  private readonly logger: Logger;
  private closed = false;

  constructor(opts: PostgresOptions) {
    if (opts.schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(opts.schema)) {
      throw new TypeError(`schema must be a plain lower-case identifier, got "${opts.schema}"`);
    }
    this.address = describeUrl('PostgreSQL', opts.url) + (opts.schema ? ` schema ${opts.schema}` : '');
    this.logger = opts.logger ?? defaultLogger();
    this.schema = opts.schema;
    this.pool = new pg.Pool({
      connectionString: opts.url,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
      max: opts.poolSize ?? 10,
      keepAlive: true,
      application_name: 'recsys',
      options: opts.schema ? `-c search_path=${opts.schema}` : undefined,
      types,
    });
    // An idle client whose server went away emits 'error'; unhandled, it would crash the process.
    this.pool.on('error', (err) =>
      this.logger.warn({ err, store: this.address }, 'idle PostgreSQL connection lost'),
    );
  }

  private ctx() {
    return { store: 'relational store' as const, address: this.address };
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError(this.ctx());
  }

  async query<R>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    this.check();
    try {
      const res = await this.pool.query(sql, params as unknown[] | undefined);
      return { rows: res.rows as R[], rowCount: res.rowCount ?? res.rows.length };
    } catch (err) {
      throw toRelationalError(err, this.ctx());
    }
  }

  async exec(sql: string): Promise<void> {
    this.check();
    try {
      // No parameters: pg uses the simple protocol, which runs several statements (and returns an array).
      await this.pool.query(sql);
    } catch (err) {
      throw toRelationalError(err, this.ctx());
    }
  }

  copyRows(
    table: string,
    columns: readonly string[],
    rows: Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>,
  ): Promise<number> {
    return this.withClient((client) => clientQueryable(client, this.ctx()).copyRows(table, columns, rows));
  }

  copyBinary(table: string, columns: readonly string[], payload: Buffer): Promise<void> {
    return this.withClient((client) =>
      clientQueryable(client, this.ctx()).copyBinary(table, columns, payload),
    );
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      const tx = clientQueryable(client, this.ctx());
      await tx.exec('BEGIN');
      try {
        const result = await fn(tx);
        await tx.exec('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  async tryLock(lockName: string): Promise<HeldLock | null> {
    this.check();
    // Advisory locks are per database: a schema's stores (tests, side-by-side systems) lock apart.
    const name = `${this.schema ?? ''}:${lockName}`;
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw toRelationalError(err, this.ctx());
    }
    // A lost connection frees the lock on the server; the holder learns of it from the log.
    const onError = (err: Error) =>
      this.logger.warn({ err, store: this.address, lock: name }, 'PostgreSQL connection holding a lock lost');
    client.on('error', onError);
    const done = (broken?: Error) => {
      client.off('error', onError);
      client.release(broken);
    };
    try {
      const { rows } = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock(hashtext($1)::bigint) AS ok',
        [name],
      );
      if (!rows[0]?.ok) {
        done();
        return null;
      }
    } catch (err) {
      done(err as Error);
      throw toRelationalError(err, this.ctx());
    }
    let released = false;
    const lock: HeldLock = {
      release: async () => {
        if (released) return;
        released = true;
        this.held.delete(lock);
        try {
          await client.query('SELECT pg_advisory_unlock(hashtext($1)::bigint)', [name]);
          done();
        } catch (err) {
          // Dropping the connection frees the lock anyway.
          done(err as Error);
        }
      },
    };
    this.held.add(lock);
    return lock;
  }

  /** Checks out one connection for fn, with an error listener while it is out of the pool. */
  private async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.check();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw toRelationalError(err, this.ctx());
    }
    let broken: Error | undefined;
    // pg-pool removes its own listener from checked-out clients; a socket error would then be fatal.
    const onError = (err: Error) => {
      broken = err;
      this.logger.warn({ err, store: this.address }, 'PostgreSQL connection lost during a transaction');
    };
    client.on('error', onError);
    try {
      return await fn(client);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The pool waits for checked-out connections: locks still held go back first.
    await Promise.allSettled([...this.held].map((l) => l.release()));
    await this.pool.end();
  }
}

function clientQueryable(
  client: pg.PoolClient,
  ctx: { store: 'relational store'; address: string },
): Queryable {
  return {
    async query<R>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      try {
        const res = await client.query(sql, params as unknown[] | undefined);
        return { rows: res.rows as R[], rowCount: res.rowCount ?? res.rows.length };
      } catch (err) {
        throw toRelationalError(err, ctx);
      }
    },
    async exec(sql: string): Promise<void> {
      try {
        await client.query(sql);
      } catch (err) {
        throw toRelationalError(err, ctx);
      }
    },
    async copyRows(table, columns, rows) {
      try {
        return await copyOn(client, table, columns, rows);
      } catch (err) {
        throw toRelationalError(err, ctx);
      }
    },
    async copyBinary(table, columns, payload) {
      const copy = new CopyFromQuery(
        `COPY ${copyTarget(table, columns)} FROM STDIN (FORMAT binary)`,
        chunksOf(payload, 1 << 20),
      );
      client.query(copy);
      try {
        await copy.done;
      } catch (err) {
        throw toRelationalError(err, ctx);
      }
    },
  };
}

async function copyOn(
  client: pg.PoolClient,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>,
): Promise<number> {
  const copy = new CopyFromQuery(
    `COPY ${copyTarget(table, columns)} FROM STDIN`,
    copyChunks(rows, columns.length, 1 << 16),
  );
  client.query(copy);
  return copy.done;
}

/** The payload in CopyData-sized pieces (views, no copies). */
async function* chunksOf(payload: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < payload.length; at += size) yield payload.subarray(at, at + size);
}
