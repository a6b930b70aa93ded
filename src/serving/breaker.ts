/**
 * A small circuit breaker with a per-call timeout, one per store the request path uses
 * (cache, relational store). A dead store must cost a request nothing: after a run of
 * failures the breaker opens and calls fail at once for `cooldownMs`; then one trial call
 * goes through (half-open) and its outcome closes or re-opens the circuit. A QueryError
 * means the server answered (bad statement, constraint): it does not count as an outage.
 */
import { QueryError } from '../stores/errors.js';
import { withTimeout } from '../stores/timeout.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Bound on one call. */
  timeoutMs: number;
  /** Consecutive failures that open the circuit (default 3). */
  failureThreshold?: number;
  /** How long an open circuit refuses calls before a trial (default 1000 ms). */
  cooldownMs?: number;
  onStateChange?: (state: BreakerState, cause?: Error) => void;
}

/** Thrown instead of calling a store whose circuit is open; retrying later may work. */
export class CircuitOpenError extends Error {
  readonly retriable = true;
  constructor(readonly store: string) {
    super(`${store} is unavailable (circuit open after repeated failures)`);
    this.name = 'CircuitOpenError';
  }
}

export class CallTimeoutError extends Error {
  readonly retriable = true;
  constructor(
    readonly store: string,
    readonly ms: number,
  ) {
    super(`${store} did not answer within ${ms} ms`);
    this.name = 'CallTimeoutError';
  }
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private current: BreakerState = 'closed';
  private readonly threshold: number;
  private readonly cooldownMs: number;

  constructor(
    readonly store: string,
    private readonly opts: BreakerOptions,
  ) {
    this.threshold = opts.failureThreshold ?? 3;
    this.cooldownMs = opts.cooldownMs ?? 1000;
  }

  get state(): BreakerState {
    return this.current;
  }

  /** True when a call now would be refused without trying (lets callers skip work). */
  get refusing(): boolean {
    if (this.current === 'closed') return false;
    if (this.current === 'open') return performance.now() - this.openedAt < this.cooldownMs;
    return this.trialInFlight;
  }

  async run<T>(op: () => Promise<T>): Promise<T> {
    let trial = false;
    if (this.current !== 'closed') {
      if (this.refusing) throw new CircuitOpenError(this.store);
      this.setState('half-open');
      this.trialInFlight = true;
      trial = true;
    }
    try {
      const value = await withTimeout(
        op(),
        this.opts.timeoutMs,
        () => new CallTimeoutError(this.store, this.opts.timeoutMs),
      );
      this.failures = 0;
      if (this.current !== 'closed') this.setState('closed');
      return value;
    } catch (err) {
      if (err instanceof QueryError) {
        if (trial) this.setState('closed');
        throw err;
      }
      this.failures++;
      if (trial || this.failures >= this.threshold) {
        this.openedAt = performance.now();
        this.setState('open', err as Error);
      }
      throw err;
    } finally {
      if (trial) this.trialInFlight = false;
    }
  }

  private setState(state: BreakerState, cause?: Error): void {
    if (state === this.current) return;
    this.current = state;
    this.opts.onStateChange?.(state, cause);
  }
}
