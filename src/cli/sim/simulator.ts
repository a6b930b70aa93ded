/**
 * Simulated users for `recsys simulate`: each has favourite categories (preferences.ts) and,
 * one step at a time, looks down the list the server last served it (fetched with GET
 * /v1/recommendations, or pushed on WS /v1/stream for subscribed users), clicks an item with a
 * chance that grows with its liking for the item and shrinks with the position (feedback with
 * the answer's rec_id and position, and a click event), sometimes buys or rates what it clicked,
 * and otherwise browses: a view of an item of a category it likes. Steps are paced so that
 * about `rate` events a second are sent in all.
 */
import WebSocket from 'ws';
import { Rng } from '../../compute/random.js';
import type { Answer, ApiClient, Feedback, SimEvent } from './client.js';
import { type Catalog, clickProbability, preference } from './preferences.js';

export interface SimulatorOptions {
  /** Users 1..users. */
  users: number;
  /** Events per second in all. */
  rate: number;
  /** Share of the users subscribed on WS /v1/stream (0..1). */
  subscribeFraction: number;
  /** Items asked for per recommendation. */
  k: number;
  seed: number;
  /** Bound on steps in flight, so a slow server slows the simulation instead of piling up requests. */
  maxInFlight?: number;
}

export interface SimulatorCounts {
  events: number;
  eventsByType: Record<SimEvent['type'], number>;
  /** Answers received: GET answers and pushes. */
  answers: number;
  pushes: number;
  /** Items in the answers received (impressions). */
  served: number;
  clicks: number;
  /** Clicks on an item of the user's first or second favourite category. */
  favouriteClicks: number;
  feedback: number;
  subscribed: number;
  wsConnections: number;
}

interface UserState {
  answer: Answer | null;
  /** Next position of `answer` the user looks at. */
  pos: number;
}

/** Users one WebSocket connection subscribes (the server allows 100). */
const USERS_PER_SOCKET = 100;
/** Served items a user looks at in one step (it stops at a click). */
const ITEMS_PER_STEP = 3;

export class Simulator {
  readonly counts: SimulatorCounts = {
    events: 0,
    eventsByType: { view: 0, click: 0, add_to_cart: 0, purchase: 0, rating: 0, dismiss: 0 },
    answers: 0,
    pushes: 0,
    served: 0,
    clicks: 0,
    favouriteClicks: 0,
    feedback: 0,
    subscribed: 0,
    wsConnections: 0,
  };
  private readonly rng: Rng;
  private readonly state: UserState[];
  private readonly sockets: WebSocket[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  /** Events sent or reserved by steps under way. */
  private planned = 0;
  private startedAt = 0;
  private stopping = false;

  constructor(
    private readonly api: ApiClient,
    private readonly catalog: Catalog,
    private readonly tastes: string[][],
    private readonly opts: SimulatorOptions,
    private readonly apiKey?: string,
  ) {
    this.rng = new Rng(opts.seed);
    this.state = Array.from({ length: opts.users }, () => ({ answer: null, pos: 0 }));
  }

  get elapsedMs(): number {
    return this.startedAt === 0 ? 0 : Date.now() - this.startedAt;
  }

  /** Opens the WebSocket subscriptions, then starts the steps. */
  async start(): Promise<void> {
    await this.subscribe();
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.tick(), 20);
  }

