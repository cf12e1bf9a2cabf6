//! Structs that carry their own size, so they can grow without breaking compiled programs.
//!
//! Every struct passed across the boundary by pointer, in either direction, starts with
//! `size_t struct_size` (the two frozen exceptions, `streamq_kv` and `streamq_latency`,
//! are documented on their types). The rules, as `include/streamq.h` states them:
//!
//! - **Inputs** (configs, push options): `streamq_X_init(p, sizeof *p)` fills the defaults
//!   and sets `struct_size`. The library reads only the caller's `struct_size` bytes; the
//!   fields past them (added after the caller's header) take their defaults. A
//!   `struct_size` larger than the library's struct (a newer header with an older
//!   library) is accepted when the extra bytes are all zero, refused otherwise
//!   (`STREAMQ_RESULT_INVALID_ARGUMENT`): a field this library cannot honour was set.
//! - **Outputs written into caller memory** (stats, reports, frame descriptions): the
//!   caller sets `struct_size = sizeof *p` before the call; the library writes at most
//!   that many bytes, zero-fills what it does not know of a larger struct, and leaves
//!   `struct_size` as the caller set it.
//! - **Outputs owned by the library** (callback events): `struct_size` is the library's
//!   own size, so a program can tell which fields an older library filled in.
//! - `struct_size` must be at least `sizeof(size_t)` and a multiple of the struct's
//!   alignment: a cut there never splits a field (every field is at most 8 bytes and
//!   naturally aligned).
//!
//! For maintainers: fields are only ever appended, each new one starting at or after the
//! previous release's `sizeof` (never in an older struct's tail padding), and a field
//! added after the first layout of a struct has 0 as its default, so a zero-filled tail
//! means "defaults". A growable struct embedded in another is the outer struct's last
//! member (`streamq_stream_config.queue`, `streamq_stream_report.queue`).
//!
//! Contract of the `unsafe` functions here: a non-NULL pointer points to at least
//! `struct_size` bytes (its first field), readable (inputs) or writable (outputs), and
//! correctly aligned for the struct; fields hold valid values of their C types (a `bool`
//! is 0 or 1).

use std::mem::{align_of, size_of};

use crate::result::{Res, err, streamq_result};

/// Largest `struct_size` taken seriously: no struct of this library comes close, so a
/// larger value is an uninitialised field, not a newer header.
const MAX_STRUCT_SIZE: usize = 1 << 16;

/// A `#[repr(C)]` struct whose first field is `struct_size: usize`.
///
/// # Safety
/// Implementors are `#[repr(C)]`, start with `struct_size: usize`, and contain only
/// fields for which any byte pattern a conforming C caller writes is valid.
pub(crate) unsafe trait Versioned: Copy {
    /// The C name, for messages.
    const NAME: &'static str;
}

/// An input struct: it has defaults for the fields an older caller does not know.
pub(crate) trait Input: Versioned {
    /// The defaults, with `struct_size == size_of::<Self>()`.
    fn defaults() -> Self;
}

/// Declares `$t` versioned (and checks at compile time that `struct_size` comes first).
macro_rules! versioned {
    ($($t:ident),* $(,)?) => {$(
        const _: () = assert!(std::mem::offset_of!($t, struct_size) == 0);
        // SAFETY: `$t` is `#[repr(C)]` with `struct_size: usize` first (asserted above)
        // and holds integers, bools, raw pointers and optional function pointers only.
        unsafe impl $crate::sized::Versioned for $t {
            const NAME: &'static str = stringify!($t);
        }
    )*};
}
pub(crate) use versioned;

fn check_size<T: Versioned>(size: usize, what: &str) -> Res {
    if size < size_of::<usize>() || !size.is_multiple_of(align_of::<T>()) || size > MAX_STRUCT_SIZE {
        return err(
            streamq_result::InvalidArgument,
            format!(
                "{what}->struct_size is {size}: set it to sizeof({}) (this library's is {}), \
                 with the init function or before the call",
                T::NAME,
                size_of::<T>()
            ),
        );
    }
    Ok(())
}

/// Reads `struct_size` at the start of `p` (non-NULL).
///
/// # Safety
/// The module contract.
unsafe fn struct_size<T>(p: *const T) -> usize {
    // SAFETY: per the module contract `p` is aligned for `T` (hence for `usize`, its
    // first field) and its first `size_of::<usize>()` bytes are readable.
    unsafe { p.cast::<usize>().read() }
}

