//! Items yielded by the reader: frames (zero-copy) and gaps.

use std::borrow::Cow;
use std::fmt;

use super::ReaderError;
use crate::format::{
    FLAG_COMPRESSED_ZSTD, FLAG_ENCODING_MASK, Gap, RECORD_HEADER_LEN, RecordHeader, decompress_zstd,
};
use crate::queue::config::DropReason;

/// One frame, borrowing its payload from the memory map.
#[derive(Clone, Copy)]
pub struct RecordedFrame<'a> {
    /// Stream id.
    pub stream_id: u16,
    /// Per-stream sequence number.
    pub seq: u64,
    /// Device timestamp, ns.
    pub device_ts_ns: u64,
    /// Host monotonic timestamp, ns.
    pub host_ts_ns: u64,
    /// FRAME flags.
    pub flags: u8,
    /// Uncompressed length in bytes.
    pub raw_len: u32,
    /// Index of the segment file holding the frame.
    pub segment: usize,
    /// File offset of the record header within its segment.
    pub offset: u64,
    header: RecordHeader,
    payload: &'a [u8],
}

impl<'a> RecordedFrame<'a> {
    pub(crate) fn new(header: RecordHeader, segment: usize, offset: u64, payload: &'a [u8]) -> Self {
        Self {
            stream_id: header.stream_id,
            seq: header.seq,
            device_ts_ns: header.device_ts_ns,
            host_ts_ns: header.host_ts_ns,
            flags: header.flags,
            raw_len: header.raw_len,
            segment,
            offset,
            header,
            payload,
        }
    }

    /// Whether the payload is zstd-compressed.
    pub fn is_compressed(&self) -> bool {
        self.flags & FLAG_COMPRESSED_ZSTD != 0
    }

    /// The stored payload bytes, as on disk (compressed if compressed), zero-copy
    /// and NOT CRC-checked. 8-byte aligned relative to the start of the file.
    pub fn raw_payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Whether the record CRC (header + payload) matches.
    pub fn crc_ok(&self) -> bool {
        self.header.check_crc(self.payload).is_ok()
    }

    /// Checks the record CRC.
    pub fn check_crc(&self) -> Result<(), ReaderError> {
        self.header
            .check_crc(self.payload)
            .map_err(|e| ReaderError::Corrupt {
                offset: self.offset,
                what: e.to_string(),
            })
    }

    /// The frame's bytes after checking the CRC: borrowed from the map when
    /// uncompressed, decompressed (exactly `raw_len` bytes) when compressed.
    pub fn data(&self) -> Result<Cow<'a, [u8]>, ReaderError> {
        self.check_crc()?;
        if self.flags & FLAG_ENCODING_MASK & !FLAG_COMPRESSED_ZSTD != 0 {
            return Err(ReaderError::UnsupportedEncoding {
                offset: self.offset,
                flags: self.flags,
            });
        }
        if self.is_compressed() {
            decompress_zstd(self.payload, self.raw_len)
                .map(Cow::Owned)
                .map_err(|e| ReaderError::Corrupt {
                    offset: self.offset,
                    what: e.to_string(),
                })
        } else {
            Ok(Cow::Borrowed(self.payload))
        }
    }

    /// Total on-disk size of the record (header + payload + padding).
    pub fn record_len(&self) -> u64 {
        self.header.total_len()
    }

    /// Offset of the payload within its segment file.
    pub fn payload_offset(&self) -> u64 {
        self.offset + RECORD_HEADER_LEN as u64
    }
}

impl fmt::Debug for RecordedFrame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedFrame")
            .field("stream_id", &self.stream_id)
            .field("seq", &self.seq)
            .field("device_ts_ns", &self.device_ts_ns)
            .field("host_ts_ns", &self.host_ts_ns)
            .field("flags", &self.flags)
            .field("raw_len", &self.raw_len)
            .field("payload_len", &self.payload.len())
            .field("segment", &self.segment)
            .field("offset", &self.offset)
            .finish()
    }
}

/// A GAP record — `count` consecutive frames of one stream, starting at `first_seq`,
/// that were never written — and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedGap {
    /// Stream the frames belonged to.
    pub stream_id: u16,
    /// Sequence number of the first missing frame.
    pub first_seq: u64,
    /// Number of consecutive missing frames.
    pub count: u64,
    /// Why they are missing.
    pub reason: DropReason,
    /// Host CLOCK_MONOTONIC time the loss was recorded, ns.
    pub host_ts_ns: u64,
    /// Index of the segment file holding the record.
    pub segment: usize,
    /// File offset of the record within its segment.
    pub offset: u64,
}

impl RecordedGap {
    pub(crate) fn new(gap: Gap, segment: usize, offset: u64) -> Self {
        RecordedGap {
            stream_id: gap.stream_id,
            first_seq: gap.first_seq,
            count: gap.count,
            reason: gap.reason,
            host_ts_ns: gap.host_ts_ns,
            segment,
            offset,
        }
    }
}

/// A data-bearing record in file order.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Record<'a> {
    /// A frame.
    Frame(RecordedFrame<'a>),
    /// Frames that were lost (dropped by policy or not written).
    Gap(RecordedGap),
}
