// Top-K by dot product with per-query exclusions.
//
// Queries are taken in blocks of QB; a block is transposed into panels of 8 queries
// (panel[d][lane]) so that the micro-kernel computes a 4-item × 8-query tile as
//   acc[item][lanes] += splat(item[d]) · panel[d][lanes]
// with 8 v128 accumulators, reading item rows in place (no padding or tail handling along
// the factor axis). Items stream once per query block while the transposed block stays in
// L1. Each tile is compared against the per-query thresholds (the heap roots) with one
// f32x4.ge per accumulator; only tiles that beat some threshold go to the scalar path.
// Blocks of fewer than 8 queries use dot products along the factors instead (no idle lanes).
//
// The K best of query q are kept as a bounded min-heap (worst at the root) directly in row q
// of outScores/outIndices, pre-filled with sentinels (−Infinity, SENTINEL), and heap-sorted
// best-first at the end of the block. Items are visited in increasing index order, so a
// query's exclusion list, once sorted, is checked with a forward-only cursor.
import { STATUS_BYTES } from './als';
import { dot4 } from './vec';

const SENTINEL: i32 = i32.MAX_VALUE;
const TILE_ITEMS: i32 = 4; // items per micro-kernel tile (× 8 queries)
const STAGE_BYTES: usize = 128; // the tile's 8 v128 accumulators, spilled for the scalar path
const STATE_BYTES: usize = 16; // per query: exclusion ptr, length, cursor, mode
const MIN_EXCLUDE_CAP: i32 = 8192; // int32 slots for sorted copies of unsorted exclusion lists
const MODE_SORTED: i32 = 0;
const MODE_LINEAR: i32 = 1;

let blockOverride: i32 = 0;

/** For benchmarks: force the query block size (multiple of 8), 0 = automatic. */
export function setTopKBlock(qb: i32): void {
  blockOverride = qb > 0 ? (qb + 7) & ~7 : 0;
}

/** Queries per block: the transposed block (QB·f floats) should stay within ~32 KiB. */
export function queryBlock(f: i32): i32 {
  if (blockOverride > 0) return blockOverride;
  const qb = (8192 / max(f, 1)) & ~7;
  return min(max(qb, 8), 256);
}

function fixedBytes(qb: i32, f: i32): i32 {
  return <i32>STAGE_BYTES + qb * f * 4 + qb * 4 + qb * <i32>STATE_BYTES;
}

/** Scratch bytes for topK with `f` factors (after the status header). */
export function topKScratchBytes(f: i32): i32 {
  return fixedBytes(queryBlock(f), f) + MIN_EXCLUDE_CAP * 4;
}

/** (s, i) ranks before (t, j): higher score, then lower index. */
// @ts-ignore: decorator
@inline
function better(s: f32, i: i32, t: f32, j: i32): bool {
  return s > t || (s == t && i < j);
}

/** Sift (s, idx) down from the root of the min-heap hs/hi of `size` entries. */
function siftDown(hs: usize, hi: usize, size: i32, s: f32, idx: i32): void {
  let at = 0;
  for (;;) {
    const l = 2 * at + 1;
    if (l >= size) break;
    let c = l;
    const r = l + 1;
    let cs = load<f32>(hs + (<usize>c << 2));
    let ci = load<i32>(hi + (<usize>c << 2));
    if (r < size) {
      const rs = load<f32>(hs + (<usize>r << 2));
      const ri = load<i32>(hi + (<usize>r << 2));
      if (better(cs, ci, rs, ri)) {
        c = r;
        cs = rs;
        ci = ri;
      }
    }
    if (!better(s, idx, cs, ci)) break;
    store<f32>(hs + (<usize>at << 2), cs);
    store<i32>(hi + (<usize>at << 2), ci);
    at = c;
  }
  store<f32>(hs + (<usize>at << 2), s);
  store<i32>(hi + (<usize>at << 2), idx);
}

