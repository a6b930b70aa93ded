/**
 * The request plumbing every route shares, following uWebSockets.js' rules (its examples
 * AsyncFunction.mjs and JsonPost.js): everything needed from the request (url, query,
 * headers, parameters) is read before the handler returns, because uWS reuses the request
 * object; res.onAborted is registered before any await; an answer is written once, inside
 * res.cork, and never after the client went away; bodies are collected with onData up to a
 * size cap. Around the handler: access control (API keys), rate limiting, CORS, JSON errors
 * and per-route metrics. No handler can throw past this file.
 */

import { isUtf8 } from 'node:buffer';
import type { Logger } from '../logger.js';
import { StoreError } from '../stores/errors.js';
import type { ApiKeys } from './api-keys.js';
import { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, type CorsPolicy } from './cors.js';
import { errorBody, HttpError, statusLine } from './errors.js';
import type { RouteMetrics, ServingMetrics } from './metrics.js';
import type { RateLimiter } from './rate-limit.js';
import type { HttpRequest, HttpResponse, TemplatedApp } from './uws.js';

export const JSON_TYPE = 'application/json';
const NO_PARAMS: string[] = [];
// Header names and the common value as bytes: uWS takes them as they are, where a string
// argument is measured and copied as UTF-8 on every call (~2 % of a cached answer's CPU).
const CONTENT_TYPE = Buffer.from('content-type');
const JSON_TYPE_BYTES = Buffer.from(JSON_TYPE);
const X_API_KEY = Buffer.from('x-api-key');
const ORIGIN = Buffer.from('origin');
const X_FORWARDED_FOR = Buffer.from('x-forwarded-for');

/**
 * open: ops endpoints, never keyed or limited (a probe or a scraper must not be turned away);
 * read: public unless configured otherwise; key: needs an API key (when keys are configured).
 */
export type Access = 'open' | 'read' | 'key';

export interface RouteSpec {
  /** The route's name in metrics and logs, e.g. "GET /v1/similar/:itemId". */
  name: string;
  access: Access;
  /** Path parameters to read (in pattern order); each is URL-decoded and length-checked. */
  params?: number;
  /** Parse a JSON body (up to the body limit) into ctx.body before the handler runs. */
  body?: boolean;
}

export interface HttpKitOptions {
  app: TemplatedApp;
  metrics: ServingMetrics;
  logger: Logger;
  keys: ApiKeys;
  /** Requests with a valid key, per key. */
  keyLimiter: RateLimiter;
  /** Requests without a valid key, per client address (when configured). */
  ipLimiter: RateLimiter;
  /** Requests with a wrong key, per client address, always: guessing keys takes time. */
  failedKeyLimiter: RateLimiter;
  /** See ServingConfig.trustedProxies. */
  trustedProxies: number;
  cors: CorsPolicy;
  publicReads: boolean;
  maxBodyBytes: number;
  maxIdLength: number;
}

export type Handler = (ctx: RequestContext) => void | Promise<void>;

/** One request: what was read from it, and the single way to answer it. */
export class RequestContext {
  readonly started = performance.now();
  params: string[] = NO_PARAMS;
  rawQuery = '';
  body: unknown = undefined;
  /** Where a recommendation came from, for the latency histogram; "-" for other routes. */
  source = '-';
  /** The caller's API key id (a digest prefix), when it presented a valid one. */
  keyId: string | null = null;
  aborted = false;
  private done = false;
  allowOrigin: string | null = null;
  /**
   * True while uWS is still inside the route callback: uWS corks that part itself, so an
   * answer written there needs no res.cork (one closure and native call less per request).
   */
  inCallback = true;

  constructor(
    private readonly kit: HttpKit,
    readonly res: HttpResponse,
    readonly route: string,
    private readonly metrics: RouteMetrics,
  ) {}

  /**
   * Notes when the client goes away before the answer. uWS needs this registered before
   * its callback returns whenever the answer comes later; an answer sent within the
   * callback needs none, so the cached path skips it (one closure and native call less).
   */
  watchAbort(): void {
    if (this.done) return;
    this.res.onAborted(() => {
      this.aborted = true;
    });
  }

  get answered(): boolean {
    return this.done || this.aborted;
  }

  /** Microseconds since the request arrived. */
  elapsedUs(): number {
    return Math.round((performance.now() - this.started) * 1000);
  }

  query(): URLSearchParams {
    return new URLSearchParams(this.rawQuery);
  }

