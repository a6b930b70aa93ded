/**
 * Keys read straight from Arrow's UTF-8 buffers, without a JS string per row: a training run
 * reads tens of millions of rows whose user, item and event ids repeat (users, items) or must
 * be checked for repeats (event ids), and decoding each to a string first costs more than the
 * whole rest of the read.
 *
 * BytesInterner: distinct byte strings → dense codes 0, 1, 2… in first-seen order (open
 * addressing over a hash of the bytes; each distinct key decoded to a string once).
 * HashSet64: a set of 64-bit fingerprints (two independent 32-bit hashes of the bytes).
 */

const EMPTY = -1;

/** FNV-1a over bytes[from, to). */
function fnv1a(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** A second, independent hash (murmur3's mixing per byte, then its finaliser). */
function murmurish(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x9747b28c ^ (to - from);
  for (let i = from; i < to; i++) {
    h = Math.imul(h ^ bytes[i]!, 0x5bd1e995);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const decoder = new TextDecoder();

export class BytesInterner {
  private slots = new Int32Array(1024).fill(EMPTY);
  private hashes = new Uint32Array(64);
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
    const h = fnv1a(bytes, from, to);
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const c = this.slots[s]!;
      if (c === EMPTY) return this.add(bytes, from, to, h, s);
      if (this.hashes[c] === h && this.same(c, bytes, from, to)) return c;
    }
  }

  private same(c: number, bytes: Uint8Array, from: number, to: number): boolean {
    const a = this.starts[c]!;
    if (this.starts[c + 1]! - a !== to - from) return false;
    for (let i = 0; i < to - from; i++) if (this.pool[a + i] !== bytes[from + i]) return false;
    return true;
  }

  private add(bytes: Uint8Array, from: number, to: number, h: number, slot: number): number {
    const c = this.count++;
    const len = to - from;
    if (this.poolEnd + len > this.pool.length) this.pool = grow(this.pool, this.poolEnd + len);
    this.pool.set(bytes.subarray(from, to), this.poolEnd);
    if (c + 1 >= this.hashes.length) {
      this.hashes = grow(this.hashes, c + 2);
      this.starts = grow(this.starts, c + 3);
    }
    this.hashes[c] = h;
    this.starts[c] = this.poolEnd;
    this.poolEnd += len;
    this.starts[c + 1] = this.poolEnd;
    this.strings.push(decoder.decode(bytes.subarray(from, to)));
    this.slots[slot] = c;
    if (this.count * 2 > this.slots.length) this.rehash();
    return c;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2).fill(EMPTY);
    const mask = this.slots.length - 1;
    for (let c = 0; c < this.count; c++) {
      let s = this.hashes[c]! & mask;
      while (this.slots[s] !== EMPTY) s = (s + 1) & mask;
      this.slots[s] = c;
    }
  }
}

/**
 * A set of byte strings by 64-bit fingerprint. Two different keys with the same fingerprint
 * would count as one; at 20M keys the chance of any such pair is about 1 in 100 000.
 */
export class HashSet64 {
  private hi = new Uint32Array(1 << 16);
  private lo = new Uint32Array(1 << 16);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds bytes[from, to); false when it was there already. */
  add(bytes: Uint8Array, from: number, to: number): boolean {
    const a = fnv1a(bytes, from, to);
    let b = murmurish(bytes, from, to);
    if (a === 0 && b === 0) b = 1; // (0, 0) marks an empty slot
    const mask = this.hi.length - 1;
    for (let s = (a ^ Math.imul(b, 0x9e3779b1)) & mask; ; s = (s + 1) & mask) {
      const x = this.hi[s]!;
      const y = this.lo[s]!;
      if (x === 0 && y === 0) {
        this.hi[s] = a;
        this.lo[s] = b;
        if (++this.count * 4 > this.hi.length * 3) this.rehash();
        return true;
      }
      if (x === a && y === b) return false;
    }
  }

  private rehash(): void {
    const hi = this.hi;
    const lo = this.lo;
    this.hi = new Uint32Array(hi.length * 2);
    this.lo = new Uint32Array(hi.length * 2);
    const mask = this.hi.length - 1;
    for (let i = 0; i < hi.length; i++) {
      const a = hi[i]!;
      const b = lo[i]!;
      if (a === 0 && b === 0) continue;
      let s = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
      while (this.hi[s] !== 0 || this.lo[s] !== 0) s = (s + 1) & mask;
      this.hi[s] = a;
      this.lo[s] = b;
    }
  }
}

function grow<T extends Uint8Array | Uint32Array | Int32Array>(a: T, need: number): T {
  let n = a.length * 2;
  while (n < need) n *= 2;
  const out = new (a.constructor as new (n: number) => T)(n);
  out.set(a);
  return out;
}
