//! Writer errors and the close report's failure form.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::writer::report::WriterReport;

/// Why the writer stopped, or why it could not start.
#[derive(Debug, Clone)]
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
    /// The configuration is not usable; the message says which setting.
    InvalidConfig(String),
    /// The writer is closed (or failed earlier); no more streams can be added.
    Closed,
    /// More streams than the writer's `max_streams` (at most 65 535).
    TooManyStreams,
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
            WriterError::Io { op, path, message, .. } => {
                write!(f, "{op} {}: {message}", path.display())
            }
            WriterError::Sink(m) => write!(f, "sink callback failed: {m}"),
            WriterError::InvalidConfig(m) => write!(f, "invalid writer configuration: {m}"),
            WriterError::Closed => f.write_str("writer is closed"),
            WriterError::TooManyStreams => f.write_str("too many streams for this writer (max_streams)"),
            WriterError::Panicked(m) => write!(f, "writer thread panicked: {m}"),
        }
    }
}

impl std::error::Error for WriterError {}

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
            self.error,
            self.report.frames_written,
            self.report.frames_failed
        )
    }
}

impl std::error::Error for CloseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
