/**
 * A generator of malformed requests for a running recsys server, as an outside client can send
 * them: broken HTTP over raw sockets (request lines, headers, bodies, encodings), bad JSON and
 * wrong shapes, wrong content types, oversize and huge-header requests, bad query parameters
 * and paths, wrong API keys, methods uWS does not route, slow clients (slowloris headers and
 * stalled bodies), and WebSocket upgrades and frames that break the protocol. Every request
 * opens its own connection, so one refusal cannot hide another; each ends in an outcome —
 * the HTTP status, "closed" (the server closed without answering), "reset", a WebSocket close
 * code or error reply — or "timeout" when the server neither answered nor closed in time (a
 * hang). Each case lists the outcomes it allows; anything else is reported as unexpected.
 *
 *   const report = await sendMalformed({ port, apiKey, userPrefix: 'bad-1-', count: 10_000 });
 *   assert.deepEqual(report.unexpected, []);
 *
 * Any user id a case names starts with userPrefix, so rows they might write can be counted.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

export interface MalformedOptions {
  host?: string;
  port: number;
  /** A valid key, so that keyed requests get past the key check to the part that is malformed. */
  apiKey: string;
  /** Starts every user id the requests name (unique to this traffic). */
  userPrefix: string;
  /** Requests in all, slow ones included (default 10,000). */
  count?: number;
  /** Requests in flight at once (default 32). */
  concurrency?: number;
  /** Requests started per second, at most (default: as fast as the pools go). */
  rps?: number;
  /** Requests of the cases uWS holds until its idle timeout, in flight at once (default 200). */
  idleConcurrency?: number;
  /** Slow clients (slowloris headers, stalled bodies) among them, all held open together (default 40). */
  slow?: number;
  /** How long a request may go without an outcome before it counts as a hang (default 15 s). */
  timeoutMs?: number;
  /** How long a slow client may be held open before the server must close it (default 30 s). */
  slowTimeoutMs?: number;
}

export interface MalformedReport {
  total: number;
  seconds: number;
  /** Outcomes by kind of case: { bad_json: { "400": 812 }, … }. */
  byKind: Record<string, Record<string, number>>;
  /** The longest time to an outcome by kind, ms: a refusal at once, or a close after uWS' idle timeout. */
  slowestMs: Record<string, number>;
  /** Cases whose outcome was not among those they allow (first 50). */
  unexpected: Array<{ kind: string; name: string; outcome: string }>;
  unexpectedCount: number;
}

type Outcome = string;

interface Case {
  kind: string;
  name: string;
  /** Outcomes that count as refused as documented. */
  allow: readonly Outcome[];
  slow?: boolean;
  /** uWS waits for more bytes and closes at its idle timeout (about 10 s), answering nothing. */
  idle?: boolean;
  run(t: Target, n: number): Promise<Outcome>;
}

interface Target {
  host: string;
  port: number;
  apiKey: string;
  user: (n: number) => string;
  timeoutMs: number;
  slowTimeoutMs: number;
}

const REFUSED_OR_CLOSED = ['400', 'closed', 'reset'];
/** A close this long after connecting is uWS' idle timeout (10 s), not a refusal at once. */
const IDLE_MS = 5000;
const IDLE_CLOSED = ['closed_idle'];

