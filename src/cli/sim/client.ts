/**
 * The HTTP side of `recsys simulate`: one call per method to the serving API, each counted by
 * route, with every failure (network error, timeout, non-2xx answer) recorded — never
 * swallowed — so the live line and the summary can show them.
 */

export interface Answer {
  rec_id: string;
  user_id: string;
  model_version: string | null;
  source: string;
  items: { item_id: string; score: number }[];
}

export interface SimEvent {
  user_id: string;
  item_id: string;
  type: 'view' | 'click' | 'add_to_cart' | 'purchase' | 'rating' | 'dismiss';
  value?: number;
}

export interface Feedback {
  rec_id: string;
  item_id: string;
  action: 'impression' | 'click' | 'add_to_cart' | 'purchase' | 'dismiss' | 'rating';
  position?: number;
  value?: number;
}

/** Requests and failures by route ("GET /v1/recommendations/:userId", …). */
export class RequestStats {
  readonly requests = new Map<string, number>();
  readonly errors = new Map<string, number>();
  /** The latest few distinct error messages, newest last. */
  readonly recentErrors: string[] = [];

  count(route: string): void {
    this.requests.set(route, (this.requests.get(route) ?? 0) + 1);
  }

  fail(route: string, message: string): void {
    this.errors.set(route, (this.errors.get(route) ?? 0) + 1);
    const line = `${route}: ${message}`;
    const i = this.recentErrors.indexOf(line);
    if (i >= 0) this.recentErrors.splice(i, 1);
    this.recentErrors.push(line);
    if (this.recentErrors.length > 5) this.recentErrors.shift();
  }

  get totalRequests(): number {
    return sum(this.requests);
  }

  get totalErrors(): number {
    return sum(this.errors);
  }
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

export class ApiClient {
  constructor(
    readonly base: string,
    private readonly apiKey: string | undefined,
    readonly stats: RequestStats,
    private readonly timeoutMs = 10_000,
  ) {}

  recommendations(user: string, k: number): Promise<Answer | null> {
    return this.call<Answer>(
      'GET /v1/recommendations/:userId',
      `/v1/recommendations/${encodeURIComponent(user)}?k=${k}`,
    );
  }

  popular(k: number, category?: string): Promise<Answer | null> {
    const q = category === undefined ? '' : `&category=${encodeURIComponent(category)}`;
    return this.call<Answer>('GET /v1/items/popular', `/v1/items/popular?k=${k}${q}`);
  }

  events(events: SimEvent[]): Promise<{ event_ids: string[] } | null> {
    return this.call('POST /v1/events', '/v1/events', events);
  }

  feedback(f: Feedback): Promise<{ id: number; rec_id: string } | null> {
    return this.call('POST /v1/feedback', '/v1/feedback', f);
  }

  /** The answer's JSON, or null after recording why there is none. */
  private async call<T>(route: string, path: string, body?: unknown): Promise<T | null> {
    this.stats.count(route);
    const headers: Record<string, string> = {};
    if (this.apiKey !== undefined) headers['x-api-key'] = this.apiKey;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method: body === undefined ? 'GET' : 'POST',
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      this.stats.fail(route, e.cause?.code ?? e.name ?? String(err));
      return null;
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      let detail = text.slice(0, 200);
      try {
        const j = JSON.parse(text) as { error?: { code?: string } };
        if (j.error?.code) detail = j.error.code;
      } catch {}
      this.stats.fail(route, `${res.status} ${detail}`);
      return null;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      this.stats.fail(route, `${res.status} answer is not JSON`);
      return null;
    }
  }
}
