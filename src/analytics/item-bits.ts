/**
 * Item bitmaps for coverage: bit i (least significant first within each byte) stands for the
 * item with items.idx = i. Bitmaps of different lengths combine as if zero-padded, so a
 * catalog that grows needs no rewrite of older rows.
 */

/** A bitmap with the given item indexes set. */
export function bitsOf(indexes: readonly number[]): Uint8Array {
  let max = -1;
  for (const i of indexes) if (i > max) max = i;
  const bits = new Uint8Array((max >> 3) + 1);
  for (const i of indexes) if (i >= 0) bits[i >> 3] |= 1 << (i & 7);
  return max < 0 ? new Uint8Array(0) : bits;
}

/** a | b (a new array when b is longer, else a, changed in place). */
export function orInto(a: Uint8Array | undefined, b: Uint8Array): Uint8Array {
  if (!a) return Uint8Array.from(b);
  let out = a;
  if (b.length > a.length) {
    out = new Uint8Array(b.length);
    out.set(a);
  }
  for (let i = 0; i < b.length; i++) out[i] |= b[i];
  return out;
}

const POP = new Uint8Array(256);
for (let i = 1; i < 256; i++) POP[i] = (i & 1) + POP[i >> 1];

/** Set bits. */
export function popcount(bits: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bits.length; i++) n += POP[bits[i]];
  return n;
}
