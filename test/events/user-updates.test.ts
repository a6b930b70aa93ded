// The user-update message (speed layer → serving): encode and parse, with defaults, and
// malformed messages rejected rather than thrown.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeProfileUpdates,
  encodeUserUpdate,
  parseUserUpdate,
  parseUserUpdates,
  USER_UPDATES_CHANNEL,
} from '../../src/events/index.js';

describe('user-update messages', () => {
  it('round trip, source realtime by default', () => {
    assert.equal(USER_UPDATES_CHANNEL, 'recsys:user-updates');
    const m = { user_id: 'u1', model_version: 'v1', items: ['a', 'b'], scores: [0.5, 0.25] };
    assert.deepEqual(parseUserUpdate(encodeUserUpdate(m)), { ...m, source: 'realtime' });
    assert.deepEqual(parseUserUpdate(encodeUserUpdate({ ...m, source: 'batch' })), { ...m, source: 'batch' });
  });

  it('malformed parts take defaults; malformed messages are rejected, not thrown', () => {
    assert.deepEqual(parseUserUpdate('{"user_id":"u1","model_version":"v","items":["a"],"scores":[0.5]}'), {
      user_id: 'u1',
      model_version: 'v',
      items: ['a'],
      scores: [0.5],
      source: 'realtime',
    });
    assert.deepEqual(parseUserUpdate('{"user_id":"u1","items":["a"],"source":"batch"}'), {
      user_id: 'u1',
      model_version: null,
      items: ['a'],
      scores: [0],
      source: 'batch',
    });
    assert.deepEqual(parseUserUpdate('{"user_id":"u1","source":"elsewhere"}'), {
      user_id: 'u1',
      model_version: null,
      items: [],
      scores: [],
      source: 'realtime',
    });
    for (const bad of ['nope', '{}', '{"user_id":""}', '[]', 'null'])
      assert.equal(parseUserUpdate(bad), null, bad);
  });

  it('carries many profile changes in bulk messages of at most perMessage users, read back one by one', () => {
    const users = Array.from({ length: 5 }, (_, i) => ({ user_id: `u${i}`, accepted_at: 1000 + i }));
    const messages = encodeProfileUpdates(users, 'v7', 2);
    assert.equal(messages.length, 3);
    const read = messages.flatMap((m) => parseUserUpdates(m)!);
    assert.deepEqual(
      read,
      users.map((u) => ({ ...u, model_version: 'v7', items: [], scores: [], source: 'realtime' })),
    );
    // The single form reads as a list of one; anything else is refused.
    assert.deepEqual(
      parseUserUpdates(encodeUserUpdate({ user_id: 'u1', model_version: null, items: [], scores: [] })),
      [{ user_id: 'u1', model_version: null, items: [], scores: [], source: 'realtime' }],
    );
    for (const bad of ['nope', '{"users":[1]}', '{"users":[""]}', '[]'])
      assert.equal(parseUserUpdates(bad), null, bad);
  });
});