function isSorted(p: usize, n: i32): bool {
  let prev = load<i32>(p);
  for (let i = 1; i < n; i++) {
    const v = load<i32>(p + (<usize>i << 2));
    if (v < prev) return false;
    prev = v;
  }
  return true;
}

/** In-place ascending heapsort of n int32. */
function sortI32(p: usize, n: i32): void {
  for (let start = (n >> 1) - 1; start >= 0; start--) siftI32(p, start, n);
  for (let end = n - 1; end > 0; end--) {
    const t = load<i32>(p);
    store<i32>(p, load<i32>(p + (<usize>end << 2)));
    store<i32>(p + (<usize>end << 2), t);
    siftI32(p, 0, end);
  }
}

function siftI32(p: usize, at: i32, n: i32): void {
  const v = load<i32>(p + (<usize>at << 2));
  for (;;) {
    let c = 2 * at + 1;
    if (c >= n) break;
    let cv = load<i32>(p + (<usize>c << 2));
    if (c + 1 < n) {
      const rv = load<i32>(p + (<usize>(c + 1) << 2));
      if (rv > cv) {
        c++;
        cv = rv;
      }
    }
    if (cv <= v) break;
    store<i32>(p + (<usize>at << 2), cv);
    at = c;
  }
  store<i32>(p + (<usize>at << 2), v);
}

/** Is `item` in the query's exclusion list? Calls for one query come in increasing item order. */
function isExcluded(st: usize, item: i32): bool {
  const len = load<i32>(st, 4);
  if (len == 0) return false;
  const p = load<usize>(st);
  if (load<i32>(st, 12) == MODE_SORTED) {
    let cur = load<i32>(st, 8);
    while (cur < len && load<i32>(p + (<usize>cur << 2)) < item) cur++;
    store<i32>(st, cur, 8);
    return cur < len && load<i32>(p + (<usize>cur << 2)) == item;
  }
  for (let e = 0; e < len; e++) if (load<i32>(p + (<usize>e << 2)) == item) return true;
  return false;
}

/** Offer (item, s) to block query qi: insert it into the heap unless it ranks too low or is excluded. */
// @ts-ignore: decorator
@inline
function offer(
  qi: i32,
  item: i32,
  s: f32,
  qs: i32,
  thresh: usize,
  state: usize,
  k: i32,
  outIdx: usize,
  outScores: usize,
): void {
  const rowBytes = <usize>k << 2;
  const q = qs + qi;
  const hs = outScores + <usize>q * rowBytes;
  const hi = outIdx + <usize>q * rowBytes;
  if (!better(s, item, load<f32>(hs), load<i32>(hi))) return;
  if (isExcluded(state + <usize>qi * STATE_BYTES, item)) return;
  siftDown(hs, hi, k, s, item);
  store<f32>(thresh + (<usize>qi << 2), load<f32>(hs));
}

/** Scalar path for a tile with at least one score ≥ its query's threshold. */
function tileSlowPath(
  stage: usize,
  panel: i32,
  i0: i32,
  nItems: i32,
  qs: i32,
  thresh: usize,
  state: usize,
  k: i32,
  outIdx: usize,
  outScores: usize,
): void {
  for (let j = 0; j < TILE_ITEMS; j++) {
    const item = i0 + j;
    if (item >= nItems) break;
    for (let v = 0; v < 2; v++) {
      const sv = stage + (<usize>(j * 2 + v) << 4);
      const q0 = panel * 8 + v * 4;
      let bits = i32x4.bitmask(f32x4.ge(v128.load(sv), v128.load(thresh + (<usize>q0 << 2))));
      while (bits) {
        const lane = ctz(bits);
        bits &= bits - 1;
        offer(q0 + lane, item, load<f32>(sv + (<usize>lane << 2)), qs, thresh, state, k, outIdx, outScores);
      }
    }
  }
}

/**
 * Blocks of fewer than 8 queries (a single user, a block cut short by exclusions): a
 * panel would waste lanes, so each query row is dotted with 4 item rows at a time (lanes
 * along the factors), the item rows staying in L1 across the block's queries.
 */
