// Dense vector helpers on raw pointers (byte offsets into the shared linear memory).
// f32 vectors use v128 f32x4 with four independent accumulators and scalar tails, so any
// length works; nothing here allocates.

/** Horizontal sum of the four lanes. */
// @ts-ignore: decorator
@inline
export function hsum(v: v128): f32 {
  const t = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1);
}

/** [Σa, Σb, Σc, Σd]: the four horizontal sums as one vector. */
// @ts-ignore: decorator
@inline
export function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/** Σ a[i]·b[i], i < n (f32). */
// @ts-ignore: decorator
@inline
export function dot(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0);
  let s1 = s0;
  let s2 = s0;
  let s3 = s0;
  const n16 = n & ~15;
  const n4 = n & ~3;
  let o: usize = 0;
  const e16 = <usize>n16 << 2;
  while (o < e16) {
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(a + o, 16), v128.load(b + o, 16)));
    s2 = f32x4.add(s2, f32x4.mul(v128.load(a + o, 32), v128.load(b + o, 32)));
    s3 = f32x4.add(s3, f32x4.mul(v128.load(a + o, 48), v128.load(b + o, 48)));
    o += 64;
  }
  const e4 = <usize>n4 << 2;
  while (o < e4) {
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    o += 16;
  }
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  const e = <usize>n << 2;
  while (o < e) {
    s += load<f32>(a + o) * load<f32>(b + o);
    o += 4;
  }
  return s;
}

/** y[i] += alpha·x[i], i < n (f32). */
// @ts-ignore: decorator
@inline
export function axpy(alpha: f32, x: usize, y: usize, n: i32): void {
  const va = f32x4.splat(alpha);
  const n16 = n & ~15;
  const n4 = n & ~3;
  let o: usize = 0;
  const e16 = <usize>n16 << 2;
  while (o < e16) {
    v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(va, v128.load(x + o))));
    v128.store(y + o, f32x4.add(v128.load(y + o, 16), f32x4.mul(va, v128.load(x + o, 16))), 16);
    v128.store(y + o, f32x4.add(v128.load(y + o, 32), f32x4.mul(va, v128.load(x + o, 32))), 32);
    v128.store(y + o, f32x4.add(v128.load(y + o, 48), f32x4.mul(va, v128.load(x + o, 48))), 48);
    o += 64;
  }
  const e4 = <usize>n4 << 2;
  while (o < e4) {
    v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(va, v128.load(x + o))));
    o += 16;
  }
  const e = <usize>n << 2;
  while (o < e) {
    store<f32>(y + o, load<f32>(y + o) + alpha * load<f32>(x + o));
    o += 4;
  }
}

/** y = A·x for a dense n×n row-major f32 matrix A; y must have room for ceil4(n) floats. */
export function matvec(A: usize, x: usize, y: usize, n: i32): void {
  const row = <usize>n << 2;
  const n4 = n & ~3;
  const e4 = <usize>n4 << 2;
  const e = row;
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const a0 = A + <usize>j * row;
    const a1 = a0 + row;
    const a2 = a1 + row;
    const a3 = a2 + row;
    let c0 = f32x4.splat(0);
    let c1 = c0;
    let c2 = c0;
    let c3 = c0;
    let o: usize = 0;
    while (o < e4) {
      const xv = v128.load(x + o);
      c0 = f32x4.add(c0, f32x4.mul(v128.load(a0 + o), xv));
      c1 = f32x4.add(c1, f32x4.mul(v128.load(a1 + o), xv));
      c2 = f32x4.add(c2, f32x4.mul(v128.load(a2 + o), xv));
      c3 = f32x4.add(c3, f32x4.mul(v128.load(a3 + o), xv));
      o += 16;
    }
    let res = hsum4(c0, c1, c2, c3);
    if (o < e) {
      let t0: f32 = 0;
      let t1: f32 = 0;
      let t2: f32 = 0;
      let t3: f32 = 0;
      while (o < e) {
        const xs = load<f32>(x + o);
        t0 += load<f32>(a0 + o) * xs;
        t1 += load<f32>(a1 + o) * xs;
        t2 += load<f32>(a2 + o) * xs;
        t3 += load<f32>(a3 + o) * xs;
        o += 4;
      }
      res = f32x4.add(res, f32x4(t0, t1, t2, t3));
    }
    v128.store(y + (<usize>j << 2), res);
  }
  for (; j < n; j++) store<f32>(y + (<usize>j << 2), dot(A + <usize>j * row, x, n));
}

/** Σ a[i]·b[i], i < n (f64). */
// @ts-ignore: decorator
@inline
export function dot64(a: usize, b: usize, n: i32): f64 {
  let s0 = f64x2.splat(0);
  let s1 = s0;
  const n4 = n & ~3;
  let o: usize = 0;
  const e4 = <usize>n4 << 3;
  while (o < e4) {
    s0 = f64x2.add(s0, f64x2.mul(v128.load(a + o), v128.load(b + o)));
    s1 = f64x2.add(s1, f64x2.mul(v128.load(a + o, 16), v128.load(b + o, 16)));
    o += 32;
  }
  s0 = f64x2.add(s0, s1);
  let s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1);
  const e = <usize>n << 3;
  while (o < e) {
    s += load<f64>(a + o) * load<f64>(b + o);
    o += 8;
  }
  return s;
}

