//! The capture file format: pure encoding and decoding, no I/O threads.
//!
//! The byte-level specification lives in `docs/FORMAT.md`; this module is its
//! reference implementation. Its public part is the constants a reader of the
//! specification needs; the encoders and decoders are the crate's own (the `testing`
//! feature exposes them as `streamq::testing::format`, for tests that craft files).
//! Summary:
//!
//! ```text
//! file    = FileHeader record* [INDEX* TRAILER Footer]
//! record  = RecordHeader(48 bytes) payload padding(to 8 bytes)
//! ```
//!
//! All integers are little-endian. Every record carries a 4-byte sync marker, a
//! CRC32C over its header alone (to resynchronise cheaply after damage) and a
//! CRC32C over header and payload. Records are 8-byte aligned, so payloads are
//! 8-byte aligned in a memory map.
//!
//! # Producing a file (what a writer does)
//!
//! 1. write `FileHeader::encode`;
//! 2. for each stream, write `StreamDef::encode` and call
//!    `IndexBuilder::note_stream_def`;
//! 3. for each frame, write `[encode_frame_header(meta, payload), payload,
//!    padding(payload.len())]` (a vectored write; the payload is never copied) and
//!    call `IndexBuilder::note_frame`; for each loss, write `Gap::encode` and
//!    call `IndexBuilder::note_gap`;
//! 4. whenever `IndexBuilder::should_checkpoint` is true, write
//!    `IndexBuilder::take_checkpoint_record`;
//! 5. on close, write `IndexBuilder::finish` (INDEX + TRAILER + footer).
//!
//! `CaptureBuilder` does exactly this synchronously over any `io::Write`.

// The whole encoder/decoder API is exercised by the tests through `streamq::testing`;
// without that feature the crate uses only part of it.
#![cfg_attr(any(not(feature = "testing"), loom), allow(dead_code, unused_imports))]

pub(crate) mod builder;
pub(crate) mod bytes;
pub(crate) mod crc;
pub(crate) mod error;
pub(crate) mod frame;
pub(crate) mod gap;
pub(crate) mod header;
pub(crate) mod index;
pub(crate) mod record;
pub(crate) mod stream_def;
pub(crate) mod trailer;

pub use error::FormatError;
pub(crate) use frame::{FrameMeta, encode_frame_header};
pub(crate) use gap::Gap;
pub(crate) use header::FileHeader;
pub(crate) use index::{DEFAULT_CHECKPOINT_BYTES, IndexBuilder, IndexEntry, IndexRecord};
pub(crate) use record::{RecordHeader, RecordKind, padding, split_record};
pub(crate) use stream_def::StreamDef;
pub(crate) use trailer::{FOOTER_LEN, TRAILER_RECOVERED, Trailer, decode_footer};

/// Magic bytes at offset 0 of every capture file.
pub const MAGIC: [u8; 8] = *b"STREAMQ\0";

/// Major format version written by this crate. Readers reject any other major.
pub const VERSION: u16 = 1;

/// Minor format version written by this crate. Newer minors stay readable.
pub const MINOR_VERSION: u16 = 0;

/// Sync marker at the start of every record header.
pub const SYNC_MARKER: [u8; 4] = [0xA7, b'S', b'Q', b'R'];

/// Length in bytes of the fixed record header.
pub const RECORD_HEADER_LEN: usize = 48;

/// Alignment of the file header length, every record and every payload.
pub const ALIGN: usize = 8;

/// FRAME flag: the payload is one zstd frame; `raw_len` is its decompressed size.
pub const FLAG_COMPRESSED_ZSTD: u8 = 0x01;

/// FRAME flags a reader must understand to interpret the payload (bits 0-3).
/// A set bit in this mask other than [`FLAG_COMPRESSED_ZSTD`] means "unknown
/// encoding"; bits 4-7 are informational and may be ignored.
pub const FLAG_ENCODING_MASK: u8 = 0x0F;

/// Sentinel used on disk for "no value" in `u64` fields (offsets, sequences).
pub const NONE_U64: u64 = u64::MAX;

/// Upper bound of the zstd compression ratio (one RLE block of 4 bytes expands
/// to at most 128 KiB). A compressed FRAME whose `raw_len` exceeds
/// `payload_len * MAX_ZSTD_RATIO` is rejected before allocating.
pub const MAX_ZSTD_RATIO: u64 = 32 * 1024;

/// Decompresses the payload of a compressed FRAME.
///
/// The output must be exactly `raw_len` bytes. Allocation is bounded by
/// `raw_len`, which is itself checked against [`MAX_ZSTD_RATIO`] first, so a
/// corrupt length field never causes a huge allocation.
pub(crate) fn decompress_zstd(payload: &[u8], raw_len: u32) -> Result<Vec<u8>, FormatError> {
    let raw = u64::from(raw_len);
    if raw > (payload.len() as u64).saturating_mul(MAX_ZSTD_RATIO) {
        return Err(FormatError::Decompress(format!(
            "raw length {raw} impossible for a {}-byte zstd payload",
            payload.len()
        )));
    }
    let out = zstd::bulk::decompress(payload, raw_len as usize)
        .map_err(|e| FormatError::Decompress(e.to_string()))?;
    if out.len() != raw_len as usize {
        return Err(FormatError::Decompress(format!(
            "decompressed to {} bytes, expected {raw_len}",
            out.len()
        )));
    }
    Ok(out)
}
