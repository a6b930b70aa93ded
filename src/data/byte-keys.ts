/**
 * Keys read straight from Arrow's UTF-8 buffers, without a JS string per row: a training run
 * reads tens of millions of rows whose user, item and event ids repeat (users, items) or must
 * be checked for repeats (event ids), and decoding each to a string first costs more than the
 * whole rest of the read.
 *
 * BytesInterner: distinct byte strings → dense codes 0, 1, 2… in first-seen order (open
 * addressing over a hash of the bytes; each distinct key decoded to a string once).
 * HashSet64: a set of 64-bit fingerprints (`fingerprint`: two independent 32-bit hashes of the bytes).
 */

/** FNV-1a over bytes[from, to). */
function fnv1a(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

const decoder = new TextDecoder();

export class BytesInterner {
  /** Pairs (hash, code + 1) per slot, so a probe reads one cache line; code + 1 = 0 is empty. */
  private slots = new Int32Array(2048);
  private starts = new Int32Array(65);
  private pool = new Uint8Array(4096);
  private poolEnd = 0;
  private count = 0;
  readonly strings: string[] = [];

  get size(): number {
    return this.count;
  }

  /** The code of bytes[from, to), adding it when new. */
  code(bytes: Uint8Array, from: number, to: number): number {
    const h = fnv1a(bytes, from, to) | 0;
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const c1 = slots[2 * s + 1]!;
      if (c1 === 0) return this.add(bytes, from, to, h, s);
      if (slots[2 * s] === h && this.same(c1 - 1, bytes, from, to)) return c1 - 1;
    }
  }

  private same(c: number, bytes: Uint8Array, from: number, to: number): boolean {
    const a = this.starts[c]!;
    const len = to - from;
    if (this.starts[c + 1]! - a !== len) return false;
    const pool = this.pool;
    for (let i = 0; i < len; i++) if (pool[a + i] !== bytes[from + i]) return false;
    return true;
  }

  private add(bytes: Uint8Array, from: number, to: number, h: number, slot: number): number {
    const c = this.count++;
    const len = to - from;
    if (this.poolEnd + len > this.pool.length) this.pool = grow(this.pool, this.poolEnd + len);
    this.pool.set(bytes.subarray(from, to), this.poolEnd);
    if (c + 2 >= this.starts.length) this.starts = grow(this.starts, c + 3);
    this.starts[c] = this.poolEnd;
    this.poolEnd += len;
    this.starts[c + 1] = this.poolEnd;
    this.strings.push(decoder.decode(bytes.subarray(from, to)));
    this.slots[2 * slot] = h;
    this.slots[2 * slot + 1] = c + 1;
    if (this.count * 4 > this.slots.length) this.rehash();
    return c;
  }

  private rehash(): void {
    const old = this.slots;
    const slots = new Int32Array(old.length * 2);
    const mask = (slots.length >> 1) - 1;
    for (let j = 0; j < old.length; j += 2) {
      if (old[j + 1] === 0) continue;
      let s = old[j]! & mask;
      while (slots[2 * s + 1] !== 0) s = (s + 1) & mask;
      slots[2 * s] = old[j]!;
      slots[2 * s + 1] = old[j + 1]!;
    }
    this.slots = slots;
  }
}

/**
 * A set of byte strings by 64-bit fingerprint. Two different keys with the same fingerprint
 * would count as one; at 20M keys the chance of any such pair is about 1 in 100 000.
 */
export class HashSet64 {
  /** Pairs (a, b) per slot; (0, 0) is empty. */
  private slots = new Int32Array(1 << 12);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds a fingerprint made by `fingerprint`; false when it was there already. */
  addPair(a: number, b: number): boolean {
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    for (let s = (a ^ Math.imul(b, 0x9e3779b1)) & mask; ; s = (s + 1) & mask) {
      const x = slots[2 * s]!;
      const y = slots[2 * s + 1]!;
      if (x === 0 && y === 0) {
        slots[2 * s] = a;
        slots[2 * s + 1] = b;
        if (++this.count * 8 > slots.length * 3) this.rehash();
        return true;
      }
      if (x === a && y === b) return false;
    }
  }

  private rehash(): void {
    const old = this.slots;
    const slots = new Int32Array(old.length * 2);
    const mask = (slots.length >> 1) - 1;
    for (let j = 0; j < old.length; j += 2) {
      const a = old[j]!;
      const b = old[j + 1]!;
      if (a === 0 && b === 0) continue;
      let s = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
      while (slots[2 * s] !== 0 || slots[2 * s + 1] !== 0) s = (s + 1) & mask;
      slots[2 * s] = a;
      slots[2 * s + 1] = b;
    }
    this.slots = slots;
  }
}

/**
 * The 64-bit fingerprint of bytes[from, to) as two int32 halves into out[at], out[at + 1]:
 * FNV-1a and a multiply-rotate hash in one pass; never (0, 0), which marks an empty slot.
 */
export function fingerprint(bytes: Uint8Array, from: number, to: number, out: Int32Array, at: number): void {
  let a = 0x811c9dc5 | 0;
  let b = 0x9747b28c ^ (to - from);
  for (let i = from; i < to; i++) {
    const x = bytes[i]!;
    a = Math.imul(a ^ x, 0x01000193);
    b = Math.imul(b ^ x, 0x5bd1e995);
    b ^= b >>> 15;
  }
  b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b ^= b >>> 16;
  if (a === 0 && b === 0) b = 1;
  out[at] = a;
  out[at + 1] = b;
}

function grow<T extends Uint8Array | Uint32Array | Int32Array>(a: T, need: number): T {
  let n = a.length * 2;
  while (n < need) n *= 2;
  const out = new (a.constructor as new (n: number) => T)(n);
  out.set(a);
  return out;
}
