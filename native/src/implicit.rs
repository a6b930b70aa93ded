//! Implicit-feedback ALS half-step: conjugate gradient exactly as `implicit`'s `_least_squares_cg`
//! (Takács et al. 2011). Per row u, with confidences c_ui in `values` (preference 1 when c > 0;
//! a non-positive value means preference 0 with confidence |c|, as `implicit` does):
//!   r = Σ_i (p_ui·c_ui − (c_ui − 1)·y_i·x) y_i − G x,         G = YᵀY + λI
//!   then `cg_steps` CG iterations on (G + Σ_i (c_ui − 1) y_i y_iᵀ) x = Σ_i p_ui c_ui y_i,
//!   stopping when rᵀr < 1e-20. Rows without entries are set to zero.
//!
//! Per CG step the work is one pass over the row's item vectors computing dot products (4 rows at
//! a time, one horizontal reduction for the four) and one pass accumulating G·p + Σ t_i y_i with
//! the accumulators in registers (`Kern::lincomb`).

use crate::simd::{round8, Indexed, Kern, Scalar};

pub struct Args<'a> {
  pub indptr: &'a [i32],
  pub indices: &'a [i32],
  pub values: &'a [f32],
  pub row_start: usize,
  pub row_end: usize,
  pub other: &'a [f32],
  pub gram: &'a [f32],
  /// Rows `[row_start, row_end)` of the output, `(row_end − row_start)·f` floats.
  pub out: &'a mut [f32],
  pub f: usize,
  pub cg_steps: usize,
  /// Longest row in the range (validated by the caller).
  pub max_len: usize,
}

/// # Safety
/// The caller has validated the CSR range (monotone `indptr`, entries within `indices`/`values`,
/// every index < `other.len() / f`), `gram.len() ≥ f²` and `out.len() == (row_end − row_start)·f`.
pub unsafe fn run(a: Args) {
  #[cfg(target_arch = "x86_64")]
  if crate::simd::current() >= crate::simd::Level::Avx2 {
    return run_avx2(a);
  }
  body::<Scalar>(a)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2(a: Args) {
  body::<crate::simd::Avx2>(a)
}

#[inline(always)]
unsafe fn body<K: Kern>(a: Args) {
  let f = a.f;
  let fp = round8(f);
  // Scratch, allocated once per call. Entries f..fp of every vector stay zero.
  let mut g = vec![0f32; fp * f];
  for j in 0..f {
    g[j * fp..j * fp + f].copy_from_slice(&a.gram[j * f..j * f + f]);
  }
  let mut x = vec![0f32; fp];
  let mut r = vec![0f32; fp];
  let mut p = vec![0f32; fp];
  let mut ap = vec![0f32; fp];
  let mut coef = vec![0f32; a.max_len + 4];
  let mut pref = vec![0f32; a.max_len];
  let mut cm1 = vec![0f32; a.max_len];

  for u in a.row_start..a.row_end {
    let s = a.indptr[u] as usize;
    let e = a.indptr[u + 1] as usize;
    let n = e - s;
    let xu = &mut a.out[(u - a.row_start) * f..(u - a.row_start + 1) * f];
    if n == 0 {
      xu.fill(0.0);
      continue;
    }
    let rows = Indexed {
      base: a.other.as_ptr(),
      idx: a.indices.as_ptr().add(s),
      stride: f,
    };
    for (t, &c) in a.values[s..e].iter().enumerate() {
      if c > 0.0 {
        pref[t] = c;
        cm1[t] = c - 1.0;
      } else {
        pref[t] = 0.0;
        cm1[t] = -c - 1.0;
      }
    }
    x[..f].copy_from_slice(xu);

    // r = Σ (p·c − (c − 1)·y·x) y − G x
    K::dots(rows, n, f, x.as_ptr(), coef.as_mut_ptr());
    for t in 0..n {
      coef[t] = pref[t] - cm1[t] * coef[t];
    }
    for j in 0..f {
      p[j] = -x[j];
    }
    K::lincomb(
      r.as_mut_ptr(),
      f,
      g.as_ptr(),
      fp,
      p.as_ptr(),
      f,
      rows,
      coef.as_ptr(),
      n,
    );
    p.copy_from_slice(&r);
    let mut rsold = K::dot(r.as_ptr(), r.as_ptr(), fp);
    if rsold < 1e-20 {
      continue;
    }
    for _ in 0..a.cg_steps {
      // Ap = G p + Σ (c − 1)(y·p) y
      K::dots(rows, n, f, p.as_ptr(), coef.as_mut_ptr());
      for t in 0..n {
        coef[t] *= cm1[t];
      }
      K::lincomb(
        ap.as_mut_ptr(),
        f,
        g.as_ptr(),
        fp,
        p.as_ptr(),
        f,
        rows,
        coef.as_ptr(),
        n,
      );
      let alpha = rsold / K::dot(p.as_ptr(), ap.as_ptr(), fp);
      K::axpy(alpha, p.as_ptr(), x.as_mut_ptr(), fp);
      K::axpy(-alpha, ap.as_ptr(), r.as_mut_ptr(), fp);
      let rsnew = K::dot(r.as_ptr(), r.as_ptr(), fp);
      if rsnew < 1e-20 {
        break;
      }
      K::xpby(r.as_ptr(), rsnew / rsold, p.as_mut_ptr(), fp);
      rsold = rsnew;
    }
    xu.copy_from_slice(&x[..f]);
  }
}
