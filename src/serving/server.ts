/**
 * startServer: the serving role on uWebSockets.js. Wires the stores, the active model and
 * the caches into the routes, follows invalidations (user updates on the cache's pub/sub,
 * model changes from ActiveModel), and listens. The caller owns the stores and the
 * ActiveModel (started or not) and closes them after close().
 *
 *   const server = await startServer({ config, stores, models, logger, backend }, { port: 8080 });
 *   …
 *   await server.close();
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Registry } from 'prom-client';
import { AnalyticsGauges, AnalyticsJob, type AnalyticsJobOptions } from '../analytics/index.js';
import type { BackendName } from '../compute/kernels.js';
import type { RecsysConfig } from '../config/index.js';
import { MAX_ID_LENGTH, parseUserUpdates, USER_UPDATES_CHANNEL } from '../events/index.js';
import type { Logger } from '../logger.js';
import type { ActiveModel, LoadedModel } from '../model/active.js';
import type { StoreName } from '../stores/errors.js';
import type { Stores } from '../stores/index.js';
import { type Ports, resilient } from '../stores/resilience.js';
import { AnswerWriter } from './answer-writer.js';
import { ApiKeys } from './api-keys.js';
import { Catalog } from './catalog.js';
import type { BatchStarter, Serving } from './context.js';
import { CorsPolicy } from './cors.js';
import { HttpKit } from './http.js';
import { L0Cache } from './l0-cache.js';
import { L1Cache } from './l1-cache.js';
import { L2Store } from './l2-store.js';
import { ServingMetrics } from './metrics.js';
import { ModelView } from './model-view.js';
import { PopularItems } from './popular.js';
import type { ListQuery } from './query.js';
import { FAILED_KEY_BURST, FAILED_KEYS_PER_SECOND, RateLimiter } from './rate-limit.js';
import { RecIds } from './rec-ids.js';
import { RecLog, type RecLogOptions } from './rec-log.js';
import { Recommender } from './recommender.js';
import { adminRoutes } from './routes/admin.js';
import { analyticsRoutes } from './routes/analytics.js';
import { eventRoutes } from './routes/events.js';
import { feedbackRoutes } from './routes/feedback.js';
import { itemRoutes } from './routes/items.js';
import { opsRoutes } from './routes/ops.js';
import { recommendationRoutes } from './routes/recommendations.js';
import { compileValidators } from './schemas.js';
import { Stream } from './stream.js';
import { loadUws, type us_listen_socket } from './uws.js';

/** uWS' ListenOptions.LIBUS_LISTEN_EXCLUSIVE_PORT (an enum of the typings, not exported by the binary's typings as a value). */
const LISTEN_EXCLUSIVE_PORT = 1;

/** What a push holds when serving scores it: the default list, as GET /v1/recommendations/:user gives. */
const PUSH_QUERY: Readonly<ListQuery> = { k: 10, excludeSeen: true, category: null, exclude: [] };

export interface ServerDeps {
  config: RecsysConfig;
  stores: Stores;
  /** The model to serve; the server follows its changes (and clears L0 on each). */
  models: ActiveModel;
  /** pino logger (or anything with its error/warn/info/debug). */
  logger: Logger;
  /** Kernels for fold-in and similar-items scoring. */
  backend: BackendName;
  /** Starts batch runs; POST /v1/admin/train answers 501 without it. */
  batch?: BatchStarter;
}

export interface ServerOptions {
  /** 0 picks a free port (see RunningServer.port). */
  port: number;
  /** Address to bind (default 127.0.0.1; "0.0.0.0" for every interface). */
  host?: string;
  /**
   * Share the port with other listeners (SO_REUSEPORT, uWS' default) or refuse one in use
   * (default: the configuration's serving.reusePort).
   */
  reusePort?: boolean;
  /** Background refresh periods, ms (defaults: popular items 10 s, catalog 60 s). */
  refresh?: { popularMs?: number; catalogMs?: number };
  recLog?: RecLogOptions;
  /** Candidates kept per user in L1 for filtering (default 100). */
  candidates?: number;
  /** Overrides of the analytics job's interval and gauge window (tests). */
  analytics?: Partial<AnalyticsJobOptions>;
  /** Other roles' metrics to show on /metrics (the speed layer, when it runs in this process). */
  metrics?: Registry[];
}

export interface RunningServer {
  port: number;
  /** The analytics job (runs on its interval; `runOnce()` for a pass now). */
  analytics: AnalyticsJob;
  /** Writes the queued recommendation log rows now. */
  flushLog(): Promise<void>;
  /** Stops listening, closes connections, writes queued log rows. Leaves stores and model open. */
  close(): Promise<void>;
}

