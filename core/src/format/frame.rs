//! FRAME record headers for payloads the encoder does not copy.

use super::record::RecordKind;
use super::{FLAG_COMPRESSED_ZSTD, FormatError, RECORD_HEADER_LEN, RecordHeader};

/// What the writer knows about one frame, besides its payload bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameMeta {
    /// Stream the frame belongs to (must have a STREAM_DEF).
    pub stream_id: u16,
    /// Per-stream sequence number (consecutive; holes are explained by GAPs).
    pub seq: u64,
    /// Device timestamp in ns (caller-supplied, any epoch).
    pub device_ts_ns: u64,
    /// Host CLOCK_MONOTONIC timestamp in ns.
    pub host_ts_ns: u64,
    /// FRAME flags, e.g. [`FLAG_COMPRESSED_ZSTD`].
    pub flags: u8,
    /// Uncompressed length; must equal the payload length unless compressed.
    pub raw_len: u32,
}

/// Encodes the 48-byte FRAME header for `payload`, including the CRC32C over
/// header and payload. Write it followed by `payload` and
/// [`padding`](super::padding)`(payload.len())`.
///
/// Fails if the payload is over 4 GiB or if an uncompressed frame's `raw_len`
/// differs from the payload length.
pub fn encode_frame_header(meta: &FrameMeta, payload: &[u8]) -> Result<[u8; RECORD_HEADER_LEN], FormatError> {
    if meta.flags & FLAG_COMPRESSED_ZSTD == 0 && meta.raw_len as usize != payload.len() {
        return Err(FormatError::Malformed(
            "uncompressed frame with raw_len != payload length",
        ));
    }
    RecordHeader {
        kind: RecordKind::Frame as u8,
        flags: meta.flags,
        stream_id: meta.stream_id,
        raw_len: meta.raw_len,
        seq: meta.seq,
        device_ts_ns: meta.device_ts_ns,
        host_ts_ns: meta.host_ts_ns,
        ..RecordHeader::default()
    }
    .encode(payload)
}

impl FrameMeta {
    /// Metadata of an uncompressed frame of `len` bytes.
    pub fn raw(stream_id: u16, seq: u64, device_ts_ns: u64, host_ts_ns: u64, len: usize) -> Self {
        Self {
            stream_id,
            seq,
            device_ts_ns,
            host_ts_ns,
            flags: 0,
            raw_len: u32::try_from(len).unwrap_or(u32::MAX),
        }
    }

    /// The metadata of the FRAME described by a decoded record header.
    pub fn from_header(h: &RecordHeader) -> Self {
        Self {
            stream_id: h.stream_id,
            seq: h.seq,
            device_ts_ns: h.device_ts_ns,
            host_ts_ns: h.host_ts_ns,
            flags: h.flags,
            raw_len: h.raw_len,
        }
    }
}
