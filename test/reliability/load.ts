// The reliability runs' client: reads, event batches and feedback at a steady rate, plus
// WebSocket subscribers, against one base URL. Unlike `recsys loadtest` (autocannon, which counts
// statuses), it keeps what the checks need: the id of every event it sent (the client sets
// event_id) sorted by what the answer said — accepted (2xx), refused (429, 503: documented, the
// client may resend) or unknown (no answer: the connection broke or timed out, so it may or may
// not have been published) — and, per second, how reads fared.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { API_KEY } from './cluster.js';

export interface LoadOptions {
  base: string;
  /** Requests per second in all (reads, event batches, feedback). */
  rps: number;
  /** Share of the requests that are reads; of the rest a quarter is feedback, the others event batches. */
  readRatio?: number;
  /** Events per POST /v1/events. */
  batch?: number;
  users: number;
  items: string[];
  /** WebSocket clients, each subscribed to one user. */
  subscribers?: number;
  /** Requests in flight at most; above it a tick's requests are skipped and counted. */
  maxInFlight?: number;
  timeoutMs?: number;
}

export interface LoadReport {
  seconds: number;
  requests: number;
  /** `<route> <status>` for every answer, `<route> <error code>` for every failure to get one. */
  outcomes: Record<string, number>;
  events: { sent: number; accepted: number; refused: number; unknown: number; rejected: number };
  ws: { connects: number; pushes: number; drops: number };
  /** Requests not sent because `maxInFlight` were still open. */
  skipped: number;
}

const TYPES = ['view', 'view', 'view', 'view', 'click', 'click', 'add_to_cart', 'rating'] as const;
const REFUSED = new Set([429, 503]);

export class MixedLoad {
  readonly accepted: string[] = [];
  readonly refused: string[] = [];
  readonly unknown: string[] = [];
  readonly outcomes = new Map<string, number>();
  /** Per second since the start: reads answered 200, and reads that got anything else. */
  readonly readsBySecond: Array<{ ok: number; failed: number }> = [];
  private readonly served: Array<{ rec_id: string; user_id: string; items: string[] }> = [];
  private readonly sockets = new Set<WebSocket>();
  private timer: NodeJS.Timeout | null = null;
  private inFlight = new Set<Promise<void>>();
  private owed = 0;
  private last = 0;
  private started = 0;
  private stopped = false;
  private requests = 0;
  private skipped = 0;
  private rejected = 0;
  private ws = { connects: 0, pushes: 0, drops: 0 };
  private readonly o: Required<LoadOptions>;

  constructor(opts: LoadOptions) {
    this.o = { readRatio: 0.7, batch: 10, subscribers: 20, maxInFlight: 128, timeoutMs: 10_000, ...opts };
  }

  get base(): string {
    return this.o.base;
  }

  /** Starts sending; returns at once. */
  start(): void {
    this.started = this.last = Date.now();
    for (let i = 0; i < this.o.subscribers; i++) this.subscribe(String(1 + (i % this.o.users)));
    this.timer = setInterval(() => this.tick(), 10);
  }

  /** The current rate (the soak measures capacity at one rate, then runs at another). */
  setRate(rps: number): void {
    this.o.rps = rps;
  }

