//! Explicit-feedback ALS half-step with per-row penalties and optional biases. Per row u with
//! entries (i, r_ui), t_i = r_ui − μ − b_i (b_i = 0 without biases), φ_i = [y_i; 1] with biases
//! and y_i without, ρ = row_reg[u] (λ·n_u gives the weighted-λ ALS of Zhou et al. 2008):
//!   (Σ φ_i φ_iᵀ + ρ·diag(1, …, 1, bias_reg)) z = Σ t_i φ_i,   x_u = z[..f], b_u = z[f]
//! (without biases there is no bias entry and b_u = 0). Rows without entries get zeros.
//!
//! The item vectors of a row are gathered, in chunks, into a zero-padded buffer; Σ y_i y_iᵀ is
//! built by a register-blocked SYRK micro-kernel (`Kern::syrk_add`) accumulating each chunk in f32
//! and adding it into an f64 matrix; Σ y_i and Σ t_i y_i come from `Kern::lincomb`. The system is
//! solved in f64 by Cholesky.

use crate::simd::{round8, Contig, Kern, Scalar};

/// Items per gathered chunk (bounds the f32 accumulation and the scratch size).
const CHUNK: usize = 512;

pub struct Args<'a> {
  pub indptr: &'a [i32],
  pub indices: &'a [i32],
  pub values: &'a [f32],
  pub row_start: usize,
  pub row_end: usize,
  pub other: &'a [f32],
  /// Item biases; only read when `use_bias`.
  pub other_bias: &'a [f32],
  /// Rows `[row_start, row_end)` of the output, `(row_end − row_start)·f` floats.
  pub out: &'a mut [f32],
  /// Entries `[row_start, row_end)` of the output biases.
  pub out_bias: &'a mut [f32],
  pub f: usize,
  /// Penalties ρ_u of rows `[row_start, row_end)`.
  pub row_reg: &'a [f32],
  /// The bias diagonal gets bias_reg·ρ_u.
  pub bias_reg: f64,
  pub global_mean: f32,
  pub use_bias: bool,
}

/// A row whose normal matrix was not positive definite (ρ = 0 and too few entries, or
/// non-finite inputs).
#[derive(Debug)]
pub struct NotPositiveDefinite {
  pub row: usize,
}

