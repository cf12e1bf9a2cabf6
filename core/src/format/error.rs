//! Errors of the pure encoders/decoders.

use std::fmt;

/// An error decoding (or, rarely, encoding) capture-format bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// The file does not start with [`super::MAGIC`].
    BadMagic,
    /// The file's major version is not one this crate reads.
    UnsupportedVersion {
        /// Major version found in the file.
        major: u16,
        /// Minor version found in the file.
        minor: u16,
    },
    /// The bytes end before the structure does.
    Truncated {
        /// Bytes the structure needs.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// A record does not start with [`super::SYNC_MARKER`].
    BadSync,
    /// The file-header CRC or a record-header CRC does not match.
    HeaderCrcMismatch {
        /// CRC stored in the bytes.
        stored: u32,
        /// CRC computed over the bytes.
        computed: u32,
    },
    /// The record CRC (header + payload) does not match.
    CrcMismatch {
        /// CRC stored in the record header.
        stored: u32,
        /// CRC computed over header and payload.
        computed: u32,
    },
    /// A record of one kind was expected, another was found.
    WrongKind {
        /// Expected kind code.
        expected: u8,
        /// Kind code found.
        found: u8,
    },
    /// A field holds an impossible value.
    Malformed(&'static str),
    /// A string is not valid UTF-8.
    InvalidUtf8,
    /// A value is too large to encode (payload over 4 GiB, string over 4 GiB...).
    TooLarge(&'static str),
    /// A zstd payload failed to decompress to its declared raw length.
    Decompress(String),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => f.write_str("not a streamq capture file (bad magic)"),
            Self::UnsupportedVersion { major, minor } => write!(
                f,
                "unsupported capture format version {major}.{minor} (this reader reads major {})",
                super::VERSION
            ),
            Self::Truncated { needed, available } => {
                write!(f, "truncated: need {needed} bytes, have {available}")
            }
            Self::BadSync => f.write_str("record sync marker missing"),
            Self::HeaderCrcMismatch { stored, computed } => write!(
                f,
                "header CRC mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            Self::CrcMismatch { stored, computed } => write!(
                f,
                "record CRC mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            Self::WrongKind { expected, found } => {
                write!(f, "expected record kind {expected}, found {found}")
            }
            Self::Malformed(what) => write!(f, "malformed: {what}"),
            Self::InvalidUtf8 => f.write_str("string is not valid UTF-8"),
            Self::TooLarge(what) => write!(f, "too large to encode: {what}"),
            Self::Decompress(msg) => write!(f, "zstd payload does not decode: {msg}"),
        }
    }
}

impl std::error::Error for FormatError {}
