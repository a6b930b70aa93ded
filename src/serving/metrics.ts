/**
 * Prometheus metrics of one server, in its own registry (two servers in one process, as in
 * the tests, must not share counters). The per-request metrics (latency histogram, request
 * and cache-lookup counters) are plain typed-array slots bound once per label set and
 * exposed through prom-client's registry at scrape time: prom-client's own children hash
 * their labels on every call, which cost more than the whole cached-answer handler.
 */
import { Counter, Gauge, Histogram, type Metric, Registry } from 'prom-client';
import { collectProcessMetrics } from '../process-metrics.js';
import type { BreakerState } from '../stores/resilience.js';

export type CacheLevel = 'l0' | 'l1';

// Fine around 1-2 ms, where the serving targets sit.
const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
  0.25, 0.5, 1, 2.5, 10,
];

export class ServingMetrics {
  readonly registry = new Registry();
  private readonly duration: SlotHistogram;
  private readonly requests: SlotCounter;
  private readonly cacheLookups: SlotCounter;
  private readonly recLogDrops: Record<'queue_full' | 'store_error', CounterSlot>;
  readonly recLogWritten: Counter;
  readonly eventsAccepted: Counter;
  readonly eventsRejected: Counter;
  readonly rateLimited: Counter<'scope'>;
  readonly storeErrors: Counter<'store'>;
  readonly wsPushes: Counter;
  readonly pushFreshness: Histogram;
  readonly wsBackpressure: Counter;
  readonly invalidations: Counter<'kind'>;
  private readonly breakerState: Gauge<'store'>;
  private readonly hits = { l0: [0, 0], l1: [0, 0] } as Record<CacheLevel, [number, number]>;
  private readonly lookupChildren: Record<CacheLevel, [CounterSlot, CounterSlot]>;

  constructor(gauges: {
    recLogQueue: () => number;
    wsConnections: () => number;
    modelVersion: () => string | null;
  }) {
    const registers = [this.registry];
    collectProcessMetrics(this.registry);
    this.duration = new SlotHistogram(
      'recsys_http_request_duration_seconds',
      'Time from request to answer, by route and by where the answer came from (source "-" for non-recommendation routes)',
      LATENCY_BUCKETS,
    );
    this.requests = new SlotCounter('recsys_http_requests_total', 'Answers by route and status code');
    this.cacheLookups = new SlotCounter(
      'recsys_cache_lookups_total',
      'Recommendation cache lookups by level (l0 in-process, l1 shared cache) and result (hit, miss)',
    );
    for (const m of [this.duration, this.requests, this.cacheLookups])
      this.registry.registerMetric(m as unknown as Metric);
    const hits = this.hits;
    new Gauge({
      name: 'recsys_cache_hit_ratio',
      help: 'Hits / lookups since start, by cache level',
      labelNames: ['level'],
      registers,
      collect() {
        for (const level of ['l0', 'l1'] as const) {
          const [hit, miss] = hits[level];
          this.set({ level }, hit + miss === 0 ? 0 : hit / (hit + miss));
        }
      },
    });
    this.lookupChildren = {
      l0: [
        this.cacheLookups.slot({ level: 'l0', result: 'hit' }),
        this.cacheLookups.slot({ level: 'l0', result: 'miss' }),
      ],
      l1: [
        this.cacheLookups.slot({ level: 'l1', result: 'hit' }),
        this.cacheLookups.slot({ level: 'l1', result: 'miss' }),
      ],
    };
    const drops = new SlotCounter(
      'recsys_rec_log_dropped_total',
      'Recommendation log rows dropped: queue_full (more answers than the store takes) or store_error (store down)',
    );
    this.registry.registerMetric(drops as unknown as Metric);
    this.recLogDrops = {
      queue_full: drops.slot({ reason: 'queue_full' }),
      store_error: drops.slot({ reason: 'store_error' }),
    };
    this.recLogWritten = new Counter({
      name: 'recsys_rec_log_written_total',
      help: 'Recommendation log rows written to recommendation_logs',
      registers,
    });
    new Gauge({
      name: 'recsys_rec_log_queue_length',
      help: 'Recommendation log rows waiting to be written',
      registers,
      collect() {
        this.set(gauges.recLogQueue());
      },
    });
    this.eventsAccepted = new Counter({
      name: 'recsys_events_accepted_total',
      help: 'Events published to the event bus',
      registers,
    });
    this.eventsRejected = new Counter({
      name: 'recsys_events_rejected_total',
      help: 'Events refused as invalid (their whole batch is refused)',
      registers,
    });
    this.rateLimited = new Counter({
      name: 'recsys_rate_limited_total',
      help: 'Requests refused with 429, by bucket scope (key, ip, failed_key)',
      labelNames: ['scope'],
      registers,
    });
    this.storeErrors = new Counter({
      name: 'recsys_store_errors_total',
      help: 'Failed or refused store calls on the request path',
      labelNames: ['store'],
      registers,
    });
    this.breakerState = new Gauge({
      name: 'recsys_store_circuit_open',
      help: '1 while the circuit breaker of a store is open or half-open',
      labelNames: ['store'],
      registers,
    });
    new Gauge({
      name: 'recsys_ws_connections',
      help: 'Open WebSocket connections on /v1/stream',
      registers,
      collect() {
        this.set(gauges.wsConnections());
      },
    });
    this.wsPushes = new Counter({
      name: 'recsys_ws_pushes_total',
      help: 'Recommendation updates published to WebSocket subscribers',
      registers,
    });
    this.pushFreshness = new Histogram({
      name: 'recsys_push_freshness_seconds',
      help: 'From the bus accepting an event to the WebSocket push of the recommendations it changed',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 7.5, 10, 15, 30, 60],
      registers,
    });
    this.wsBackpressure = new Counter({
      name: 'recsys_ws_backpressure_drops_total',
      help: 'WebSocket messages not sent because the client did not keep up',
      registers,
    });
    this.invalidations = new Counter({
      name: 'recsys_cache_invalidations_total',
      help: 'Cache invalidations received: user (a user update) or model (a model change)',
      labelNames: ['kind'],
      registers,
    });
    new Gauge({
      name: 'recsys_model_info',
      help: 'The model version being served (value 1)',
      labelNames: ['version'],
      registers,
      collect() {
        this.reset();
        const v = gauges.modelVersion();
        if (v) this.set({ version: v }, 1);
      },
    });
  }

  /**
   * The latency and request-count slots of one route, bound once at registration; per
   * request it costs two small map lookups (by source, by status) and no string building.
   */
  route(name: string): RouteMetrics {
    const bySource = new Map<string, HistogramSlot>();
    const byStatus = new Map<number, CounterSlot>();
    return {
      observe: (source, status, seconds) => {
        let d = bySource.get(source);
        if (!d) {
          d = this.duration.slot({ route: name, source });
          bySource.set(source, d);
        }
        d.observe(seconds);
        let r = byStatus.get(status);
        if (!r) {
          r = this.requests.slot({ route: name, status: String(status) });
          byStatus.set(status, r);
        }
        r.inc();
      },
    };
  }

  recLogDropped(reason: 'queue_full' | 'store_error', rows: number): void {
    this.recLogDrops[reason].inc(rows);
  }

  cacheLookup(level: CacheLevel, hit: boolean): void {
    this.hits[level][hit ? 0 : 1]++;
    this.lookupChildren[level][hit ? 0 : 1].inc();
  }

  breaker(store: string, state: BreakerState): void {
    this.breakerState.set({ store }, state === 'closed' ? 0 : 1);
  }

  private readonly others: Registry[] = [];

  /** Shows another role's registry on this /metrics too (the speed layer in `recsys start`). */
  include(registry: Registry): void {
    this.others.push(registry);
  }

  async render(): Promise<{ body: string; contentType: string }> {
    const bodies = await Promise.all([this.registry, ...this.others].map((r) => r.metrics()));
    return { body: bodies.join('\n'), contentType: this.registry.contentType };
  }
}