function narrowBlock(
  queries: usize,
  f: i32,
  items: usize,
  nItems: i32,
  qs: i32,
  nb: i32,
  thresh: usize,
  state: usize,
  k: i32,
  outIdx: usize,
  outScores: usize,
  stage: usize,
): void {
  const rowF = <usize>f << 2;
  for (let i0 = 0; i0 < nItems; i0 += 4) {
    const y0 = items + <usize>i0 * rowF;
    const y1 = i0 + 1 < nItems ? y0 + rowF : y0;
    const y2 = i0 + 2 < nItems ? y1 + rowF : y0;
    const y3 = i0 + 3 < nItems ? y2 + rowF : y0;
    for (let qi = 0; qi < nb; qi++) {
      const sc = dot4(y0, y1, y2, y3, queries + <usize>(qs + qi) * rowF, f);
      let bits = i32x4.bitmask(f32x4.ge(sc, v128.load32_splat(thresh + (<usize>qi << 2))));
      if (bits == 0) continue;
      v128.store(stage, sc);
      while (bits) {
        const lane = ctz(bits);
        bits &= bits - 1;
        const item = i0 + lane;
        if (item >= nItems) break;
        offer(qi, item, load<f32>(stage + (<usize>lane << 2)), qs, thresh, state, k, outIdx, outScores);
      }
    }
  }
}

/**
 * Blocks of 8 or more queries: transpose the block into panels of 8 (panel[d][lane]) and
 * stream the items TILE_ITEMS at a time against every panel.
 */
