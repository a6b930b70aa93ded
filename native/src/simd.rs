//! SIMD primitives behind one trait, [`Kern`], with a portable implementation ([`Scalar`]) and an
//! AVX2+FMA one ([`Avx2`], x86_64 only). Kernel bodies are generic over `K: Kern` and marked
//! `#[inline(always)]`; each kernel has one entry compiled with `#[target_feature(enable =
//! "avx2,fma")]` that instantiates the body with `Avx2`, so the intrinsics inline into code built
//! for those features, and a plain entry with `Scalar`. Which one runs is decided at run time
//! ([`current`]), never by `-C target-cpu`.
//!
//! Conventions: `f` is the logical vector length (factors); `fp = round8(f)` is the padded length
//! of scratch vectors, whose entries `f..fp` are zero. Matrix rows coming from JavaScript have
//! stride `f` and no padding, so loads of their last partial vector are masked.

use std::sync::atomic::{AtomicU8, Ordering};

/// SIMD levels, in increasing order. `Avx512` only changes the top-K tile kernel; every other
/// kernel runs its AVX2 code there.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
  Scalar = 0,
  Avx2 = 1,
  Avx512 = 2,
}

impl Level {
  pub fn name(self) -> &'static str {
    match self {
      Level::Scalar => "scalar",
      Level::Avx2 => "avx2",
      Level::Avx512 => "avx512",
    }
  }
}

const AUTO: u8 = 255;
static FORCED: AtomicU8 = AtomicU8::new(AUTO);

/// The best level this CPU supports.
pub fn detected() -> Level {
  #[cfg(target_arch = "x86_64")]
  {
    use std::arch::is_x86_feature_detected as has;
    if has!("avx2") && has!("fma") {
      return if has!("avx512f") {
        Level::Avx512
      } else {
        Level::Avx2
      };
    }
  }
  Level::Scalar
}

/// The level the kernels use now: the detected one, or a lower one when forced.
pub fn current() -> Level {
  let d = detected();
  match FORCED.load(Ordering::Relaxed) {
    0 => Level::Scalar,
    1 => d.min(Level::Avx2),
    _ => d,
  }
}

/// Force a level (`Some`) or go back to automatic detection (`None`). Process-wide; for tests and
/// benchmarks. A level above the detected one behaves as the detected one.
pub fn force(level: Option<Level>) {
  FORCED.store(level.map_or(AUTO, |l| l as u8), Ordering::Relaxed);
}

#[inline(always)]
pub const fn round8(n: usize) -> usize {
  (n + 7) & !7
}

/// A list of matrix rows of length `f`.
pub trait Rows: Copy {
  /// Pointer to the first element of row `t`.
  ///
  /// # Safety
  /// `t` must be within the list.
  unsafe fn row(&self, t: usize) -> *const f32;
}

/// Rows `base[idx[t] * stride ..]`.
#[derive(Clone, Copy)]
pub struct Indexed {
  pub base: *const f32,
  pub idx: *const i32,
  pub stride: usize,
}

impl Rows for Indexed {
  #[inline(always)]
  unsafe fn row(&self, t: usize) -> *const f32 {
    self.base.add(*self.idx.add(t) as usize * self.stride)
  }
}

/// Rows `base[t * stride ..]`.
#[derive(Clone, Copy)]
pub struct Contig {
  pub base: *const f32,
  pub stride: usize,
}

impl Rows for Contig {
  #[inline(always)]
  unsafe fn row(&self, t: usize) -> *const f32 {
    self.base.add(t * self.stride)
  }
}

/// The primitives every kernel is written with. All functions are `unsafe`: pointers must be
/// valid for the documented extents.
pub trait Kern {
  /// `out[0..fp] = Σ_{j<na} ca[j]·a[j·lda .. j·lda+fp] + Σ_{t<nb} cb[t]·rows(t)[0..f]`, where the
  /// rows of `a` are readable (and zero-padded) for `fp` floats and `rows(t)` for `f` floats.
  #[allow(clippy::too_many_arguments)]
  unsafe fn lincomb<R: Rows>(
    out: *mut f32,
    f: usize,
    a: *const f32,
    lda: usize,
    ca: *const f32,
    na: usize,
    rows: R,
    cb: *const f32,
    nb: usize,
  );

