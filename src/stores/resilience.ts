/**
 * resilient(kind, store, opts): the same port, with every call bounded by a timeout and
 * guarded by a circuit breaker, for any layer that must not hang on a dead store.
 *
 *   const db = resilient('relational store', stores.db, { timeoutMs: 1000, onStateChange });
 *   await db.query('SELECT 1');   // StoreTimeoutError after 1 s, CircuitOpenError while open
 *   db.circuit.state;             // 'closed' | 'open' | 'half-open', for /readyz and metrics
 *
 * The breaker is cockatiel's `circuitBreaker` with a ConsecutiveBreaker. The bound inside it
 * is withTimeout (timeout.ts), not cockatiel's `timeout`: that one adds a listener to a new
 * AbortSignal on every call, ~45 µs of CPU on Node 20 against ~4 µs, on every L1 and L2 read.
 * After `failureThreshold` outages in a row the circuit opens and calls fail at once for
 * `cooldownMs`; then one trial call goes through (half-open) while the others keep failing
 * at once, and its outcome closes or re-opens the circuit. Outages are
 * timeouts and StoreErrors that mean the store did not answer (unavailable, closed, config);
 * a QueryError or NotFoundError means it did, and an error that is not a StoreError is the
 * caller's own (a transaction callback's), so neither counts. Refusals and timeouts reject
 * with StoreError subclasses naming the store and its address: CircuitOpenError,
 * StoreTimeoutError (both StoreUnavailableError, retriable).
 *
 * What is wrapped, per port (everything else passes straight through):
 *   relational store  query, exec, copyRows, copyBinary, transaction (the whole transaction, not each
 *                     statement of its callback)
 *   cache             get, set, mget, mset, del, publish
 *   event bus         ensureTopic, publish, ping
 *   object store      put, get, exists, list, delete
 * Not wrapped: close() on every port, cache subscribe() (a subscription lives on; the adapter
 * bounds its own connect) and bus consume() (a consumer runs until stopped and retries by
 * itself). A timed-out call is not cancelled (the ports take no signal): the caller stops
 * waiting, the store may still finish it. The timer never keeps the process alive.
 *
 * Cost per call: two closures, a timer and a few promises (~4 µs over the bare call); a
 * refused call costs one error and no timer.
 */
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState as CockatielState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import type { EventBus } from './bus/port.js';
import type { Cache } from './cache/port.js';
import {
  CircuitOpenError,
  NotFoundError,
  QueryError,
  StoreError,
  type StoreName,
  StoreTimeoutError,
} from './errors.js';
import type { ObjectStore } from './objects/port.js';
import type { Queryable, RelationalStore } from './relational/port.js';
import { withTimeout } from './timeout.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface ResilienceOptions {
  /** Bound on one call, ms. */
  timeoutMs: number;
  /** Outages in a row that open the circuit (default 3). */
  failureThreshold?: number;
  /** How long an open circuit refuses calls before one trial call (default 1000 ms). */
  cooldownMs?: number;
  /** Told of every change of state; `cause` is the failure that opened the circuit. */
  onStateChange?: (state: BreakerState, cause?: Error) => void;
}

/** The port behind each store name. */
export interface Ports {
  'relational store': RelationalStore;
  cache: Cache;
  'event bus': EventBus;
  'object store': ObjectStore;
}

/** A wrapped store: the port itself, plus its circuit for readiness and metrics. */
export type Resilient<T> = T & { readonly circuit: Circuit };

/** True for a failure that says the store is not answering (see the header). */
export function isOutage(err: unknown): boolean {
  return err instanceof StoreError && !(err instanceof QueryError || err instanceof NotFoundError);
}

/** One store's timeout and circuit breaker; `call` runs an operation through both. */
export class Circuit {
  private readonly breaker: CircuitBreakerPolicy;
  /** Made once: what a call that ran out of time rejects with. */
  private readonly timedOut: () => StoreTimeoutError;
  private readonly cooldownMs: number;
  private openedAt = 0;
  /** The failure that opened the circuit last, as the caller saw it. */
  private cause: unknown;