/// Reads an input struct: the caller's `struct_size` bytes over the defaults.
///
/// # Safety
/// `p` is NULL or satisfies the module contract.
pub(crate) unsafe fn read_input<T: Input>(p: *const T, what: &str) -> Res<T> {
    if p.is_null() {
        return err(streamq_result::NullPointer, format!("{what} is NULL"));
    }
    // SAFETY: non-NULL, module contract.
    let size = unsafe { struct_size(p) };
    check_size::<T>(size, what)?;
    let ours = size_of::<T>();
    let bytes = p.cast::<u8>();
    if size > ours {
        // SAFETY: the caller's struct has `size` readable bytes (module contract).
        let tail = unsafe { std::slice::from_raw_parts(bytes.add(ours), size - ours) };
        if let Some(i) = tail.iter().position(|&b| b != 0) {
            return err(
                streamq_result::InvalidArgument,
                format!(
                    "{what} is a newer {} ({size} bytes) with a field set at byte {} that this \
                     library ({ours} bytes, version {}) does not know",
                    T::NAME,
                    ours + i,
                    env!("CARGO_PKG_VERSION")
                ),
            );
        }
    }
    let mut v = T::defaults();
    // SAFETY: `min(size, ours)` bytes are readable at `p` and writable in `v`; the two do
    // not overlap. The cut is at a multiple of `T`'s alignment, so it splits no field
    // (fields are at most 8 bytes and naturally aligned); the bytes copied are the
    // caller's values of the fields it knows, valid per the module contract.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes, (&raw mut v).cast::<u8>(), size.min(ours));
        (&raw mut v).cast::<usize>().write(ours);
    }
    Ok(v)
}

/// Changes one option of a caller's input struct: reads it, lets `f` change it (`f`
/// returns the end offset of the fields it changed), and writes the caller's
/// `struct_size` bytes back. A field past the caller's `struct_size` (an option its
/// header does not have) is refused rather than dropped.
///
/// # Safety
/// `p` is NULL or satisfies the module contract, readable and writable.
pub(crate) unsafe fn update_input<T: Input>(
    p: *mut T,
    what: &str,
    f: impl FnOnce(&mut T) -> Res<usize>,
) -> Res {
    // SAFETY: forwarded contract.
    let mut v = unsafe { read_input(p.cast_const(), what) }?;
    let end = f(&mut v)?;
    // SAFETY: `read_input` checked `p` non-NULL and its size.
    let size = unsafe { struct_size(p) };
    if end > size {
        return err(
            streamq_result::InvalidArgument,
            format!(
                "this option is a field the caller's {} does not have ({what}->struct_size is {size}, \
                 the field ends at byte {end}): rebuild against a newer streamq.h",
                T::NAME
            ),
        );
    }
    // SAFETY: the caller's struct has `size` writable bytes (contract); `write_prefix`
    // writes `min(size, size_of::<T>())` of `v` and zeros past our size — where a
    // larger caller struct was checked to hold zeros by `read_input`.
    unsafe { write_prefix(p, size, v) };
    Ok(())
}

/// Sets `$c.$field = $value` and gives the end offset of the field in `$t` (for
/// [`update_input`]).
macro_rules! set_field {
    ($c:ident : $t:ty, $field:ident = $value:expr) => {{
        $c.$field = $value;
        std::mem::offset_of!($t, $field) + std::mem::size_of_val(&$c.$field)
    }};
}
pub(crate) use set_field;

/// Fills an input struct of `size` bytes at `p` with the defaults (zero past the
/// library's own size) and sets its `struct_size`.
///
/// # Safety
/// `p` is NULL or points to `size` writable bytes aligned for `T`.
pub(crate) unsafe fn init_input<T: Input>(p: *mut T, size: usize, what: &str) -> Res {
    if p.is_null() {
        return err(streamq_result::NullPointer, format!("{what} is NULL"));
    }
    check_size::<T>(size, "struct_size argument: the struct")?;
    // SAFETY: the caller guarantees `size` writable bytes at `p`.
    unsafe { write_prefix(p, size, T::defaults()) };
    Ok(())
}

/// Writes `v` into `size` bytes at `p`: its first `min(size, size_of::<T>())` bytes,
/// zeros after them, `struct_size = size`.
///
/// # Safety
/// `p` points to `size` writable bytes aligned for `T`, `size` passed `check_size`.
unsafe fn write_prefix<T: Versioned>(p: *mut T, size: usize, v: T) {
    let ours = size_of::<T>();
    let n = size.min(ours);
    let dst = p.cast::<u8>();
    // SAFETY: `n <= size` bytes of `v` are readable and `size` bytes at `dst` writable
    // (caller's contract); distinct objects. Zeroing `size - n` bytes after them stays
    // inside the caller's `size` bytes; `struct_size` is the first usize of the struct.
    unsafe {
        std::ptr::copy_nonoverlapping((&raw const v).cast::<u8>(), dst, n);
        std::ptr::write_bytes(dst.add(n), 0, size - n);
        p.cast::<usize>().write(size);
    }
}

/// A caller's output struct, checked before the call does anything (so a bad
/// `struct_size` fails before a frame is consumed).
pub(crate) struct Output<T> {
    p: *mut T,
    size: usize,
}

impl<T: Versioned> Output<T> {
    /// Checks the output pointer and its `struct_size`.
    ///
    /// # Safety
    /// `p` is NULL or satisfies the module contract (as an output).
    pub(crate) unsafe fn new(p: *mut T, what: &str) -> Res<Self> {
        if p.is_null() {
            return err(streamq_result::NullPointer, format!("{what} is NULL"));
        }
        // SAFETY: non-NULL, module contract.
        let size = unsafe { struct_size(p) };
        check_size::<T>(size, what)?;
        Ok(Output { p, size })
    }

