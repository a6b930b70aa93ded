//! The top-K score tile: a small GEMM micro-kernel over packed queries and packed items.
//!
//! Items are packed in panels of `TI` items, dimension-major (`panel[d·TI + l]`); queries in
//! groups of `TQ`, dimension-major too (`qp[d·TQ + i]`), so the kernel walks both with one pointer
//! each. Per dimension it loads the panel row (TI floats) once and broadcasts each query's value,
//! accumulating a TQ × TI block of scores in registers; at the end it stores the block and returns,
//! per query, the mask of lanes whose score beats that query's threshold.
//!
//! | level  | TQ × TI | accumulators          |
//! |--------|---------|-----------------------|
//! | scalar | 6 × 16  | (auto-vectorised)     |
//! | avx2   | 6 × 16  | 12 ymm                |
//! | avx512 | 12 × 32 | 24 zmm                |

use crate::simd::Scalar;

pub const MAX_TQ: usize = 12;
pub const MAX_TI: usize = 32;

pub trait Tile {
  /// Queries per tile.
  const TQ: usize;
  /// Items per panel (a multiple of 8, at most 32).
  const TI: usize;

  /// Hint that `bytes` bytes from `p` will be read soon.
  unsafe fn prefetch(p: *const f32, bytes: usize);

  /// `dst[d·TI + l] = rows[l][d]` for `l < TI`, `d < f`.
  unsafe fn pack(rows: &[*const f32; MAX_TI], f: usize, dst: *mut f32);

  /// `scores[i·TI + l] = Σ_{d<f} qp[d·TQ + i]·panel[d·TI + l]` for `i < TQ`, `l < TI`; returns per
  /// query the bit mask of lanes with score `> thr[i]` (NaN never passes).
  unsafe fn tile(
    qp: *const f32,
    panel: *const f32,
    f: usize,
    thr: &[f32; MAX_TQ],
    scores: &mut [f32; MAX_TQ * MAX_TI],
  ) -> [u32; MAX_TQ];
}

impl Tile for Scalar {
  const TQ: usize = 6;
  const TI: usize = 16;

  #[inline(always)]
  unsafe fn prefetch(_p: *const f32, _bytes: usize) {}

  #[inline(always)]
  unsafe fn pack(rows: &[*const f32; MAX_TI], f: usize, dst: *mut f32) {
    for (l, &r) in rows[..Self::TI].iter().enumerate() {
      for d in 0..f {
        *dst.add(d * Self::TI + l) = *r.add(d);
      }
    }
  }

  #[inline(always)]
  unsafe fn tile(
    qp: *const f32,
    panel: *const f32,
    f: usize,
    thr: &[f32; MAX_TQ],
    scores: &mut [f32; MAX_TQ * MAX_TI],
  ) -> [u32; MAX_TQ] {
    const TQ: usize = 6;
    const TI: usize = 16;
    let mut acc = [[0f32; TI]; TQ];
    for d in 0..f {
      let p = std::slice::from_raw_parts(panel.add(d * TI), TI);
      for (i, row) in acc.iter_mut().enumerate() {
        let a = *qp.add(d * TQ + i);
        for l in 0..TI {
          row[l] += a * p[l];
        }
      }
    }
    let mut masks = [0u32; MAX_TQ];
    for i in 0..TQ {
      for l in 0..TI {
        scores[i * TI + l] = acc[i][l];
        if acc[i][l] > thr[i] {
          masks[i] |= 1 << l;
        }
      }
    }
    masks
  }
}

#[cfg(target_arch = "x86_64")]
pub use x86::Avx512;

#[cfg(target_arch = "x86_64")]
mod x86 {
  use super::{Tile, MAX_TI, MAX_TQ};
  use crate::simd::Avx2;
  use std::arch::x86_64::*;

  #[inline(always)]
  unsafe fn prefetch(p: *const f32, bytes: usize) {
    let mut b = 0;
    while b < bytes {
      _mm_prefetch::<_MM_HINT_T0>((p as *const i8).add(b));
      b += 64;
    }
  }

