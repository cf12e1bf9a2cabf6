//! TRAILER record (per-stream totals, clean-close marker) and the file footer.

use super::bytes::Cursor;
use super::record::{RecordKind, encode_record};
use super::{FormatError, NONE_U64, RecordHeader};

/// Length of the footer that ends a cleanly closed file.
pub const FOOTER_LEN: usize = 16;

/// Magic in the last 8 bytes of a cleanly closed file.
pub const FOOTER_MAGIC: [u8; 8] = *b"STRMQEND";

/// Trailer flag: the file was closed cleanly (always set in a TRAILER).
pub const TRAILER_CLEAN_CLOSE: u32 = 0x1;

/// Trailer flag: the INDEX/TRAILER were rebuilt by recovery after a crash.
pub const TRAILER_RECOVERED: u32 = 0x2;

const TRAILER_FIXED_LEN: usize = 16;
const TOTALS_LEN: usize = 88;

/// Per-stream totals stored in the TRAILER.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamTotals {
    /// The stream.
    pub stream_id: u16,
    /// File offset of the stream's STREAM_DEF record in this file, if any.
    pub def_offset: Option<u64>,
    /// FRAME records written.
    pub frames: u64,
    /// Payload bytes as stored (compressed size for compressed frames).
    pub stored_bytes: u64,
    /// Uncompressed payload bytes.
    pub raw_bytes: u64,
    /// GAP records written.
    pub gap_records: u64,
    /// Frames declared lost by GAP records (sum of their counts).
    pub dropped: u64,
    /// Sequence number of the first FRAME.
    pub first_seq: Option<u64>,
    /// Sequence number of the last FRAME.
    pub last_seq: Option<u64>,
    /// Device timestamp of the first FRAME.
    pub first_device_ts_ns: Option<u64>,
    /// Device timestamp of the last FRAME.
    pub last_device_ts_ns: Option<u64>,
}

/// The final summary of a file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trailer {
    /// Offset of the last INDEX record (start of the backward INDEX chain).
    pub last_index_offset: Option<u64>,
    /// [`TRAILER_CLEAN_CLOSE`] | [`TRAILER_RECOVERED`]...
    pub flags: u32,
    /// Totals of every stream that has a definition, frame or gap in this file,
    /// sorted by stream id.
    pub streams: Vec<StreamTotals>,
}

fn opt(v: Option<u64>) -> u64 {
    v.unwrap_or(NONE_U64)
}

fn unopt(v: u64) -> Option<u64> {
    (v != NONE_U64).then_some(v)
}

impl Trailer {
    /// Encodes the complete TRAILER record.
    pub fn encode(&self, host_ts_ns: u64) -> Result<Vec<u8>, FormatError> {
        let count = u32::try_from(self.streams.len()).map_err(|_| FormatError::TooLarge("stream count"))?;
        let mut p = Vec::with_capacity(TRAILER_FIXED_LEN + self.streams.len() * TOTALS_LEN);
        p.extend_from_slice(&opt(self.last_index_offset).to_le_bytes());
        p.extend_from_slice(&self.flags.to_le_bytes());
        p.extend_from_slice(&count.to_le_bytes());
        for s in &self.streams {
            p.extend_from_slice(&s.stream_id.to_le_bytes());
            p.extend_from_slice(&[0u8; 6]);
            for v in [
                opt(s.def_offset),
                s.frames,
                s.stored_bytes,
                s.raw_bytes,
                s.gap_records,
                s.dropped,
                opt(s.first_seq),
                opt(s.last_seq),
                opt(s.first_device_ts_ns),
                opt(s.last_device_ts_ns),
            ] {
                p.extend_from_slice(&v.to_le_bytes());
            }
        }
        let raw_len = u32::try_from(p.len()).map_err(|_| FormatError::TooLarge("trailer"))?;
        let h = RecordHeader {
            kind: RecordKind::Trailer as u8,
            raw_len,
            host_ts_ns,
            ..RecordHeader::default()
        };
        encode_record(&h, &p)
    }

    /// Decodes a TRAILER payload.
    pub fn decode_body(payload: &[u8]) -> Result<Trailer, FormatError> {
        let mut c = Cursor::new(payload);
        let last_index_offset = unopt(c.u64()?);
        let flags = c.u32()?;
        let count = c.u32()?;
        if u64::from(count) * TOTALS_LEN as u64 > c.remaining() as u64 {
            return Err(FormatError::Malformed("trailer stream count exceeds payload"));
        }
        let mut streams = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let stream_id = c.u16()?;
            c.bytes(6)?;
            streams.push(StreamTotals {
                stream_id,
                def_offset: unopt(c.u64()?),
                frames: c.u64()?,
                stored_bytes: c.u64()?,
                raw_bytes: c.u64()?,
                gap_records: c.u64()?,
                dropped: c.u64()?,
                first_seq: unopt(c.u64()?),
                last_seq: unopt(c.u64()?),
                first_device_ts_ns: unopt(c.u64()?),
                last_device_ts_ns: unopt(c.u64()?),
            });
        }
        Ok(Trailer {
            last_index_offset,
            flags,
            streams,
        })
    }

    /// Whether the clean-close marker is set.
    pub fn is_clean_close(&self) -> bool {
        self.flags & TRAILER_CLEAN_CLOSE != 0
    }
}

/// The 16-byte footer: the TRAILER's offset, then [`FOOTER_MAGIC`].
pub fn encode_footer(trailer_offset: u64) -> [u8; FOOTER_LEN] {
    let mut f = [0u8; FOOTER_LEN];
    f[..8].copy_from_slice(&trailer_offset.to_le_bytes());
    f[8..].copy_from_slice(&FOOTER_MAGIC);
    f
}

/// The TRAILER offset from the last [`FOOTER_LEN`] bytes of `file`, if they are a
/// footer (the offset is not validated against the file).
pub fn decode_footer(file: &[u8]) -> Option<u64> {
    let start = file.len().checked_sub(FOOTER_LEN)?;
    let f = &file[start..];
    if f[8..] != FOOTER_MAGIC {
        return None;
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&f[..8]);
    Some(u64::from_le_bytes(b))
}
