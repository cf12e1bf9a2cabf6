//! Writer errors, one type per operation: [`StartError`] (starting), [`AddStreamError`]
//! (adding a stream), [`FlushError`] (flushing), [`CloseError`] (closing, with the
//! report), and [`WriterError`], why a running writer failed, which the others carry.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::writer::report::WriterReport;

/// Why a running writer failed (or why its sink could not be opened). Producers see the
/// failure as `Failed` on their next call; the error callback, `flush` and `close` carry
/// this value.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum WriterError {
    /// An I/O operation failed (`ENOSPC`, `EIO`, permissions, a short write that made
    /// no progress …). The file is valid up to its last complete record.
    Io {
        /// What the writer was doing.
        op: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The OS error kind.
        kind: io::ErrorKind,
        /// The raw OS error number, when there is one.
        raw_os_error: Option<i32>,
        /// The full message.
        message: String,
    },
    /// A user callback sink returned an error.
    Sink(String),
    /// A record could not be encoded (a stream definition or metadata past the format's
    /// limits); the message says which.
    Format(String),
    /// A writer thread panicked; the message is the panic's.
    Panicked(String),
}

impl WriterError {
    pub(crate) fn io(op: &'static str, path: &std::path::Path, e: &io::Error) -> Self {
        WriterError::Io {
            op,
            path: path.to_path_buf(),
            kind: e.kind(),
            raw_os_error: e.raw_os_error(),
            message: e.to_string(),
        }
    }

    /// The raw OS error number, for I/O errors.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            WriterError::Io { raw_os_error, .. } => *raw_os_error,
            _ => None,
        }
    }
}

impl fmt::Display for WriterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriterError::Io {
                op, path, message, ..
            } => {
                write!(f, "{op} {}: {message}", path.display())
            }
            WriterError::Sink(m) => write!(f, "sink callback failed: {m}"),
            WriterError::Format(m) => write!(f, "cannot encode record: {m}"),
            WriterError::Panicked(m) => write!(f, "writer thread panicked: {m}"),
        }
    }
}

impl std::error::Error for WriterError {}

/// Why [`Writer::start`](crate::Writer::start) gave no writer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is not usable; the message says which setting and why (an
    /// option the sink does not use, a value out of range).
    InvalidConfig(String),
    /// The sink could not be opened (the file or directory, or the writer thread).
    Open(WriterError),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::InvalidConfig(m) => write!(f, "invalid writer configuration: {m}"),
            StartError::Open(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Open(e) => Some(e),
            StartError::InvalidConfig(_) => None,
        }
    }
}

impl From<WriterError> for StartError {
    fn from(e: WriterError) -> Self {
        StartError::Open(e)
    }
}

/// Why [`Writer::add_stream`](crate::Writer::add_stream) gave no producer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AddStreamError {
    /// The stream's configuration is not usable; the message says which setting.
    InvalidConfig(String),
    /// The writer already has a stream of this name (names are unique in a capture).
    DuplicateName(String),
    /// More streams than the writer's `max_streams` (at most 65 535).
    TooManyStreams,
    /// The writer is closing or closed.
    Closed,
    /// The writer has failed.
    Failed(WriterError),
}

impl fmt::Display for AddStreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddStreamError::InvalidConfig(m) => write!(f, "invalid stream configuration: {m}"),
            AddStreamError::DuplicateName(n) => write!(f, "the writer already has a stream named '{n}'"),
            AddStreamError::TooManyStreams => f.write_str("too many streams for this writer (max_streams)"),
            AddStreamError::Closed => f.write_str("writer is closed"),
            AddStreamError::Failed(e) => write!(f, "writer has failed: {e}"),
        }
    }
}

impl std::error::Error for AddStreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AddStreamError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// Why [`Writer::flush`](crate::Writer::flush) could not confirm that everything pushed
/// is written.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FlushError {
    /// The writer was closed (its close report says what was written).
    Closed,
    /// The writer has failed.
    Failed(WriterError),
}

impl fmt::Display for FlushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlushError::Closed => f.write_str("writer is closed"),
            FlushError::Failed(e) => write!(f, "writer has failed: {e}"),
        }
    }
}

impl std::error::Error for FlushError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FlushError::Failed(e) => Some(e),
            FlushError::Closed => None,
        }
    }
}

/// `close()` found an error: everything that could be written was, the file is valid up
/// to its last complete record, and the report says what was written, dropped and lost.
#[derive(Debug, Clone)]
pub struct CloseError {
    /// The first error the writer met.
    pub error: WriterError,
    /// What happened to every frame (boxed: the error stays small to move around).
    pub report: Box<WriterReport>,
}

impl fmt::Display for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} frames written, {} lost)",
            self.error, self.report.frames_written, self.report.frames_failed
        )
    }
}

impl std::error::Error for CloseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
