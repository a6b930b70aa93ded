//! Typed-array arguments as raw views. `napi_get_typedarray_info` returns the data pointer
//! already advanced by the view's `byteOffset`, and works the same for ArrayBuffer- and
//! SharedArrayBuffer-backed views (including a shared `WebAssembly.Memory` buffer).
//!
//! Views are kept as (pointer, length) so that aliasing can be checked before any Rust slice is
//! formed, and so that an output slice covers only the rows a call writes (other workers may be
//! writing other rows of the same shared buffer at the same time).

use napi::{sys, Error, JsValue, Result, Status, Unknown};
use std::ffi::c_void;
use std::ptr;

pub fn invalid(msg: impl Into<String>) -> Error {
  Error::new(Status::InvalidArg, msg.into())
}

#[derive(Clone, Copy)]
pub struct View<T> {
  ptr: *mut T,
  pub len: usize,
  pub name: &'static str,
}

impl<T> View<T> {
  /// Byte range `[lo, hi)` of elements `[start, end)`.
  pub fn bytes(&self, start: usize, end: usize) -> (usize, usize) {
    let sz = std::mem::size_of::<T>();
    let base = self.ptr as usize;
    (base + start * sz, base + end * sz)
  }

  /// Elements `[start, end)` read-only.
  ///
  /// # Safety
  /// `end ≤ len`; nobody writes the range while the slice lives.
  pub unsafe fn slice(&self, start: usize, end: usize) -> &[T] {
    debug_assert!(start <= end && end <= self.len);
    if start == end {
      return &[];
    }
    std::slice::from_raw_parts(self.ptr.add(start), end - start)
  }

  /// Elements `[start, end)` writable.
  ///
  /// # Safety
  /// `end ≤ len`; the range overlaps no other slice in use.
  #[allow(clippy::mut_from_ref)]
  pub unsafe fn slice_mut(&self, start: usize, end: usize) -> &mut [T] {
    debug_assert!(start <= end && end <= self.len);
    if start == end {
      return &mut [];
    }
    std::slice::from_raw_parts_mut(self.ptr.add(start), end - start)
  }
}

pub fn is_nullish(v: &Unknown) -> Result<bool> {
  let mut t = 0;
  let status = unsafe { sys::napi_typeof(v.value().env, v.raw(), &mut t) };
  if status != sys::Status::napi_ok {
    return Err(Error::new(Status::GenericFailure, "napi_typeof failed"));
  }
  Ok(t == sys::ValueType::napi_null || t == sys::ValueType::napi_undefined)
}

fn typed(v: &Unknown, name: &str, want: i32, want_name: &str) -> Result<(*mut c_void, usize)> {
  let env = v.value().env;
  let mut is = false;
  let status = unsafe { sys::napi_is_typedarray(env, v.raw(), &mut is) };
  if status != sys::Status::napi_ok || !is {
    return Err(invalid(format!("{name} must be a {want_name}")));
  }
  let mut ty = 0;
  let mut len = 0usize;
  let mut data: *mut c_void = ptr::null_mut();
  let mut ab = ptr::null_mut();
  let mut off = 0usize;
  let status =
    unsafe { sys::napi_get_typedarray_info(env, v.raw(), &mut ty, &mut len, &mut data, &mut ab, &mut off) };
  if status != sys::Status::napi_ok {
    return Err(invalid(format!(
      "{name}: cannot read the typed array (detached buffer?)"
    )));
  }
  if ty != want {
    return Err(invalid(format!("{name} must be a {want_name}")));
  }
  if len > 0 && data.is_null() {
    return Err(invalid(format!(
      "{name}: typed array has no backing store (detached buffer?)"
    )));
  }
  Ok((data, len))
}

pub fn f32_view(v: &Unknown, name: &'static str) -> Result<View<f32>> {
  let (data, len) = typed(v, name, sys::TypedarrayType::float32_array, "Float32Array")?;
  Ok(View {
    ptr: if len == 0 {
      ptr::NonNull::dangling().as_ptr()
    } else {
      data.cast()
    },
    len,
    name,
  })
}

pub fn i32_view(v: &Unknown, name: &'static str) -> Result<View<i32>> {
  let (data, len) = typed(v, name, sys::TypedarrayType::int32_array, "Int32Array")?;
  Ok(View {
    ptr: if len == 0 {
      ptr::NonNull::dangling().as_ptr()
    } else {
      data.cast()
    },
    len,
    name,
  })
}

/// Error unless the written byte range `w` (of `wname`) and the range `r` (of `rname`) are disjoint.
pub fn disjoint(wname: &str, w: (usize, usize), rname: &str, r: (usize, usize)) -> Result<()> {
  let empty = |x: (usize, usize)| x.0 >= x.1;
  if empty(w) || empty(r) || w.1 <= r.0 || r.1 <= w.0 {
    Ok(())
  } else {
    Err(invalid(format!(
      "{wname} overlaps {rname} in memory; outputs must not alias inputs"
    )))
  }
}