  /// `out[t] = Σ_{d<f} rows(t)[d]·v[d]` for `t < n`; `v` is readable (zero-padded) for `fp` floats.
  unsafe fn dots<R: Rows>(rows: R, n: usize, f: usize, v: *const f32, out: *mut f32);

  /// Dot product of two vectors of `n` floats, `n` a multiple of 8.
  unsafe fn dot(a: *const f32, b: *const f32, n: usize) -> f32;

  /// `y += alpha·x` over `n` floats, `n` a multiple of 8.
  unsafe fn axpy(alpha: f32, x: *const f32, y: *mut f32, n: usize);

  /// `y = x + beta·y` over `n` floats, `n` a multiple of 8.
  unsafe fn xpby(x: *const f32, beta: f32, y: *mut f32, n: usize);

  /// `a64[j·lda + c] += Σ_{t<n} y[t·ldy + j]·y[t·ldy + c]` for every `j ≤ c < fp` (entries below
  /// the diagonal of the diagonal blocks may be updated too). `fp` is a multiple of 8 and every
  /// row of `y` is readable for `fp` floats.
  unsafe fn syrk_add(y: *const f32, ldy: usize, n: usize, fp: usize, a64: *mut f64, lda: usize);

  /// In-place Cholesky A = UᵀU of the SPD matrix whose upper triangle is in `a` (row-major, order
  /// `d`, leading dimension `lda` ≥ round4(d), columns `d..lda` scratch). Returns false when a pivot
  /// is not positive (or not finite). Entries below the diagonal are clobbered.
  unsafe fn cholesky(a: *mut f64, lda: usize, d: usize) -> bool;
}

// ------------------------------------------------------------------------------------------------
// Portable implementation. Plain loops; the compiler auto-vectorises what it can for the baseline.

pub struct Scalar;

impl Kern for Scalar {
  #[inline(always)]
  unsafe fn lincomb<R: Rows>(
    out: *mut f32,
    f: usize,
    a: *const f32,
    lda: usize,
    ca: *const f32,
    na: usize,
    rows: R,
    cb: *const f32,
    nb: usize,
  ) {
    let fp = round8(f);
    let o = std::slice::from_raw_parts_mut(out, fp);
    o.fill(0.0);
    for j in 0..na {
      let s = *ca.add(j);
      let r = std::slice::from_raw_parts(a.add(j * lda), fp);
      for (x, y) in o.iter_mut().zip(r) {
        *x += s * *y;
      }
    }
    for t in 0..nb {
      let s = *cb.add(t);
      let r = std::slice::from_raw_parts(rows.row(t), f);
      for (x, y) in o[..f].iter_mut().zip(r) {
        *x += s * *y;
      }
    }
  }

  #[inline(always)]
  unsafe fn dots<R: Rows>(rows: R, n: usize, f: usize, v: *const f32, out: *mut f32) {
    let v = std::slice::from_raw_parts(v, f);
    for t in 0..n {
      let r = std::slice::from_raw_parts(rows.row(t), f);
      // Eight partial sums, like the vector code, so results stay close across levels.
      let mut acc = [0f32; 8];
      let mut d = 0;
      while d + 8 <= f {
        for l in 0..8 {
          acc[l] += r[d + l] * v[d + l];
        }
        d += 8;
      }
      for l in 0..f - d {
        acc[l] += r[d + l] * v[d + l];
      }
      *out.add(t) = acc.iter().sum();
    }
  }

