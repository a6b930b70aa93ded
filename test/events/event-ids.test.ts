// newEventId: RFC 9562 UUID v7s — the layout PostgreSQL's uuid type and every validator take,
// the accept time in the first 48 bits (so ids sort by it), and no repeats across pool refills.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUuid, newEventId } from '../../src/events/index.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const stamp = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

describe('newEventId', () => {
  it('writes version 7 and the RFC variant around the millisecond stamp', () => {
    for (const ms of [0, 1, 1_714_557_600_123, 2 ** 48 - 1]) {
      const id = newEventId(ms);
      assert.match(id, V7);
      assert.ok(isUuid(id));
      assert.equal(stamp(id), ms);
    }
  });

  it('clamps times outside 48 bits instead of writing a malformed id', () => {
    assert.equal(stamp(newEventId(-5)), 0);
    assert.equal(stamp(newEventId(2 ** 50)), 2 ** 48 - 1);
    assert.match(newEventId(2 ** 50), V7);
  });

  it('stamps the clock by default', () => {
    const before = Date.now();
    const t = stamp(newEventId());
    assert.ok(t >= before && t <= Date.now());
  });

  it('sorts by time: a later millisecond gives a greater id', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => newEventId(1_700_000_000_000 + i * 7));
    assert.deepEqual([...ids].sort(), ids);
  });

  it('never repeats within one millisecond, across many pool refills', () => {
    const n = 100_000; // ≈ 200 refills of the 512-id pool
    const ids = new Set<string>();
    for (let i = 0; i < n; i++) ids.add(newEventId(1_700_000_000_000));
    assert.equal(ids.size, n);
    // The 74 random bits really vary: each hex position past the stamp takes many values.
    const random = [...ids].slice(0, 4096).map((id) => id.slice(15).replace(/-/g, ''));
    for (let pos = 0; pos < random[0]!.length; pos++) {
      if (pos === 3) continue; // the variant digit: 8, 9, a or b
      const seen = new Set(random.map((r) => r[pos]));
      assert.ok(seen.size >= 12, `position ${pos} took ${seen.size} values`);
    }
  });
});
