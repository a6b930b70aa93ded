/**
 * The relational store port: PostgreSQL-dialect SQL over PGlite (embedded) or a pg Pool
 * (services). Both adapters return the same JavaScript types for the same columns, so
 * code above the port never branches on the adapter:
 *   int2/int4/int8/float4/float8 → number, numeric → string, bool → boolean,
 *   text/uuid → string, timestamptz → Date, json/jsonb → parsed value,
 *   bytea → Buffer, arrays of these → arrays.
 * Failures are StoreError subclasses (errors.ts): QueryError with the SQLSTATE for a failed
 * statement, StoreUnavailableError when the server is unreachable or went away.
 */

export interface QueryResult<R> {
  rows: R[];
  /** Rows returned or affected (INSERT/UPDATE/DELETE count). */
  rowCount: number;
}

/** Anything that runs statements: the store itself, or an open transaction. */
export interface Queryable {
  /** One statement with $1..$n parameters (extended protocol). */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** A script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Bulk insert: COPY table (columns) FROM STDIN on PostgreSQL, COPY … FROM '/dev/blob' on PGlite.
   * Values follow the same JS → SQL mapping as query parameters (Buffer → bytea, arrays → arrays,
   * plain objects → json). Atomic: either every row is inserted or none. Returns the row count.
   */
  copyRows(
    table: string,
    columns: readonly string[],
    rows: Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>,
  ): Promise<number>;
  /**
   * Bulk insert of a ready COPY (FORMAT binary) payload (copy-binary.ts builds one): COPY table
   * (columns) FROM STDIN (FORMAT binary) on PostgreSQL, from '/dev/blob' on PGlite. Atomic.
   */
  copyBinary(table: string, columns: readonly string[], payload: Buffer): Promise<void>;
}

export interface RelationalStore extends Queryable {
  /** For messages and logs: "PGlite at ./data/pg", "PostgreSQL at 127.0.0.1:5432/recsys". */
  readonly address: string;
  /**
   * Runs fn inside BEGIN … COMMIT; rolls back and rethrows if fn throws. Statements must go
   * through `tx`, not the store (the store may run them on another connection).
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * A named lock held across processes until released or until this process dies (PostgreSQL:
   * a session advisory lock on a connection of its own, so a killed holder frees it at once;
   * PGlite: held in this process, which owns the data folder alone). Null when another holder
   * has it: never waits.
   */
  tryLock(name: string): Promise<HeldLock | null>;
  close(): Promise<void>;
}

export interface HeldLock {
  release(): Promise<void>;
}