/** Sends the requests, `concurrency` at a time; slow clients all at once, alongside. */
export async function sendMalformed(opts: MalformedOptions): Promise<MalformedReport> {
  const target: Target = {
    host: opts.host ?? '127.0.0.1',
    port: opts.port,
    apiKey: opts.apiKey,
    user: (n) => `${opts.userPrefix}${n}`,
    timeoutMs: opts.timeoutMs ?? 15_000,
    slowTimeoutMs: opts.slowTimeoutMs ?? 30_000,
  };
  const count = opts.count ?? 10_000;
  const slowCount = Math.min(opts.slow ?? 40, count);
  const fast = CASES.filter((c) => !c.slow);
  const slow = CASES.filter((c) => c.slow);
  const report: MalformedReport = {
    total: 0,
    seconds: 0,
    byKind: {},
    slowestMs: {},
    unexpected: [],
    unexpectedCount: 0,
  };
  const record = (c: Case, outcome: Outcome, ms: number) => {
    report.total++;
    report.slowestMs[c.kind] = Math.max(report.slowestMs[c.kind] ?? 0, Math.round(ms));
    report.byKind[c.kind] ??= {};
    const kind = report.byKind[c.kind];
    kind[outcome] = (kind[outcome] ?? 0) + 1;
    if (!c.allow.includes(outcome)) {
      report.unexpectedCount++;
      if (report.unexpected.length < 50) report.unexpected.push({ kind: c.kind, name: c.name, outcome });
    }
  };
  const runOne = async (c: Case, n: number) => {
    let outcome: Outcome;
    const started = performance.now();
    try {
      outcome = await c.run(target, n);
    } catch (err) {
      outcome = `client_error:${(err as Error).message.slice(0, 60)}`;
    }
    record(c, outcome, performance.now() - started);
  };
  const t0 = Date.now();
  const slowRuns = Array.from({ length: slowCount }, (_, i) => runOne(slow[i % slow.length], i));
  // The rest cycles through the other cases; those uWS holds until its idle timeout get a pool
  // of their own, so that their waits overlap instead of holding up the quick ones.
  const queues: Array<Array<[Case, number]>> = [[], []];
  for (let n = 0; n < count - slowCount; n++) {
    const c = fast[n % fast.length];
    queues[c.idle ? 1 : 0].push([c, slowCount + n]);
  }
  // Paced (when asked) over both pools: request i starts no sooner than i / rps seconds in.
  let issued = 0;
  const pace = async () => {
    if (!opts.rps) return;
    const due = t0 + (issued++ / opts.rps) * 1000;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
  };
  const pool = (queue: Array<[Case, number]>, size: number) =>
    Array.from({ length: size }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        await pace();
        await runOne(job[0], job[1]);
      }
    });
  await Promise.all([
    ...pool(queues[0], opts.concurrency ?? 32),
    ...pool(queues[1], opts.idleConcurrency ?? 200),
    ...slowRuns,
  ]);
  report.seconds = (Date.now() - t0) / 1000;
  return report;
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP exchanges

interface Step {
  data: string | Buffer;
  /** Wait this long before sending it. */
  delayMs?: number;
}

/**
 * Writes the steps on a fresh connection and resolves with the first answer's status, or
 * "closed" / "reset" when the server ends the connection without one, or "timeout".
 */
function exchange(t: Target, steps: Step[] | string | Buffer, timeoutMs = t.timeoutMs): Promise<Outcome> {
  const list = typeof steps === 'string' || Buffer.isBuffer(steps) ? [{ data: steps }] : steps;
  return new Promise((resolve) => {
    const socket = net.connect(t.port, t.host);
    let buf = Buffer.alloc(0);
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const done = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    timers.push(setTimeout(() => done('timeout'), timeoutMs));
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const status = completeAnswer(buf);
      if (status !== null) done(status);
    });
    socket.on('error', () =>
      done(buf.length > 0 ? `partial:${buf.subarray(0, 12).toString('latin1')}` : 'reset'),
    );
    const opened = performance.now();
    socket.on('close', () =>
      done(
        buf.length > 0
          ? `partial:${buf.subarray(0, 12).toString('latin1')}`
          : performance.now() - opened >= IDLE_MS
            ? 'closed_idle'
            : 'closed',
      ),
    );
    socket.on('connect', () => {
      let at = 0;
      for (const step of list) {
        at += step.delayMs ?? 0;
        const send = () => {
          if (!settled && !socket.destroyed) socket.write(step.data, () => undefined);
        };
        if (at === 0) send();
        else timers.push(setTimeout(send, at));
      }
    });
  });
}

/** The status of a complete answer in `buf` (headers and Content-Length body), else null. */
function completeAnswer(buf: Buffer): string | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString('latin1');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!m) return `garbage:${head.slice(0, 12)}`;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length && buf.length - end - 4 < Number(length[1])) return null;
  return m[1];
}

