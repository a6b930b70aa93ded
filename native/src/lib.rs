//! recsys native kernels (napi-rs): ALS half-steps, Gramian and top-K on float32 row-major
//! matrices and int32/float32 CSR, operating in place on typed arrays passed from JavaScript
//! (often views into a SharedArrayBuffer at a non-zero byteOffset).
//!
//! Every call is synchronous and single-threaded; parallelism comes from the JS worker pool.
//! Arguments are validated before any work, so a bad call throws a JS `Error` (code
//! `InvalidArg`) instead of reading out of bounds. SIMD: AVX2+FMA chosen at run time (plus an
//! AVX-512F top-K tile where available), portable code otherwise (see `simd.rs`, `tile.rs`).

// Index loops over fixed-size register arrays and negated float comparisons (which are
// deliberately false for NaN) are the clearest way to write these kernels.
#![allow(clippy::needless_range_loop, clippy::neg_cmp_op_on_partial_ord)]

mod explicit;
mod gram;
mod implicit;
mod simd;
mod tile;
mod topk;
mod view;

use napi::{Error, Result, Status, Unknown};
use napi_derive::napi;
use view::{disjoint, f32_view, i32_view, invalid, is_nullish, View};

/// Largest accepted `factors` (bounds scratch memory).
const MAX_FACTORS: usize = 4096;
const MAX_INT: usize = i32::MAX as usize;

fn int_arg(name: &str, v: f64, min: usize, max: usize) -> Result<usize> {
  if v.is_finite() && v.fract() == 0.0 && v >= min as f64 && v <= max as f64 {
    Ok(v as usize)
  } else {
    Err(invalid(format!(
      "{name} must be an integer in [{min}, {max}], got {v}"
    )))
  }
}

fn need(name: &str, len: usize, required: usize, what: &str) -> Result<()> {
  if len < required {
    Err(invalid(format!(
      "{name} has length {len}, needs at least {required} ({what})"
    )))
  } else {
    Ok(())
  }
}

/// Check CSR rows `[row_start, row_end)`: `indptr` long enough, non-negative and non-decreasing,
/// entries within `indices` and `values`, every column index in `[0, n_cols)`. Returns the
/// longest row length.
fn check_csr(
  indptr: &View<i32>,
  indices: &View<i32>,
  values: &View<f32>,
  row_start: usize,
  row_end: usize,
  n_cols: usize,
  cols_what: &str,
) -> Result<usize> {
  if row_start > row_end {
    return Err(invalid(format!(
      "rowStart ({row_start}) must not exceed rowEnd ({row_end})"
    )));
  }
  need("indptr", indptr.len, row_end + 1, "rowEnd + 1")?;
  let ip = unsafe { indptr.slice(row_start, row_end + 1) };
  if ip[0] < 0 {
    return Err(invalid(format!("indptr[{row_start}] is negative ({})", ip[0])));
  }
  let mut max_len = 0usize;
  for (r, w) in ip.windows(2).enumerate() {
    if w[1] < w[0] {
      return Err(invalid(format!(
        "indptr must be non-decreasing: indptr[{}] = {} < indptr[{}] = {}",
        row_start + r + 1,
        w[1],
        row_start + r,
        w[0]
      )));
    }
    max_len = max_len.max((w[1] - w[0]) as usize);
  }
  let (lo, hi) = (ip[0] as usize, ip[ip.len() - 1] as usize);
  if hi > indices.len || hi > values.len {
    return Err(invalid(format!(
      "indptr[{row_end}] = {hi} exceeds the entries available (indices: {}, values: {})",
      indices.len, values.len
    )));
  }
  let ix = unsafe { indices.slice(lo, hi) };
  let (mn, mx) = ix
    .iter()
    .fold((i32::MAX, i32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
  if !ix.is_empty() && (mn < 0 || mx as i64 >= n_cols as i64) {
    let (e, v) = ix
      .iter()
      .enumerate()
      .find(|(_, &v)| v < 0 || v as i64 >= n_cols as i64)
      .unwrap();
    return Err(invalid(format!(
      "indices[{}] = {v} is out of range [0, {n_cols}) ({cols_what})",
      lo + e
    )));
  }
  Ok(max_len)
}

/// Error unless the written range `w` of `wv` is disjoint from every range in `reads`.
fn no_alias(wname: &str, w: (usize, usize), reads: &[(&str, (usize, usize))]) -> Result<()> {
  for (rname, r) in reads {
    disjoint(wname, w, rname, *r)?;
  }
  Ok(())
}

fn full<T>(v: &View<T>) -> (&'static str, (usize, usize)) {
  (v.name, v.bytes(0, v.len))
}

/// out (factors × factors) = YᵀY + reg·I over the first nRows rows of y.
#[napi(
  catch_unwind,
  ts_args_type = "y: Float32Array, nRows: number, factors: number, reg: number, out: Float32Array"
)]
pub fn gramian(y: Unknown, n_rows: f64, factors: f64, reg: f64, out: Unknown) -> Result<()> {
  let y = f32_view(&y, "y")?;
  let out = f32_view(&out, "out")?;
  let f = int_arg("factors", factors, 1, MAX_FACTORS)?;
  let n = int_arg("nRows", n_rows, 0, MAX_INT)?;
  if !reg.is_finite() {
    return Err(invalid(format!("reg must be finite, got {reg}")));
  }
  need("y", y.len, n * f, "nRows × factors")?;
  need("out", out.len, f * f, "factors × factors")?;
  no_alias("out", out.bytes(0, f * f), &[("y", y.bytes(0, n * f))])?;
  unsafe { gram::run(y.slice(0, n * f), n, f, reg, out.slice_mut(0, f * f)) };
  Ok(())
}