  send(
    status: number,
    body: string | Uint8Array,
    contentType = JSON_TYPE,
    headers?: Readonly<Record<string, string>>,
    closeConnection = false,
  ): void {
    if (this.done) return;
    this.done = true;
    if (!this.aborted) {
      if (this.inCallback) this.write(status, body, contentType, headers, closeConnection);
      else this.res.cork(() => this.write(status, body, contentType, headers, closeConnection));
    }
    this.metrics.observe(this.source, this.aborted ? 499 : status, (performance.now() - this.started) / 1000);
  }

  private write(
    status: number,
    body: string | Uint8Array,
    contentType: string,
    headers: Readonly<Record<string, string>> | undefined,
    closeConnection: boolean,
  ): void {
    const { res, allowOrigin } = this;
    // uWS sends "200 OK" when no status is written: one native call less on the hot path.
    if (status !== 200) res.writeStatus(statusLine(status));
    if (allowOrigin !== null) {
      res.writeHeader('access-control-allow-origin', allowOrigin);
      res.writeHeader('vary', 'Origin');
    }
    if (headers) for (const name in headers) res.writeHeader(name, headers[name]);
    res.writeHeader(CONTENT_TYPE, contentType === JSON_TYPE ? JSON_TYPE_BYTES : contentType);
    res.end(body, closeConnection);
  }

  json(status: number, value: unknown): void {
    this.send(status, JSON.stringify(value));
  }

  /** Answers with the error's JSON form: HttpErrors as they say, store outages 503, anything else 500. */
  fail(err: unknown): void {
    if (this.done) return;
    if (err instanceof HttpError) {
      this.send(
        err.status,
        errorBody(err.code, err.message, err.details),
        JSON_TYPE,
        err.headers,
        err.status === 413,
      );
      return;
    }
    // Store outages, timeouts and open circuits (stores/resilience.ts) are all retriable.
    if (err instanceof StoreError && err.retriable) {
      this.send(503, errorBody('store_unavailable', err.message), JSON_TYPE, {
        'retry-after': '1',
      });
      return;
    }
    this.kit.logger.error({ err, route: this.route }, 'request failed');
    this.send(500, errorBody('internal_error', 'internal server error'));
  }
}

export class HttpKit {
  readonly metrics: ServingMetrics;
  readonly logger: Logger;

  constructor(private readonly opts: HttpKitOptions) {
    this.metrics = opts.metrics;
    this.logger = opts.logger;
  }

  /** Registered path patterns (as regular expressions) and their methods, for 405 answers. */
  private readonly known: Array<{ pattern: string; test: RegExp; methods: Set<string>; upgrade?: boolean }> =
    [];

  get(pattern: string, spec: RouteSpec, handler: Handler): void {
    this.remember('GET', pattern);
    const metrics = this.metrics.route(spec.name);
    this.opts.app.get(pattern, (res, req) => this.handle(spec, metrics, handler, res, req));
  }

  post(pattern: string, spec: RouteSpec, handler: Handler): void {
    this.remember('POST', pattern);
    const metrics = this.metrics.route(spec.name);
    this.opts.app.post(pattern, (res, req) => this.handle(spec, metrics, handler, res, req));
  }

  /** Marks a path served by something other than get/post. */
  remember(method: string, pattern: string): void {
    this.entry(pattern).methods.add(method);
  }

  /**
   * Marks a WebSocket path: uWS passes a GET there that is no valid upgrade (no
   * Sec-WebSocket-Key) on to the catch-all, which answers it 426 Upgrade Required.
   */
  rememberUpgrade(pattern: string): void {
    const entry = this.entry(pattern);
    entry.methods.add('GET');
    entry.upgrade = true;
  }

  private entry(pattern: string) {
    let entry = this.known.find((k) => k.pattern === pattern);
    if (!entry) {
      const test = new RegExp(
        `^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:\w+/g, '[^/]+')}$`,
      );
      entry = { pattern, test, methods: new Set() };
      this.known.push(entry);
    }
    return entry;
  }