const CRLF = '\r\n';

/** A request's bytes: request line, headers (with Host), body. */
function http1(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== undefined && !Object.keys(headers).some((k) => /content-length|transfer-encoding/i.test(k)))
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  const head = Buffer.from(lines.join(CRLF) + CRLF + CRLF, 'latin1');
  return body === undefined ? head : Buffer.concat([head, Buffer.from(body)]);
}

const json = (t: Target) => ({ 'Content-Type': 'application/json', 'X-Api-Key': t.apiKey });
const postEvents = (t: Target, body: string | Buffer, headers: Record<string, string> = json(t)) =>
  exchange(t, http1('POST', '/v1/events', headers, body));
const postFeedback = (t: Target, body: string | Buffer, headers: Record<string, string> = json(t)) =>
  exchange(t, http1('POST', '/v1/feedback', headers, body));
const get = (t: Target, path: string, headers: Record<string, string> = {}) =>
  exchange(t, http1('GET', path, headers));

const event = (t: Target, n: number, over: Record<string, unknown> = {}) => ({
  user_id: t.user(n),
  item_id: 'i1',
  type: 'view',
  ...over,
});

// ---------------------------------------------------------------------------------------------
// WebSocket, raw

const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** A client frame: FIN + opcode, masked unless told, with a payload (or a declared length). */
function frame(
  opcode: number,
  payload: Buffer,
  opts: { fin?: boolean; mask?: boolean; rsv?: number; declaredLength?: bigint } = {},
): Buffer {
  const first = ((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode;
  const mask = opts.mask ?? true;
  const len = opts.declaredLength ?? BigInt(payload.length);
  let header: Buffer;
  if (len < 126n) header = Buffer.from([first, (mask ? 0x80 : 0) | Number(len)]);
  else if (len < 65536n) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = (mask ? 0x80 : 0) | 126;
    header.writeUInt16BE(Number(len), 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = (mask ? 0x80 : 0) | 127;
    header.writeBigUInt64BE(len, 2);
  }
  if (!mask) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= key[i & 3];
  return Buffer.concat([header, key, masked]);
}

const text = (s: string | Buffer) => frame(0x1, Buffer.from(s));

/**
 * Upgrades on a fresh connection, sends the frames, and resolves with what the server did:
 * "ws-close-<code>" (a close frame), "ws-error-reply" (a JSON error message), "closed",
 * "reset", an HTTP status when the upgrade is refused, or "timeout".
 */
function wsExchange(t: Target, frames: Buffer[], upgradeHeaders?: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect(t.port, t.host);
    let buf = Buffer.alloc(0);
    let upgraded = false;
    let settled = false;
    const done = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done('timeout'), t.timeoutMs);
    socket.on('connect', () =>
      socket.write(
        http1(
          'GET',
          '/v1/stream',
          upgradeHeaders ?? {
            Upgrade: 'websocket',
            Connection: 'Upgrade',
            'Sec-WebSocket-Key': WS_KEY,
            'Sec-WebSocket-Version': '13',
          },
        ),
      ),
    );
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const status = completeAnswer(buf);
        if (status === null) return;
        if (status !== '101') return done(status);
        upgraded = true;
        buf = buf.subarray(buf.indexOf('\r\n\r\n') + 4);
        socket.write(Buffer.concat(frames));
      }
      // Server frames are unmasked; lengths here stay under 64 KiB.
      while (buf.length >= 2) {
        const opcode = buf[0] & 0x0f;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) return done('ws-huge-frame');
        if (buf.length < off + len) return;
        const payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        if (opcode === 0x8) return done(`ws-close-${payload.length >= 2 ? payload.readUInt16BE(0) : 'none'}`);
        if (opcode === 0x1) {
          const msg = payload.toString('utf8');
          return done(/"error"/.test(msg) ? 'ws-error-reply' : `ws-message:${msg.slice(0, 40)}`);
        }
        // pings and pongs: keep reading
      }
    });
    socket.on('error', () => done('reset'));
    socket.on('close', () => done('closed'));
  });
}

