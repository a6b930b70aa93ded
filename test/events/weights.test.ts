// Event weights: parsing them from configuration (string and object forms; unknown types,
// non-numbers and repeats are problems; types left out keep their default), the string form
// round trip, and eventWeight, one event's implicit confidence.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DEFAULT_EVENT_WEIGHTS,
  EVENT_TYPES,
  type EventWeights,
  eventWeight,
  FLOAT32_MAX,
  formatEventWeights,
  parseEventWeights,
} from '../../src/events/index.js';

function weights(input: string | Record<string, unknown>): EventWeights {
  const r = parseEventWeights(input);
  assert.ok(r.ok, `refused ${JSON.stringify(input)}: ${r.ok ? '' : r.problems.join('; ')}`);
  return r.weights;
}
function problems(input: string | Record<string, unknown>): string[] {
  const r = parseEventWeights(input);
  assert.ok(!r.ok, `accepted ${JSON.stringify(input)}`);
  return r.problems;
}

describe('event weights', () => {
  it('defaults: view 1, click 2, add_to_cart 4, purchase 8, rating 1, dismiss -1', () => {
    assert.equal(
      formatEventWeights(DEFAULT_EVENT_WEIGHTS),
      'view=1,click=2,add_to_cart=4,purchase=8,rating=1,dismiss=-1',
    );
    assert.ok(Object.isFrozen(DEFAULT_EVENT_WEIGHTS));
  });

  it('parses the string form; types left out keep their default', () => {
    assert.deepEqual(weights('view=1,click=2,purchase=8,dismiss=-1'), DEFAULT_EVENT_WEIGHTS);
    assert.deepEqual(weights(' click = 3 , dismiss=0 ,'), { ...DEFAULT_EVENT_WEIGHTS, click: 3, dismiss: 0 });
    assert.deepEqual(weights('purchase=1.5e1,view=.5,rating=-2'), {
      ...DEFAULT_EVENT_WEIGHTS,
      purchase: 15,
      view: 0.5,
      rating: -2,
    });
    assert.deepEqual(weights(''), DEFAULT_EVENT_WEIGHTS);
    assert.ok(Object.isFrozen(weights('view=2')));
  });

  it('parses the object form; types left out keep their default', () => {
    assert.deepEqual(weights({ purchase: 10, dismiss: -2 }), {
      ...DEFAULT_EVENT_WEIGHTS,
      purchase: 10,
      dismiss: -2,
    });
    assert.deepEqual(weights({}), DEFAULT_EVENT_WEIGHTS);
    assert.ok(!Object.is(weights({ view: -0 }).view, -0));
  });

  it('lists every problem: unknown types, non-numbers, non-finite numbers, repeats, entries without "="', () => {
    assert.deepEqual(problems('like=3'), [
      'unknown event type "like" (known: view, click, add_to_cart, purchase, rating, dismiss)',
    ]);
    const p = problems(
      'view=x,click=,purchase=Infinity,rating=NaN,dismiss=1e999,add_to_cart=0x10,like=1,view=2,cart',
    );
    assert.equal(p.length, 9, p.join('\n'));
    assert.match(p[0], /"view" must be a finite number .* got "x"/);
    assert.match(p[1], /"click" .* got ""/);
    assert.match(p[2], /"purchase" .* got "Infinity"/);
    assert.match(p[3], /"rating" .* got "NaN"/);
    assert.match(p[4], /"dismiss" .* got "1e999"/);
    assert.match(p[5], /"add_to_cart" .* got "0x10"/);
    assert.match(p[6], /unknown event type "like"/);
    assert.match(p[7], /"view" is given twice/);
    assert.match(p[8], /"cart" is not type=weight/);
    assert.match(problems('view=1e39')[0], /fits a float32/);
    const q = problems({
      view: '1',
      click: null,
      purchase: Number.NaN,
      rating: Infinity,
      teleport: 1,
      __proto__x: 2,
    });
    assert.equal(q.length, 6, q.join('\n'));
    assert.match(q[0], /"view" .* got "1"/);
    assert.match(q[1], /"click" .* got null/);
    assert.match(q[4], /unknown event type "teleport"/);
    assert.match(problems(JSON.parse('{"__proto__": 1}'))[0], /unknown event type "__proto__"/);
  });

  it('property: the string form reads back what formatEventWeights wrote', () => {
    const weight = fc.oneof(
      fc.integer({ min: -100, max: 100 }),
      fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((w) => Math.fround(w) !== 0 || w === 0),
    );
    const anyWeights = fc
      .tuple(...EVENT_TYPES.map(() => weight))
      .map(
        (ws) =>
          Object.fromEntries(
            EVENT_TYPES.map((t, i) => [t, ws[i] === 0 ? 0 : ws[i]]),
          ) as unknown as EventWeights,
      );
    fc.assert(
      fc.property(anyWeights, (w) => {
        assert.deepEqual(weights(formatEventWeights(w)), w);
        assert.deepEqual(weights({ ...w }), w);
      }),
    );
  });

  it('eventWeight: the type weight times the value (1 when absent); 0 excludes', () => {
    assert.equal(eventWeight('view', null), 1);
    assert.equal(eventWeight('view', undefined), 1);
    assert.equal(eventWeight('click', null), 2);
    assert.equal(eventWeight('add_to_cart', null), 4);
    assert.equal(eventWeight('purchase', null), 8);
    assert.equal(eventWeight('purchase', 3), 24, 'a value multiplies (a quantity, say)');
    assert.equal(eventWeight('rating', 4.5), 4.5, 'a rating keeps its value');
    assert.equal(eventWeight('rating', null), 1);
    assert.equal(eventWeight('dismiss', null), -1, 'a dismiss is negative evidence');
    const w = weights('view=0,dismiss=-3,rating=2');
    assert.equal(eventWeight('view', 5, w), 0, 'weight 0: excluded');
    assert.equal(eventWeight('dismiss', null, w), -3);
    assert.equal(eventWeight('rating', 4, w), 8);
    assert.ok(Object.is(eventWeight('dismiss', 0), 0), 'never -0');
    assert.equal(eventWeight('purchase', FLOAT32_MAX), FLOAT32_MAX, 'clamped to float32');
    assert.equal(eventWeight('dismiss', FLOAT32_MAX), -FLOAT32_MAX);
  });
});
