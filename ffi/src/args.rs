//! Checked conversions of C arguments: handles, buffers, strings, outputs, timeouts.

use std::ffi::{CStr, CString, c_char};
use std::time::Duration;

use crate::result::{Res, err, streamq_result};

/// A handle argument: NULL is `STREAMQ_RESULT_NULL_POINTER`.
///
/// # Safety
/// `p` must be NULL or a live handle of type `T` created by this library.
pub(crate) unsafe fn handle<'a, T>(p: *const T, what: &str) -> Res<&'a T> {
    // SAFETY: per the caller's contract a non-NULL `p` is a live handle; handles are only
    // ever shared (`&T`), their mutable state sits behind locks or atomics.
    match unsafe { p.as_ref() } {
        Some(h) => Ok(h),
        None => err(streamq_result::NullPointer, format!("{what} is NULL")),
    }
}

/// A read-only buffer and its length. NULL is allowed when `len` is 0.
///
/// # Safety
/// `p` must be NULL or point to `len` readable bytes that stay valid and unmodified for
/// the duration of the call.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize, what: &str) -> Res<&'a [u8]> {
    check_len(len, what)?;
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return err(
            streamq_result::NullPointer,
            format!("{what} is NULL with a length of {len}"),
        );
    }
    // SAFETY: non-NULL, `len` readable bytes per the caller's contract, len <= isize::MAX.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A writable buffer and its length. NULL is allowed when `len` is 0.
///
/// # Safety
/// `p` must be NULL or point to `len` writable bytes not accessed by anyone else for the
/// duration of the call.
pub(crate) unsafe fn bytes_mut<'a>(p: *mut u8, len: usize, what: &str) -> Res<&'a mut [u8]> {
    check_len(len, what)?;
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return err(
            streamq_result::NullPointer,
            format!("{what} is NULL with a length of {len}"),
        );
    }
    // SAFETY: non-NULL, `len` writable exclusive bytes per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// Lengths above `PTRDIFF_MAX` cannot describe a real buffer (and would make
/// `slice::from_raw_parts` undefined behaviour).
pub(crate) fn check_len(len: usize, what: &str) -> Res {
    if len > isize::MAX as usize {
        return err(
            streamq_result::InvalidArgument,
            format!("{what}: length {len} is larger than PTRDIFF_MAX"),
        );
    }
    Ok(())
}

/// A required NUL-terminated UTF-8 string.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string valid for the call.
pub(crate) unsafe fn string<'a>(p: *const c_char, what: &str) -> Res<&'a str> {
    if p.is_null() {
        return err(streamq_result::NullPointer, format!("{what} is NULL"));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map_err(|_| {
        crate::result::Error::new(streamq_result::InvalidArgument, format!("{what} is not UTF-8"))
    })
}

/// An optional string: NULL gives `default`.
///
/// # Safety
/// As [`string`].
pub(crate) unsafe fn string_or<'a>(p: *const c_char, default: &'a str, what: &str) -> Res<&'a str> {
    if p.is_null() {
        Ok(default)
    } else {
        // SAFETY: forwarded contract.
        unsafe { string(p, what) }
    }
}

/// A required output pointer.
pub(crate) fn out<T>(p: *mut T, what: &str) -> Res {
    if p.is_null() {
        return err(streamq_result::NullPointer, format!("{what} is NULL"));
    }
    Ok(())
}

/// Writes `v` through an output pointer already checked by [`out`] (or NULL: skipped,
/// for optional outputs).
///
/// # Safety
/// `p` must be NULL or valid for a write of `T`.
pub(crate) unsafe fn write<T>(p: *mut T, v: T) {
    if !p.is_null() {
        // SAFETY: non-NULL and writable per the caller's contract; `write` does not read
        // or drop the (possibly uninitialised) old value.
        unsafe { p.write(v) };
    }
}

/// How long a call may wait: `timeout_ms < 0` for ever, 0 not at all, else that long.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Timeout {
    NoWait,
    For(Duration),
    Forever,
}

pub(crate) fn timeout_ms(ms: i64) -> Timeout {
    match ms {
        ..0 => Timeout::Forever,
        0 => Timeout::NoWait,
        n => Timeout::For(Duration::from_millis(n as u64)),
    }
}

/// A `CString` from text that may hold NUL bytes (names read from a file): they are
/// dropped rather than failing.
pub(crate) fn cstring_lossy(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| CString::new(s.replace('\0', "")).unwrap_or_default())
}

/// A list of (key, value) C strings.
///
/// # Safety
/// `p` must be NULL (with `len` 0) or point to `len` valid `streamq_kv`, each holding two
/// NUL-terminated strings.
pub(crate) unsafe fn kv_list(
    p: *const crate::writer_config::streamq_kv,
    len: usize,
    what: &str,
) -> Res<Vec<(String, String)>> {
    check_len(
        len.saturating_mul(std::mem::size_of::<crate::writer_config::streamq_kv>()),
        what,
    )?;
    if len == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return err(
            streamq_result::NullPointer,
            format!("{what} is NULL with a length of {len}"),
        );
    }
    // SAFETY: `len` valid entries per the caller's contract.
    let items = unsafe { std::slice::from_raw_parts(p, len) };
    items
        .iter()
        .map(|kv| {
            // SAFETY: each entry's strings are valid per the caller's contract.
            let k = unsafe { string(kv.key, "metadata key") }?;
            // SAFETY: as above.
            let v = unsafe { string(kv.value, "metadata value") }?;
            Ok((k.to_owned(), v.to_owned()))
        })
        .collect()
}
