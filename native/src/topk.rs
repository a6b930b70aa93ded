//! Top-K by dot product with per-query exclusions.
//!
//! Batches of ≥ 3 queries: items are packed, one block at a time, into panels of TI items stored
//! dimension-major, so a TQ-query × TI-item micro-kernel (6 × 16 with AVX2, 12 × 32 with AVX-512,
//! see `tile.rs`) computes a tile of scores in vector registers and compares them with each query's
//! current K-th best score there; only lanes that beat it leave the vector unit. A packed block
//! stays in L2 while every group of TQ queries sweeps it (a last partial group is padded with zero
//! queries whose scores are ignored). Batches of 1–2 queries score items straight from the
//! row-major matrix (packing would cost more than it saves).
//!
//! Selection: a bounded min-heap per query keyed by (score, −index), so the root is the current
//! worst of the K kept. Items reach a query in increasing index order, so a candidate that only
//! ties the root loses (it has the higher index); strict `>` against the root score is exact.

use crate::simd::{round8, AlignedBuf, Contig, Kern, Level, Scalar};
use crate::tile::{Tile, MAX_TI, MAX_TQ};

pub struct Args<'a> {
  pub queries: &'a [f32],
  pub nq: usize,
  pub items: &'a [f32],
  pub ni: usize,
  pub f: usize,
  pub k: usize,
  /// (indptr, indices), validated: indptr has nq + 1 monotone entries within indices.
  pub exclude: Option<(&'a [i32], &'a [i32])>,
  pub out_idx: &'a mut [i32],
  pub out_scores: &'a mut [f32],
}

/// Bytes of packed items kept hot per block.
const BLOCK_BYTES: usize = 96 * 1024;
/// Smallest batch that goes through packing and the tile kernel (below it, packing costs more
/// than it saves: the direct path reads each item once per query, the tiled one once per call).
const TILED_MIN_QUERIES: usize = 3;
/// Items scored per pass on the direct (small batch) path.
const DIRECT_BLOCK: usize = 1024;

