//! Option text for the string-keyed setters and getters (`streamq_*_config_set` /
//! `_get`): values are read with the engine's parsers (`ByteSize`, `Compression`,
//! `FsyncPolicy`, `OverflowPolicy`, `parse_duration`, all `FromStr`) and printed by the
//! engine's `describe()`, so one spelling means one thing in C, Python, Rust and the
//! command line. Only the words `describe()` prints for an unset value ("none",
//! "default") and plain integers and booleans (Rust's `FromStr`, as the engine prints
//! them with `Display`) are read here.

use std::ffi::c_char;
use std::str::FromStr;
use std::time::Duration;

use streamq_core::{ByteSize, parse_duration};

use crate::args::{bytes_mut, write};
use crate::result::{Error, Res, err, streamq_result};

fn bad(name: &str, message: impl std::fmt::Display) -> Error {
    Error::new(streamq_result::InvalidArgument, format!("{name}: {message}"))
}

/// A size (`4096`, `900KiB`, `256MiB`, `1.5MB`).
pub(crate) fn size(name: &str, value: &str) -> Res<u64> {
    value
        .parse::<ByteSize>()
        .map(ByteSize::bytes)
        .map_err(|e| bad(name, e))
}

/// A size as `usize`.
pub(crate) fn size_usize(name: &str, value: &str) -> Res<usize> {
    let n = size(name, value)?;
    usize::try_from(n).map_err(|_| bad(name, format!("{value} does not fit in size_t")))
}

/// `word` (what `describe()` prints when unset) gives `None`, anything else `parse`.
pub(crate) fn or_word<T>(value: &str, word: &str, parse: impl FnOnce() -> Res<T>) -> Res<Option<T>> {
    if value.trim().eq_ignore_ascii_case(word) {
        Ok(None)
    } else {
        parse().map(Some)
    }
}

/// A duration in whole milliseconds (the unit of the C configs).
pub(crate) fn millis(name: &str, value: &str) -> Res<u64> {
    let d = parse_duration(value).map_err(|e| bad(name, e))?;
    whole_millis(name, value, d)
}

pub(crate) fn whole_millis(name: &str, value: &str, d: Duration) -> Res<u64> {
    if !d.subsec_nanos().is_multiple_of(1_000_000) {
        return Err(bad(
            name,
            format!("{value} is not a whole number of milliseconds (the C config holds milliseconds)"),
        ));
    }
    u64::try_from(d.as_millis()).map_err(|_| bad(name, format!("{value} is too long")))
}

/// `true` or `false`.
pub(crate) fn boolean(name: &str, value: &str) -> Res<bool> {
    value
        .trim()
        .parse::<bool>()
        .map_err(|_| bad(name, format!("'{value}' is not true or false")))
}

/// A plain integer.
pub(crate) fn number<T: FromStr>(name: &str, value: &str) -> Res<T> {
    value
        .trim()
        .parse::<T>()
        .map_err(|_| bad(name, format!("'{value}' is not a valid number here")))
}

/// An engine `FromStr` value (its error message is the engine's).
pub(crate) fn parsed<T: FromStr>(name: &str, value: &str) -> Res<T>
where
    T::Err: std::fmt::Display,
{
    value.parse::<T>().map_err(|e| bad(name, e))
}

/// The option names of a `describe()` list, for messages.
fn names(described: &[(&'static str, String)]) -> String {
    described.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// An unknown option name.
pub(crate) fn unknown(kind: &str, name: &str, described: &[(&'static str, String)]) -> Error {
    Error::new(
        streamq_result::InvalidArgument,
        format!("unknown {kind} option '{name}' (options: {})", names(described)),
    )
}

/// A pointer option, which the setter does not copy.
pub(crate) fn pointer_field(name: &str, field: &str) -> Error {
    Error::new(
        streamq_result::InvalidArgument,
        format!(
            "{name} is not set from text: assign the config's `{field}` field (the library does not \
             copy strings into a config; it reads them when the config is used)"
        ),
    )
}

/// Writes option `name`'s canonical text from `described` into `buf` (`len` bytes,
/// NUL-terminated) and its length into `*len_out` (may be NULL). Too small a buffer:
/// `STREAMQ_RESULT_BUFFER_TOO_SMALL`, `*len_out` written, `buf` untouched.
///
/// # Safety
/// `buf` is NULL or `len` writable bytes; `len_out` NULL or writable.
pub(crate) unsafe fn get(
    kind: &str,
    described: &[(&'static str, String)],
    name: &str,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> Res {
    let Some((_, text)) = described.iter().find(|(n, _)| *n == name) else {
        return Err(unknown(kind, name, described));
    };
    // SAFETY: the caller's contract on `buf`.
    let dst = unsafe { bytes_mut(buf.cast::<u8>(), len, "buf") }?;
    if text.len() >= dst.len() {
        // SAFETY: NULL or writable per the caller's contract (documented: written with
        // STREAMQ_RESULT_BUFFER_TOO_SMALL).
        unsafe { write(len_out, text.len()) };
        return err(
            streamq_result::BufferTooSmall,
            format!("{name} is {} bytes of text; the buffer has {len}", text.len() + 1),
        );
    }
    dst[..text.len()].copy_from_slice(text.as_bytes());
    dst[text.len()] = 0;
    // SAFETY: as above.
    unsafe { write(len_out, text.len()) };
    Ok(())
}