const WS_CLOSED = ['closed', 'reset', 'ws-close-1002', 'ws-close-1006', 'ws-close-1007', 'ws-close-1009'];

// ---------------------------------------------------------------------------------------------
// The cases

const long = (n: number, c = 'x') => c.repeat(n);

export const CASES: Case[] = [
  // Bodies that are not JSON.
  ...[
    ['truncated', (t: Target, n: number) => JSON.stringify(event(t, n)).slice(0, 20)],
    ['trailing garbage', (t: Target, n: number) => `${JSON.stringify(event(t, n))}}}`],
    ['empty', () => ''],
    ['whitespace', () => '   \n\t '],
    [
      'NaN value',
      (t: Target, n: number) => `{"user_id":"${t.user(n)}","item_id":"i1","type":"rating","value":NaN}`,
    ],
    ['single quotes', (t: Target, n: number) => `{'user_id':'${t.user(n)}','item_id':'i1','type':'view'}`],
    ['deep nesting', () => `${'['.repeat(50_000)}${']'.repeat(50_000)}`],
    ['NUL bytes', () => '\0\0\0\0'],
  ].map(
    ([name, body]): Case => ({
      kind: 'bad_json',
      name: name as string,
      allow: ['400'],
      run: (t, n) => postEvents(t, (body as (t: Target, n: number) => string)(t, n)),
    }),
  ),
  {
    kind: 'bad_json',
    name: 'feedback not JSON',
    allow: ['400'],
    run: (t) => postFeedback(t, '{"rec_id":'),
  },
  // JSON of the wrong shape.
  ...[
    ['missing item_id', (t: Target, n: number) => ({ user_id: t.user(n), type: 'view' })],
    ['unknown type', (t: Target, n: number) => event(t, n, { type: 'teleport' })],
    ['value a string', (t: Target, n: number) => event(t, n, { type: 'rating', value: 'five' })],
    ['value out of range', (t: Target, n: number) => event(t, n, { type: 'rating', value: 1e300 })],
    ['user_id too long', (t: Target, n: number) => event(t, n, { user_id: t.user(n) + long(600) })],
    ['user_id with NUL', (t: Target, n: number) => event(t, n, { user_id: `${t.user(n)}\u0000` })],
    ['lone surrogate', (t: Target, n: number) => event(t, n, { user_id: `${t.user(n)}\ud800` })],
    ['empty user_id', (t: Target, n: number) => event(t, n, { user_id: '' })],
    ['user_id a number', (t: Target, n: number) => event(t, n, { user_id: n })],
    ['timestamp garbage', (t: Target, n: number) => event(t, n, { ts: 'yesterday' })],
    ['unknown field', (t: Target, n: number) => event(t, n, { admin: true })],
    ['null', () => null],
    ['a number', () => 42],
    ['empty array', () => []],
    ['array with a bad event', (t: Target, n: number) => [event(t, n), { user_id: t.user(n) }]],
    [
      'proto pollution',
      (t: Target, n: number) => JSON.parse(`{"__proto__":{"x":1},"user_id":"${t.user(n)}"}`),
    ],
  ].map(
    ([name, body]): Case => ({
      kind: 'wrong_shape',
      name: name as string,
      allow: ['400'],
      run: (t, n) => postEvents(t, JSON.stringify((body as (t: Target, n: number) => unknown)(t, n))),
    }),
  ),
  ...[
    [
      'rec_id not a uuid',
      (t: Target, n: number) => ({ rec_id: 'nope', item_id: 'i1', action: 'click', user_id: t.user(n) }),
    ],
    [
      'unknown action',
      (t: Target, n: number) => ({
        rec_id: '00000000-0000-4000-8000-000000000000',
        item_id: 'i1',
        action: 'lick',
        user_id: t.user(n),
      }),
    ],
    [
      'position negative',
      (t: Target, n: number) => ({
        rec_id: '00000000-0000-4000-8000-000000000000',
        item_id: 'i1',
        action: 'click',
        position: -1,
        user_id: t.user(n),
      }),
    ],
  ].map(
    ([name, body]): Case => ({
      kind: 'wrong_shape',
      name: `feedback ${name}`,
      allow: ['400'],
      run: (t, n) => postFeedback(t, JSON.stringify((body as (t: Target, n: number) => unknown)(t, n))),
    }),
  ),
  // Bodies in another encoding or type.
  ...[
    ['text/plain', 'text/plain'],
    ['form', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['xml', 'application/xml'],
    ['jsonp', 'application/javascript'],
  ].map(
    ([name, type]): Case => ({
      kind: 'wrong_content_type',
      name,
      allow: ['415'],
      run: (t, n) =>
        postEvents(t, JSON.stringify(event(t, n)), { 'Content-Type': type, 'X-Api-Key': t.apiKey }),
    }),
  ),
  {
    kind: 'invalid_utf8',
    name: 'body bytes not UTF-8',
    allow: ['400'],
    run: (t, n) =>
      postEvents(
        t,
        Buffer.concat([
          Buffer.from(`{"user_id":"${t.user(n)}`),
          Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
          Buffer.from('","item_id":"i1","type":"view"}'),
        ]),
      ),
  },
  {
    kind: 'invalid_utf8',
    name: 'percent-encoded non-UTF-8 path',
    allow: ['400'],
    run: (t, n) => get(t, `/v1/recommendations/${t.user(n)}%ff%fe`),
  },
  {
    kind: 'invalid_utf8',
    name: 'raw non-UTF-8 bytes in the path',
    allow: [...REFUSED_OR_CLOSED, '404'],
    run: (t, n) =>
      exchange(
        t,
        Buffer.concat([
          Buffer.from(`GET /v1/recommendations/${t.user(n)}`),
          Buffer.from([0xff, 0xc3, 0x28]),
          Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n'),
        ]),
      ),
  },
  // Oversize bodies.
  {
    kind: 'oversize',
    name: 'declared length over the limit',
    allow: ['413'],
    run: (t, n) =>
      exchange(t, [
        { data: http1('POST', '/v1/events', { ...json(t), 'Content-Length': String(64 << 20) }) },
        { data: JSON.stringify(event(t, n)).slice(0, 30) },
      ]),
  },
  {
    kind: 'oversize',
    name: 'chunked body over the limit',
    allow: ['413', 'closed', 'reset'],
    run: (t) => {
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      const head = http1('POST', '/v1/events', { ...json(t), 'Transfer-Encoding': 'chunked' });
      // Five 256 KiB chunks of blanks: 1.25 MiB, over the 1 MiB default.
      const piece = Buffer.concat([
        Buffer.from(`${chunk.length.toString(16)}\r\n`),
        chunk,
        Buffer.from('\r\n'),
      ]);
      return exchange(t, [{ data: head }, ...Array.from({ length: 5 }, () => ({ data: piece }))]);
    },
  },
  {
    kind: 'oversize',
    name: 'many events in one batch',
    allow: ['400', '413'],
    run: (t, n) => postEvents(t, JSON.stringify(Array.from({ length: 5000 }, () => event(t, n)))),
  },
  {
    kind: 'oversize',
    name: 'lying content-length (shorter than the body)',
    allow: REFUSED_OR_CLOSED,
    run: (t, n) =>
      exchange(
        t,
        http1('POST', '/v1/events', { ...json(t), 'Content-Length': '5' }, JSON.stringify(event(t, n))),
      ),
  },
  // Headers.
  {
    kind: 'huge_headers',
    name: 'one 256 KiB header',
    allow: ['431', ...REFUSED_OR_CLOSED],
    run: (t) => get(t, '/healthz', { 'X-Junk': long(256 * 1024) }),
  },
  {
    kind: 'huge_headers',
    name: '500 headers',
    allow: ['431', ...REFUSED_OR_CLOSED],
    run: (t) =>
      get(
        t,
        '/v1/items/popular',
        Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`X-H${i}`, 'v'])),
      ),
  },
  {
    kind: 'huge_headers',
    name: '8 KiB path',
    allow: ['400', '404', '431', 'closed', 'reset'],
    run: (t, n) => get(t, `/v1/recommendations/${t.user(n)}${long(8192)}`),
  },
  {
    kind: 'broken_http',
    name: 'header without colon',
    idle: true,
    allow: IDLE_CLOSED,
    run: (t) => exchange(t, 'GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n'),
  },
  {
    kind: 'broken_http',
    name: 'NUL in a header',
    idle: true,
    allow: IDLE_CLOSED,
    run: (t) => exchange(t, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n'),
  },
  {
    kind: 'broken_http',
    name: 'no HTTP version',
    idle: true,
    allow: IDLE_CLOSED,
    run: (t) => exchange(t, 'GET /healthz\r\n\r\n'),
  },
  {
    kind: 'broken_http',
    name: 'HTTP/2 preface',
    idle: true,
    allow: IDLE_CLOSED,
    run: (t) => exchange(t, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
  },
  {
    kind: 'broken_http',
    name: 'TLS client hello',
    idle: true,
    allow: IDLE_CLOSED,
    run: (t) => exchange(t, Buffer.from('160301020001000200030300', 'hex')),
  },
  {
    kind: 'broken_http',
    name: 'random bytes',
    idle: true,
    allow: IDLE_CLOSED,
    run: (t) => exchange(t, randomBytes(512)),
  },
  {
    kind: 'broken_http',
    name: 'path without leading slash',
    idle: true,
    allow: IDLE_CLOSED,
    run: (t) => exchange(t, 'GET healthz HTTP/1.1\r\nHost: x\r\n\r\n'),
  },
  {
    kind: 'broken_http',
    name: 'bad chunk size',
    allow: REFUSED_OR_CLOSED,
    run: (t) =>
      exchange(t, [
        { data: http1('POST', '/v1/events', { ...json(t), 'Transfer-Encoding': 'chunked' }) },
        { data: 'zz\r\n{}\r\n0\r\n\r\n' },
      ]),
  },
  {
    kind: 'broken_http',
    name: 'both content-length and chunked',
    allow: REFUSED_OR_CLOSED,
    run: (t, n) =>
      exchange(
        t,
        http1(
          'POST',
          '/v1/events',
          { ...json(t), 'Content-Length': '4', 'Transfer-Encoding': 'chunked' },
          `${JSON.stringify(event(t, n)).length.toString(16)}\r\n${JSON.stringify(event(t, n))}\r\n0\r\n\r\n`,
        ),
      ),
  },
  {
    kind: 'broken_http',
    name: 'negative content-length',
    allow: [...REFUSED_OR_CLOSED, '413'],
    run: (t, n) =>
      exchange(
        t,
        http1('POST', '/v1/events', { ...json(t), 'Content-Length': '-1' }, JSON.stringify(event(t, n))),
      ),
  },
  // Query parameters.
  ...[
    ['k not a number', (t: Target, n: number) => `/v1/recommendations/${t.user(n)}?k=abc`],
    ['k zero', (t: Target, n: number) => `/v1/recommendations/${t.user(n)}?k=0`],
    ['k huge', (t: Target, n: number) => `/v1/recommendations/${t.user(n)}?k=1000000000`],
    ['k fractional', (t: Target, n: number) => `/v1/recommendations/${t.user(n)}?k=2.5`],
    [
      'exclude_seen not a flag',
      (t: Target, n: number) => `/v1/recommendations/${t.user(n)}?exclude_seen=perhaps`,
    ],
    ['bad percent-encoding', (t: Target, n: number) => `/v1/recommendations/${t.user(n)}?k=%zz`],
    ['popular k negative', () => '/v1/items/popular?k=-3'],
    ['similar k not a number', () => '/v1/similar/i1?k=many'],
    ['metrics bad dates', () => '/dashboard/metrics.json?granularity=fortnight'],
    ['NUL in the path', (t: Target, n: number) => `/v1/recommendations/${t.user(n)}%00`],
    ['id too long', (t: Target, n: number) => `/v1/recommendations/${t.user(n)}${long(600)}`],
  ].map(
    ([name, path]): Case => ({
      kind: 'bad_query',
      name: name as string,
      allow: ['400'],
      run: (t, n) => get(t, (path as (t: Target, n: number) => string)(t, n)),
    }),
  ),
  // Paths and methods.
  ...[
    ['unknown endpoint', '/v2/recommendations/x'],
    ['dot segments', '/../../etc/passwd'],
    ['empty segment', '/v1/recommendations/'],
    ['double slash', '//v1//items//popular'],
    ['encoded slash', '/v1%2Frecommendations%2Fx'],
    ['asset traversal', '/dashboard/assets/..%2F..%2Fpackage.json'],
  ].map(
    ([name, path]): Case => ({
      kind: 'unknown_path',
      name,
      allow: ['404', '400'],
      run: (t) => get(t, path),
    }),
  ),
  ...[
    ['DELETE an endpoint', 'DELETE', '/v1/events'],
    ['PUT feedback', 'PUT', '/v1/feedback'],
    ['POST a read', 'POST', '/v1/items/popular'],
    ['POST the stream', 'POST', '/v1/stream'],
  ].map(
    ([name, method, path]): Case => ({
      kind: 'wrong_method',
      name,
      allow: ['405'],
      run: (t) => exchange(t, http1(method, path, json(t), '{}')),
    }),
  ),
  ...['QUERY', 'FOO', 'PROPFIND', 'get'].map(
    (method): Case => ({
      kind: 'unknown_method',
      name: method,
      // uWS routes no other method: it closes the connection (README, Reliability).
      allow: ['closed'],
      run: (t) => exchange(t, http1(method, '/healthz', {})),
    }),
  ),
  // API keys.
  ...[
    ['wrong key', 'not-a-key'],
    ['empty-looking key', ' '],
    ['key with control characters', 'a\tb'],
    ['very long key', long(4000)],
  ].map(
    ([name, key]): Case => ({
      kind: 'bad_api_key',
      name,
      // 401, then 429 once this address has spent its failed-key bucket; a blank key is no key.
      allow: ['401', '429'],
      run: (t, n) =>
        postEvents(t, JSON.stringify(event(t, n)), { 'Content-Type': 'application/json', 'X-Api-Key': key }),
    }),
  ),
  {
    kind: 'bad_api_key',
    name: 'no key on a keyed endpoint',
    allow: ['401'],
    run: (t, n) => postEvents(t, JSON.stringify(event(t, n)), { 'Content-Type': 'application/json' }),
  },
  // WebSocket upgrades that are not.
  {
    kind: 'ws_bad_upgrade',
    name: 'plain GET',
    allow: ['426'],
    run: (t) => wsExchange(t, [], {}),
  },
  {
    kind: 'ws_bad_upgrade',
    name: 'short Sec-WebSocket-Key',
    allow: ['426', '400'],
    run: (t) =>
      wsExchange(t, [], {
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Key': 'short',
        'Sec-WebSocket-Version': '13',
      }),
  },
  {
    kind: 'ws_bad_upgrade',
    name: 'wrong API key',
    allow: ['401', '429'],
    run: (t) =>
      wsExchange(t, [], {
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Key': WS_KEY,
        'Sec-WebSocket-Version': '13',
        'X-Api-Key': 'not-a-key',
      }),
  },
  // WebSocket frames.
  {
    kind: 'ws_bad_frame',
    name: 'unmasked frame',
    // uWS does not check the mask bit: it reads four payload bytes as the mask and waits for the
    // rest, so the padding makes it parse what follows as a (garbage) frame.
    allow: [...WS_CLOSED, 'ws-error-reply'],
    run: (t, n) =>
      wsExchange(t, [
        frame(0x1, Buffer.from(`{"subscribe":"${t.user(n)}"}`), { mask: false }),
        Buffer.alloc(16),
      ]),
  },
  {
    kind: 'ws_bad_frame',
    name: 'reserved opcode',
    allow: WS_CLOSED,
    run: (t) => wsExchange(t, [frame(0x3, Buffer.from('x'))]),
  },
  {
    kind: 'ws_bad_frame',
    name: 'RSV bits without an extension',
    allow: WS_CLOSED,
    run: (t) => wsExchange(t, [frame(0x1, Buffer.from('{}'), { rsv: 0x7 })]),
  },
  {
    kind: 'ws_bad_frame',
    name: 'text frame not UTF-8',
    allow: WS_CLOSED,
    run: (t) => wsExchange(t, [text(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))]),
  },
  {
    kind: 'ws_bad_frame',
    name: 'message over 4 KiB',
    allow: WS_CLOSED,
    run: (t, n) => wsExchange(t, [text(`{"subscribe":"${t.user(n)}${long(8000)}"}`)]),
  },
  {
    kind: 'ws_bad_frame',
    name: 'declared length 2^62',
    allow: WS_CLOSED,
    run: (t) => wsExchange(t, [frame(0x1, Buffer.from('{}'), { declaredLength: 1n << 62n })]),
  },
  {
    kind: 'ws_bad_frame',
    name: 'ping over 125 bytes',
    allow: WS_CLOSED,
    run: (t) => wsExchange(t, [frame(0x9, Buffer.alloc(200))]),
  },
  {
    kind: 'ws_bad_frame',
    name: 'fragmented ping',
    allow: WS_CLOSED,
    run: (t) => wsExchange(t, [frame(0x9, Buffer.from('p'), { fin: false })]),
  },
  {
    kind: 'ws_bad_frame',
    name: 'continuation without a start',
    allow: WS_CLOSED,
    run: (t) => wsExchange(t, [frame(0x0, Buffer.from('{}'))]),
  },
  {
    kind: 'ws_bad_frame',
    name: 'close with an invalid code',
    allow: [...WS_CLOSED, 'ws-close-none', 'ws-close-1000'],
    run: (t) => wsExchange(t, [frame(0x8, Buffer.from([0x03, 0xe7]))]),
  },
  ...[
    ['binary message', () => frame(0x2, Buffer.from('{"subscribe":"x"}'))],
    ['not JSON', () => text('subscribe me')],
    ['subscribe a number', () => text('{"subscribe":42}')],
    ['subscribe an empty id', () => text('{"subscribe":""}')],
    ['unknown command', (t: Target, n: number) => text(`{"publish":"${t.user(n)}"}`)],
    ['JSON null', () => text('null')],
  ].map(
    ([name, f]): Case => ({
      kind: 'ws_bad_message',
      name: name as string,
      allow: ['ws-error-reply'],
      run: (t, n) => wsExchange(t, [(f as (t: Target, n: number) => Buffer)(t, n)]),
    }),
  ),
  // Slow clients: the server must close them (uWS' HTTP idle timeout is 10 s), not wait forever.
  {
    kind: 'slow_client',
    name: 'slowloris headers',
    slow: true,
    // "reset": the server closed while the next header line was on its way.
    allow: ['closed_idle', 'reset', '408'],
    run: (t) =>
      exchange(
        t,
        [
          { data: 'GET /healthz HTTP/1.1\r\n' },
          ...Array.from({ length: 60 }, (_, i) => ({ data: `X-${i}: a\r\n`, delayMs: 500 })),
        ],
        t.slowTimeoutMs,
      ),
  },
  {
    kind: 'slow_client',
    name: 'body stalled half way',
    slow: true,
    allow: ['closed_idle', '408'],
    run: (t, n) =>
      exchange(
        t,
        [
          {
            data: http1(
              'POST',
              '/v1/events',
              { ...json(t), 'Content-Length': '1000' },
              JSON.stringify(event(t, n)).slice(0, 20),
            ),
          },
        ],
        t.slowTimeoutMs,
      ),
  },
  {
    kind: 'slow_client',
    name: 'connect and say nothing',
    slow: true,
    allow: ['closed_idle'],
    run: (t) => exchange(t, [], t.slowTimeoutMs),
  },
];
