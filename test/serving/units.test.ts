// The serving layer's small parts on their own: native uWS loading, token buckets, API key
// checks, the L0 invalidation guard, L1 entries and query parsing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnswerWriter } from '../../src/serving/answer-writer.js';
import { roundScore } from '../../src/serving/answers.js';
import { ApiKeys } from '../../src/serving/api-keys.js';
import { statusLine } from '../../src/serving/errors.js';
import { L0Cache } from '../../src/serving/l0-cache.js';
import { parseCandidates } from '../../src/serving/l1-cache.js';
import { PreparedAnswer } from '../../src/serving/prepared-answer.js';
import { parseListQuery, variantKey } from '../../src/serving/query.js';
import { RateLimiter } from '../../src/serving/rate-limit.js';
import { RecIds } from '../../src/serving/rec-ids.js';
import { loadUws } from '../../src/serving/uws.js';

/** A prepared answer as the server builds one. */
function prepared(): PreparedAnswer {
  const w = new AnswerWriter(new RecIds());
  w.write({ user_id: 'u1' }, 'v1', 'l0', ['i1'], [0.5]);
  return new PreparedAnswer(w.copy());
}

describe('serving parts', () => {
  it('loads the native uWebSockets.js binary, not the JavaScript fallback', () => {
    const uws = loadUws();
    // Only the native module has these; the fallback exports App and two socket helpers.
    assert.equal(typeof uws.getParts, 'function');
    assert.equal(typeof (uws as unknown as { H3App?: unknown }).H3App, 'function');
  });

  it('token bucket: burst, then the rate', () => {
    const limiter = new RateLimiter(10, 3);
    const t = 1000;
    assert.deepEqual(
      [0, 1, 2, 3].map(() => limiter.take('a', t)),
      [0, 0, 0, 1],
    );
    assert.equal(limiter.take('b', t), 0, 'buckets are per client');
    assert.equal(limiter.take('a', t + 100), 0, 'one token back after 1/rate s');
    assert.equal(limiter.take('a', t + 100), 1);
    assert.equal(new RateLimiter(0, 1).take('a'), 0, 'rate 0 is off');
  });

  it('API keys: only configured keys match; ids do not reveal the key', () => {
    const keys = new ApiKeys(['first-key-aaaaaaaaaaaa', 'second-key-bbbbbbbbbbb']);
    const id = keys.check('second-key-bbbbbbbbbbb');
    assert.match(id!, /^key:[0-9a-f]{12}$/);
    assert.ok(!id!.includes('second'));
    assert.notEqual(keys.check('first-key-aaaaaaaaaaaa'), id);
    assert.equal(keys.check('second-key-bbbbbbbbbbx'), null);
    assert.equal(keys.check(''), null);
    assert.equal(new ApiKeys([]).enabled, false);
  });

  it('L0: invalidation wins over a fill that started before it', () => {
    const l0 = new L0Cache(10, 60_000);
    const answer = {
      answer: prepared(),
      modelVersion: 'v',
      filledFrom: 'batch' as const,
      items: [],
      scores: [],
    };
    const started = performance.now();
    l0.dropUser('u1');
    l0.set('u1', 'k10', answer, started);
    assert.equal(l0.get('u1', 'k10'), undefined, 'stale fill skipped');
    l0.set('u1', 'k10', answer, performance.now());
    assert.equal(l0.get('u1', 'k10'), answer);
    const before = performance.now();
    l0.clear();
    l0.set('u2', 'k10', answer, before);
    assert.equal(l0.get('u2', 'k10'), undefined);
    assert.equal(new L0Cache(0, 1000).enabled, false);
  });

  it('answer bytes are exactly JSON.stringify of the answer, whatever the ids and scores', () => {
    const ids = new RecIds();
    const w = new AnswerWriter(ids);
    const rng = (() => {
      let x = 12345;
      return () => {
        x = (x * 1103515245 + 12345) % 2147483648;
        return x / 2147483648;
      };
    })();
    const oddIds = [
      'plain',
      'with "quote"',
      'back\\slash',
      'tab\there',
      'ünïcödé',
      '日本',
      'emoji 🎬',
      '',
      'ctl\u0001',
    ];
    const oddScores = [
      0,
      -0,
      0.01,
      -0.01,
      0.0099999,
      1e-7,
      -3.5e-9,
      0.5000005,
      -0.5000005,
      1.0000004999,
      123456.789,
      -2.25,
      999999999.9,
      1e9,
      1e21,
      12345678901234,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Math.fround(0.1),
      7,
    ];
    for (let round = 0; round < 400; round++) {
      const n = round === 0 ? 600 : Math.floor(rng() * 12);
      const items = Array.from({ length: n }, (_, i) =>
        rng() < 0.2 ? oddIds[i % oddIds.length] : `i${Math.floor(rng() * 1e6)}`,
      );
      const scores = Array.from({ length: n }, (_, i) =>
        rng() < 0.3
          ? oddScores[(round + i) % oddScores.length]
          : (rng() - 0.3) * 10 ** Math.floor(rng() * 8 - 3),
      );
      const fields: Record<string, unknown> =
        round % 3 === 0
          ? { user_id: items[0] ?? 'u' }
          : round % 3 === 1
            ? { ignored_items: ['a', 'b"'] }
            : {};
      const version = round % 5 === 0 ? null : `v${round}`;
      const bytes = Buffer.from(w.write(fields, version, 'batch', items, scores)).toString('utf8');
      const recId = JSON.parse(bytes).rec_id as string;
      assert.match(recId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const expected = JSON.stringify({
        rec_id: recId,
        ...fields,
        model_version: version,
        source: 'batch',
        items: items.map((item_id, i) => ({ item_id, score: roundScore(scores[i]) })),
      });
      assert.equal(bytes, expected);
      const out = Buffer.alloc(36);
      w.copyRecId(out, 0);
      assert.equal(out.toString('latin1'), recId);
    }
  });

  it('prepared answers get a fresh, valid UUID v4 rec_id on every use', () => {
    const ids = new RecIds();
    const p = prepared();
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const body = JSON.parse(p.stamp(ids).toString('utf8'));
      assert.match(body.rec_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const copied = Buffer.alloc(36);
      p.copyRecId(copied, 0);
      assert.equal(copied.toString('latin1'), body.rec_id);
      seen.add(body.rec_id);
    }
    assert.equal(seen.size, 2000);
  });

  it('status lines carry their reason phrase', () => {
    assert.equal(statusLine(201), '201 Created');
    assert.equal(statusLine(429), '429 Too Many Requests');
    assert.equal(statusLine(201), '201 Created');
    assert.equal(statusLine(599), '599 Unknown');
  });

  it('L1 entries: malformed ones are rejected, not thrown', () => {
    assert.equal(parseCandidates('{"items":["a"],"scores":[]}'), null);
    assert.equal(parseCandidates('{"items":[1],"scores":[1]}'), null);
    assert.equal(parseCandidates('garbage'), null);
    assert.equal(parseCandidates('{"items":["a"],"scores":[1],"source":"l0"}')?.source, 'batch');
  });

  it('list queries: defaults, validation, and one cache key per distinct query', () => {
    const q = parseListQuery(new URLSearchParams(''));
    assert.deepEqual(q, { k: 10, excludeSeen: true, category: null, exclude: [] });
    const a = parseListQuery(new URLSearchParams('k=5&exclude=b,a&category=x'));
    const b = parseListQuery(new URLSearchParams('category=x&exclude=a&exclude=b&k=5'));
    assert.equal(variantKey(a), variantKey(b));
    assert.notEqual(variantKey(a), variantKey(q));
    assert.throws(() => parseListQuery(new URLSearchParams('k=-1')), /k must be/);
    assert.throws(() => parseListQuery(new URLSearchParams('k=1e1')), /k must be/);
  });
});