/// Explicit ALS half-step for rows [rowStart, rowEnd): penalty ρ_u = rowReg[u] on the factors and
/// biasReg·ρ_u on the bias (when useBias).
#[napi(
  catch_unwind,
  ts_args_type = "indptr: Int32Array, indices: Int32Array, values: Float32Array, rowStart: number, rowEnd: number, other: Float32Array, otherBias: Float32Array, out: Float32Array, outBias: Float32Array, factors: number, rowReg: Float32Array, biasReg: number, globalMean: number, useBias: boolean"
)]
#[allow(clippy::too_many_arguments)]
pub fn explicit_half_step(
  indptr: Unknown,
  indices: Unknown,
  values: Unknown,
  row_start: f64,
  row_end: f64,
  other: Unknown,
  other_bias: Unknown,
  out: Unknown,
  out_bias: Unknown,
  factors: f64,
  row_reg: Unknown,
  bias_reg: f64,
  global_mean: f64,
  use_bias: bool,
) -> Result<()> {
  let indptr = i32_view(&indptr, "indptr")?;
  let indices = i32_view(&indices, "indices")?;
  let values = f32_view(&values, "values")?;
  let other = f32_view(&other, "other")?;
  let other_bias = f32_view(&other_bias, "otherBias")?;
  let out = f32_view(&out, "out")?;
  let out_bias = f32_view(&out_bias, "outBias")?;
  let row_reg = f32_view(&row_reg, "rowReg")?;
  let f = int_arg("factors", factors, 1, MAX_FACTORS)?;
  let rs = int_arg("rowStart", row_start, 0, MAX_INT - 1)?;
  let re = int_arg("rowEnd", row_end, 0, MAX_INT - 1)?;
  if !(bias_reg.is_finite() && bias_reg >= 0.0) {
    return Err(invalid(format!("biasReg must be finite and ≥ 0, got {bias_reg}")));
  }
  if !global_mean.is_finite() {
    return Err(invalid(format!("globalMean must be finite, got {global_mean}")));
  }
  let mut n_other = other.len / f;
  if use_bias {
    n_other = n_other.min(other_bias.len);
  }
  let what = if use_bias {
    "rows of other and entries of otherBias"
  } else {
    "rows of other"
  };
  check_csr(&indptr, &indices, &values, rs, re, n_other, what)?;
  need("out", out.len, re * f, "rowEnd × factors")?;
  need("outBias", out_bias.len, re, "rowEnd")?;
  need("rowReg", row_reg.len, re, "rowEnd")?;
  let rho = unsafe { row_reg.slice(rs, re) };
  if let Some((u, v)) = rho
    .iter()
    .enumerate()
    .find(|(_, &v)| !(v.is_finite() && v >= 0.0))
  {
    return Err(invalid(format!(
      "rowReg[{}] must be finite and ≥ 0, got {v}",
      rs + u
    )));
  }
  let w_out = out.bytes(rs * f, re * f);
  let w_bias = out_bias.bytes(rs, re);
  let reads = [
    full(&indptr),
    full(&indices),
    full(&values),
    full(&other),
    full(&other_bias),
    full(&row_reg),
  ];
  no_alias("out", w_out, &reads)?;
  no_alias("outBias", w_bias, &reads)?;
  disjoint("out", w_out, "outBias", w_bias)?;
  let res = unsafe {
    explicit::run(explicit::Args {
      indptr: indptr.slice(0, indptr.len),
      indices: indices.slice(0, indices.len),
      values: values.slice(0, values.len),
      row_start: rs,
      row_end: re,
      other: other.slice(0, other.len),
      other_bias: other_bias.slice(0, other_bias.len),
      out: out.slice_mut(rs * f, re * f),
      out_bias: out_bias.slice_mut(rs, re),
      f,
      row_reg: rho,
      bias_reg,
      global_mean: global_mean as f32,
      use_bias,
    })
  };
  res.map_err(|e| {
    Error::new(
      Status::GenericFailure,
      format!("explicitHalfStep: normal matrix of row {} is not positive definite (rowReg must be > 0, inputs finite)", e.row),
    )
  })
}