pub fn run(a: Args) {
  assert!(a.queries.len() >= a.nq * a.f && a.items.len() >= a.ni * a.f && a.f > 0);
  assert!(a.out_idx.len() >= a.nq * a.k && a.out_scores.len() >= a.nq * a.k);
  #[cfg(target_arch = "x86_64")]
  match crate::simd::current() {
    Level::Avx512 => return unsafe { run_avx512(a) },
    Level::Avx2 => return unsafe { run_avx2(a) },
    Level::Scalar => {}
  }
  unsafe { body::<Scalar, Scalar>(a) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2(a: Args) {
  body::<crate::simd::Avx2, crate::simd::Avx2>(a)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f")]
unsafe fn run_avx512(a: Args) {
  // A 12-query tile wastes most of its work on a small batch; the 6-query AVX2 tile does not.
  if a.nq >= 2 * <crate::tile::Avx512 as Tile>::TQ {
    body::<crate::simd::Avx2, crate::tile::Avx512>(a)
  } else {
    body::<crate::simd::Avx2, crate::simd::Avx2>(a)
  }
}

struct Selector {
  k: usize,
  hs: Vec<f32>,
  hi: Vec<i32>,
  len: Vec<u32>,
  /// Root score of each full heap (the score a candidate must beat).
  thr: Vec<f32>,
  /// Exclusions, sorted within each query's segment `excl[eptr[q]..eptr[q+1]]`.
  excl: Vec<i32>,
  eptr: Vec<usize>,
  /// Per query, the first exclusion not below the last item offered.
  cur: Vec<usize>,
}

#[inline(always)]
fn worse(s: f32, i: i32, t: f32, j: i32) -> bool {
  s < t || (s == t && i > j)
}

impl Selector {
  fn new(nq: usize, k: usize, exclude: Option<(&[i32], &[i32])>) -> Self {
    let mut eptr = vec![0usize; nq + 1];
    let mut excl = Vec::new();
    if let Some((ip, ix)) = exclude {
      let base = ip[0] as usize;
      for q in 0..=nq {
        eptr[q] = ip[q] as usize - base;
      }
      excl.extend_from_slice(&ix[base..ip[nq] as usize]);
      for q in 0..nq {
        excl[eptr[q]..eptr[q + 1]].sort_unstable();
      }
    }
    let cur = eptr[..nq].to_vec();
    Selector {
      k,
      hs: vec![0.0; nq * k],
      hi: vec![0; nq * k],
      len: vec![0; nq],
      thr: vec![f32::NEG_INFINITY; nq],
      excl,
      eptr,
      cur,
    }
  }

  #[inline(always)]
  fn full(&self, q: usize) -> bool {
    self.len[q] as usize == self.k
  }

  /// Offer item `item` with `score` to query `q`. Items must arrive in increasing order per query.
  #[inline(always)]
  fn offer(&mut self, q: usize, item: i32, score: f32) {
    let k = self.k;
    let len = self.len[q] as usize;
    if len == k && !(score > self.thr[q]) {
      return;
    }
    if score.is_nan() {
      return;
    }
    let end = self.eptr[q + 1];
    let mut c = self.cur[q];
    while c < end && self.excl[c] < item {
      c += 1;
    }
    self.cur[q] = c;
    if c < end && self.excl[c] == item {
      return;
    }
    let hs = &mut self.hs[q * k..q * k + k];
    let hi = &mut self.hi[q * k..q * k + k];
    if len < k {
      let mut at = len;
      hs[at] = score;
      hi[at] = item;
      while at > 0 {
        let parent = (at - 1) / 2;
        if !worse(hs[at], hi[at], hs[parent], hi[parent]) {
          break;
        }
        hs.swap(at, parent);
        hi.swap(at, parent);
        at = parent;
      }
      self.len[q] = (len + 1) as u32;
      if len + 1 == k {
        self.thr[q] = hs[0];
      }
    } else {
      // Replace the root and sift down.
      let mut at = 0;
      loop {
        let l = 2 * at + 1;
        if l >= k {
          break;
        }
        let r = l + 1;
        let w = if r < k && worse(hs[r], hi[r], hs[l], hi[l]) {
          r
        } else {
          l
        };
        if !worse(hs[w], hi[w], score, item) {
          break;
        }
        hs[at] = hs[w];
        hi[at] = hi[w];
        at = w;
      }
      hs[at] = score;
      hi[at] = item;
      self.thr[q] = hs[0];
    }
  }

  fn finish(&self, out_idx: &mut [i32], out_scores: &mut [f32]) {
    let k = self.k;
    let mut buf: Vec<(f32, i32)> = Vec::with_capacity(k);
    for q in 0..self.len.len() {
      let n = self.len[q] as usize;
      buf.clear();
      buf.extend((0..n).map(|j| (self.hs[q * k + j], self.hi[q * k + j])));
      buf.sort_unstable_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
      for j in 0..k {
        let (s, i) = if j < n { buf[j] } else { (f32::NEG_INFINITY, -1) };
        out_idx[q * k + j] = i;
        out_scores[q * k + j] = s;
      }
    }
  }
}

#[inline(always)]
unsafe fn body<K: Kern, T: Tile>(a: Args) {
  let Args {
    queries,
    nq,
    items,
    ni,
    f,
    k,
    exclude,
    out_idx,
    out_scores,
  } = a;
  if k == 0 || nq == 0 {
    return;
  }
  let mut sel = Selector::new(nq, k, exclude);
  if ni > 0 {
    if nq >= TILED_MIN_QUERIES {
      tiled::<T>(queries, nq, items, ni, f, &mut sel);
    } else {
      direct::<K>(queries, nq, items, ni, f, &mut sel);
    }
  }
  sel.finish(out_idx, out_scores);
}

#[inline(always)]
unsafe fn tiled<T: Tile>(queries: &[f32], nq: usize, items: &[f32], ni: usize, f: usize, sel: &mut Selector) {
  let (tq, ti) = (T::TQ, T::TI);
  let per_block = ((BLOCK_BYTES / (4 * f)).max(ti) / ti * ti).min(ni.div_ceil(ti) * ti);
  let mut pack = AlignedBuf::zeroed(per_block * f);
  let zero = vec![0f32; f];
  // Queries, packed once per call: group g, dimension d, query i at qall[(g·f + d)·tq + i]; the
  // missing queries of a last partial group are zero (their scores are ignored).
  let ng = nq.div_ceil(tq);
  let mut qall = AlignedBuf::zeroed(ng * f * tq);
  let qa = qall.as_mut_ptr();
  for (q, row) in queries.chunks_exact(f).take(nq).enumerate() {
    let base = (q / tq) * f * tq + q % tq;
    for (d, &v) in row.iter().enumerate() {
      *qa.add(base + d * tq) = v;
    }
  }
  let qall = qall.as_ptr();
  let mut scores = [0f32; MAX_TQ * MAX_TI];
  let mut i0 = 0;
  while i0 < ni {
    let nb = (ni - i0).min(per_block);
    let npan = nb.div_ceil(ti);
    // Pack items [i0, i0 + nb) into panels; the last panel's missing items read a zero row.
    let pk = pack.as_mut_ptr();
    for p in 0..npan {
      // Items stream from memory once per call; fetch two panels ahead.
      let ahead = i0 + (p + 2) * ti;
      if ahead + ti <= ni {
        T::prefetch(items.as_ptr().add(ahead * f), ti * f * 4);
      }
      let mut rows = [zero.as_ptr(); MAX_TI];
      for (l, r) in rows[..ti].iter_mut().enumerate() {
        let item = i0 + p * ti + l;
        if item < i0 + nb {
          *r = items.as_ptr().add(item * f);
        }
      }
      T::pack(&rows, f, pk.add(p * ti * f));
    }
    let pk = pack.as_ptr();
    for g in 0..ng {
      let q0 = g * tq;
      let nv = (nq - q0).min(tq);
      let qp = qall.add(g * f * tq);
      for p in 0..npan {
        let mut thr = [f32::INFINITY; MAX_TQ];
        thr[..nv].copy_from_slice(&sel.thr[q0..q0 + nv]);
        let masks = T::tile(qp, pk.add(p * ti * f), f, &thr, &mut scores);
        let lanes = (nb - p * ti).min(ti);
        let lane_mask = if lanes >= 32 {
          u32::MAX
        } else {
          (1u32 << lanes) - 1
        };
        let first = (i0 + p * ti) as i32;
        for i in 0..nv {
          let q = q0 + i;
          let mut m = lane_mask & if sel.full(q) { masks[i] } else { u32::MAX };
          while m != 0 {
            let l = m.trailing_zeros() as usize;
            m &= m - 1;
            sel.offer(q, first + l as i32, scores[i * ti + l]);
          }
        }
      }
    }
    i0 += nb;
  }
}

#[inline(always)]
unsafe fn direct<K: Kern>(
  queries: &[f32],
  nq: usize,
  items: &[f32],
  ni: usize,
  f: usize,
  sel: &mut Selector,
) {
  let mut qv = vec![0f32; round8(f)];
  let mut sc = vec![0f32; DIRECT_BLOCK.min(ni) + 4];
  for q in 0..nq {
    qv[..f].copy_from_slice(&queries[q * f..q * f + f]);
    let mut i0 = 0;
    while i0 < ni {
      let m = (ni - i0).min(DIRECT_BLOCK);
      let rows = Contig {
        base: items.as_ptr().add(i0 * f),
        stride: f,
      };
      K::dots(rows, m, f, qv.as_ptr(), sc.as_mut_ptr());
      for (t, &s) in sc[..m].iter().enumerate() {
        if sel.full(q) && !(s > sel.thr[q]) {
          continue;
        }
        sel.offer(q, (i0 + t) as i32, s);
      }
      i0 += m;
    }
  }
}
