//! Result codes, their static texts, and the per-thread message of the last failure.

use std::cell::RefCell;
use std::ffi::c_char;
use std::fmt::Write as _;

use streamq_core::reader::ReaderError;
use streamq_core::{
    AddStreamError, BuildError, CloseError, FlushError, OptionTextError, PopTimeoutError, PushError,
    ReserveError, StartError, TryPopError, WaitError, WriterError,
};

/// What a call did. `STREAMQ_RESULT_OK` (0) is success; every other value is a failure whose
/// details `streamq_last_error` gives on the same thread. Values are stable: new codes are
/// only ever appended, so a program should treat an unknown code as a failure.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum streamq_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullPointer = 1,
    /// An argument or configuration value is out of range or refused (bad enum value,
    /// length above `PTRDIFF_MAX`, bad `struct_size`, an option the sink does not use,
    /// unknown option name or unreadable option text, duplicate stream name …); the
    /// message says which.
    InvalidArgument = 2,
    /// The queue is full and the call does not wait (`STREAMQ_POLICY_FAIL_FAST`, or
    /// `STREAMQ_WAIT_NEVER`). The frame was not taken.
    WouldBlock = 3,
    /// The wait ended at its timeout.
    Timeout = 4,
    /// The handle, or the other end of its queue or stream, is closed (also: a second
    /// close of a producer or consumer).
    Closed = 5,
    /// The frame is larger than the largest frame the queue can ever hold.
    TooLarge = 6,
    /// The queue was full and the overflow policy dropped this frame; it is counted in
    /// the stats and given a sequence number (a gap). Not a success: the data is lost.
    Dropped = 7,
    /// The writer behind the stream failed earlier (its error is in the report and
    /// `streamq_last_error`), or the engine reported an error this library version does
    /// not classify further (see `streamq_last_error`).
    Failed = 8,
    /// No frame is queued right now (non-blocking pop).
    Empty = 9,
    /// End of stream: the producers closed and every frame has been taken, or the
    /// reader has no more frames.
    EndOfStream = 10,
    /// The caller's buffer is too small; nothing was consumed, and the size needed was
    /// written where the function's docs say.
    BufferTooSmall = 11,
    /// Commit or abort without a reservation pending on this handle from this thread.
    NoReservation = 12,
    /// The handle is busy: this thread holds a reservation on it (commit or abort it
    /// first), or the consumer holds peeked frames (release them first).
    Busy = 13,
    /// An operating-system I/O error (open, write, sync …); see `streamq_last_error`.
    Io = 14,
    /// The data is damaged (CRC mismatch, undecodable record, not a capture file).
    Corrupt = 15,
    /// The file uses a format version or encoding this library does not support.
    Unsupported = 16,
    /// No such item: unknown stream id, index out of range, no frame held, nothing
    /// durable yet.
    NotFound = 17,
    /// A limit was reached (more streams than the writer's `max_streams`, a record past
    /// the format's limits).
    Limit = 18,
    /// A bug: a Rust panic was caught at the boundary. The handle may be unusable.
    Panic = 19,
    /// A wait was cut short by its `streamq_interrupt` (triggered); nothing was taken
    /// or refused.
    Interrupted = 20,
    /// The call needs a writer stream's producer and was given a bare queue's
    /// (`streamq_producer_stream_id`, `streamq_producer_durable_seq`).
    NotAStream = 21,
}

/// Static, NUL-terminated text for every code.
fn text(code: i32) -> &'static [u8] {
    match code {
        0 => b"success\0",
        1 => b"a required pointer argument was NULL\0",
        2 => b"invalid argument\0",
        3 => b"queue is full (would block)\0",
        4 => b"timed out\0",
        5 => b"closed\0",
        6 => b"frame is larger than the queue can ever hold\0",
        7 => b"frame dropped by the overflow policy\0",
        8 => b"the writer has failed\0",
        9 => b"queue is empty\0",
        10 => b"end of stream\0",
        11 => b"buffer too small\0",
        12 => b"no reservation pending\0",
        13 => b"handle busy (reservation or peeked frames pending)\0",
        14 => b"I/O error\0",
        15 => b"corrupt data\0",
        16 => b"unsupported format version or encoding\0",
        17 => b"not found\0",
        18 => b"limit reached\0",
        19 => b"internal error (panic)\0",
        20 => b"interrupted\0",
        21 => b"not a writer stream's producer\0",
        _ => b"unknown streamq result code\0",
    }
}

