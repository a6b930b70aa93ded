/**
 * The load of `recsys loadtest`: one autocannon instance per endpoint, run side by side, so
 * each has its own latency histogram — GET /v1/recommendations for random users, POST
 * /v1/events batches of random events, and POST /v1/feedback naming answers the reads were
 * served (their rec_id, an item and its position). Each instance sends its share of the
 * target rate for the duration (rate × duration requests, paced by autocannon's overallRate)
 * and is cut at a deadline if the server falls behind; requests then unanswered count as failed.
 */
import autocannon from 'autocannon';

export const ROUTES = {
  recommendations: 'GET /v1/recommendations/:userId',
  events: 'POST /v1/events',
  feedback: 'POST /v1/feedback',
} as const;
export type Endpoint = keyof typeof ROUTES;

export interface LoadOptions {
  base: string;
  apiKey?: string;
  rps: number;
  durationS: number;
  /** Share of the requests that are reads (recommendations), 0..1. */
  readRatio: number;
  connections: number;
  /** Random user ids 1..users for reads and events. */
  users: number;
  /** Items events name. */
  items: string[];
  /** Events per POST /v1/events. */
  batch: number;
  k: number;
  seed: number;
}

export interface EndpointResult {
  route: string;
  target_rps: number;
  connections: number;
  /** Requests planned (rate × the time it ran). */
  planned: number;
  /** Requests that got an answer, any status. */
  answered: number;
  status: Record<string, number>;
  non2xx: number;
  /** Requests with no answer: connection errors and timeouts. */
  errors: number;
  /** Planned requests neither answered nor failed when the deadline cut the run. */
  unfinished: number;
  seconds: number;
  rps: number;
  latency_ms: { p50: number; p90: number; p99: number; max: number; mean: number };
}

export interface LoadProgress {
  elapsedS: number;
  answered: Record<Endpoint, number>;
  failed: Record<Endpoint, number>;
}

interface Served {
  rec_id: string;
  user_id: string;
  items: string[];
}

/** How many served answers feedback picks from (the latest). */
const POOL = 1000;

/** Shares of the target rate, in whole requests per second (autocannon paces per connection). */
export function planRates(rps: number, readRatio: number): Record<Endpoint, number> {
  const reads = Math.round(rps * readRatio);
  const writes = rps - reads;
  // Feedback needs served answers: without reads, every write is an event batch.
  const feedback = reads > 0 ? Math.round(writes / 3) : 0;
  return { recommendations: reads, events: writes - feedback, feedback };
}

