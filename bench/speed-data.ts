/**
 * The data shape of bench/speed, shared by the bench and its child processes: who the users
 * and items are, how events are drawn, and the model the speed layer folds them against.
 *
 * - Catalog: ITEMS items `i0`…, popularity Zipf(ITEM_EXPONENT) (item 0 the most popular), the
 *   MovieLens 20M catalog's size — the size the cost estimate of a top-K is made for.
 * - Users: USERS users `su0`…; the first KNOWN_USERS are in the model (trained on
 *   TRAIN_INTERACTIONS interactions drawn the same way), the rest are new to it. Activity is
 *   skewed too (Zipf(USER_EXPONENT) over users: some heavy users, a long tail).
 * - Event types: mostly views, some clicks, few carts and purchases, a rating now and then
 *   (value 1–5) and a dismiss now and then (TYPE_MIX).
 */
import { randomUUID } from 'node:crypto';
import { Rng } from '../src/compute/random.js';
import {
  type EventInput,
  type EventMessage,
  type EventType,
  encodeEvent,
  newEventId,
} from '../src/events/index.js';

/** BENCH_SPEED_EVENT_IDS=v4: random ids, as a client may send, instead of the server's v7s (diagnosis). */
const RANDOM_IDS = process.env.BENCH_SPEED_EVENT_IDS === 'v4';

export const USERS = 50_000;
export const KNOWN_USERS = 45_000;
export const ITEMS = 27_000;
export const FACTORS = 64;
export const TRAIN_INTERACTIONS = 2_000_000;
export const ITEM_EXPONENT = 0.8;
export const USER_EXPONENT = 0.5;
export const USER_PREFIX = 'su';
export const ITEM_PREFIX = 'i';

/** Share of each type (they add up to 1). */
export const TYPE_MIX: ReadonlyArray<readonly [EventType, number]> = [
  ['view', 0.7],
  ['click', 0.18],
  ['add_to_cart', 0.06],
  ['purchase', 0.03],
  ['rating', 0.02],
  ['dismiss', 0.01],
];

export const userId = (u: number) => `${USER_PREFIX}${u}`;
export const itemId = (i: number) => `${ITEM_PREFIX}${i}`;

/** Index draws with probability ∝ 1/(i+1)^exponent, by inverse CDF over a table. */
export class Zipf {
  private readonly cdf: Float64Array;
  private readonly total: number;

  constructor(
    readonly n: number,
    exponent: number,
  ) {
    this.cdf = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      total += 1 / (i + 1) ** exponent;
      this.cdf[i] = total;
    }
    this.total = total;
  }

  draw(rng: Rng): number {
    const x = rng.next() * this.total;
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Draws events of the bench's shape. User draws are Zipf over a shuffled order, so heavy
 * users are spread over known and new ones alike.
 */
export class EventSource {
  private readonly rng: Rng;
  private readonly items = new Zipf(ITEMS, ITEM_EXPONENT);
  private readonly users = new Zipf(USERS, USER_EXPONENT);
  private readonly userOrder: Int32Array;

  constructor(seed: number) {
    this.rng = new Rng(seed);
    const order = new Int32Array(USERS);
    for (let i = 0; i < USERS; i++) order[i] = i;
    const shuffle = new Rng(12_345);
    for (let i = USERS - 1; i > 0; i--) {
      const j = shuffle.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    this.userOrder = order;
  }

  user(): number {
    return this.userOrder[this.users.draw(this.rng)]!;
  }

  item(): number {
    return this.items.draw(this.rng);
  }

  type(): EventType {
    let x = this.rng.next();
    for (const [t, share] of TYPE_MIX) {
      if (x < share) return t;
      x -= share;
    }
    return 'view';
  }

  /** An event as a client posts it (no event_id or ts: the server fills them). */
  input(user = this.user()): EventInput {
    const type = this.type();
    const e: EventInput = { user_id: userId(user), item_id: itemId(this.item()), type };
    if (type === 'rating') e.value = 1 + this.rng.int(5);
    return e;
  }

  /** A complete event as a bus message, as serving would publish it (its event_id a UUID v7 stamped `ts`). */
  message(ts: number, user = this.user()): EventMessage {
    const e = this.input(user);
    return encodeEvent({
      event_id: RANDOM_IDS ? randomUUID() : newEventId(ts),
      user_id: e.user_id,
      item_id: e.item_id,
      type: e.type,
      value: e.value ?? null,
      ts,
    });
  }
}
