/**
 * WS /v1/stream: clients send {"subscribe": userId} / {"unsubscribe": userId} and receive
 * {"type": "recommendations", "rec_id", "user_id", "model_version", "source", "items"}
 * whenever that user's recommendations change. A push is a served answer like any other: it
 * has a rec_id that feedback can name, and a recommendation_logs row. One uWS pub/sub topic
 * per user, so a push is one publish (and one log row) whatever the number of subscribers. Backpressure as in uWS' Backpressure.js: publish skips a socket
 * whose buffer is over maxBackpressure; our own replies check getBufferedAmount() first and
 * are dropped (and counted) while a client lags, until `drain` says it caught up.
 */
import { randomUUID } from 'node:crypto';
import { MAX_ID_LENGTH, type UserUpdateMessage } from '../events/index.js';
import { roundScore } from './answers.js';
import { errorBody, HttpError, statusLine } from './errors.js';
import type { HttpKit } from './http.js';
import type { ServingMetrics } from './metrics.js';
import type { RecLog } from './rec-log.js';
import type { HttpResponse, TemplatedApp, UwsModule, WebSocket } from './uws.js';

interface Client {
  topics: Set<string>;
  lagging: boolean;
}

/** Buffered bytes above which replies to a socket are dropped. */
const MAX_BUFFERED = 64 * 1024;
const MAX_SUBSCRIPTIONS = 100;

const topicOf = (user: string) => `user/${user}`;

export class Stream {
  private readonly sockets = new Set<WebSocket<Client>>();

  constructor(
    private readonly app: TemplatedApp,
    private readonly uws: UwsModule,
    private readonly metrics: ServingMetrics,
    private readonly keyNeeded: boolean,
    private readonly recLog: RecLog,
  ) {}

  get connections(): number {
    return this.sockets.size;
  }

  /** Serves the stream at `path`; `kit` checks API keys on the upgrade, as for HTTP routes. */
  register(path: string, kit: HttpKit): void {
    this.app.ws<Client>(path, {
      compression: this.uws.DISABLED,
      maxPayloadLength: 4 * 1024,
      maxBackpressure: 256 * 1024,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        const key = req.getHeader('sec-websocket-key');
        const protocol = req.getHeader('sec-websocket-protocol');
        const extensions = req.getHeader('sec-websocket-extensions');
        const presented =
          req.getHeader('x-api-key') || new URLSearchParams(req.getQuery() ?? '').get('api_key') || '';
        try {
          const keyId = kit.identify(presented, res, kit.forwardedFor(req));
          if (keyId === null && this.keyNeeded)
            throw new HttpError(
              401,
              'missing_api_key',
              'this stream needs a valid API key (x-api-key header or api_key query parameter)',
            );
        } catch (err) {
          refuse(res, err as HttpError);
          return;
        }
        res.upgrade<Client>({ topics: new Set(), lagging: false }, key, protocol, extensions, context);
      },
      open: (ws) => {
        this.sockets.add(ws);
      },
      message: (ws, message, isBinary) => this.onMessage(ws, message, isBinary),
      drain: (ws) => {
        if (ws.getBufferedAmount() < MAX_BUFFERED / 2) ws.getUserData().lagging = false;
      },
      close: (ws) => {
        this.sockets.delete(ws);
      },
    });
  }

  /** Whether anyone in this process listens for the user's recommendations. */
  subscribed(user: string): boolean {
    return this.app.numSubscribers(topicOf(user)) > 0;
  }

  /** Sends a user's new list to their subscribers (if any, in this process). */
  push(update: UserUpdateMessage): void {
    const topic = topicOf(update.user_id);
    if (update.items.length === 0 || this.app.numSubscribers(topic) === 0) return;
    const recId = randomUUID();
    const scores = update.scores.map(roundScore);
    const payload = JSON.stringify({
      type: 'recommendations',
      rec_id: recId,
      user_id: update.user_id,
      model_version: update.model_version,
      source: update.source,
      items: update.items.map((item_id, j) => ({ item_id, score: scores[j] })),
    });
    this.app.publish(topic, payload, false);
    this.metrics.wsPushes.inc();
    if (update.accepted_at !== undefined)
      this.metrics.pushFreshness.observe(Math.max(0, Date.now() - update.accepted_at) / 1000);
    if (this.recLog.admit())
      this.recLog.add(recId, update.user_id, update.model_version, update.source, update.items, scores, 0);
  }

  closeAll(): void {
    for (const ws of this.sockets) ws.end(1001, 'server shutting down');
    this.sockets.clear();
  }

  private onMessage(ws: WebSocket<Client>, message: ArrayBuffer, isBinary: boolean) {
    if (isBinary)
      return this.reply(ws, { error: { code: 'bad_message', message: 'send JSON text messages' } });
    let msg: unknown;
    try {
      msg = JSON.parse(Buffer.from(message).toString('utf8'));
    } catch {
      return this.reply(ws, { error: { code: 'bad_message', message: 'the message is not JSON' } });
    }
    const o = (typeof msg === 'object' && msg !== null ? msg : {}) as Record<string, unknown>;
    const client = ws.getUserData();
    if ('subscribe' in o) {
      const user = o.subscribe;
      if (!validId(user)) return this.reply(ws, badId('subscribe'));
      if (!client.topics.has(user) && client.topics.size >= MAX_SUBSCRIPTIONS)
        return this.reply(ws, {
          error: {
            code: 'too_many_subscriptions',
            message: `at most ${MAX_SUBSCRIPTIONS} users per connection`,
          },
        });
      client.topics.add(user);
      ws.subscribe(topicOf(user));
      return this.reply(ws, { subscribed: user });
    }
    if ('unsubscribe' in o) {
      const user = o.unsubscribe;
      if (!validId(user)) return this.reply(ws, badId('unsubscribe'));
      client.topics.delete(user);
      ws.unsubscribe(topicOf(user));
      return this.reply(ws, { unsubscribed: user });
    }
    this.reply(ws, {
      error: { code: 'bad_message', message: 'expected {"subscribe": userId} or {"unsubscribe": userId}' },
    });
  }

  private reply(ws: WebSocket<Client>, value: unknown): void {
    const client = ws.getUserData();
    if (client.lagging || ws.getBufferedAmount() > MAX_BUFFERED) {
      client.lagging = true;
      this.metrics.wsBackpressure.inc();
      return;
    }
    ws.send(JSON.stringify(value), false);
  }
}

function validId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;
}

function badId(field: string) {
  return {
    error: { code: 'bad_message', message: `${field} needs a user id of 1 to ${MAX_ID_LENGTH} characters` },
  };
}

/** Answers a refused upgrade with the error's status, headers and JSON body. */
function refuse(res: HttpResponse, err: HttpError): void {
  res.cork(() => {
    res.writeStatus(statusLine(err.status));
    for (const [name, value] of Object.entries(err.headers ?? {})) res.writeHeader(name, value);
    res.writeHeader('content-type', 'application/json').end(errorBody(err.code, err.message));
  });
}