  #[inline(always)]
  unsafe fn dot(a: *const f32, b: *const f32, n: usize) -> f32 {
    let a = std::slice::from_raw_parts(a, n);
    let b = std::slice::from_raw_parts(b, n);
    let mut acc = [0f32; 8];
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
      for l in 0..8 {
        acc[l] += ca[l] * cb[l];
      }
    }
    acc.iter().sum()
  }

  #[inline(always)]
  unsafe fn axpy(alpha: f32, x: *const f32, y: *mut f32, n: usize) {
    let x = std::slice::from_raw_parts(x, n);
    let y = std::slice::from_raw_parts_mut(y, n);
    for (b, a) in y.iter_mut().zip(x) {
      *b += alpha * *a;
    }
  }

  #[inline(always)]
  unsafe fn xpby(x: *const f32, beta: f32, y: *mut f32, n: usize) {
    let x = std::slice::from_raw_parts(x, n);
    let y = std::slice::from_raw_parts_mut(y, n);
    for (b, a) in y.iter_mut().zip(x) {
      *b = *a + beta * *b;
    }
  }

  #[inline(always)]
  unsafe fn syrk_add(y: *const f32, ldy: usize, n: usize, fp: usize, a64: *mut f64, lda: usize) {
    for t in 0..n {
      let r = std::slice::from_raw_parts(y.add(t * ldy), fp);
      for j in 0..fp {
        let yj = r[j] as f64;
        if yj == 0.0 {
          continue;
        }
        let row = std::slice::from_raw_parts_mut(a64.add(j * lda + j), fp - j);
        for (x, v) in row.iter_mut().zip(&r[j..]) {
          *x += yj * *v as f64;
        }
      }
    }
  }

  #[inline(always)]
  unsafe fn cholesky(a: *mut f64, lda: usize, d: usize) -> bool {
    // Right-looking, one column at a time; every inner loop is a contiguous row update.
    for j in 0..d {
      let rj = a.add(j * lda);
      let piv = *rj.add(j);
      if !(piv > 0.0 && piv.is_finite()) {
        return false;
      }
      let ujj = piv.sqrt();
      *rj.add(j) = ujj;
      let inv = 1.0 / ujj;
      for c in j + 1..d {
        *rj.add(c) *= inv;
      }
      for i in j + 1..d {
        let s = *rj.add(i);
        if s == 0.0 {
          continue;
        }
        let ri = a.add(i * lda);
        for c in i..d {
          *ri.add(c) -= s * *rj.add(c);
        }
      }
    }
    true
  }
}

// ------------------------------------------------------------------------------------------------
// AVX2 + FMA implementation.

#[cfg(target_arch = "x86_64")]
pub use avx2::Avx2;

#[cfg(target_arch = "x86_64")]
mod avx2 {
  use super::{round8, Kern, Rows};
  use std::arch::x86_64::*;

  pub struct Avx2;

  static TAIL: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

  /// Mask selecting the first `rem` lanes (0 < rem < 8; any value is accepted).
  #[inline(always)]
  pub(crate) unsafe fn tail_mask(rem: usize) -> __m256i {
    _mm256_loadu_si256(TAIL.as_ptr().add(8 - (rem & 7)) as *const __m256i)
  }

  /// Rows ahead of use that `dots` prefetches.
  const PREFETCH: usize = 8;

  #[inline(always)]
  unsafe fn prefetch_row(p: *const f32, f: usize) {
    let mut b = 0;
    while b < f * 4 {
      _mm_prefetch::<_MM_HINT_T0>((p as *const i8).add(b));
      b += 64;
    }
  }

