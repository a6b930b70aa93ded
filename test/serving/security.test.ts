// Access, limits and hostile input: API keys on keyed (and, when configured, read)
// endpoints, token-bucket rate limits, CORS, body limits with and without Content-Length,
// unknown routes, and a stream of malformed requests that must never take the server down.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { API_KEY, call, type Fixture, keyed, startFixture } from './fixture.js';

/** A raw HTTP exchange over a socket: what a misbehaving client can send. */
function raw(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    socket.on('data', (d) => {
      out += d.toString('latin1');
    });
    socket.on('error', () => resolve(out));
    socket.on('close', () => resolve(out));
    socket.write(request);
    setTimeout(() => socket.end(), 300);
  });
}

describe('security and limits', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(() => f?.close());

  it('per-key token bucket: 429 with Retry-After once the burst is spent', async () => {
    await f.restart({ RECSYS_RATE_LIMIT: '2', RECSYS_RATE_BURST: '5' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++)
        statuses.push((await call(f.base, 'GET', '/v1/admin/models', undefined, keyed)).status);
      assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200]);
      const limited = await call(f.base, 'GET', '/v1/admin/models', undefined, keyed);
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error.code, 'rate_limited');
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      // Requests without a key are not in that bucket (no per-address limit by default).
      assert.equal((await call(f.base, 'GET', '/v1/recommendations/u1')).status, 200);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(
        (await call(f.base, 'GET', '/v1/admin/models', undefined, keyed)).status,
        200,
        'tokens refill',
      );
    } finally {
      await f.restart();
    }
  });

  it('per-address limit for requests without a key when configured', async () => {
    await f.restart({ RECSYS_IP_RATE_LIMIT: '1' });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await call(f.base, 'GET', '/v1/items/popular')).status);
      assert.deepEqual(statuses, [200, 200, 429, 429]);
      // Ops endpoints are never limited: probes and scrapers share addresses with clients.
      for (let i = 0; i < 5; i++)
        for (const path of ['/readyz', '/healthz', '/metrics'])
          assert.equal((await call(f.base, 'GET', path)).status, 200, path);
    } finally {
      await f.restart();
    }
  });

  it('with keys off, a made-up x-api-key header does not get past the per-address limit', async () => {
    await f.restart({ RECSYS_IP_RATE_LIMIT: '1', RECSYS_API_KEYS: '' });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++)
        statuses.push(
          (await call(f.base, 'GET', '/v1/items/popular', undefined, { 'x-api-key': `made-up-${i}` })).status,
        );
      assert.deepEqual(statuses, [200, 200, 429, 429]);
    } finally {
      await f.restart();
    }
  });

  it('wrong keys are limited per address (10, then 1 a second); a valid key is not held back', async () => {
    const statuses = [];
    for (let i = 0; i < 12; i++)
      statuses.push(
        (await call(f.base, 'GET', '/v1/admin/models', undefined, { 'x-api-key': `guess-${i}` })).status,
      );
    assert.deepEqual(statuses, [...Array(10).fill(401), 429, 429]);
    const limited = await call(f.base, 'GET', '/v1/admin/models', undefined, { 'x-api-key': 'guess-x' });
    assert.equal(limited.body.error.code, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal((await call(f.base, 'GET', '/v1/admin/models', undefined, keyed)).status, 200);
    assert.match(
      (await call(f.base, 'GET', '/metrics')).text,
      /recsys_rate_limited_total\{scope="failed_key"\} [1-9]/,
    );
  });

  it('behind trusted proxies the client is the address they appended to X-Forwarded-For', async () => {
    await f.restart({ RECSYS_IP_RATE_LIMIT: '1', RECSYS_TRUSTED_PROXIES: '1' });
    try {
      const from = (chain: string) =>
        call(f.base, 'GET', '/v1/items/popular', undefined, { 'x-forwarded-for': chain }).then(
          (r) => r.status,
        );
      assert.deepEqual([await from('1.1.1.1, 10.0.0.1'), await from('2.2.2.2, 10.0.0.1')], [200, 200]);
      // What the client wrote itself (left of the proxy's entry) does not make it someone else.
      assert.equal(await from('3.3.3.3, 10.0.0.1'), 429);
      assert.equal(await from('10.0.0.2'), 200, 'another client');
      // Without the header, the socket's address.
      assert.equal((await call(f.base, 'GET', '/v1/items/popular')).status, 200);
    } finally {
      await f.restart();
    }
  });

  it('read endpoints need a key when reads are not public', async () => {
    await f.restart({ RECSYS_PUBLIC_READS: 'false' });
    try {
      for (const path of ['/v1/recommendations/u1', '/v1/items/popular', '/v1/similar/i1']) {
        assert.equal((await call(f.base, 'GET', path)).status, 401, path);
        assert.equal((await call(f.base, 'GET', path, undefined, keyed)).status, 200, path);
      }
      assert.equal((await call(f.base, 'GET', '/healthz')).status, 200, 'ops endpoints stay open');
    } finally {
      await f.restart();
    }
  });

  it('without configured keys the keyed endpoints are open', async () => {
    await f.restart({ RECSYS_API_KEYS: '' });
    try {
      const r = await call(f.base, 'POST', '/v1/events', { user_id: 'u1', item_id: 'i1', type: 'view' });
      assert.equal(r.status, 202);
    } finally {
      await f.restart();
    }
  });

  it('CORS: allowed origins get headers and preflights; others get none', async () => {
    await f.restart({ RECSYS_CORS_ORIGINS: 'https://shop.example, https://admin.example' });
    try {
      const ok = await call(f.base, 'GET', '/v1/items/popular', undefined, {
        origin: 'https://shop.example',
      });
      assert.equal(ok.headers.get('access-control-allow-origin'), 'https://shop.example');
      assert.equal(ok.headers.get('vary'), 'Origin');
      const other = await call(f.base, 'GET', '/v1/items/popular', undefined, {
        origin: 'https://evil.example',
      });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      const pre = await fetch(`${f.base}/v1/events`, {
        method: 'OPTIONS',
        headers: { origin: 'https://admin.example', 'access-control-request-method': 'POST' },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.get('access-control-allow-origin'), 'https://admin.example');
      assert.match(pre.headers.get('access-control-allow-headers') ?? '', /x-api-key/);
      const err = await call(f.base, 'GET', '/v1/recommendations/u1?k=0', undefined, {
        origin: 'https://shop.example',
      });
      assert.equal(err.status, 400);
      assert.equal(
        err.headers.get('access-control-allow-origin'),
        'https://shop.example',
        'errors carry CORS headers too',
      );
    } finally {
      await f.restart();
    }
  });

  it('unknown routes are 404 and wrong methods 405, both as JSON errors', async () => {
    const nf = await call(f.base, 'GET', '/v2/anything');
    assert.equal(nf.status, 404);
    assert.equal(nf.body.error.code, 'not_found');
    const na = await call(f.base, 'DELETE', '/v1/recommendations/u1');
    assert.equal(na.status, 405);
    assert.equal(na.headers.get('allow'), 'GET');
    const get = await call(f.base, 'GET', '/v1/feedback');
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal((await call(f.base, 'GET', '/v1/recommendations/')).status, 404);
    const post = await call(f.base, 'POST', '/v1/stream', {});
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET');
  });

  it('a method uWS does not route (QUERY, FOO, lower case) is closed at once, without an answer', async () => {
    // uWS 20.30 routes only the nine standard methods (app.any means those nine); any other
    // method finds no handler, and uWS closes the connection (a FIN, no bytes) before any of
    // our code could answer it. README "Bad and unusual HTTP input" says so.
    const port = f.server.port;
    const exchange = (request: string) =>
      new Promise<{ answer: string; closedByServer: boolean; reset: boolean }>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        let answer = '';
        let reset = false;
        const timer = setTimeout(() => {
          socket.destroy();
          resolve({ answer, closedByServer: false, reset });
        }, 3000);
        socket.on('data', (d) => {
          answer += d.toString('latin1');
        });
        socket.on('error', () => {
          reset = true;
        });
        socket.on('close', () => {
          clearTimeout(timer);
          resolve({ answer, closedByServer: true, reset });
        });
        socket.write(request);
      });
    for (const method of ['QUERY', 'FOO', 'PROPFIND', 'M-SEARCH', 'get']) {
      for (const path of ['/healthz', '/v1/items/popular', '/v1/events']) {
        const r = await exchange(`${method} ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        assert.deepEqual(r, { answer: '', closedByServer: true, reset: false }, `${method} ${path}`);
      }
    }
    // Pipelined in one packet behind a valid request: uWS closes before writing even the
    // first answer (it corks the packet's answers), so the client gets nothing or that answer.
    const r = await exchange(
      'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nQUERY /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    assert.equal(r.closedByServer, true);
    assert.ok(r.answer === '' || /^HTTP\/1\.1 200 OK\r\n[\s\S]*\{"status":"ok"\}$/.test(r.answer), r.answer);
    // The standard methods the routes do not take are JSON 405s (TRACE and CONNECT included).
    for (const method of ['TRACE', 'CONNECT', 'PUT', 'DELETE', 'PATCH']) {
      const { answer } = await exchange(
        `${method} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.match(
        answer,
        /^HTTP\/1\.1 405 Method Not Allowed\r\n[\s\S]*"code":"method_not_allowed"/,
        method,
      );
    }
    assert.equal((await call(f.base, 'GET', '/healthz')).status, 200);
  });

  it('bytes that are not UTF-8 are refused, not stored as U+FFFD', async () => {
    const body = Buffer.concat([
      Buffer.from('{"user_id":"u'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('","item_id":"i1","type":"view"}'),
    ]);
    const head = `POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Api-Key: ${API_KEY}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const posted = await raw(f.server.port, Buffer.concat([Buffer.from(head), body]));
    assert.match(posted, /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*"code":"invalid_encoding"/);
    const path = Buffer.concat([
      Buffer.from('GET /v1/recommendations/u'),
      Buffer.from([0xff, 0xc3, 0x28]),
      Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    ]);
    assert.match(
      await raw(f.server.port, path),
      /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*"code":"invalid_path"/,
    );
    // U+FFFD itself, percent-encoded, is an id like any other.
    assert.equal((await call(f.base, 'GET', '/v1/recommendations/u%EF%BF%BD')).status, 200);
  });

  it('a 405 never names the method it refuses as the one to use', async () => {
    // Every registered path, with each method uWS routes: a refusal must not say "X is not
    // allowed here; use X" (as a plain GET on the WebSocket path once did).
    const paths = [
      '/v1/recommendations/u1',
      '/v1/similar/i1',
      '/v1/items/popular',
      '/v1/recommendations/anonymous',
      '/v1/events',
      '/v1/feedback',
      '/v1/stream',
      '/v1/admin/models',
      '/v1/admin/models/v1/activate',
      '/v1/admin/train',
      '/v1/admin/runs',
      '/v1/admin/metrics',
      '/healthz',
      '/readyz',
      '/metrics',
      '/openapi.json',
      '/dashboard',
    ];
    for (const path of paths)
      for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
        const r = await call(f.base, method, path, method === 'GET' ? undefined : {}, {
          'x-api-key': API_KEY,
        });
        if (r.status !== 405) continue;
        const allow = (r.headers.get('allow') ?? '').split(', ');
        assert.ok(!allow.includes(method), `${method} ${path}: 405 allowing ${allow}`);
        assert.doesNotMatch(r.body.error.message, new RegExp(`use ${method}\\b`), `${method} ${path}`);
      }
  });

  it('a chunked body over the limit is cut off with 413', async () => {
    await f.restart({ RECSYS_MAX_BODY_BYTES: '1024' });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          `${f.base}/v1/events`,
          { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': API_KEY } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.write('[');
        for (let i = 0; i < 40; i++)
          req.write(`${JSON.stringify({ user_id: 'u1', item_id: 'i1', type: 'view' })},`);
        req.end('{}]');
      });
      assert.equal(status, 413);
      const small = await call(
        f.base,
        'POST',
        '/v1/events',
        { user_id: 'u1', item_id: 'i1', type: 'view' },
        keyed,
      );
      assert.equal(small.status, 202);
    } finally {
      await f.restart();
    }
  });

  it('survives malformed and hostile requests, and keeps answering', async () => {
    const port = f.server.port;
    const junk = [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
      `GET /v1/recommendations/${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{"a"',
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00]),
      `GET /v1/recommendations/u1?k=${'9'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    ];
    for (const request of junk) await raw(port, request);
    // A non-finite value (1e999 parses as Infinity) is refused; the others may go either way.
    const bodies: Array<[BodyInit, number[]]> = [
      ['['.repeat(100_000), [400, 202]],
      [`{"user_id":"u1","item_id":"i1","type":"view","value":1e999}`, [400]],
      ['{"__proto__":{"polluted":true},"user_id":"u1","item_id":"i1","type":"view"}', [400, 202]],
      [`[${'{"user_id":"\\ud800","item_id":"i1","type":"view"},'.repeat(10)}1]`, [400, 202]],
      [Buffer.from([0xff, 0xfe, 0x00, 0x01]), [400, 202]],
    ];
    for (const [body, statuses] of bodies) {
      const r = await fetch(`${f.base}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...keyed },
        body,
      });
      assert.ok(statuses.includes(r.status), `status ${r.status} for ${String(body).slice(0, 60)}`);
      await r.text();
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    for (const path of [
      '/v1/similar/%00',
      '/v1/recommendations/%F0%9F%98%80',
      '/v1/items/popular?k=%00',
      '/v1/items/popular?category=%FF',
    ]) {
      const r = await call(f.base, 'GET', path);
      assert.ok(r.status < 500, `${path} → ${r.status}`);
    }
    assert.equal((await call(f.base, 'GET', '/healthz')).status, 200);
    assert.equal((await call(f.base, 'GET', '/v1/recommendations/u1')).status, 200);
  });
});
