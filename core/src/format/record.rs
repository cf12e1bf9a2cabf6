//! The fixed record header, record framing and generic record decoding.

use super::crc::{CRC_FIELD, header_crc, record_crc_from_header_crc};
use super::{
    ALIGN, FLAG_COMPRESSED_ZSTD, FormatError, Gap, IndexRecord, RECORD_HEADER_LEN, SYNC_MARKER, StreamDef,
    Trailer,
};

/// The kind of a record (header byte 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum RecordKind {
    /// Declares a stream: id, name, media type, metadata.
    StreamDef = 1,
    /// One frame of one stream.
    Frame = 2,
    /// Frames of one stream that were dropped (never written).
    Gap = 3,
    /// A seek-index checkpoint.
    Index = 4,
    /// The final summary written on clean close.
    Trailer = 5,
}

impl RecordKind {
    /// The kind for a code, or `None` for codes this version does not know
    /// (readers skip such records; they are still CRC-checked).
    pub fn from_u8(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::StreamDef,
            2 => Self::Frame,
            3 => Self::Gap,
            4 => Self::Index,
            5 => Self::Trailer,
            _ => return None,
        })
    }
}

/// The fixed 48-byte header in front of every record payload.
///
/// Layout (little-endian): `sync[4] kind:u8 flags:u8 stream_id:u16
/// payload_len:u32 raw_len:u32 seq:u64 device_ts_ns:u64 host_ts_ns:u64 crc:u32
/// header_crc:u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordHeader {
    /// Record kind code (see [`RecordKind`]).
    pub kind: u8,
    /// Kind-specific flags (for FRAME: [`FLAG_COMPRESSED_ZSTD`]...).
    pub flags: u8,
    /// Stream the record belongs to (0 for INDEX/TRAILER).
    pub stream_id: u16,
    /// Payload length in bytes (excluding header and padding).
    pub payload_len: u32,
    /// Uncompressed length of the payload; equals `payload_len` when not compressed.
    pub raw_len: u32,
    /// Per-stream sequence number (FRAME), first dropped sequence (GAP),
    /// checkpoint number (INDEX), 0 otherwise.
    pub seq: u64,
    /// Device timestamp in ns, caller-supplied (FRAME), 0 otherwise.
    pub device_ts_ns: u64,
    /// Host CLOCK_MONOTONIC timestamp in ns when the record was produced.
    pub host_ts_ns: u64,
    /// CRC32C over the header (bytes 40..48 zeroed) and the payload.
    pub crc: u32,
    /// CRC32C over header bytes 0..40.
    pub header_crc: u32,
}

impl RecordHeader {
    /// The header's kind, if known.
    pub fn record_kind(&self) -> Option<RecordKind> {
        RecordKind::from_u8(self.kind)
    }

    /// Whether a FRAME payload is zstd-compressed.
    pub fn is_compressed(&self) -> bool {
        self.flags & FLAG_COMPRESSED_ZSTD != 0
    }

    /// Total length of the record on disk: header + payload + padding.
    pub fn total_len(&self) -> u64 {
        record_len(self.payload_len as usize)
    }

    /// Encodes the header for `payload`, filling `payload_len` from it and computing
    /// both CRCs (the `crc`/`header_crc`/`payload_len` fields of `self` are ignored).
    pub fn encode(&self, payload: &[u8]) -> Result<[u8; RECORD_HEADER_LEN], FormatError> {
        let payload_len =
            u32::try_from(payload.len()).map_err(|_| FormatError::TooLarge("payload over 4 GiB"))?;
        let mut h = [0u8; RECORD_HEADER_LEN];
        h[0..4].copy_from_slice(&SYNC_MARKER);
        h[4] = self.kind;
        h[5] = self.flags;
        h[6..8].copy_from_slice(&self.stream_id.to_le_bytes());
        h[8..12].copy_from_slice(&payload_len.to_le_bytes());
        h[12..16].copy_from_slice(&self.raw_len.to_le_bytes());
        h[16..24].copy_from_slice(&self.seq.to_le_bytes());
        h[24..32].copy_from_slice(&self.device_ts_ns.to_le_bytes());
        h[32..40].copy_from_slice(&self.host_ts_ns.to_le_bytes());
        let hcrc = header_crc(&h);
        let crc = record_crc_from_header_crc(hcrc, payload);
        h[CRC_FIELD..CRC_FIELD + 4].copy_from_slice(&crc.to_le_bytes());
        h[CRC_FIELD + 4..].copy_from_slice(&hcrc.to_le_bytes());
        Ok(h)
    }

