// Malformed requests of every kind (test/reliability/malformed.ts) against an embedded server:
// each is refused with a 4xx or a closed connection as documented, none is answered 5xx or
// left hanging, none writes a row, and the server keeps answering. The services suite
// (test/services/bad-input.test.ts) sends 10,000 of them alongside a valid load.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sendMalformed } from '../reliability/malformed.js';
import { API_KEY, call, type Fixture, startFixture } from './fixture.js';

describe('bad input at volume (embedded)', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(() => f?.close());

  it('refuses every malformed request, writes nothing, and keeps serving', async () => {
    const prefix = `bad-${process.pid}-`;
    const report = await sendMalformed({
      port: f.server.port,
      apiKey: API_KEY,
      userPrefix: prefix,
      count: 1200,
      concurrency: 16,
      slow: 6,
    });
    console.log(
      JSON.stringify({ seconds: report.seconds, byKind: report.byKind, slowestMs: report.slowestMs }),
    );
    assert.equal(report.total, 1200);
    assert.deepEqual(report.unexpected, []);
    await f.server.flushLog();
    for (const table of ['rt_user_interactions', 'recommendation_logs', 'recommendation_feedback', 'users']) {
      const { rows } = await f.stores.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} WHERE user_id LIKE $1`,
        [`${prefix}%`],
      );
      assert.equal(rows[0].n, 0, `${table} holds rows of malformed requests`);
    }
    assert.equal((await call(f.base, 'GET', '/v1/recommendations/u1')).status, 200);
  });
});