  constructor(
    readonly store: StoreName,
    readonly address: string,
    private readonly opts: ResilienceOptions,
  ) {
    this.cooldownMs = opts.cooldownMs ?? 1000;
    this.timedOut = () => new StoreTimeoutError(opts.timeoutMs, { store, address });
    this.breaker = circuitBreaker(handleWhen(isOutage), {
      halfOpenAfter: this.cooldownMs,
      breaker: new ConsecutiveBreaker(opts.failureThreshold ?? 3),
    });
    this.breaker.onStateChange((s) => {
      if (s === CockatielState.Open) {
        this.openedAt = Date.now();
        const failure = this.breaker.lastFailure;
        this.cause = failure && 'error' in failure ? failure.error : undefined;
      }
      opts.onStateChange?.(this.state, s === CockatielState.Open ? (this.cause as Error) : undefined);
    });
  }

  get state(): BreakerState {
    const s = this.breaker.state;
    return s === CockatielState.Closed ? 'closed' : s === CockatielState.HalfOpen ? 'half-open' : 'open';
  }

  /** True when a call now would be refused without trying (lets callers skip work). */
  get refusing(): boolean {
    const s = this.breaker.state;
    if (s === CockatielState.Closed) return false;
    if (s === CockatielState.Open) return Date.now() - this.openedAt < this.cooldownMs;
    return true; // half-open: the trial is in flight (cockatiel would queue the others behind it)
  }

  async call<R>(op: () => Promise<R>): Promise<R> {
    if (this.refusing) throw this.openError();
    try {
      return await this.breaker.execute(() => withTimeout(op(), this.opts.timeoutMs, this.timedOut));
    } catch (err) {
      // Only in a race this class does not run into (refusing is checked first); still typed.
      throw err instanceof BrokenCircuitError ? this.openError() : err;
    }
  }

  private openError(): CircuitOpenError {
    return new CircuitOpenError({ store: this.store, address: this.address, cause: this.cause });
  }
}

/** `store` with its calls bounded and guarded; each call of the result goes through one Circuit. */
export function resilient<K extends StoreName>(
  kind: K,
  store: Ports[K],
  opts: ResilienceOptions,
): Resilient<Ports[K]> {
  const c = new Circuit(kind, store.address, opts);
  const wrap = guards[kind] as (store: Ports[K], c: Circuit) => Resilient<Ports[K]>;
  return wrap(store, c);
}

const guards: { [K in StoreName]: (store: Ports[K], c: Circuit) => Resilient<Ports[K]> } = {
  'relational store': (db, c) => ({
    circuit: c,
    address: db.address,
    query: <R>(sql: string, params?: readonly unknown[]) => c.call(() => db.query<R>(sql, params)),
    exec: (sql) => c.call(() => db.exec(sql)),
    copyRows: (table, columns, rows) => c.call(() => db.copyRows(table, columns, rows)),
    copyBinary: (table, columns, payload) => c.call(() => db.copyBinary(table, columns, payload)),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => c.call(() => db.transaction(fn)),
    tryLock: (name) => c.call(() => db.tryLock(name)),
    close: () => db.close(),
  }),
  cache: (cache, c) => ({
    circuit: c,
    address: cache.address,
    get: (key) => c.call(() => cache.get(key)),
    set: (key, value, ttlMs) => c.call(() => cache.set(key, value, ttlMs)),
    mget: (keys) => c.call(() => cache.mget(keys)),
    mset: (entries) => c.call(() => cache.mset(entries)),
    del: (keys) => c.call(() => cache.del(keys)),
    publish: (channel, message) => c.call(() => cache.publish(channel, message)),
    subscribe: (channel, handler) => cache.subscribe(channel, handler),
    close: () => cache.close(),
  }),
  'event bus': (bus, c) => ({
    circuit: c,
    address: bus.address,
    ensureTopic: (topic) => c.call(() => bus.ensureTopic(topic)),
    publish: (topic, messages) => c.call(() => bus.publish(topic, messages)),
    ping: () => c.call(() => bus.ping()),
    consume: (opts) => bus.consume(opts),
    close: () => bus.close(),
  }),
  'object store': (objects, c) => ({
    circuit: c,
    address: objects.address,
    put: (key, data) => c.call(() => objects.put(key, data)),
    get: (key) => c.call(() => objects.get(key)),
    exists: (key) => c.call(() => objects.exists(key)),
    list: (prefix) => c.call(() => objects.list(prefix)),
    delete: (key) => c.call(() => objects.delete(key)),
    close: () => objects.close(),
  }),
};