// @ts-ignore: decorator
@inline
function wideBlock(
  queries: usize,
  f: i32,
  items: usize,
  nItems: i32,
  qs: i32,
  nb: i32,
  qt: usize,
  thresh: usize,
  state: usize,
  k: i32,
  outIdx: usize,
  outScores: usize,
  stage: usize,
): void {
  const np = (nb + 7) >> 3;
  const rowF = <usize>f << 2;
  const panelBytes = <usize>f << 5; // f × 8 floats
  const end = <usize>f << 2;
  const end2 = <usize>(f & ~1) << 2;
  // Transpose the block into panels of 8 queries; missing queries are zero rows whose
  // threshold is +Infinity, so they never reach the scalar path.
  for (let pi = 0; pi < np; pi++) {
    const panel = qt + <usize>pi * panelBytes;
    for (let lane = 0; lane < 8; lane++) {
      const q = qs + pi * 8 + lane;
      const dst = panel + (<usize>lane << 2);
      if (q < qs + nb) {
        const src = queries + <usize>q * rowF;
        for (let d = 0; d < f; d++) store<f32>(dst + (<usize>d << 5), load<f32>(src + (<usize>d << 2)));
      } else {
        for (let d = 0; d < f; d++) store<f32>(dst + (<usize>d << 5), 0);
      }
      store<f32>(thresh + (<usize>(pi * 8 + lane) << 2), q < qs + nb ? -Infinity : Infinity);
    }
  }
  // Stream the items in groups of 4 against every panel of the block.
  for (let i0 = 0; i0 < nItems; i0 += TILE_ITEMS) {
    const y0 = items + <usize>i0 * rowF;
    const y1 = i0 + 1 < nItems ? y0 + rowF : y0;
    const y2 = i0 + 2 < nItems ? y1 + rowF : y0;
    const y3 = i0 + 3 < nItems ? y2 + rowF : y0;
    for (let pi = 0; pi < np; pi++) {
      let c00 = f32x4.splat(0);
      let c01 = c00;
      let c10 = c00;
      let c11 = c00;
      let c20 = c00;
      let c21 = c00;
      let c30 = c00;
      let c31 = c00;
      let pp = qt + <usize>pi * panelBytes;
      let o: usize = 0;
      let a: v128, b0: v128, b1: v128;
      // Two factors per iteration, then the odd one. (Unrolling further makes TurboFan
      // hoist the panel loads and spill accumulators; 3-item tiles measured slower.)
      while (o < end2) {
        b0 = v128.load(pp, 0);
        b1 = v128.load(pp, 16);
        a = v128.load32_splat(y0 + o, 0);
        c00 = f32x4.add(c00, f32x4.mul(a, b0));
        c01 = f32x4.add(c01, f32x4.mul(a, b1));
        a = v128.load32_splat(y1 + o, 0);
        c10 = f32x4.add(c10, f32x4.mul(a, b0));
        c11 = f32x4.add(c11, f32x4.mul(a, b1));
        a = v128.load32_splat(y2 + o, 0);
        c20 = f32x4.add(c20, f32x4.mul(a, b0));
        c21 = f32x4.add(c21, f32x4.mul(a, b1));
        a = v128.load32_splat(y3 + o, 0);
        c30 = f32x4.add(c30, f32x4.mul(a, b0));
        c31 = f32x4.add(c31, f32x4.mul(a, b1));
        b0 = v128.load(pp, 32);
        b1 = v128.load(pp, 48);
        a = v128.load32_splat(y0 + o, 4);
        c00 = f32x4.add(c00, f32x4.mul(a, b0));
        c01 = f32x4.add(c01, f32x4.mul(a, b1));
        a = v128.load32_splat(y1 + o, 4);
        c10 = f32x4.add(c10, f32x4.mul(a, b0));
        c11 = f32x4.add(c11, f32x4.mul(a, b1));
        a = v128.load32_splat(y2 + o, 4);
        c20 = f32x4.add(c20, f32x4.mul(a, b0));
        c21 = f32x4.add(c21, f32x4.mul(a, b1));
        a = v128.load32_splat(y3 + o, 4);
        c30 = f32x4.add(c30, f32x4.mul(a, b0));
        c31 = f32x4.add(c31, f32x4.mul(a, b1));
        pp += 64;
        o += 8;
      }
      if (o < end) {
        b0 = v128.load(pp, 0);
        b1 = v128.load(pp, 16);
        a = v128.load32_splat(y0 + o, 0);
        c00 = f32x4.add(c00, f32x4.mul(a, b0));
        c01 = f32x4.add(c01, f32x4.mul(a, b1));
        a = v128.load32_splat(y1 + o, 0);
        c10 = f32x4.add(c10, f32x4.mul(a, b0));
        c11 = f32x4.add(c11, f32x4.mul(a, b1));
        a = v128.load32_splat(y2 + o, 0);
        c20 = f32x4.add(c20, f32x4.mul(a, b0));
        c21 = f32x4.add(c21, f32x4.mul(a, b1));
        a = v128.load32_splat(y3 + o, 0);
        c30 = f32x4.add(c30, f32x4.mul(a, b0));
        c31 = f32x4.add(c31, f32x4.mul(a, b1));
      }
      const tp = thresh + (<usize>pi << 5);
      const t0 = v128.load(tp);
      const t1 = v128.load(tp, 16);
      const hit = v128.or(v128.or(v128.or(f32x4.ge(c00, t0), f32x4.ge(c01, t1)), v128.or(f32x4.ge(c10, t0), f32x4.ge(c11, t1))), v128.or(v128.or(f32x4.ge(c20, t0), f32x4.ge(c21, t1)), v128.or(f32x4.ge(c30, t0), f32x4.ge(c31, t1))));
      if (v128.any_true(hit)) {
        v128.store(stage, c00, 0);
        v128.store(stage, c01, 16);
        v128.store(stage, c10, 32);
        v128.store(stage, c11, 48);
        v128.store(stage, c20, 64);
        v128.store(stage, c21, 80);
        v128.store(stage, c30, 96);
        v128.store(stage, c31, 112);
        tileSlowPath(stage, pi, i0, nItems, qs, thresh, state, k, outIdx, outScores);
      }
    }
  }
}

/**
 * For each query q < nQueries: the k best items by dot product, best first (ties → lower
 * index), skipping excludeIndices[excludeIndptr[q] .. excludeIndptr[q+1]) when exIndptr ≠ 0;
 * missing entries are (−1, −Infinity). Returns 0, or ERR_SCRATCH (-1).
 */
