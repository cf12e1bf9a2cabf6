//! Errors of the reader.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::format::FormatError;

/// An error opening, reading or recovering a capture file.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReaderError {
    /// An I/O error on `path`.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file is not a capture file (empty, bad magic, damaged header...).
    NotACaptureFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: FormatError,
    },
    /// The file's major format version is not supported by this reader.
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Major version found.
        major: u16,
        /// Minor version found.
        minor: u16,
    },
    /// A record is damaged (CRC mismatch, undecodable payload...).
    Corrupt {
        /// File offset of the record.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// The frame uses an encoding flag this reader does not know.
    UnsupportedEncoding {
        /// File offset of the record.
        offset: u64,
        /// The frame's flags.
        flags: u8,
    },
    /// `open_segments` was given no path.
    NoSegments,
}

impl ReaderError {
    pub(crate) fn io(path: &std::path::Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn header(path: &std::path::Path, e: FormatError) -> Self {
        match e {
            FormatError::UnsupportedVersion { major, minor } => Self::UnsupportedVersion {
                path: path.to_path_buf(),
                major,
                minor,
            },
            reason => Self::NotACaptureFile {
                path: path.to_path_buf(),
                reason,
            },
        }
    }
}

impl fmt::Display for ReaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::NotACaptureFile { path, reason } => {
                write!(f, "{}: not a streamq capture file: {reason}", path.display())
            }
            Self::UnsupportedVersion { path, major, minor } => write!(
                f,
                "{}: capture format version {major}.{minor} is not supported (this reader reads major {})",
                path.display(),
                crate::format::VERSION
            ),
            Self::Corrupt { offset, what } => {
                write!(f, "corrupt record at offset {offset}: {what}")
            }
            Self::UnsupportedEncoding { offset, flags } => write!(
                f,
                "frame at offset {offset} uses unknown encoding flags {flags:#04x}"
            ),
            Self::NoSegments => f.write_str("no segment files given"),
        }
    }
}

impl std::error::Error for ReaderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::NotACaptureFile { reason, .. } => Some(reason),
            _ => None,
        }
    }
}