/** The port could not be bound: in use (by anyone, or by a listener that does not share), or not available. */
export class PortUnavailableError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
    reusePort: boolean,
  ) {
    super(
      `cannot listen on ${host}:${port}: the port is in use or not available` +
        (reusePort
          ? ' (port sharing is on, so it is held by something that does not share it)'
          : ' (another process listens there; pick another --port, or set RECSYS_REUSE_PORT=true to share it with other `recsys serve` on the same stores)'),
    );
    this.name = 'PortUnavailableError';
  }
}

export async function startServer(deps: ServerDeps, opts: ServerOptions): Promise<RunningServer> {
  const uws = loadUws();
  const { stores, logger } = deps;
  const cfg = deps.config.serving;
  let view: ModelView | null = null;
  // Assigned below; the metrics' gauges only read them when scraped.
  let recLog: RecLog | undefined;
  let stream: Stream | undefined;
  const metrics = new ServingMetrics({
    recLogQueue: () => recLog?.queued ?? 0,
    wsConnections: () => stream?.connections ?? 0,
    modelVersion: () => view?.version ?? null,
  });
  for (const r of opts.metrics ?? []) metrics.include(r);
  // Each store the request path uses, behind a per-call timeout and a circuit breaker.
  const guard = <K extends StoreName>(label: string, kind: K, store: Ports[K], timeoutMs: number) =>
    resilient(kind, store, {
      timeoutMs,
      onStateChange: (state, err) => {
        metrics.breaker(label, state);
        if (state === 'open') logger.warn({ store: kind, err }, `${kind}: circuit open, degrading`);
        else if (state === 'closed') logger.info({ store: kind }, `${kind}: circuit closed, store back`);
      },
    });
  const guarded = {
    db: guard('db', 'relational store', stores.db, cfg.storeTimeoutMs),
    cache: guard('cache', 'cache', stores.cache, cfg.storeTimeoutMs),
    // A durable publish (acks=all) legitimately takes longer than a read.
    bus: guard('bus', 'event bus', stores.bus, Math.max(5000, cfg.storeTimeoutMs)),
  };
  // Log writes get their own circuit: slow bulk inserts must not cut the request path off the store.
  const logDb = guard('db_log', 'relational store', stores.db, Math.max(5000, cfg.storeTimeoutMs));

  const catalog = new Catalog(guarded.db, logger);
  const popular = new PopularItems(guarded.db, () => view, logger, deps.config.speed.popularHalfLifeHours);
  const l0 = new L0Cache(cfg.l0Size, cfg.l0TtlMs);
  const l1 = new L1Cache(guarded.cache, metrics, cfg.l1TtlMs);
  const recommender = new Recommender({
    l0,
    l1,
    l2: new L2Store(guarded.db),
    catalog,
    popular,
    metrics,
    view: () => view,
    candidates: opts.candidates ?? 100,
  });
  recLog = new RecLog(logDb, metrics, logger, opts.recLog);
  const analyticsCfg = { ...deps.config.analytics, ...opts.analytics };
  const analytics = new AnalyticsJob(
    stores.db,
    new AnalyticsGauges(metrics.registry, analyticsCfg.windowHours),
    logger,
    analyticsCfg,
  );
  const keys = new ApiKeys(cfg.apiKeys);
  if (!keys.enabled)
    logger.warn(
      {},
      'RECSYS_API_KEYS is not set: events, feedback and admin endpoints accept requests without a key',
    );

  const app = uws.App();
  stream = new Stream(app, uws, metrics, !cfg.publicReads, recLog);
  const recIds = new RecIds();
  const serving: Serving = {
    config: cfg,
    stores: guarded,
    raw: stores,
    circuits: {
      db: guarded.db.circuit,
      cache: guarded.cache.circuit,
      bus: guarded.bus.circuit,
      db_log: logDb.circuit,
    },
    models: deps.models,
    logger,
    metrics,
    l0,
    catalog,
    popular,
    recommender,
    recLog,
    analytics,
    recIds,
    answers: new AnswerWriter(recIds),
    validators: compileValidators(),
    stream,
    view: () => view,
    batch: deps.batch,
    interactionsTopic: deps.config.bus.topic,
  };

  // Model changes: a new view, and every cached answer of the old model goes.
  const useModel = (loaded: LoadedModel) => {
    view = new ModelView(loaded, deps.backend, catalog);
    l0.clear();
    metrics.invalidations.inc({ kind: 'model' });
    logger.info({ version: view.version }, 'serving model');
  };
  const current = deps.models.current();
  if (current) useModel(current);
  const offModel = deps.models.onChange(useModel);

  // User updates: drop the users' cached answers here and in L1 (one round trip per
  // message), push to subscribers.
  const onUpdate = (raw: string) => {
    const updates = parseUserUpdates(raw);
    if (!updates) {
      logger.warn({ channel: USER_UPDATES_CHANNEL }, 'ignored a malformed user update message');
      return;
    }
    const dropped = l1.drop(updates.map((u) => u.user_id));
    for (const update of updates) {
      l0.dropUser(update.user_id);
      metrics.invalidations.inc({ kind: 'user' });
      if (update.items.length > 0) stream?.push(update);
      else if (stream?.subscribed(update.user_id)) {
        // The profile changed and someone listens: score it here (only for them) and push.
        void dropped
          .then(() => recommender.resolve(update.user_id, PUSH_QUERY))
          .then((r) =>
            stream?.push({ ...update, items: r.items, scores: r.scores, model_version: r.modelVersion }),
          )
          .catch((err) => logger.warn({ err, user: update.user_id }, 'could not score a pushed update'));
      }
    }
  };
  const subscription: { off: (() => Promise<void>) | null } = { off: null };
  let retry: NodeJS.Timeout | null = null;
  let closed = false;
  const subscribe = async () => {
    try {
      subscription.off = await stores.cache.subscribe(USER_UPDATES_CHANNEL, onUpdate);
    } catch (err) {
      if (closed) return;
      // Until subscribed, L0 entries only expire by TTL; keep trying.
      logger.warn({ err }, 'cannot subscribe to user updates yet; retrying');
      retry = setTimeout(() => void subscribe(), 2000);
      retry.unref();
    }
  };

  const stopBackground = () => {
    closed = true;
    if (retry) clearTimeout(retry);
    offModel();
    catalog.stop();
    popular.stop();
  };
  try {
    await Promise.all([
      subscribe(),
      catalog.start(opts.refresh?.catalogMs ?? 60_000),
      popular.start(opts.refresh?.popularMs ?? 10_000),
    ]);
    recLog.start();
    analytics.start();

    const kit = new HttpKit({
      app,
      metrics,
      logger,
      keys,
      keyLimiter: new RateLimiter(cfg.rateLimit, cfg.rateBurst),
      ipLimiter: new RateLimiter(cfg.ipRateLimit, Math.max(1, 2 * cfg.ipRateLimit)),
      failedKeyLimiter: new RateLimiter(FAILED_KEYS_PER_SECOND, FAILED_KEY_BURST),
      trustedProxies: cfg.trustedProxies,
      cors: new CorsPolicy(cfg.corsOrigins),
      publicReads: cfg.publicReads,
      maxBodyBytes: cfg.maxBodyBytes,
      maxIdLength: MAX_ID_LENGTH,
    });
    recommendationRoutes(kit, serving);
    itemRoutes(kit, serving);
    eventRoutes(kit, serving);
    feedbackRoutes(kit, serving);
    analyticsRoutes(kit, serving);
    adminRoutes(kit, serving);
    opsRoutes(kit, serving, packageVersion());
    stream.register('/v1/stream', kit);
    kit.rememberUpgrade('/v1/stream');
    kit.fallbacks();
  } catch (err) {
    stopBackground();
    await subscription.off?.().catch(() => undefined);
    await recLog.close();
    await analytics.close();
    throw err;
  }

  const host = opts.host ?? '127.0.0.1';
  const reusePort = opts.reusePort ?? cfg.reusePort;
  // uWS binds with SO_REUSEPORT unless told LIBUS_LISTEN_EXCLUSIVE_PORT: without it a second
  // unrelated server on this port would silently get half the connections. The native
  // listen takes (host, port, options, cb), though the typings only list (port, options, cb).
  const listen = app.listen as unknown as (
    host: string,
    port: number,
    options: number,
    cb: (token: us_listen_socket | false) => void,
  ) => void;
  const token = await new Promise<us_listen_socket | false>((resolve) =>
    listen.call(app, host, opts.port, reusePort ? 0 : LISTEN_EXCLUSIVE_PORT, resolve),
  );
  if (!token) {
    stopBackground();
    await subscription.off?.().catch(() => undefined);
    await recLog.close();
    await analytics.close();
    throw new PortUnavailableError(host, opts.port, reusePort);
  }
  const port = uws.us_socket_local_port(token as never);
  logger.info({ host, port }, 'serving');

  let closing: Promise<void> | null = null;
  return {
    port,
    analytics,
    flushLog: () => recLog?.flush() ?? Promise.resolve(),
    close() {
      closing ??= (async () => {
        uws.us_listen_socket_close(token);
        stream?.closeAll();
        stopBackground();
        await subscription.off?.().catch(() => undefined);
        await recLog?.close();
        await analytics.close();
        // Keep-alive HTTP connections would otherwise stay open (and keep the process alive).
        (app as unknown as { close?: () => void }).close?.();
      })();
      return closing;
    },
  };
}

/** The version in package.json, for /openapi.json (found from this file in src/ or dist/src/). */
function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'recsys' && pkg.version) return pkg.version;
      } catch {
        // not ours; keep looking
      }
    }
    dir = path.dirname(dir);
  }
  return '0.0.0';
}
