// What every answer of the serving API must look like, whatever the request: the invariants
// the fuzz tests check.
import assert from 'node:assert/strict';
import { categoryOf, INACTIVE_ITEM, type Reply, UUID_RE } from '../fixture.js';

const SOURCES = new Set(['l0', 'l1', 'l2', 'batch', 'realtime', 'popular']);
/** A 4xx whose body is {"error": {"code", "message", "details"?}}. */
export function assertJsonError(r: Reply, what: string): void {
  assert.ok(r.status >= 400 && r.status < 500, `${what}: status ${r.status}: ${r.text.slice(0, 300)}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/, what);
  assert.equal(typeof r.body, 'object', `${what}: not JSON: ${r.text.slice(0, 300)}`);
  assert.ok(r.body !== null && typeof r.body.error === 'object', `${what}: ${r.text.slice(0, 300)}`);
  assert.equal(typeof r.body.error.code, 'string', what);
  assert.equal(typeof r.body.error.message, 'string', what);
}

export interface AnswerRules {
  k: number;
  /** Ids that must not appear. */
  exclude?: Iterable<string>;
  /** Only items of this category (null: any). */
  category?: string | null;
}

/** A 200 recommendation answer of the documented shape that keeps the request's filters. */
export function assertAnswer(r: Reply, rules: AnswerRules, what: string): void {
  assert.equal(r.status, 200, `${what}: ${r.text.slice(0, 300)}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/, what);
  const b = r.body;
  assert.equal(typeof b, 'object', `${what}: not JSON: ${r.text.slice(0, 300)}`);
  assert.match(b.rec_id, UUID_RE, what);
  assert.ok(b.model_version === null || typeof b.model_version === 'string', what);
  assert.ok(SOURCES.has(b.source), `${what}: source ${b.source}`);
  assert.ok(Array.isArray(b.items), what);
  assert.ok(b.items.length <= rules.k, `${what}: ${b.items.length} items for k=${rules.k}`);
  const ids: string[] = [];
  for (const item of b.items) {
    assert.equal(typeof item.item_id, 'string', what);
    assert.ok(Number.isFinite(item.score), `${what}: score ${item.score}`);
    ids.push(item.item_id);
  }
  assert.equal(new Set(ids).size, ids.length, `${what}: duplicate items ${ids}`);
  assert.ok(!ids.includes(INACTIVE_ITEM), `${what}: the inactive item was recommended`);
  const banned = new Set(rules.exclude ?? []);
  for (const id of ids) assert.ok(!banned.has(id), `${what}: excluded ${id} in ${ids}`);
  if (rules.category)
    for (const id of ids)
      assert.ok(
        /^i\d+$/.test(id) && categoryOf(id) === rules.category,
        `${what}: ${id} is not in category ${rules.category}`,
      );
}

export const kOf = (raw: string | null | undefined) =>
  raw === null || raw === undefined || raw === '' ? 10 : Number(raw);