/// # Safety
/// The caller has validated the CSR range (monotone `indptr`, entries within `indices`/`values`,
/// every index < `other.len() / f` and, with biases, < `other_bias.len()`) and the output sizes.
pub unsafe fn run(a: Args) -> Result<(), NotPositiveDefinite> {
  #[cfg(target_arch = "x86_64")]
  if crate::simd::current() >= crate::simd::Level::Avx2 {
    return run_avx2(a);
  }
  body::<Scalar>(a)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2(a: Args) -> Result<(), NotPositiveDefinite> {
  body::<crate::simd::Avx2>(a)
}

#[inline(always)]
unsafe fn body<K: Kern>(a: Args) -> Result<(), NotPositiveDefinite> {
  let f = a.f;
  let fp = round8(f);
  let d = f + a.use_bias as usize;
  let nrow = fp.max(d);
  let lda = (nrow + 3) & !3;
  // Scratch, allocated once per call.
  let mut ys = vec![0f32; CHUNK * fp]; // gathered item vectors, entries f..fp stay zero
  let mut tv = vec![0f32; CHUNK];
  let ones = vec![1f32; CHUNK];
  let mut tmp = vec![0f32; fp];
  let mut a64 = vec![0f64; nrow * lda];
  let mut b64 = vec![0f64; nrow];
  let mut s64 = vec![0f64; fp];

  for u in a.row_start..a.row_end {
    let s = a.indptr[u] as usize;
    let e = a.indptr[u + 1] as usize;
    let n = e - s;
    let ur = u - a.row_start;
    if n == 0 {
      a.out[ur * f..ur * f + f].fill(0.0);
      a.out_bias[ur] = 0.0;
      continue;
    }
    // Clear what syrk_add and the solve touch: the upper part of each row, from its 16-column block.
    for j in 0..nrow {
      a64[j * lda + j / 16 * 16..(j + 1) * lda].fill(0.0);
    }
    b64.fill(0.0);
    s64.fill(0.0);
    let mut tsum = 0f64;
    let mut cs = s;
    while cs < e {
      let m = (e - cs).min(CHUNK);
      for t in 0..m {
        let i = a.indices[cs + t] as usize;
        ys[t * fp..t * fp + f].copy_from_slice(&a.other[i * f..i * f + f]);
        let bias = if a.use_bias { a.other_bias[i] } else { 0.0 };
        tv[t] = a.values[cs + t] - a.global_mean - bias;
      }
      K::syrk_add(ys.as_ptr(), fp, m, fp, a64.as_mut_ptr(), lda);
      let rows = Contig {
        base: ys.as_ptr(),
        stride: fp,
      };
      K::lincomb(
        tmp.as_mut_ptr(),
        f,
        std::ptr::null(),
        0,
        std::ptr::null(),
        0,
        rows,
        tv.as_ptr(),
        m,
      );
      for j in 0..f {
        b64[j] += tmp[j] as f64;
      }
      if a.use_bias {
        K::lincomb(
          tmp.as_mut_ptr(),
          f,
          std::ptr::null(),
          0,
          std::ptr::null(),
          0,
          rows,
          ones.as_ptr(),
          m,
        );
        for j in 0..f {
          s64[j] += tmp[j] as f64;
        }
        for &t in &tv[..m] {
          tsum += t as f64;
        }
      }
      cs += m;
    }
    if a.use_bias {
      for j in 0..f {
        a64[j * lda + f] = s64[j];
      }
      a64[f * lda + f] = n as f64;
      b64[f] = tsum;
    }
    let reg = a.row_reg[ur] as f64;
    for j in 0..f {
      a64[j * lda + j] += reg;
    }
    if a.use_bias {
      a64[f * lda + f] += reg * a.bias_reg;
    }
    if !K::cholesky(a64.as_mut_ptr(), lda, d) {
      return Err(NotPositiveDefinite { row: u });
    }
    if !substitute(&a64, lda, d, &mut b64) {
      return Err(NotPositiveDefinite { row: u });
    }
    for j in 0..f {
      a.out[ur * f + j] = b64[j] as f32;
    }
    a.out_bias[ur] = if a.use_bias { b64[f] as f32 } else { 0.0 };
  }
  Ok(())
}

/// Solve UᵀU z = b in place (`b` becomes z) with the factor from `Kern::cholesky`: forward
/// substitution with row-oriented updates, then backward with row dot products.
#[inline(always)]
fn substitute(a: &[f64], lda: usize, d: usize, b: &mut [f64]) -> bool {
  for j in 0..d {
    let w = b[j] / a[j * lda + j];
    b[j] = w;
    let uj = &a[j * lda + j + 1..j * lda + d];
    for (bk, u) in b[j + 1..d].iter_mut().zip(uj) {
      *bk -= u * w;
    }
  }
  for j in (0..d).rev() {
    let uj = &a[j * lda + j + 1..j * lda + d];
    let zs = &b[j + 1..d];
    // Four partial sums so the compiler can keep them in one vector register.
    let mut acc = [0f64; 4];
    let mut uc = uj.chunks_exact(4);
    let mut zc = zs.chunks_exact(4);
    for (u, z) in (&mut uc).zip(&mut zc) {
      for l in 0..4 {
        acc[l] += u[l] * z[l];
      }
    }
    let mut s = b[j] - (acc[0] + acc[1]) - (acc[2] + acc[3]);
    for (u, z) in uc.remainder().iter().zip(zc.remainder()) {
      s -= u * z;
    }
    b[j] = s / a[j * lda + j];
  }
  b[..d].iter().all(|v| v.is_finite())
}