/// Implicit ALS half-step (conjugate gradient, warm start from `out`) for rows [rowStart, rowEnd).
#[napi(
  catch_unwind,
  ts_args_type = "indptr: Int32Array, indices: Int32Array, values: Float32Array, rowStart: number, rowEnd: number, other: Float32Array, gram: Float32Array, out: Float32Array, factors: number, cgSteps: number"
)]
#[allow(clippy::too_many_arguments)]
pub fn implicit_half_step(
  indptr: Unknown,
  indices: Unknown,
  values: Unknown,
  row_start: f64,
  row_end: f64,
  other: Unknown,
  gram: Unknown,
  out: Unknown,
  factors: f64,
  cg_steps: f64,
) -> Result<()> {
  let indptr = i32_view(&indptr, "indptr")?;
  let indices = i32_view(&indices, "indices")?;
  let values = f32_view(&values, "values")?;
  let other = f32_view(&other, "other")?;
  let gram = f32_view(&gram, "gram")?;
  let out = f32_view(&out, "out")?;
  let f = int_arg("factors", factors, 1, MAX_FACTORS)?;
  let rs = int_arg("rowStart", row_start, 0, MAX_INT - 1)?;
  let re = int_arg("rowEnd", row_end, 0, MAX_INT - 1)?;
  let cg = int_arg("cgSteps", cg_steps, 0, 1 << 20)?;
  let max_len = check_csr(&indptr, &indices, &values, rs, re, other.len / f, "rows of other")?;
  need("gram", gram.len, f * f, "factors × factors")?;
  need("out", out.len, re * f, "rowEnd × factors")?;
  let w_out = out.bytes(rs * f, re * f);
  no_alias(
    "out",
    w_out,
    &[
      full(&indptr),
      full(&indices),
      full(&values),
      full(&other),
      full(&gram),
    ],
  )?;
  unsafe {
    implicit::run(implicit::Args {
      indptr: indptr.slice(0, indptr.len),
      indices: indices.slice(0, indices.len),
      values: values.slice(0, values.len),
      row_start: rs,
      row_end: re,
      other: other.slice(0, other.len),
      gram: gram.slice(0, f * f),
      out: out.slice_mut(rs * f, re * f),
      f,
      cg_steps: cg,
      max_len,
    })
  };
  Ok(())
}

