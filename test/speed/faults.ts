// Fault injection around the real store adapters: each wrapper passes every call through to the
// adapter it wraps, except the one call a test arms, which fails once — before it reaches the
// store, or after the store did it (a process dying between the store's answer and the next step).
import type { Readable } from 'node:stream';
import type { ObjectStore } from '../../src/stores/objects/port.js';
import type { Queryable, QueryResult, RelationalStore } from '../../src/stores/relational/port.js';

type When = 'before' | 'after';

interface Armed<M> {
  match: M;
  when: When | 'corrupt';
  /** Matching calls still to let through before this one fails. */
  skip: number;
}

export class FaultyDb implements RelationalStore {
  readonly address: string;
  private armed: Armed<RegExp>[] = [];

  /** `onQuery` runs before every statement (e.g. to slow them down or watch for overlap). */
  constructor(
    private readonly inner: RelationalStore,
    private readonly onQuery?: () => Promise<void>,
  ) {
    this.address = inner.address;
  }

  /** The `nth` statement matching `match` from now on fails once, `when` it runs. */
  failNext(match: RegExp, when: When, nth = 1): void {
    this.armed.push({ match, when, skip: nth - 1 });
  }

  /** Faults armed that have not fired yet. */
  pending(): number {
    return this.armed.length;
  }

  async query<R = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>> {
    await this.onQuery?.();
    const fault = this.take(sql);
    if (fault === 'before') throw new Error(`injected fault before: ${sql.trim().split('\n')[0]}`);
    const result = await this.inner.query<R>(sql, params);
    if (fault === 'after') throw new Error(`injected fault after: ${sql.trim().split('\n')[0]}`);
    return result;
  }

  private take(sql: string): When | 'corrupt' | null {
    return fire(this.armed, (a) => a.match.test(sql));
  }

  exec(sql: string): Promise<void> {
    return this.inner.exec(sql);
  }

  copyRows(
    table: string,
    columns: readonly string[],
    rows: Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>,
  ): Promise<number> {
    return this.inner.copyRows(table, columns, rows);
  }

  copyBinary(table: string, columns: readonly string[], payload: Buffer): Promise<void> {
    return this.inner.copyBinary(table, columns, payload);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.inner.transaction(fn);
  }

  tryLock(name: string) {
    return this.inner.tryLock(name);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

type ObjectOp = 'put' | 'get' | 'list' | 'delete';

export class FaultyObjects implements ObjectStore {
  readonly address: string;
  private armed: Armed<ObjectOp>[] = [];

  constructor(private readonly inner: ObjectStore) {
    this.address = inner.address;
  }

  /**
   * The `nth` call of `op` from now on fails once: 'before' it reaches the store, 'after' the store
   * did it, or ('corrupt', put only) it stores the object cut in half and reports success.
   */
  failNext(op: ObjectOp, when: When | 'corrupt', nth = 1): void {
    this.armed.push({ match: op, when, skip: nth - 1 });
  }

  pending(): number {
    return this.armed.length;
  }

  private take(op: ObjectOp): When | 'corrupt' | null {
    return fire(this.armed, (a) => a.match === op);
  }

  private async call<T>(op: ObjectOp, key: string, run: () => Promise<T>): Promise<T> {
    const fault = this.take(op);
    if (fault === 'before') throw new Error(`injected fault before ${op} ${key}`);
    const result = await run();
    if (fault === 'after') throw new Error(`injected fault after ${op} ${key}`);
    return result;
  }

  async put(key: string, data: Buffer | Uint8Array | Readable): Promise<void> {
    const i = this.armed.findIndex((a) => a.match === 'put' && a.skip === 0 && a.when === 'corrupt');
    if (i >= 0 && data instanceof Uint8Array) {
      this.armed.splice(i, 1);
      return this.inner.put(key, data.subarray(0, data.length >> 1));
    }
    return this.call('put', key, () => this.inner.put(key, data));
  }

  get(key: string): Promise<Buffer> {
    return this.call('get', key, () => this.inner.get(key));
  }

  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }

  list(prefix?: string): Promise<string[]> {
    return this.call('list', prefix ?? '', () => this.inner.list(prefix));
  }

  delete(key: string): Promise<void> {
    return this.call('delete', key, () => this.inner.delete(key));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The first armed fault that matches: it fires (and is disarmed) unless it still has calls to skip. */
function fire<M>(armed: Armed<M>[], matches: (a: Armed<M>) => boolean): When | 'corrupt' | null {
  const i = armed.findIndex(matches);
  if (i < 0) return null;
  const a = armed[i]!;
  if (a.skip > 0) {
    a.skip--;
    return null;
  }
  armed.splice(i, 1);
  return a.when;
}