/** y[i] += alpha·x[i], i < n (f64). */
// @ts-ignore: decorator
@inline
export function axpy64(alpha: f64, x: usize, y: usize, n: i32): void {
  const va = f64x2.splat(alpha);
  const n2 = n & ~1;
  let o: usize = 0;
  const e2 = <usize>n2 << 3;
  while (o < e2) {
    v128.store(y + o, f64x2.add(v128.load(y + o), f64x2.mul(va, v128.load(x + o))));
    o += 16;
  }
  if (n2 < n) store<f64>(y + o, load<f64>(y + o) + alpha * load<f64>(x + o));
}

/** [y0·v, y1·v, y2·v, y3·v] for four rows of n floats (f32). */
// @ts-ignore: decorator
@inline
export function dot4(y0: usize, y1: usize, y2: usize, y3: usize, v: usize, n: i32): v128 {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let b0 = a0;
  let b1 = a0;
  let b2 = a0;
  let b3 = a0;
  let o: usize = 0;
  const e8 = <usize>(n & ~7) << 2;
  while (o < e8) {
    const v0 = v128.load(v + o);
    const v1 = v128.load(v + o, 16);
    a0 = f32x4.add(a0, f32x4.mul(v128.load(y0 + o), v0));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(y1 + o), v0));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(y2 + o), v0));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(y3 + o), v0));
    b0 = f32x4.add(b0, f32x4.mul(v128.load(y0 + o, 16), v1));
    b1 = f32x4.add(b1, f32x4.mul(v128.load(y1 + o, 16), v1));
    b2 = f32x4.add(b2, f32x4.mul(v128.load(y2 + o, 16), v1));
    b3 = f32x4.add(b3, f32x4.mul(v128.load(y3 + o, 16), v1));
    o += 32;
  }
  if (n & 4) {
    const v0 = v128.load(v + o);
    a0 = f32x4.add(a0, f32x4.mul(v128.load(y0 + o), v0));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(y1 + o), v0));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(y2 + o), v0));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(y3 + o), v0));
    o += 16;
  }
  let res = hsum4(f32x4.add(a0, b0), f32x4.add(a1, b1), f32x4.add(a2, b2), f32x4.add(a3, b3));
  const e = <usize>n << 2;
  if (o < e) {
    let t0: f32 = 0;
    let t1: f32 = 0;
    let t2: f32 = 0;
    let t3: f32 = 0;
    while (o < e) {
      const vs = load<f32>(v + o);
      t0 += load<f32>(y0 + o) * vs;
      t1 += load<f32>(y1 + o) * vs;
      t2 += load<f32>(y2 + o) * vs;
      t3 += load<f32>(y3 + o) * vs;
      o += 4;
    }
    res = f32x4.add(res, f32x4(t0, t1, t2, t3));
  }
  return res;
}

/** dst += w[0]·y0 + w[1]·y1 + w[2]·y2 + w[3]·y3 over n floats (f32). */
// @ts-ignore: decorator
@inline
export function axpy4(w: v128, y0: usize, y1: usize, y2: usize, y3: usize, dst: usize, n: i32): void {
  const w0 = v128.shuffle<f32>(w, w, 0, 0, 0, 0);
  const w1 = v128.shuffle<f32>(w, w, 1, 1, 1, 1);
  const w2 = v128.shuffle<f32>(w, w, 2, 2, 2, 2);
  const w3 = v128.shuffle<f32>(w, w, 3, 3, 3, 3);
  let o: usize = 0;
  const e4 = <usize>(n & ~3) << 2;
  while (o < e4) {
    const s01 = f32x4.add(f32x4.mul(w0, v128.load(y0 + o)), f32x4.mul(w1, v128.load(y1 + o)));
    const s23 = f32x4.add(f32x4.mul(w2, v128.load(y2 + o)), f32x4.mul(w3, v128.load(y3 + o)));
    v128.store(dst + o, f32x4.add(v128.load(dst + o), f32x4.add(s01, s23)));
    o += 16;
  }
  const e = <usize>n << 2;
  if (o < e) {
    const s0 = f32x4.extract_lane(w, 0);
    const s1 = f32x4.extract_lane(w, 1);
    const s2 = f32x4.extract_lane(w, 2);
    const s3 = f32x4.extract_lane(w, 3);
    while (o < e) {
      store<f32>(
        dst + o,
        load<f32>(dst + o) + (s0 * load<f32>(y0 + o) + s1 * load<f32>(y1 + o)) + (s2 * load<f32>(y2 + o) + s3 * load<f32>(y3 + o)),
      );
      o += 4;
    }
  }
}