/// Static text describing a result code; unknown codes give "unknown streamq result
/// code". Never NULL; the string must not be freed.
#[unsafe(no_mangle)]
pub extern "C" fn streamq_result_str(code: i32) -> *const c_char {
    // A match over constants; wrapped all the same, as every export is.
    crate::panic::call_or(
        "streamq_result_str",
        c"unknown streamq result code".as_ptr(),
        || text(code).as_ptr().cast(),
    )
}

/// A failure: its code and a detailed message for `streamq_last_error`.
#[derive(Debug)]
pub(crate) struct Error {
    pub(crate) code: streamq_result,
    pub(crate) message: String,
}

pub(crate) type Res<T = ()> = Result<T, Error>;

impl Error {
    pub(crate) fn new(code: streamq_result, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }
}

pub(crate) fn err<T>(code: streamq_result, message: impl Into<String>) -> Res<T> {
    Err(Error::new(code, message))
}

/// An engine error variant this version of the library does not know (the engine's error
/// enums are `#[non_exhaustive]`): `STREAMQ_RESULT_FAILED` with the engine's message.
fn unclassified(e: &dyn std::fmt::Display) -> Error {
    Error::new(
        streamq_result::Failed,
        format!("{e} (an engine error this library version does not classify)"),
    )
}

impl From<PushError> for Error {
    fn from(e: PushError) -> Self {
        let code = match e {
            PushError::WouldBlock => streamq_result::WouldBlock,
            PushError::Timeout => streamq_result::Timeout,
            PushError::Closed => streamq_result::Closed,
            PushError::TooLarge { .. } => streamq_result::TooLarge,
            PushError::Failed => streamq_result::Failed,
            PushError::Interrupted => streamq_result::Interrupted,
            _ => return unclassified(&e),
        };
        Error::new(code, e.to_string())
    }
}

impl From<ReserveError> for Error {
    fn from(e: ReserveError) -> Self {
        let code = match e {
            ReserveError::WouldBlock => streamq_result::WouldBlock,
            ReserveError::Timeout => streamq_result::Timeout,
            ReserveError::Dropped { .. } => streamq_result::Dropped,
            ReserveError::Closed => streamq_result::Closed,
            ReserveError::TooLarge { .. } => streamq_result::TooLarge,
            ReserveError::Failed => streamq_result::Failed,
            ReserveError::Interrupted => streamq_result::Interrupted,
            _ => return unclassified(&e),
        };
        Error::new(code, e.to_string())
    }
}

impl From<WaitError> for Error {
    fn from(e: WaitError) -> Self {
        let code = match e {
            WaitError::Timeout => streamq_result::Timeout,
            WaitError::Closed => streamq_result::Closed,
            WaitError::Interrupted => streamq_result::Interrupted,
            _ => return unclassified(&e),
        };
        Error::new(code, e.to_string())
    }
}

impl From<PopTimeoutError> for Error {
    fn from(e: PopTimeoutError) -> Self {
        let code = match e {
            PopTimeoutError::Timeout => streamq_result::Timeout,
            PopTimeoutError::Disconnected => streamq_result::EndOfStream,
            PopTimeoutError::Interrupted => streamq_result::Interrupted,
            _ => return unclassified(&e),
        };
        Error::new(code, e.to_string())
    }
}

impl From<TryPopError> for Error {
    fn from(e: TryPopError) -> Self {
        let code = match e {
            TryPopError::Empty => streamq_result::Empty,
            TryPopError::Disconnected => streamq_result::EndOfStream,
        };
        Error::new(code, e.to_string())
    }
}

impl From<BuildError> for Error {
    fn from(e: BuildError) -> Self {
        let code = match e {
            BuildError::InvalidConfig(_) => streamq_result::InvalidArgument,
            BuildError::Io(_) => streamq_result::Io,
            _ => return unclassified(&e),
        };
        Error::new(code, e.to_string())
    }
}

/// The code for why a running writer failed.
pub(crate) fn writer_error_code(e: &WriterError) -> streamq_result {
    match e {
        WriterError::Io { .. } => streamq_result::Io,
        WriterError::Sink(_) => streamq_result::Failed,
        WriterError::Format(_) => streamq_result::Limit,
        WriterError::Panicked(_) => streamq_result::Panic,
        _ => streamq_result::Failed,
    }
}