export function topK(
  queries: usize,
  nQueries: i32,
  items: usize,
  nItems: i32,
  f: i32,
  k: i32,
  exIndptr: usize,
  exIndices: usize,
  outIdx: usize,
  outScores: usize,
  scratch: usize,
  scratchBytes: i32,
): i32 {
  const QB = queryBlock(f);
  const fixed = fixedBytes(QB, f);
  if (scratchBytes < <i32>STATUS_BYTES + fixed) return -1;
  if (k <= 0 || nQueries <= 0) return 0;
  const stage = scratch + STATUS_BYTES;
  const qt = stage + STAGE_BYTES;
  const thresh = qt + <usize>(QB * f * 4);
  const state = thresh + <usize>(QB * 4);
  const exBuf = state + <usize>QB * STATE_BYTES;
  const exCap = (scratchBytes - <i32>STATUS_BYTES - fixed) >> 2;
  const rowK = <usize>k << 2;

  let qs = 0;
  while (qs < nQueries) {
    // Pick the block and set up each query's exclusion list.
    let qe = qs;
    let used = 0;
    while (qe < nQueries && qe - qs < QB) {
      let p: usize = 0;
      let len = 0;
      let mode = MODE_SORTED;
      if (exIndptr != 0) {
        const a = load<i32>(exIndptr + (<usize>qe << 2));
        len = load<i32>(exIndptr + (<usize>qe << 2), 4) - a;
        p = exIndices + (<usize>a << 2);
        if (len > 1 && !isSorted(p, len)) {
          if (used + len <= exCap) {
            const dst = exBuf + (<usize>used << 2);
            memory.copy(dst, p, <usize>len << 2);
            sortI32(dst, len);
            p = dst;
            used += len;
          } else if (qe == qs) {
            mode = MODE_LINEAR;
          } else {
            break;
          }
        }
      }
      const st = state + <usize>(qe - qs) * STATE_BYTES;
      store<usize>(st, p);
      store<i32>(st, len, 4);
      store<i32>(st, 0, 8);
      store<i32>(st, mode, 12);
      qe++;
    }
    const nb = qe - qs;

    // Fill every heap with sentinels (worse than any real candidate).
    for (let q = qs; q < qe; q++) {
      const hs = outScores + <usize>q * rowK;
      const hi = outIdx + <usize>q * rowK;
      for (let s = 0; s < k; s++) {
        store<f32>(hs + (<usize>s << 2), -Infinity);
        store<i32>(hi + (<usize>s << 2), SENTINEL);
      }
    }

    if (nb < 8) {
      for (let qi = 0; qi < nb; qi++) store<f32>(thresh + (<usize>qi << 2), -Infinity);
      narrowBlock(queries, f, items, nItems, qs, nb, thresh, state, k, outIdx, outScores, stage);
    } else {
      wideBlock(queries, f, items, nItems, qs, nb, qt, thresh, state, k, outIdx, outScores, stage);
    }

    // Heap-sort each query's row best-first; sentinels sort last and become (−1, −Infinity).
    for (let q = qs; q < qe; q++) {
      const hs = outScores + <usize>q * rowK;
      const hi = outIdx + <usize>q * rowK;
      for (let size = k - 1; size > 0; size--) {
        const ws = load<f32>(hs);
        const wi = load<i32>(hi);
        const ls = load<f32>(hs + (<usize>size << 2));
        const li = load<i32>(hi + (<usize>size << 2));
        store<f32>(hs + (<usize>size << 2), ws);
        store<i32>(hi + (<usize>size << 2), wi);
        siftDown(hs, hi, size, ls, li);
      }
      for (let s = 0; s < k; s++) if (load<i32>(hi + (<usize>s << 2)) == SENTINEL) store<i32>(hi + (<usize>s << 2), -1);
    }
    qs = qe;
  }
  return 0;
}