  #[inline(always)]
  unsafe fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
    _mm_cvtss_f32(s)
  }

  /// One chunk of up to 8 vectors (64 floats) of `lincomb`, accumulators held in registers.
  /// `nfull` is how many of the NV vectors are full for the `rows` part (NV or NV − 1).
  #[allow(clippy::too_many_arguments)]
  #[inline(always)]
  unsafe fn lincomb_chunk<const NV: usize, R: Rows>(
    out: *mut f32,
    c0: usize,
    last_masked: bool,
    mask: __m256i,
    a: *const f32,
    lda: usize,
    ca: *const f32,
    na: usize,
    rows: R,
    cb: *const f32,
    nb: usize,
  ) {
    let mut acc = [_mm256_setzero_ps(); NV];
    for j in 0..na {
      let s = _mm256_set1_ps(*ca.add(j));
      let r = a.add(j * lda + c0);
      for v in 0..NV {
        acc[v] = _mm256_fmadd_ps(s, _mm256_loadu_ps(r.add(8 * v)), acc[v]);
      }
    }
    if !last_masked {
      for t in 0..nb {
        let s = _mm256_set1_ps(*cb.add(t));
        let r = rows.row(t).add(c0);
        for v in 0..NV {
          acc[v] = _mm256_fmadd_ps(s, _mm256_loadu_ps(r.add(8 * v)), acc[v]);
        }
      }
    } else {
      for t in 0..nb {
        let s = _mm256_set1_ps(*cb.add(t));
        let r = rows.row(t).add(c0);
        for v in 0..NV - 1 {
          acc[v] = _mm256_fmadd_ps(s, _mm256_loadu_ps(r.add(8 * v)), acc[v]);
        }
        let last = _mm256_maskload_ps(r.add(8 * (NV - 1)), mask);
        acc[NV - 1] = _mm256_fmadd_ps(s, last, acc[NV - 1]);
      }
    }
    for v in 0..NV {
      _mm256_storeu_ps(out.add(c0 + 8 * v), acc[v]);
    }
  }

  /// 4 × (8·NC) block of `syrk_add`.
  #[inline(always)]
  unsafe fn syrk_block<const NC: usize>(
    y: *const f32,
    ldy: usize,
    n: usize,
    j0: usize,
    c0: usize,
    a64: *mut f64,
    lda: usize,
  ) {
    let mut acc = [[_mm256_setzero_ps(); NC]; 4];
    for t in 0..n {
      let r = y.add(t * ldy);
      let mut b = [_mm256_setzero_ps(); NC];
      for v in 0..NC {
        b[v] = _mm256_loadu_ps(r.add(c0 + 8 * v));
      }
      for i in 0..4 {
        let s = _mm256_broadcast_ss(&*r.add(j0 + i));
        for v in 0..NC {
          acc[i][v] = _mm256_fmadd_ps(s, b[v], acc[i][v]);
        }
      }
    }
    for i in 0..4 {
      for v in 0..NC {
        let p = a64.add((j0 + i) * lda + c0 + 8 * v);
        let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(acc[i][v]));
        let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(acc[i][v]));
        _mm256_storeu_pd(p, _mm256_add_pd(_mm256_loadu_pd(p), lo));
        _mm256_storeu_pd(p.add(4), _mm256_add_pd(_mm256_loadu_pd(p.add(4)), hi));
      }
    }
  }

  impl Kern for Avx2 {
    #[inline(always)]
    unsafe fn lincomb<R: Rows>(
      out: *mut f32,
      f: usize,
      a: *const f32,
      lda: usize,
      ca: *const f32,
      na: usize,
      rows: R,
      cb: *const f32,
      nb: usize,
    ) {
      let nvec = round8(f) / 8;
      let full = f / 8;
      let mask = tail_mask(f % 8);
      let mut v0 = 0;
      while v0 < nvec {
        let nv = (nvec - v0).min(8);
        let last_masked = v0 + nv > full;
        let c0 = v0 * 8;
        macro_rules! go {
          ($n:literal) => {
            lincomb_chunk::<$n, R>(out, c0, last_masked, mask, a, lda, ca, na, rows, cb, nb)
          };
        }
        match nv {
          1 => go!(1),
          2 => go!(2),
          3 => go!(3),
          4 => go!(4),
          5 => go!(5),
          6 => go!(6),
          7 => go!(7),
          _ => go!(8),
        }
        v0 += nv;
      }
    }

    #[inline(always)]
    unsafe fn dots<R: Rows>(rows: R, n: usize, f: usize, v: *const f32, out: *mut f32) {
      let full = f / 8;
      let rem = f % 8;
      let mask = tail_mask(rem);
      let mut t = 0;
      while t + 4 <= n {
        // Item rows are gathered from a matrix that may not fit in cache: fetch ahead.
        if t + PREFETCH + 4 <= n {
          for j in 0..4 {
            prefetch_row(rows.row(t + PREFETCH + j), f);
          }
        }
        let r0 = rows.row(t);
        let r1 = rows.row(t + 1);
        let r2 = rows.row(t + 2);
        let r3 = rows.row(t + 3);
        let mut a0 = _mm256_setzero_ps();
        let mut a1 = _mm256_setzero_ps();
        let mut a2 = _mm256_setzero_ps();
        let mut a3 = _mm256_setzero_ps();
        for k in 0..full {
          let x = _mm256_loadu_ps(v.add(8 * k));
          a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0.add(8 * k)), x, a0);
          a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1.add(8 * k)), x, a1);
          a2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2.add(8 * k)), x, a2);
          a3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3.add(8 * k)), x, a3);
        }
        if rem != 0 {
          let o = 8 * full;
          let x = _mm256_loadu_ps(v.add(o));
          a0 = _mm256_fmadd_ps(_mm256_maskload_ps(r0.add(o), mask), x, a0);
          a1 = _mm256_fmadd_ps(_mm256_maskload_ps(r1.add(o), mask), x, a1);
          a2 = _mm256_fmadd_ps(_mm256_maskload_ps(r2.add(o), mask), x, a2);
          a3 = _mm256_fmadd_ps(_mm256_maskload_ps(r3.add(o), mask), x, a3);
        }
        let s01 = _mm256_hadd_ps(a0, a1);
        let s23 = _mm256_hadd_ps(a2, a3);
        let s = _mm256_hadd_ps(s01, s23);
        let s = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps::<1>(s));
        _mm_storeu_ps(out.add(t), s);
        t += 4;
      }
      while t < n {
        let r = rows.row(t);
        let mut a = _mm256_setzero_ps();
        for k in 0..full {
          a = _mm256_fmadd_ps(_mm256_loadu_ps(r.add(8 * k)), _mm256_loadu_ps(v.add(8 * k)), a);
        }
        if rem != 0 {
          let o = 8 * full;
          a = _mm256_fmadd_ps(_mm256_maskload_ps(r.add(o), mask), _mm256_loadu_ps(v.add(o)), a);
        }
        *out.add(t) = hsum(a);
        t += 1;
      }
    }

    #[inline(always)]
    unsafe fn dot(a: *const f32, b: *const f32, n: usize) -> f32 {
      let mut s0 = _mm256_setzero_ps();
      let mut s1 = _mm256_setzero_ps();
      let mut k = 0;
      while k + 16 <= n {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a.add(k)), _mm256_loadu_ps(b.add(k)), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a.add(k + 8)), _mm256_loadu_ps(b.add(k + 8)), s1);
        k += 16;
      }
      if k < n {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a.add(k)), _mm256_loadu_ps(b.add(k)), s0);
      }
      hsum(_mm256_add_ps(s0, s1))
    }

    #[inline(always)]
    unsafe fn axpy(alpha: f32, x: *const f32, y: *mut f32, n: usize) {
      let s = _mm256_set1_ps(alpha);
      let mut k = 0;
      while k < n {
        let r = _mm256_fmadd_ps(s, _mm256_loadu_ps(x.add(k)), _mm256_loadu_ps(y.add(k)));
        _mm256_storeu_ps(y.add(k), r);
        k += 8;
      }
    }

    #[inline(always)]
    unsafe fn xpby(x: *const f32, beta: f32, y: *mut f32, n: usize) {
      let s = _mm256_set1_ps(beta);
      let mut k = 0;
      while k < n {
        let r = _mm256_fmadd_ps(s, _mm256_loadu_ps(y.add(k)), _mm256_loadu_ps(x.add(k)));
        _mm256_storeu_ps(y.add(k), r);
        k += 8;
      }
    }

    #[inline(always)]
    unsafe fn syrk_add(y: *const f32, ldy: usize, n: usize, fp: usize, a64: *mut f64, lda: usize) {
      let mut j0 = 0;
      while j0 < fp {
        let mut c0 = j0 / 16 * 16;
        while c0 < fp {
          if c0 + 16 <= fp {
            syrk_block::<2>(y, ldy, n, j0, c0, a64, lda);
            c0 += 16;
          } else {
            syrk_block::<1>(y, ldy, n, j0, c0, a64, lda);
            c0 += 8;
          }
        }
        j0 += 4;
      }
    }

    #[inline(always)]
    unsafe fn cholesky(a: *mut f64, lda: usize, d: usize) -> bool {
      // Blocked right-looking: factor a panel of 4 rows, then apply it to the trailing rows as
      // one rank-4 update, so each trailing row is loaded and stored once per 4 columns.
      let mut j0 = 0;
      while j0 < d {
        let pw = (d - j0).min(4);
        for p in 0..pw {
          let j = j0 + p;
          let rj = a.add(j * lda);
          let piv = *rj.add(j);
          if !(piv > 0.0 && piv.is_finite()) {
            return false;
          }
          let ujj = piv.sqrt();
          *rj.add(j) = ujj;
          let inv = 1.0 / ujj;
          for c in j + 1..d {
            *rj.add(c) *= inv;
          }
          for i in j + 1..j0 + pw {
            let s = *rj.add(i);
            let ri = a.add(i * lda);
            for c in i..d {
              *ri.add(c) -= s * *rj.add(c);
            }
          }
        }
        if pw == 4 {
          let u0 = a.add(j0 * lda);
          let u1 = u0.add(lda);
          let u2 = u1.add(lda);
          let u3 = u2.add(lda);
          for i in j0 + 4..d {
            let s0 = _mm256_set1_pd(*u0.add(i));
            let s1 = _mm256_set1_pd(*u1.add(i));
            let s2 = _mm256_set1_pd(*u2.add(i));
            let s3 = _mm256_set1_pd(*u3.add(i));
            let ri = a.add(i * lda);
            // From the 4-aligned column at or below i: the few entries left of the diagonal get
            // harmless updates; columns d..round4(d) are scratch.
            let mut c = i & !3;
            while c < d {
              let mut x = _mm256_loadu_pd(ri.add(c));
              x = _mm256_fnmadd_pd(s0, _mm256_loadu_pd(u0.add(c)), x);
              x = _mm256_fnmadd_pd(s1, _mm256_loadu_pd(u1.add(c)), x);
              x = _mm256_fnmadd_pd(s2, _mm256_loadu_pd(u2.add(c)), x);
              x = _mm256_fnmadd_pd(s3, _mm256_loadu_pd(u3.add(c)), x);
              _mm256_storeu_pd(ri.add(c), x);
              c += 4;
            }
          }
        }
        j0 += pw;
      }
      true
    }
  }
}

/// A zeroed f32 buffer whose usable part starts on a 64-byte boundary.
pub struct AlignedBuf {
  buf: Vec<f32>,
  off: usize,
}

impl AlignedBuf {
  pub fn zeroed(len: usize) -> Self {
    let buf = vec![0f32; len + 16];
    let addr = buf.as_ptr() as usize;
    let off = ((64 - (addr % 64)) % 64) / 4;
    AlignedBuf { buf, off }
  }
  #[inline(always)]
  pub fn as_ptr(&self) -> *const f32 {
    unsafe { self.buf.as_ptr().add(self.off) }
  }
  #[inline(always)]
  pub fn as_mut_ptr(&mut self) -> *mut f32 {
    unsafe { self.buf.as_mut_ptr().add(self.off) }
  }
}