export async function runLoad(
  opts: LoadOptions,
  onProgress: (p: LoadProgress) => void,
): Promise<Record<Endpoint, EndpointResult | null>> {
  const rates = planRates(opts.rps, opts.readRatio);
  const active = (Object.keys(rates) as Endpoint[]).filter((e) => rates[e] > 0);
  // Connections in proportion to the rates, at least one each and at most one per request a second.
  const conns = {} as Record<Endpoint, number>;
  for (const e of active)
    conns[e] = Math.max(1, Math.min(rates[e], Math.round((opts.connections * rates[e]) / opts.rps)));
  const answered = { recommendations: 0, events: 0, feedback: 0 };
  const failed = { recommendations: 0, events: 0, feedback: 0 };
  let seed = opts.seed >>> 0 || 1;
  const random = () => {
    // xorshift32: cheap, seeded, good enough to pick users and items.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const pool: Served[] = [];
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.apiKey !== undefined) headers['x-api-key'] = opts.apiKey;

  const requestsOf = (e: Endpoint): autocannon.Request[] => {
    if (e === 'recommendations')
      return [
        {
          method: 'GET',
          setupRequest: (req) => ({
            ...req,
            path: `/v1/recommendations/${1 + Math.floor(random() * opts.users)}?k=${opts.k}`,
          }),
          onResponse: (status, body) => {
            if (status !== 200) return;
            try {
              const a = JSON.parse(body) as { rec_id: string; user_id: string; items: { item_id: string }[] };
              if (a.items.length === 0) return;
              pool.push({ rec_id: a.rec_id, user_id: a.user_id, items: a.items.map((i) => i.item_id) });
              if (pool.length > POOL) pool.shift();
            } catch {}
          },
        },
      ];
    if (e === 'events')
      return [
        {
          method: 'POST',
          path: '/v1/events',
          setupRequest: (req) => ({ ...req, body: JSON.stringify(eventBatch(opts, random, pick)) }),
        },
      ];
    return [
      {
        method: 'POST',
        path: '/v1/feedback',
        setupRequest: (req) => {
          const a = pick(pool);
          const position = Math.floor(random() * a.items.length);
          return {
            ...req,
            // With the user: behind several servers the one that served the answer may not have
            // written its log row yet, and feedback naming its user is recorded all the same.
            body: JSON.stringify({
              rec_id: a.rec_id,
              user_id: a.user_id,
              item_id: a.items[position],
              action: 'click',
              position,
            }),
          };
        },
      },
    ];
  };

  const t0 = Date.now();
  const deadline = t0 + (opts.durationS + Math.max(5, opts.durationS / 2)) * 1000;
  const progress = setInterval(
    () =>
      onProgress({ elapsedS: (Date.now() - t0) / 1000, answered: { ...answered }, failed: { ...failed } }),
    200,
  );
  const instances: autocannon.Instance[] = [];
  const run = async (e: Endpoint): Promise<EndpointResult | null> => {
    if (e === 'feedback') {
      // Feedback names served answers: it starts with the first one (or never, if reads all fail).
      while (pool.length === 0 && Date.now() - t0 < opts.durationS * 1000) await sleep(20);
      if (pool.length === 0) return null;
    }
    // Feedback starts late: its share is for the time left.
    const seconds =
      e === 'feedback' ? Math.max(0, opts.durationS - (Date.now() - t0) / 1000) : opts.durationS;
    const planned = Math.round(rates[e] * seconds);
    if (planned === 0) return null;
    const connections = Math.min(conns[e], planned);
    const started = Date.now();
    let result!: autocannon.Result;
    await new Promise<void>((resolve, reject) => {
      const inst = autocannon(
        {
          url: opts.base,
          connections,
          overallRate: rates[e],
          amount: planned,
          headers,
          requests: requestsOf(e),
          timeout: 10,
        },
        (err, r) => {
          if (err) return reject(err);
          result = r;
          resolve();
        },
      );
      instances.push(inst);
      // The tracker emits (client, status, bytes, ms); the typings leave out the client.
      (inst as NodeJS.EventEmitter).on('response', () => answered[e]++);
      inst.on('reqError', () => failed[e]++);
    });
    const ran = (Date.now() - started) / 1000;
    const status: Record<string, number> = {};
    let got = 0;
    for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) {
      status[code] = s.count ?? 0;
      got += s.count ?? 0;
    }
    return {
      route: ROUTES[e],
      target_rps: rates[e],
      connections,
      planned,
      answered: got,
      status,
      non2xx: result.non2xx,
      errors: result.errors,
      unfinished: Math.max(0, planned - got - result.errors),
      seconds: ran,
      rps: ran > 0 ? got / ran : 0,
      latency_ms: {
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        max: result.latency.max,
        mean: result.latency.mean,
      },
    };
  };
  const cut = setTimeout(() => {
    for (const i of instances) i.stop();
  }, deadline - t0);
  try {
    const results = await Promise.all(
      (['recommendations', 'events', 'feedback'] as Endpoint[]).map((e) =>
        active.includes(e) ? run(e) : null,
      ),
    );
    return { recommendations: results[0]!, events: results[1]!, feedback: results[2]! };
  } finally {
    clearTimeout(cut);
    clearInterval(progress);
    onProgress({ elapsedS: (Date.now() - t0) / 1000, answered: { ...answered }, failed: { ...failed } });
  }
}

const TYPES = ['view', 'view', 'view', 'view', 'view', 'view', 'view', 'click', 'click', 'rating'] as const;

function eventBatch(opts: LoadOptions, random: () => number, pick: <T>(xs: readonly T[]) => T) {
  const out: { user_id: string; item_id: string; type: string; value?: number }[] = [];
  for (let i = 0; i < opts.batch; i++) {
    const type = pick(TYPES);
    out.push({
      user_id: String(1 + Math.floor(random() * opts.users)),
      item_id: pick(opts.items),
      type,
      ...(type === 'rating' ? { value: 1 + Math.floor(random() * 5) } : {}),
    });
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
