// L0 on its own: the TTL, the cap on users (least recently used go first), the cap on
// variants per user, dropUser and clear, and the guard against fills that raced an
// invalidation (changedSince), including when the invalidation's mark has been pushed out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AnswerWriter } from '../../src/serving/answer-writer.js';
import { type CachedAnswer, L0Cache } from '../../src/serving/l0-cache.js';
import { PreparedAnswer } from '../../src/serving/prepared-answer.js';
import { RecIds } from '../../src/serving/rec-ids.js';

function answer(item = 'i1'): CachedAnswer {
  const w = new AnswerWriter(new RecIds());
  w.write({ user_id: 'u' }, 'v1', 'l0', [item], [0.5]);
  return {
    answer: new PreparedAnswer(w.copy()),
    modelVersion: 'v1',
    filledFrom: 'l2',
    items: [item],
    scores: [0.5],
  };
}

/** A fill start strictly later than anything done so far (performance.now() may repeat). */
async function later(): Promise<number> {
  await sleep(2);
  return performance.now();
}

describe('L0 cache', () => {
  it('an entry past its TTL is a miss', async () => {
    const l0 = new L0Cache(10, 40);
    const a = answer();
    l0.set('u1', 'k10', a, performance.now());
    assert.equal(l0.get('u1', 'k10'), a);
    await sleep(80);
    assert.equal(l0.get('u1', 'k10'), undefined);
    // A fresh fill after expiry is stored again.
    l0.set('u1', 'k10', a, performance.now());
    assert.equal(l0.get('u1', 'k10'), a);
  });

  it('holds at most maxUsers users, dropping the least recently used', () => {
    const l0 = new L0Cache(3, 60_000);
    const now = performance.now();
    for (const u of ['u1', 'u2', 'u3']) l0.set(u, 'k10', answer(u), now);
    assert.ok(l0.get('u1', 'k10'), 'u1 read: now the most recently used');
    l0.set('u4', 'k10', answer('u4'), now);
    assert.equal(l0.size, 3);
    assert.equal(l0.get('u2', 'k10'), undefined, 'u2 was the least recently used');
    for (const u of ['u1', 'u3', 'u4']) assert.ok(l0.get(u, 'k10'), u);
  });

  it('holds at most 8 variants per user; the newest one is always kept', () => {
    const l0 = new L0Cache(10, 60_000);
    const now = performance.now();
    const variants = Array.from({ length: 8 }, (_, i) => `k${i + 1}`);
    for (const v of variants) l0.set('u1', v, answer(v), now);
    for (const v of variants) assert.ok(l0.get('u1', v), v);
    // Replacing a variant it holds keeps the others.
    const again = answer('again');
    l0.set('u1', 'k1', again, now);
    assert.equal(l0.get('u1', 'k1'), again);
    assert.ok(variants.every((v) => l0.get('u1', v)));
    // A ninth variant does not grow the user's entry beyond the cap.
    for (let i = 9; i <= 40; i++) {
      const a = answer(`k${i}`);
      l0.set('u1', `k${i}`, a, now);
      assert.equal(l0.get('u1', `k${i}`), a);
      const held = Array.from({ length: i }, (_, j) => `k${j + 1}`).filter((v) => l0.get('u1', v));
      assert.ok(held.length <= 8, `${held.length} variants held after ${i}`);
    }
    assert.equal(l0.size, 1, 'still one user entry');
  });

  it('dropUser removes every variant of that user only; clear removes everything', async () => {
    const l0 = new L0Cache(10, 60_000);
    const now = performance.now();
    for (const u of ['u1', 'u2']) for (const v of ['k5', 'k10']) l0.set(u, v, answer(), now);
    l0.dropUser('u1');
    assert.equal(l0.get('u1', 'k5'), undefined);
    assert.equal(l0.get('u1', 'k10'), undefined);
    assert.ok(l0.get('u2', 'k5') && l0.get('u2', 'k10'));
    assert.equal(l0.size, 1);
    l0.clear();
    assert.equal(l0.size, 0);
    assert.equal(l0.get('u2', 'k5'), undefined);
    // Dropping a user L0 does not hold is harmless, and fills after both are stored.
    l0.dropUser('nobody');
    const after = await later();
    l0.set('u1', 'k10', answer(), after);
    assert.ok(l0.get('u1', 'k10'));
  });

  it("skips a fill that started before the user's invalidation or a clear, and only those", async () => {
    const l0 = new L0Cache(10, 60_000);
    const started = performance.now();
    l0.dropUser('u1');
    assert.equal(l0.changedSince('u1', started), true);
    assert.equal(l0.changedSince('u2', started), false, 'other users are not affected');
    l0.set('u1', 'k10', answer(), started);
    assert.equal(l0.get('u1', 'k10'), undefined, 'the stale fill is not stored');
    l0.set('u2', 'k10', answer(), started);
    assert.ok(l0.get('u2', 'k10'), "another user's fill is stored");
    const afterDrop = await later();
    assert.equal(l0.changedSince('u1', afterDrop), false);
    l0.set('u1', 'k10', answer(), afterDrop);
    assert.ok(l0.get('u1', 'k10'), 'a fill started after the invalidation is stored');

    l0.clear();
    assert.equal(l0.changedSince('u3', afterDrop), true, 'a clear invalidates every user');
    l0.set('u3', 'k10', answer(), afterDrop);
    assert.equal(l0.get('u3', 'k10'), undefined);
    const afterClear = await later();
    l0.set('u3', 'k10', answer(), afterClear);
    assert.ok(l0.get('u3', 'k10'));
  });

  it("still skips a raced fill after the user's invalidation mark was pushed out by many others", async () => {
    const l0 = new L0Cache(10, 60_000);
    const started = performance.now();
    l0.dropUser('u1');
    // More invalidations during one fill than the marks kept (100 000).
    for (let i = 0; i < 100_001; i++) l0.dropUser(`other${i}`);
    assert.equal(l0.changedSince('u1', started), true);
    l0.set('u1', 'k10', answer(), started);
    assert.equal(l0.get('u1', 'k10'), undefined, 'the stale fill is not stored');
    const after = await later();
    l0.set('u1', 'k10', answer(), after);
    assert.ok(l0.get('u1', 'k10'), 'fills started after the lost mark are stored again');
  });

  it('disabled (no users) stores nothing but still answers changedSince', () => {
    const l0 = new L0Cache(0, 1000);
    assert.equal(l0.enabled, false);
    const started = performance.now();
    l0.set('u1', 'k10', answer(), started);
    assert.equal(l0.get('u1', 'k10'), undefined);
    assert.equal(l0.size, 0);
    l0.dropUser('u1');
    assert.equal(l0.changedSince('u1', started), true);
  });
});
