//! The file header at offset 0.

use super::bytes::{Cursor, put_kv_pairs};
use super::{ALIGN, FormatError, MAGIC, MINOR_VERSION, VERSION};

/// Largest metadata block a reader accepts in the file header (16 MiB).
pub const MAX_METADATA_LEN: u32 = 16 << 20;

/// Length of the fixed part of the file header.
const FIXED_LEN: usize = 32;
/// Offset of the header CRC field.
const CRC_AT: usize = 28;

/// The file header: magic, version, flags, creation time and user metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHeader {
    /// Major format version ([`VERSION`] when written by this crate).
    pub version: u16,
    /// Minor format version ([`MINOR_VERSION`] when written by this crate).
    pub minor_version: u16,
    /// File flags; none are defined in version 1 (write 0, ignore on read).
    pub flags: u32,
    /// Creation time, nanoseconds since the Unix epoch (wall clock).
    pub created_unix_ns: u64,
    /// User metadata as UTF-8 key/value pairs (order preserved, keys may repeat).
    pub metadata: Vec<(String, String)>,
}

impl FileHeader {
    /// A header for the current version with the given creation time and metadata.
    pub fn new(created_unix_ns: u64, metadata: Vec<(String, String)>) -> Self {
        Self {
            version: VERSION,
            minor_version: MINOR_VERSION,
            flags: 0,
            created_unix_ns,
            metadata,
        }
    }

    /// Encodes the header, padded to 8 bytes; the first record starts right after.
    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        let mut meta = Vec::new();
        put_kv_pairs(&mut meta, &self.metadata)?;
        let meta_len = u32::try_from(meta.len())
            .ok()
            .filter(|&l| l <= MAX_METADATA_LEN)
            .ok_or(FormatError::TooLarge("file metadata over 16 MiB"))?;
        let mut out = Vec::with_capacity(FIXED_LEN + meta.len() + ALIGN);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.minor_version.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.created_unix_ns.to_le_bytes());
        out.extend_from_slice(&meta_len.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&meta);
        let crc = crc32c::crc32c(&out);
        out[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
        out.resize(out.len().next_multiple_of(ALIGN), 0);
        Ok(out)
    }

    /// Decodes a header from the start of `buf`; returns it and its padded length
    /// (the offset of the first record).
    pub fn decode(buf: &[u8]) -> Result<(FileHeader, usize), FormatError> {
        let n = buf.len().min(MAGIC.len());
        if buf[..n] != MAGIC[..n] {
            return Err(FormatError::BadMagic);
        }
        if buf.len() < FIXED_LEN {
            return Err(FormatError::Truncated {
                needed: FIXED_LEN as u64,
                available: buf.len() as u64,
            });
        }
        let mut c = Cursor::new(buf);
        c.bytes(MAGIC.len())?;
        let version = c.u16()?;
        let minor_version = c.u16()?;
        if version != VERSION {
            return Err(FormatError::UnsupportedVersion {
                major: version,
                minor: minor_version,
            });
        }
        let flags = c.u32()?;
        let created_unix_ns = c.u64()?;
        let meta_len = c.u32()?;
        let stored = c.u32()?;
        if meta_len > MAX_METADATA_LEN {
            return Err(FormatError::Malformed("file metadata length over 16 MiB"));
        }
        let end = FIXED_LEN + meta_len as usize;
        let padded = end.next_multiple_of(ALIGN);
        if buf.len() < padded {
            return Err(FormatError::Truncated {
                needed: padded as u64,
                available: buf.len() as u64,
            });
        }
        let crc = crc32c::crc32c_append(crc32c::crc32c(&buf[..CRC_AT]), &[0u8; 4]);
        let computed = crc32c::crc32c_append(crc, &buf[FIXED_LEN..end]);
        if computed != stored {
            return Err(FormatError::HeaderCrcMismatch { stored, computed });
        }
        let mut mc = Cursor::new(&buf[FIXED_LEN..end]);
        let metadata = mc.kv_pairs()?;
        if mc.remaining() != 0 {
            return Err(FormatError::Malformed("trailing bytes in file metadata"));
        }
        Ok((
            FileHeader {
                version,
                minor_version,
                flags,
                created_unix_ns,
                metadata,
            },
            padded,
        ))
    }

    /// The first value for `key` in the metadata.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}