  /// Pack `TI` rows with 8×8 register transposes; the `f % 8` trailing dimensions one by one.
  #[inline(always)]
  unsafe fn pack_t8<const TI: usize>(rows: &[*const f32; MAX_TI], f: usize, dst: *mut f32) {
    let f8 = f / 8 * 8;
    for h in 0..TI / 8 {
      let r = &rows[h * 8..h * 8 + 8];
      let mut d0 = 0;
      while d0 < f8 {
        let v: [__m256; 8] = std::array::from_fn(|l| _mm256_loadu_ps(r[l].add(d0)));
        let t0 = _mm256_unpacklo_ps(v[0], v[1]);
        let t1 = _mm256_unpackhi_ps(v[0], v[1]);
        let t2 = _mm256_unpacklo_ps(v[2], v[3]);
        let t3 = _mm256_unpackhi_ps(v[2], v[3]);
        let t4 = _mm256_unpacklo_ps(v[4], v[5]);
        let t5 = _mm256_unpackhi_ps(v[4], v[5]);
        let t6 = _mm256_unpacklo_ps(v[6], v[7]);
        let t7 = _mm256_unpackhi_ps(v[6], v[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        let o = dst.add(d0 * TI + h * 8);
        _mm256_storeu_ps(o, _mm256_permute2f128_ps::<0x20>(u0, u4));
        _mm256_storeu_ps(o.add(TI), _mm256_permute2f128_ps::<0x20>(u1, u5));
        _mm256_storeu_ps(o.add(2 * TI), _mm256_permute2f128_ps::<0x20>(u2, u6));
        _mm256_storeu_ps(o.add(3 * TI), _mm256_permute2f128_ps::<0x20>(u3, u7));
        _mm256_storeu_ps(o.add(4 * TI), _mm256_permute2f128_ps::<0x31>(u0, u4));
        _mm256_storeu_ps(o.add(5 * TI), _mm256_permute2f128_ps::<0x31>(u1, u5));
        _mm256_storeu_ps(o.add(6 * TI), _mm256_permute2f128_ps::<0x31>(u2, u6));
        _mm256_storeu_ps(o.add(7 * TI), _mm256_permute2f128_ps::<0x31>(u3, u7));
        d0 += 8;
      }
      for d in f8..f {
        for l in 0..8 {
          *dst.add(d * TI + h * 8 + l) = *r[l].add(d);
        }
      }
    }
  }

  impl Tile for Avx2 {
    const TQ: usize = 6;
    const TI: usize = 16;

    #[inline(always)]
    unsafe fn prefetch(p: *const f32, bytes: usize) {
      prefetch(p, bytes)
    }

    #[inline(always)]
    unsafe fn pack(rows: &[*const f32; MAX_TI], f: usize, dst: *mut f32) {
      pack_t8::<16>(rows, f, dst)
    }

    #[inline(always)]
    unsafe fn tile(
      qp: *const f32,
      panel: *const f32,
      f: usize,
      thr: &[f32; MAX_TQ],
      scores: &mut [f32; MAX_TQ * MAX_TI],
    ) -> [u32; MAX_TQ] {
      const TQ: usize = 6;
      const TI: usize = 16;
      let mut acc = [[_mm256_setzero_ps(); 2]; TQ];
      let mut p = panel;
      let mut q = qp;
      for _ in 0..f {
        let b0 = _mm256_loadu_ps(p);
        let b1 = _mm256_loadu_ps(p.add(8));
        for (i, a) in acc.iter_mut().enumerate() {
          let s = _mm256_broadcast_ss(&*q.add(i));
          a[0] = _mm256_fmadd_ps(s, b0, a[0]);
          a[1] = _mm256_fmadd_ps(s, b1, a[1]);
        }
        p = p.add(TI);
        q = q.add(TQ);
      }
      let mut masks = [0u32; MAX_TQ];
      let out = scores.as_mut_ptr();
      for i in 0..TQ {
        _mm256_storeu_ps(out.add(i * TI), acc[i][0]);
        _mm256_storeu_ps(out.add(i * TI + 8), acc[i][1]);
        let t = _mm256_set1_ps(thr[i]);
        let m0 = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(acc[i][0], t)) as u32;
        let m1 = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(acc[i][1], t)) as u32;
        masks[i] = m0 | (m1 << 8);
      }
      masks
    }
  }

  /// AVX-512F top-K tile (only the tile; everything else runs the AVX2 code).
  pub struct Avx512;

  impl Tile for Avx512 {
    const TQ: usize = 12;
    const TI: usize = 32;

    #[inline(always)]
    unsafe fn prefetch(p: *const f32, bytes: usize) {
      prefetch(p, bytes)
    }

    #[inline(always)]
    unsafe fn pack(rows: &[*const f32; MAX_TI], f: usize, dst: *mut f32) {
      pack_t8::<32>(rows, f, dst)
    }

    #[inline(always)]
    unsafe fn tile(
      qp: *const f32,
      panel: *const f32,
      f: usize,
      thr: &[f32; MAX_TQ],
      scores: &mut [f32; MAX_TQ * MAX_TI],
    ) -> [u32; MAX_TQ] {
      const TQ: usize = 12;
      const TI: usize = 32;
      let mut acc = [[_mm512_setzero_ps(); 2]; TQ];
      let mut p = panel;
      let mut q = qp;
      for _ in 0..f {
        let b0 = _mm512_loadu_ps(p);
        let b1 = _mm512_loadu_ps(p.add(16));
        for (i, a) in acc.iter_mut().enumerate() {
          let s = _mm512_set1_ps(*q.add(i));
          a[0] = _mm512_fmadd_ps(s, b0, a[0]);
          a[1] = _mm512_fmadd_ps(s, b1, a[1]);
        }
        p = p.add(TI);
        q = q.add(TQ);
      }
      let mut masks = [0u32; MAX_TQ];
      let out = scores.as_mut_ptr();
      for i in 0..TQ {
        _mm512_storeu_ps(out.add(i * TI), acc[i][0]);
        _mm512_storeu_ps(out.add(i * TI + 16), acc[i][1]);
        let t = _mm512_set1_ps(thr[i]);
        let m0 = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(acc[i][0], t) as u32;
        let m1 = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(acc[i][1], t) as u32;
        masks[i] = m0 | (m1 << 16);
      }
      masks
    }
  }
}