  /**
   * Registers the catch-alls, after every route: CORS preflight for any path, 405 (with
   * Allow) for a known path and another method, 404 for anything else. Without them uWS
   * would drop the connection without an answer.
   */
  fallbacks(): void {
    const { app, cors } = this.opts;
    const preflight = this.metrics.route('OPTIONS');
    const notAllowed = this.metrics.route('method_not_allowed');
    const unmatched = this.metrics.route('unmatched');
    const upgradeRequired = this.metrics.route('upgrade_required');
    app.options('/*', (res, req) => {
      const origin = cors.enabled ? req.getHeader('origin') : '';
      const ctx = new RequestContext(this, res, 'OPTIONS', preflight);
      ctx.allowOrigin = cors.allow(origin);
      const headers: Record<string, string> = { allow: CORS_ALLOW_METHODS };
      if (ctx.allowOrigin !== null) {
        headers['access-control-allow-methods'] = CORS_ALLOW_METHODS;
        headers['access-control-allow-headers'] = CORS_ALLOW_HEADERS;
        headers['access-control-max-age'] = '600';
      }
      ctx.send(204, '', 'text/plain', headers);
    });
    app.any('/*', (res, req) => {
      const url = req.getUrl();
      const method = req.getMethod().toUpperCase();
      const origin = cors.enabled ? req.getHeader('origin') : '';
      const entry = this.known.find((k) => k.test.test(url));
      // Fixed route names: the method or path of an unmatched request must not become a metric label.
      const upgrade = entry?.upgrade === true && entry.methods.has(method);
      const ctx = upgrade
        ? new RequestContext(this, res, 'upgrade_required', upgradeRequired)
        : entry
          ? new RequestContext(this, res, 'method_not_allowed', notAllowed)
          : new RequestContext(this, res, 'unmatched', unmatched);
      ctx.allowOrigin = cors.allow(origin);
      if (upgrade) {
        ctx.fail(
          new HttpError(
            426,
            'upgrade_required',
            'this endpoint is a WebSocket: send a WebSocket upgrade (Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key, Sec-WebSocket-Version: 13)',
            undefined,
            { upgrade: 'websocket' },
          ),
        );
      } else if (entry) {
        const allow = [...entry.methods].join(', ');
        ctx.fail(
          new HttpError(405, 'method_not_allowed', `${method} is not allowed here; use ${allow}`, undefined, {
            allow,
          }),
        );
      } else ctx.fail(new HttpError(404, 'not_found', 'no such endpoint'));
    });
  }

  private handle(
    spec: RouteSpec,
    metrics: RouteMetrics,
    handler: Handler,
    res: HttpResponse,
    req: HttpRequest,
  ): void {
    const { opts } = this;
    const ctx = new RequestContext(this, res, spec.name, metrics);
    // Everything from `req` now: it is invalid once this function returns or awaits.
    ctx.rawQuery = req.getQuery() ?? '';
    const nParams = spec.params ?? 0;
    const params: string[] = nParams === 0 ? NO_PARAMS : new Array(nParams);
    for (let i = 0; i < nParams; i++) params[i] = req.getParameter(i) ?? '';
    const open = spec.access === 'open';
    const presented = open ? '' : req.getHeader(X_API_KEY);
    const origin = opts.cors.enabled ? req.getHeader(ORIGIN) : '';
    const contentType = spec.body ? req.getHeader('content-type') : '';
    const contentLength = spec.body ? req.getHeader('content-length') : '';
    const forwardedFor = open ? '' : this.forwardedFor(req);
    try {
      ctx.allowOrigin = opts.cors.allow(origin);
      if (!open) this.admit(ctx, spec.access, presented, forwardedFor);
      for (let i = 0; i < nParams; i++) params[i] = this.decodeParam(params[i]);
      ctx.params = params;
      if (spec.body) {
        ctx.watchAbort();
        this.readJson(ctx, contentType, contentLength)
          .then((body) => {
            ctx.body = body;
            return handler(ctx);
          })
          .catch((err) => ctx.fail(err));
        return;
      }
      const pending = handler(ctx);
      if (pending) {
        // Still inside the uWS callback, as uWS requires for an answer that comes later.
        ctx.watchAbort();
        pending.catch((err) => ctx.fail(err));
      }
    } catch (err) {
      ctx.fail(err);
    } finally {
      ctx.inCallback = false;
    }
  }

  /**
   * API key and rate limits, before anything else runs. A valid key draws on its own bucket;
   * everything else on its address's (when configured). The address is only looked up when a
   * limit needs it.
   */
  private admit(ctx: RequestContext, access: Access, presented: string, forwardedFor: string): void {
    const { keys, publicReads, keyLimiter, ipLimiter } = this.opts;
    ctx.keyId = this.identify(presented, ctx.res, forwardedFor);
    if (ctx.keyId !== null) {
      this.throttle(keyLimiter.take(ctx.keyId), 'key');
      return;
    }
    if (ipLimiter.enabled) this.throttle(ipLimiter.take(this.clientAddress(ctx.res, forwardedFor)), 'ip');
    const needsKey = keys.enabled && (access === 'key' || (access === 'read' && !publicReads));
    if (needsKey)
      throw new HttpError(401, 'missing_api_key', 'this endpoint needs an API key in the x-api-key header');
  }