  /** Stops starting steps, waits for those under way, closes the sockets. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight]);
    await Promise.all(
      this.sockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once('close', () => resolve());
            ws.close();
            setTimeout(() => {
              ws.terminate();
              resolve();
            }, 1000).unref();
          }),
      ),
    );
  }

  private tick(): void {
    if (this.stopping) return;
    const target = (this.opts.rate * this.elapsedMs) / 1000;
    const max = this.opts.maxInFlight ?? 64;
    while (this.planned < target && this.inFlight.size < max) {
      this.planned += 1; // reserved for the step's first event
      const p: Promise<void> = this.step(this.rng.int(this.opts.users)).finally(() =>
        this.inFlight.delete(p),
      );
      this.inFlight.add(p);
    }
  }

  private async step(u: number): Promise<void> {
    const user = String(u + 1);
    const st = this.state[u]!;
    const tastes = this.tastes[u] ?? [];
    if (!st.answer || st.pos >= st.answer.items.length) {
      const a = await this.api.recommendations(user, this.opts.k);
      if (a) this.received(u, a);
    }
    const events: SimEvent[] = [];
    const feedback: Feedback[] = [];
    const a = st.answer;
    let clicked = false;
    // The user looks down the list from where it stopped, a few items a step, up to a click.
    for (let seen = 0; a && seen < ITEMS_PER_STEP && st.pos < a.items.length && !clicked; seen++) {
      const pos = st.pos++;
      const item = a.items[pos]!.item_id;
      const pref = preference(tastes, this.catalog.categoryOf.get(item));
      if (this.rng.next() >= clickProbability(pref, pos)) continue;
      clicked = true;
      this.counts.clicks++;
      if (pref >= 0.6) this.counts.favouriteClicks++;
      events.push({ user_id: user, item_id: item, type: 'click' });
      feedback.push({ rec_id: a.rec_id, item_id: item, action: 'click', position: pos });
      if (this.rng.next() < 0.3 * pref) {
        events.push({ user_id: user, item_id: item, type: 'purchase' });
        feedback.push({ rec_id: a.rec_id, item_id: item, action: 'purchase', position: pos });
      } else if (this.rng.next() < 0.4) {
        const value = this.rating(pref);
        events.push({ user_id: user, item_id: item, type: 'rating', value });
        feedback.push({ rec_id: a.rec_id, item_id: item, action: 'rating', position: pos, value });
      }
    }
    if (!clicked) {
      const browsed = this.browse(tastes);
      if (browsed !== undefined) events.push({ user_id: user, item_id: browsed, type: 'view' });
    }
    // The first event was reserved when the step started; a step with none gives it back.
    this.planned += events.length - 1;
    const sends: Promise<unknown>[] = [];
    if (events.length > 0)
      sends.push(
        this.api.events(events).then((r) => {
          if (!r) return;
          this.counts.events += events.length;
          for (const e of events) this.counts.eventsByType[e.type]++;
        }),
      );
    for (const f of feedback)
      sends.push(
        this.api.feedback(f).then((r) => {
          if (r) this.counts.feedback++;
        }),
      );
    await Promise.all(sends);
  }

  /** An item of a category the user likes (first favourite most often), popular ones likelier. */
  private browse(tastes: readonly string[]): string | undefined {
    const r = this.rng.next();
    const category = r < 0.55 ? tastes[0] : r < 0.85 ? tastes[1] : undefined;
    const list = (category !== undefined && this.catalog.items.get(category)) || this.catalog.all;
    if (list.length === 0) return undefined;
    return list[Math.floor(list.length * this.rng.next() ** 2)];
  }

  private rating(pref: number): number {
    const base = pref >= 1 ? 5 : pref >= 0.6 ? 4 : 2;
    return Math.max(1, Math.min(5, base - (this.rng.next() < 0.3 ? 1 : 0)));
  }

  private received(u: number, a: Answer): void {
    this.counts.answers++;
    this.counts.served += a.items.length;
    this.state[u] = { answer: a, pos: 0 };
  }

  private async subscribe(): Promise<void> {
    const n = Math.round(this.opts.users * Math.min(1, Math.max(0, this.opts.subscribeFraction)));
    if (n === 0) return;
    // Which users: a seeded sample, so the same seed subscribes the same ones.
    const order = Array.from({ length: this.opts.users }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const chosen = order.slice(0, n);
    const url = `${this.api.base.replace(/^http/, 'ws')}/v1/stream`;
    const route = 'WS /v1/stream';
    for (let i = 0; i < chosen.length; i += USERS_PER_SOCKET) {
      const users = chosen.slice(i, i + USERS_PER_SOCKET);
      const stats = this.api.stats;
      stats.count(route);
      const ws = new WebSocket(url, { headers: this.apiKey ? { 'x-api-key': this.apiKey } : {} });
      const opened = await new Promise<boolean>((resolve) => {
        ws.once('open', () => resolve(true));
        ws.once('unexpected-response', (_req, res) => {
          stats.fail(route, `${res.statusCode} on upgrade`);
          resolve(false);
        });
        ws.once('error', (err) => {
          stats.fail(route, (err as Error & { code?: string }).code ?? err.message);
          resolve(false);
        });
      });
      if (!opened) {
        ws.terminate();
        continue;
      }
      this.sockets.push(ws);
      this.counts.wsConnections++;
      ws.on('error', (err) => stats.fail(route, err.message));
      ws.on('close', (code) => {
        this.counts.wsConnections--;
        if (!this.stopping) stats.fail(route, `closed by the server (${code})`);
      });
      ws.on('message', (data) => this.onMessage(data.toString('utf8')));
      for (const user of users) ws.send(JSON.stringify({ subscribe: String(user + 1) }));
    }
  }

  private onMessage(text: string): void {
    let m: {
      type?: string;
      subscribed?: string;
      error?: { code: string; message: string };
    } & Partial<Answer>;
    try {
      m = JSON.parse(text);
    } catch {
      this.api.stats.fail('WS /v1/stream', 'a message that is not JSON');
      return;
    }
    if (m.subscribed !== undefined) {
      this.counts.subscribed++;
    } else if (m.error) {
      this.api.stats.fail('WS /v1/stream', `${m.error.code}: ${m.error.message}`);
    } else if (m.type === 'recommendations' && m.user_id !== undefined && Array.isArray(m.items)) {
      const u = Number(m.user_id) - 1;
      this.counts.pushes++;
      if (Number.isInteger(u) && u >= 0 && u < this.state.length) this.received(u, m as Answer);
    }
  }
}
