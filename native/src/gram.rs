//! out = YᵀY + reg·I. Rows of Y are processed in chunks with the SYRK micro-kernel (f32
//! accumulation within a chunk, f64 across chunks), then the upper triangle is mirrored.

use crate::simd::{round8, Kern, Scalar};

const CHUNK: usize = 1024;

/// `y` holds `n·f` floats, `out` `f·f`.
pub fn run(y: &[f32], n: usize, f: usize, reg: f64, out: &mut [f32]) {
  assert!(y.len() >= n * f && out.len() >= f * f && f > 0);
  #[cfg(target_arch = "x86_64")]
  if crate::simd::current() >= crate::simd::Level::Avx2 {
    return unsafe { run_avx2(y, n, f, reg, out) };
  }
  unsafe { body::<Scalar>(y, n, f, reg, out) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2(y: &[f32], n: usize, f: usize, reg: f64, out: &mut [f32]) {
  body::<crate::simd::Avx2>(y, n, f, reg, out)
}

#[inline(always)]
unsafe fn body<K: Kern>(y: &[f32], n: usize, f: usize, reg: f64, out: &mut [f32]) {
  let fp = round8(f);
  let mut a64 = vec![0f64; fp * fp];
  // Rows already padded (f a multiple of 8) are used in place; others are copied into a
  // zero-padded chunk buffer.
  let mut ys = if fp == f {
    Vec::new()
  } else {
    vec![0f32; CHUNK.min(n.max(1)) * fp]
  };
  let mut c = 0;
  while c < n {
    let m = (n - c).min(CHUNK);
    if fp == f {
      K::syrk_add(y.as_ptr().add(c * f), f, m, fp, a64.as_mut_ptr(), fp);
    } else {
      for t in 0..m {
        ys[t * fp..t * fp + f].copy_from_slice(&y[(c + t) * f..(c + t + 1) * f]);
      }
      K::syrk_add(ys.as_ptr(), fp, m, fp, a64.as_mut_ptr(), fp);
    }
    c += m;
  }
  for j in 0..f {
    for k in j..f {
      let v = a64[j * fp + k] + if j == k { reg } else { 0.0 };
      out[j * f + k] = v as f32;
      out[k * f + j] = v as f32;
    }
  }
}