  /**
   * The id of the presented API key; null when none was presented or keys are off (then a
   * header is just a header). A wrong key is 401, and 429 once its address has spent its
   * failed-key bucket (always on): HTTP requests and WebSocket upgrades both come here.
   */
  identify(presented: string, res: HttpResponse, forwardedFor: string): string | null {
    const { keys, failedKeyLimiter } = this.opts;
    if (!keys.enabled || presented === '') return null;
    const id = keys.check(presented);
    if (id !== null) return id;
    this.throttle(failedKeyLimiter.take(this.clientAddress(res, forwardedFor)), 'failed_key');
    throw new HttpError(401, 'invalid_api_key', 'the x-api-key header holds no valid key');
  }

  private throttle(wait: number, scope: string): void {
    if (wait === 0) return;
    this.opts.metrics.rateLimited.inc({ scope });
    throw new HttpError(429, 'rate_limited', `too many requests; retry in ${wait} s`, undefined, {
      'retry-after': String(wait),
    });
  }

  /** The header clientAddress() needs, read while `req` is valid ('' when no proxy is trusted). */
  forwardedFor(req: HttpRequest): string {
    return this.opts.trustedProxies > 0 ? req.getHeader(X_FORWARDED_FOR) : '';
  }

  /** The socket's address, or the one the trusted proxies put in X-Forwarded-For. */
  private clientAddress(res: HttpResponse, forwardedFor: string): string {
    const hops = this.opts.trustedProxies;
    if (hops > 0 && forwardedFor !== '') {
      const chain = forwardedFor.split(',');
      const entry = chain[Math.max(0, chain.length - hops)].trim();
      if (entry !== '') return entry;
    }
    return Buffer.from(res.getRemoteAddressAsText()).toString();
  }

  private decodeParam(raw: string): string {
    // uWS turns bytes that are not UTF-8 into U+FFFD; a client that means U+FFFD percent-encodes
    // it (RFC 3986 has no raw non-ASCII in a path), so a raw one is bytes we cannot read back.
    if (raw.includes('\ufffd'))
      throw new HttpError(400, 'invalid_path', 'the path is not valid UTF-8 (percent-encode non-ASCII)');
    let value = raw;
    if (raw.includes('%')) {
      try {
        value = decodeURIComponent(raw);
      } catch {
        throw new HttpError(400, 'invalid_path', 'a path segment is not valid percent-encoding');
      }
      // Only percent-encoding brings a NUL (uWS refuses a raw one). No stored id can hold it
      // (schemas.ts ID_PATTERN), and a NUL user id in an answer's log row failed the
      // whole batch of log rows it was written with.
      if (value.includes('\0')) throw new HttpError(400, 'invalid_path', 'an id in the path holds U+0000');
    }
    if (value === '') throw new HttpError(400, 'invalid_path', 'an id in the path is empty');
    if (value.length > this.opts.maxIdLength)
      throw new HttpError(400, 'id_too_long', `ids are at most ${this.opts.maxIdLength} characters`);
    return value;
  }

  private readJson(ctx: RequestContext, contentType: string, contentLength: string): Promise<unknown> {
    const max = this.opts.maxBodyBytes;
    if (contentType !== '' && !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType)) {
      return Promise.reject(
        new HttpError(
          415,
          'unsupported_media_type',
          'the body must be JSON (content-type: application/json)',
        ),
      );
    }
    if (contentLength !== '' && Number(contentLength) > max) {
      return Promise.reject(tooLarge(max));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      ctx.res.onData((chunk, isLast) => {
        if (ctx.answered) return;
        size += chunk.byteLength;
        if (size > max) {
          reject(tooLarge(max));
          return;
        }
        // uWS neuters `chunk` when this callback returns: copy it.
        chunks.push(Buffer.from(chunk.slice(0)));
        if (!isLast) return;
        const bytes = Buffer.concat(chunks, size);
        // toString would put U+FFFD for bytes that are not UTF-8, and store ids nobody sent.
        if (!isUtf8(bytes)) {
          reject(new HttpError(400, 'invalid_encoding', 'the body is not valid UTF-8'));
          return;
        }
        const text = bytes.toString('utf8');
        if (text.trim() === '') {
          reject(new HttpError(400, 'invalid_json', 'the request needs a JSON body'));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (err) {
          reject(
            new HttpError(
              400,
              'invalid_json',
              `the body is not valid JSON: ${(err as Error).message.slice(0, 200)}`,
            ),
          );
        }
      });
    });
  }
}

function tooLarge(max: number): HttpError {
  return new HttpError(413, 'payload_too_large', `the body exceeds the limit of ${max} bytes`);
}