/// Top-K items by dot product for each query, best first (ties: lower index), with optional
/// per-query exclusion lists; missing slots get index −1 and score −Infinity.
#[napi(
  js_name = "topK",
  catch_unwind,
  ts_args_type = "queries: Float32Array, nQueries: number, items: Float32Array, nItems: number, factors: number, k: number, excludeIndptr: Int32Array | null, excludeIndices: Int32Array | null, outIndices: Int32Array, outScores: Float32Array"
)]
#[allow(clippy::too_many_arguments)]
pub fn top_k(
  queries: Unknown,
  n_queries: f64,
  items: Unknown,
  n_items: f64,
  factors: f64,
  k: f64,
  exclude_indptr: Unknown,
  exclude_indices: Unknown,
  out_indices: Unknown,
  out_scores: Unknown,
) -> Result<()> {
  let queries = f32_view(&queries, "queries")?;
  let items = f32_view(&items, "items")?;
  let out_indices = i32_view(&out_indices, "outIndices")?;
  let out_scores = f32_view(&out_scores, "outScores")?;
  let f = int_arg("factors", factors, 1, MAX_FACTORS)?;
  let nq = int_arg("nQueries", n_queries, 0, MAX_INT)?;
  let ni = int_arg("nItems", n_items, 0, MAX_INT)?;
  let k = int_arg("k", k, 0, MAX_INT)?;
  need("queries", queries.len, nq * f, "nQueries × factors")?;
  need("items", items.len, ni * f, "nItems × factors")?;
  need("outIndices", out_indices.len, nq * k, "nQueries × k")?;
  need("outScores", out_scores.len, nq * k, "nQueries × k")?;
  let ex = match (is_nullish(&exclude_indptr)?, is_nullish(&exclude_indices)?) {
    (true, true) => None,
    (false, false) => {
      let ip = i32_view(&exclude_indptr, "excludeIndptr")?;
      let ix = i32_view(&exclude_indices, "excludeIndices")?;
      need("excludeIndptr", ip.len, nq + 1, "nQueries + 1")?;
      let p = unsafe { ip.slice(0, nq + 1) };
      if p[0] < 0 {
        return Err(invalid(format!("excludeIndptr[0] is negative ({})", p[0])));
      }
      if let Some(q) = (0..nq).find(|&q| p[q + 1] < p[q]) {
        return Err(invalid(format!(
          "excludeIndptr must be non-decreasing: excludeIndptr[{}] < excludeIndptr[{q}]",
          q + 1
        )));
      }
      if p[nq] as usize > ix.len {
        return Err(invalid(format!(
          "excludeIndptr[{nq}] = {} exceeds excludeIndices length {}",
          p[nq], ix.len
        )));
      }
      Some((ip, ix))
    }
    _ => {
      return Err(invalid(
        "excludeIndptr and excludeIndices must both be given or both be null",
      ))
    }
  };
  let w_idx = out_indices.bytes(0, nq * k);
  let w_sc = out_scores.bytes(0, nq * k);
  let mut reads = vec![full(&queries), full(&items)];
  if let Some((ip, ix)) = &ex {
    reads.push(full(ip));
    reads.push(full(ix));
  }
  no_alias("outIndices", w_idx, &reads)?;
  no_alias("outScores", w_sc, &reads)?;
  disjoint("outIndices", w_idx, "outScores", w_sc)?;
  unsafe {
    topk::run(topk::Args {
      queries: queries.slice(0, nq * f),
      nq,
      items: items.slice(0, ni * f),
      ni,
      f,
      k,
      exclude: ex
        .as_ref()
        .map(|(ip, ix)| (ip.slice(0, nq + 1), ix.slice(0, ix.len))),
      out_idx: out_indices.slice_mut(0, nq * k),
      out_scores: out_scores.slice_mut(0, nq * k),
    })
  };
  Ok(())
}

/// The SIMD level the kernels use now: "avx512" (AVX-512 top-K tiles, AVX2 elsewhere), "avx2"
/// or "scalar".
#[napi]
pub fn simd_level() -> String {
  simd::current().name().to_string()
}

/// Force a SIMD level for this process ("scalar", "avx2", "avx512"; a level the CPU lacks is an
/// error), or "auto" to go back to detection. For tests and benchmarks. Returns the level now in
/// effect.
#[napi]
pub fn set_simd_level(level: String) -> Result<String> {
  let want = match level.as_str() {
    "auto" => None,
    "scalar" => Some(simd::Level::Scalar),
    "avx2" => Some(simd::Level::Avx2),
    "avx512" => Some(simd::Level::Avx512),
    other => {
      return Err(invalid(format!(
        "unknown SIMD level '{other}' (auto, scalar, avx2, avx512)"
      )))
    }
  };
  if let Some(l) = want {
    if l > simd::detected() {
      return Err(invalid(format!(
        "this CPU does not support SIMD level '{}'",
        l.name()
      )));
    }
  }
  simd::force(want);
  Ok(simd_level())
}