  /** Stops sending, waits for the requests in flight, closes the sockets. */
  async stop(): Promise<LoadReport> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.inFlight);
    for (const s of this.sockets) s.terminate();
    const count = (xs: string[]) => xs.length;
    return {
      seconds: (Date.now() - this.started) / 1000,
      requests: this.requests,
      outcomes: Object.fromEntries([...this.outcomes].sort()),
      events: {
        sent: count(this.accepted) + count(this.refused) + count(this.unknown) + this.rejected,
        accepted: count(this.accepted),
        refused: count(this.refused),
        unknown: count(this.unknown),
        rejected: this.rejected,
      },
      ws: { ...this.ws },
      skipped: this.skipped,
    };
  }

  /** Seconds since start. */
  elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }

  private tick(): void {
    const now = Date.now();
    this.owed += ((now - this.last) / 1000) * this.o.rps;
    this.last = now;
    while (this.owed >= 1) {
      this.owed -= 1;
      if (this.inFlight.size >= this.o.maxInFlight) {
        this.skipped++;
        continue;
      }
      const r = Math.random();
      const reads = this.o.readRatio;
      const kind =
        r < reads ? 'read' : r < reads + (1 - reads) / 4 && this.served.length ? 'feedback' : 'events';
      const p = this.send(kind).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  private count(key: string): void {
    this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + 1);
  }

  private second(): { ok: number; failed: number } {
    const s = Math.floor(this.elapsed());
    while (this.readsBySecond.length <= s) this.readsBySecond.push({ ok: 0, failed: 0 });
    return this.readsBySecond[s]!;
  }

  private async send(kind: 'read' | 'events' | 'feedback'): Promise<void> {
    this.requests++;
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;
    const user = () => String(1 + Math.floor(Math.random() * this.o.users));
    let route: string;
    let init: RequestInit;
    let ids: string[] = [];
    if (kind === 'read') {
      route = 'GET /v1/recommendations';
      init = { method: 'GET' };
    } else if (kind === 'events') {
      route = 'POST /v1/events';
      const events = Array.from({ length: this.o.batch }, () => {
        const type = pick(TYPES);
        return {
          event_id: randomUUID(),
          user_id: user(),
          item_id: pick(this.o.items),
          type,
          ...(type === 'rating' ? { value: 1 + Math.floor(Math.random() * 5) } : {}),
        };
      });
      ids = events.map((e) => e.event_id);
      init = { method: 'POST', body: JSON.stringify(events) };
    } else {
      route = 'POST /v1/feedback';
      const a = pick(this.served);
      const position = Math.floor(Math.random() * a.items.length);
      init = {
        method: 'POST',
        body: JSON.stringify({
          rec_id: a.rec_id,
          item_id: a.items[position],
          action: 'click',
          position: position + 1,
          // The documented way to record feedback whose answer's log row was dropped (the
          // database was down when it was served): name the user.
          user_id: a.user_id,
        }),
      };
    }
    const path =
      kind === 'read'
        ? `/v1/recommendations/${user()}?k=10`
        : kind === 'events'
          ? '/v1/events'
          : '/v1/feedback';
    let status: number;
    let text = '';
    try {
      const res = await fetch(this.o.base + path, {
        ...init,
        headers: kind === 'read' ? {} : { 'content-type': 'application/json', 'x-api-key': API_KEY },
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      this.count(`${route} ${e.cause?.code ?? e.name}`);
      if (kind === 'read') this.second().failed++;
      this.unknown.push(...ids);
      return;
    }
    this.count(`${route} ${status}`);
    if (kind === 'read') {
      if (status === 200) {
        this.second().ok++;
        try {
          const a = JSON.parse(text) as {
            rec_id: string;
            user_id: string;
            items: Array<{ item_id: string }>;
          };
          if (a.items.length > 0) {
            this.served.push({ rec_id: a.rec_id, user_id: a.user_id, items: a.items.map((i) => i.item_id) });
            if (this.served.length > 1000) this.served.shift();
          }
        } catch {}
      } else this.second().failed++;
    } else if (kind === 'events') {
      if (status >= 200 && status < 300) this.accepted.push(...ids);
      else if (REFUSED.has(status)) this.refused.push(...ids);
      else this.rejected += ids.length;
    }
  }

  /** A subscriber to `user`'s pushes; it reconnects while the load runs (a server may be killed). */
  private subscribe(user: string): void {
    if (this.stopped) return;
    const ws = new WebSocket(`${this.o.base.replace(/^http/, 'ws')}/v1/stream`);
    this.sockets.add(ws);
    ws.on('open', () => {
      this.ws.connects++;
      ws.send(JSON.stringify({ subscribe: user }));
    });
    ws.on('message', () => this.ws.pushes++);
    ws.on('error', () => {});
    ws.on('close', () => {
      this.sockets.delete(ws);
      if (this.stopped) return;
      this.ws.drops++;
      setTimeout(() => this.subscribe(user), 500);
    });
  }
}