    /// Decodes and validates (sync marker, header CRC) a header at the start of
    /// `buf`. Does not look at the payload.
    pub fn decode(buf: &[u8]) -> Result<RecordHeader, FormatError> {
        let Some(h) = buf.get(..RECORD_HEADER_LEN) else {
            return Err(FormatError::Truncated {
                needed: RECORD_HEADER_LEN as u64,
                available: buf.len() as u64,
            });
        };
        let mut a = [0u8; RECORD_HEADER_LEN];
        a.copy_from_slice(h);
        if a[0..4] != SYNC_MARKER {
            return Err(FormatError::BadSync);
        }
        let le32 = |at: usize| u32::from_le_bytes([a[at], a[at + 1], a[at + 2], a[at + 3]]);
        let le64 = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&a[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let stored = le32(CRC_FIELD + 4);
        let computed = header_crc(&a);
        if stored != computed {
            return Err(FormatError::HeaderCrcMismatch { stored, computed });
        }
        Ok(RecordHeader {
            kind: a[4],
            flags: a[5],
            stream_id: u16::from_le_bytes([a[6], a[7]]),
            payload_len: le32(8),
            raw_len: le32(12),
            seq: le64(16),
            device_ts_ns: le64(24),
            host_ts_ns: le64(32),
            crc: le32(CRC_FIELD),
            header_crc: stored,
        })
    }

    /// Checks the record CRC of this (decoded) header against `payload`.
    pub fn check_crc(&self, payload: &[u8]) -> Result<(), FormatError> {
        let computed = record_crc_from_header_crc(self.header_crc, payload);
        if computed == self.crc {
            Ok(())
        } else {
            Err(FormatError::CrcMismatch {
                stored: self.crc,
                computed,
            })
        }
    }
}

/// Number of zero bytes that follow a payload of `payload_len` bytes.
pub fn padding_len(payload_len: usize) -> usize {
    (ALIGN - payload_len % ALIGN) % ALIGN
}

static ZERO_PADDING: [u8; ALIGN] = [0u8; ALIGN];

/// The zero padding slice to write after a payload of `payload_len` bytes.
pub fn padding(payload_len: usize) -> &'static [u8] {
    &ZERO_PADDING[..padding_len(payload_len)]
}

/// Total on-disk length of a record with a payload of `payload_len` bytes.
pub fn record_len(payload_len: usize) -> u64 {
    (RECORD_HEADER_LEN + payload_len + padding_len(payload_len)) as u64
}

/// Encodes a complete record (header, payload, padding) into a new vector.
pub(crate) fn encode_record(header: &RecordHeader, payload: &[u8]) -> Result<Vec<u8>, FormatError> {
    let h = header.encode(payload)?;
    let mut out = Vec::with_capacity(record_len(payload.len()) as usize);
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    out.extend_from_slice(padding(payload.len()));
    Ok(out)
}

/// Splits the record at the start of `buf` into its validated header and payload.
///
/// Checks the sync marker, header CRC, that header + payload + padding fit in
/// `buf` and the record CRC. Returns `(header, payload, total_len)`.
pub fn split_record(buf: &[u8]) -> Result<(RecordHeader, &[u8], usize), FormatError> {
    let h = RecordHeader::decode(buf)?;
    let total = h.total_len();
    if total > buf.len() as u64 {
        return Err(FormatError::Truncated {
            needed: total,
            available: buf.len() as u64,
        });
    }
    let payload = &buf[RECORD_HEADER_LEN..RECORD_HEADER_LEN + h.payload_len as usize];
    h.check_crc(payload)?;
    Ok((h, payload, total as usize))
}

/// A fully decoded record borrowing its payload from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodedRecord<'a> {
    /// A STREAM_DEF record.
    StreamDef(StreamDef),
    /// A FRAME record: its header and its (possibly compressed) payload.
    Frame {
        /// The record header (stream, seq, timestamps, flags, raw_len).
        header: RecordHeader,
        /// The stored payload bytes.
        payload: &'a [u8],
    },
    /// A GAP record.
    Gap(Gap),
    /// An INDEX record.
    Index(IndexRecord),
    /// A TRAILER record.
    Trailer(Trailer),
    /// A record of a kind this version does not know (skip it).
    Unknown {
        /// The record header.
        header: RecordHeader,
        /// The payload bytes.
        payload: &'a [u8],
    },
}

/// Decodes the record at the start of `buf`; returns it and its total length
/// (header + payload + padding). Never panics and never allocates more than the
/// input size, whatever the bytes.
pub fn decode_record(buf: &[u8]) -> Result<(DecodedRecord<'_>, usize), FormatError> {
    let (h, payload, total) = split_record(buf)?;
    let rec = match h.record_kind() {
        Some(RecordKind::StreamDef) => DecodedRecord::StreamDef(StreamDef::decode_body(&h, payload)?),
        Some(RecordKind::Frame) => {
            if !h.is_compressed() && h.raw_len != h.payload_len {
                return Err(FormatError::Malformed(
                    "uncompressed frame with raw_len != payload_len",
                ));
            }
            DecodedRecord::Frame { header: h, payload }
        }
        Some(RecordKind::Gap) => DecodedRecord::Gap(Gap::decode_body(&h, payload)?),
        Some(RecordKind::Index) => DecodedRecord::Index(IndexRecord::decode_body(payload)?),
        Some(RecordKind::Trailer) => DecodedRecord::Trailer(Trailer::decode_body(payload)?),
        None => DecodedRecord::Unknown { header: h, payload },
    };
    Ok((rec, total))
}

/// Returns an error unless `h` is of kind `want`.
pub(crate) fn expect_kind(h: &RecordHeader, want: RecordKind) -> Result<(), FormatError> {
    if h.kind == want as u8 {
        Ok(())
    } else {
        Err(FormatError::WrongKind {
            expected: want as u8,
            found: h.kind,
        })
    }
}