    /// As [`new`](Self::new), but NULL means "not wanted".
    ///
    /// # Safety
    /// As [`new`](Self::new).
    pub(crate) unsafe fn optional(p: *mut T, what: &str) -> Res<Option<Self>> {
        if p.is_null() {
            return Ok(None);
        }
        // SAFETY: forwarded contract.
        unsafe { Self::new(p, what) }.map(Some)
    }

    /// The caller's `struct_size`.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Writes `v` (the caller's `struct_size` bytes of it).
    pub(crate) fn write(&self, v: T) {
        // SAFETY: `new` checked `p` non-NULL and `size`; the module contract gives
        // `size` writable, aligned bytes.
        unsafe { write_prefix(self.p, self.size, v) }
    }
}

/// A caller's array of output structs: `p[0].struct_size` is the element size (the
/// caller's `sizeof`), every element is written with it.
pub(crate) struct OutputArray<T> {
    p: *mut T,
    stride: usize,
    len: usize,
}

impl<T: Versioned> OutputArray<T> {
    /// # Safety
    /// `p` is NULL or points to `len` elements of `p[0].struct_size` bytes each, writable
    /// and aligned for `T`.
    pub(crate) unsafe fn new(p: *mut T, len: usize, what: &str) -> Res<Self> {
        // SAFETY: forwarded contract (element 0 is an output struct).
        let first = unsafe { Output::new(p, &format!("{what}[0]")) }?;
        crate::args::check_len(first.size.saturating_mul(len), what)?;
        Ok(OutputArray {
            p,
            stride: first.size,
            len,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Writes element `i < len`; returns a pointer to it.
    pub(crate) fn write(&self, i: usize, v: T) {
        assert!(i < self.len, "output index {i} out of range");
        // SAFETY: element `i` starts `i * stride` bytes in, inside the caller's array of
        // `len` elements of `stride` bytes (checked in `new`, stride a multiple of the
        // alignment), so it is aligned and `stride` bytes are writable.
        unsafe {
            let e = self.p.cast::<u8>().add(i * self.stride).cast::<T>();
            write_prefix(e, self.stride, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct t_cfg {
        struct_size: usize,
        a: u64,
        b: u32,
        c: bool,
        d: u64,
    }
    versioned!(t_cfg);
    impl Input for t_cfg {
        fn defaults() -> Self {
            t_cfg {
                struct_size: size_of::<t_cfg>(),
                a: 1,
                b: 2,
                c: true,
                d: 4,
            }
        }
    }

    #[test]
    fn older_prefix_gets_defaults_newer_zero_tail_is_accepted() {
        // An "older" caller: only struct_size, a, b, c (24 bytes).
        let mut buf = [0u64; 8];
        let p = buf.as_mut_ptr().cast::<t_cfg>();
        // SAFETY: 64 writable, aligned bytes.
        unsafe { init_input(p, 24, "cfg") }.unwrap();
        assert_eq!(buf[0], 24);
        assert_eq!(buf[3], 0, "the init must not write past the caller's size");
        buf[1] = 10;
        // SAFETY: as above.
        let v = unsafe { read_input(p.cast_const(), "cfg") }.unwrap();
        assert_eq!((v.a, v.b, v.c, v.d), (10, 2, true, 4));
        // A "newer" caller with zeros past our size is fine; a set field is refused.
        // SAFETY: as above.
        unsafe { init_input(p, 64, "cfg") }.unwrap();
        assert_eq!(buf[0], 64);
        // SAFETY: as above.
        assert!(unsafe { read_input(p.cast_const(), "cfg") }.is_ok());
        buf[6] = 1;
        // SAFETY: as above.
        let e = unsafe { read_input(p.cast_const(), "cfg") }.unwrap_err();
        assert_eq!(e.code, streamq_result::InvalidArgument);
        for bad in [0usize, 4, 12, 1 << 20] {
            buf[0] = bad as u64;
            // SAFETY: as above.
            assert!(unsafe { read_input(p.cast_const(), "cfg") }.is_err(), "{bad}");
        }
    }

    #[test]
    fn outputs_write_only_the_callers_bytes() {
        let mut buf = [0xAAAA_AAAA_AAAA_AAAAu64; 8];
        buf[0] = 16;
        let p = buf.as_mut_ptr().cast::<t_cfg>();
        // SAFETY: 64 writable, aligned bytes.
        let o = unsafe { Output::new(p, "out") }.unwrap();
        o.write(t_cfg::defaults());
        assert_eq!(&buf[..3], &[16, 1, 0xAAAA_AAAA_AAAA_AAAA]);
        buf[0] = 48;
        // SAFETY: as above.
        let o = unsafe { Output::new(p, "out") }.unwrap();
        o.write(t_cfg::defaults());
        assert_eq!(buf[0], 48);
        assert_eq!(buf[4], 0, "zero-filled past our size");
        assert_eq!(buf[6], 0xAAAA_AAAA_AAAA_AAAA, "untouched past the caller's size");
    }
}