impl From<&WriterError> for Error {
    fn from(e: &WriterError) -> Self {
        Error::new(writer_error_code(e), e.to_string())
    }
}

impl From<StartError> for Error {
    fn from(e: StartError) -> Self {
        match &e {
            // The engine's own message: which option, and why (one shape for every front
            // end, e.g. "compression applies to the capture_file sink only (this
            // writer's sink is directory)").
            StartError::InvalidConfig(_) => Error::new(streamq_result::InvalidArgument, e.to_string()),
            StartError::Open(w) => Error::from(w),
            _ => unclassified(&e),
        }
    }
}

impl From<AddStreamError> for Error {
    fn from(e: AddStreamError) -> Self {
        let code = match &e {
            AddStreamError::InvalidConfig(_) | AddStreamError::DuplicateName(_) => {
                streamq_result::InvalidArgument
            }
            AddStreamError::TooManyStreams => streamq_result::Limit,
            AddStreamError::Closed => streamq_result::Closed,
            AddStreamError::Failed(w) => writer_error_code(w),
            _ => return unclassified(&e),
        };
        Error::new(code, e.to_string())
    }
}

impl From<FlushError> for Error {
    fn from(e: FlushError) -> Self {
        let code = match &e {
            FlushError::Closed => streamq_result::Closed,
            FlushError::Failed(w) => writer_error_code(w),
            _ => return unclassified(&e),
        };
        Error::new(code, e.to_string())
    }
}

impl From<&CloseError> for Error {
    fn from(e: &CloseError) -> Self {
        Error::new(writer_error_code(&e.error), e.to_string())
    }
}

impl From<OptionTextError> for Error {
    fn from(e: OptionTextError) -> Self {
        Error::new(streamq_result::InvalidArgument, e.to_string())
    }
}

impl From<ReaderError> for Error {
    fn from(e: ReaderError) -> Self {
        let code = match &e {
            ReaderError::Io { .. } => streamq_result::Io,
            ReaderError::NotACaptureFile { .. } | ReaderError::Corrupt { .. } => streamq_result::Corrupt,
            ReaderError::UnsupportedVersion { .. } | ReaderError::UnsupportedEncoding { .. } => {
                streamq_result::Unsupported
            }
            ReaderError::NoSegments => streamq_result::InvalidArgument,
            _ => return unclassified(&e),
        };
        Error::new(code, e.to_string())
    }
}

thread_local! {
    /// The message of the last failed call on this thread (reused, so a failure in a hot
    /// loop — `STREAMQ_RESULT_WOULD_BLOCK` — does not allocate after the first).
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Records `message` (prefixed with the function name) as this thread's last error.
pub(crate) fn set_last_error(function: &str, code: streamq_result, message: &str) {
    let _ = LAST_ERROR.try_with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            m.clear();
            let _ = write!(m, "{function}: {message} ({})", name(code));
        }
    });
}

fn name(code: streamq_result) -> &'static str {
    let t = text(code as i32);
    std::str::from_utf8(&t[..t.len() - 1]).unwrap_or("")
}

/// Copies this thread's last error message into `buf` (at most `len` bytes, always
/// NUL-terminated when `len > 0`, truncated if needed) and returns the message's full
/// length in bytes, without the NUL — like `snprintf`, so a return value `>= len` means
/// the message was truncated. Returns 0 when no call has failed on this thread yet.
/// `buf` may be NULL when `len` is 0 (to ask for the length). A failed call replaces the
/// message; successful calls leave it unchanged.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_last_error(buf: *mut c_char, len: usize) -> usize {
    crate::panic::call_or("streamq_last_error", 0, || {
        LAST_ERROR
            .try_with(|m| {
                let m = m.try_borrow().map(|m| m.clone()).unwrap_or_default();
                if !buf.is_null() && len > 0 {
                    let n = m.len().min(len - 1);
                    // SAFETY: the caller guarantees `len` writable bytes at `buf`; we
                    // write n + 1 <= len bytes, from a String that does not overlap it.
                    unsafe {
                        std::ptr::copy_nonoverlapping(m.as_ptr(), buf.cast::<u8>(), n);
                        *buf.add(n) = 0;
                    }
                }
                m.len()
            })
            .unwrap_or(0)
    })
}