export interface RouteMetrics {
  observe(source: string, status: number, seconds: number): void;
}

interface CounterSlot {
  inc(by?: number): void;
}

interface HistogramSlot {
  observe(seconds: number): void;
}

type Labels = Record<string, string>;

/** A counter whose label sets are slots fixed at first use; read by the registry at scrape time. */
class SlotCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly slots: Array<{ labels: Labels; value: number }> = [];

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  slot(labels: Labels): CounterSlot {
    const s = { labels, value: 0 };
    this.slots.push(s);
    return {
      inc(by = 1) {
        s.value += by;
      },
    };
  }

  get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.slots.map((s) => ({ labels: s.labels, value: s.value })),
    };
  }

  reset(): void {
    for (const s of this.slots) s.value = 0;
  }
}

/** A histogram with cumulative buckets computed at scrape time from per-bucket counts. */
class SlotHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly slots: Array<{ labels: Labels; counts: Float64Array; sum: number }> = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {}

  slot(labels: Labels): HistogramSlot {
    const s = { labels, counts: new Float64Array(this.buckets.length + 1), sum: 0 };
    this.slots.push(s);
    const buckets = this.buckets;
    return {
      observe(v: number) {
        let b = 0;
        while (b < buckets.length && v > buckets[b]) b++;
        s.counts[b]++;
        s.sum += v;
      },
    };
  }

  get() {
    const values: Array<{ labels: Labels; value: number; metricName: string }> = [];
    for (const s of this.slots) {
      let cumulative = 0;
      for (let b = 0; b <= this.buckets.length; b++) {
        cumulative += s.counts[b];
        const le = b < this.buckets.length ? String(this.buckets[b]) : '+Inf';
        values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: cumulative, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const s of this.slots) {
      s.counts.fill(0);
      s.sum = 0;
    }
  }
}
