// Serving scales across cores by running several servers on one port: with port sharing on
// (serving.reusePort, the default in services mode) uWS listens with SO_REUSEPORT, so a second
// `recsys serve --port P` (another process, or as here another server in this one) binds the
// same port and the kernel spreads connections between them. With it off (embedded mode's
// default, so `recsys start`) a port in use is refused.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { PortUnavailableError, type RunningServer, startServer } from '../../src/serving/index.js';
import { type Fixture, startFixture } from './fixture.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

/** GET on a connection of its own; resolves with the CORS header (null when absent). */
function corsHeaderOf(url: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false, headers: { origin: 'https://shop.example' } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
          else resolve((res.headers['access-control-allow-origin'] as string | undefined) ?? null);
        });
      })
      .on('error', reject);
  });
}

describe('several servers on one port', () => {
  let f: Fixture;
  let second: RunningServer | undefined;

  before(async () => {
    // A fixed port for both: the kernel only lets a second socket join a port bound by
    // number (one that bound port 0 got its port to itself).
    f = await startFixture({ options: { port: await freePort(), reusePort: true } });
    // The second server differs in one visible way: it answers CORS requests.
    const config = loadConfig({
      env: { RECSYS_CORS_ORIGINS: 'https://shop.example', RECSYS_LOG_LEVEL: 'silent' },
      overrides: { dataDir: f.config.dataDir },
    });
    second = await startServer(
      { config, stores: f.stores, models: f.models, logger: silentLogger, backend: 'js' },
      { port: f.server.port, reusePort: true },
    );
  });
  after(async () => {
    await second?.close();
    await f?.close();
  });

  it('both answer on the same port, the kernel spreading connections between them', async () => {
    assert.equal(second?.port, f.server.port);
    const seen = await Promise.all(
      Array.from({ length: 40 }, () => corsHeaderOf(`${f.base}/v1/recommendations/u1`)),
    );
    const bySecond = seen.filter((h) => h === 'https://shop.example').length;
    // 40 connections land on one of two sockets by a hash of their ports: all on one side
    // has odds of 2 in 2^40.
    assert.ok(bySecond > 0 && bySecond < seen.length, `second server answered ${bySecond} of ${seen.length}`);
  });
});

describe('a port in use without sharing', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture({ options: { port: await freePort() } });
  });
  after(() => f?.close());

  it('is refused with a clear error, whether the second server shares or not', async () => {
    assert.equal(f.config.serving.reusePort, false, 'embedded mode does not share ports by default');
    for (const reusePort of [false, true]) {
      await assert.rejects(
        startServer(
          { config: f.config, stores: f.stores, models: f.models, logger: silentLogger, backend: 'js' },
          { port: f.server.port, reusePort },
        ),
        (err: unknown) =>
          err instanceof PortUnavailableError && new RegExp(`127.0.0.1:${f.server.port}`).test(err.message),
      );
    }
    // The first one still answers.
    assert.equal((await fetch(`${f.base}/healthz`)).status, 200);
  });

  it('a sharing server does not let an exclusive one in either', async () => {
    const port = await freePort();
    const config = loadConfig({ env: { RECSYS_REUSE_PORT: 'true', RECSYS_LOG_LEVEL: 'silent' } });
    assert.equal(config.serving.reusePort, true);
    const deps = { config, stores: f.stores, models: f.models, logger: silentLogger, backend: 'js' as const };
    const sharing = await startServer(deps, { port });
    try {
      await assert.rejects(startServer(deps, { port, reusePort: false }), PortUnavailableError);
    } finally {
      await sharing.close();
    }
  });
});
