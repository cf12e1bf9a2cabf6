//! GAP records: frames that were dropped and never written.

use super::bytes::Cursor;
use super::record::{RecordKind, encode_record, expect_kind};
use super::{FormatError, RecordHeader};
use crate::queue::config::DropReason;

/// Length of a GAP payload.
const GAP_PAYLOAD_LEN: usize = 16;

/// `count` consecutive frames of one stream, starting at `first_seq`, were lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
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
}

impl Gap {
    /// Encodes the complete GAP record (48 + 16 bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut p = [0u8; GAP_PAYLOAD_LEN];
        p[0..8].copy_from_slice(&self.count.to_le_bytes());
        p[8] = self.reason.code();
        let h = RecordHeader {
            kind: RecordKind::Gap as u8,
            stream_id: self.stream_id,
            raw_len: GAP_PAYLOAD_LEN as u32,
            seq: self.first_seq,
            host_ts_ns: self.host_ts_ns,
            ..RecordHeader::default()
        };
        // A 16-byte payload always encodes.
        encode_record(&h, &p).unwrap_or_default()
    }

    /// Decodes the body of a GAP whose header is `h`.
    pub fn decode_body(h: &RecordHeader, payload: &[u8]) -> Result<Gap, FormatError> {
        expect_kind(h, RecordKind::Gap)?;
        let mut c = Cursor::new(payload);
        let count = c.u64()?;
        let reason = DropReason::from_code(c.u8()?);
        Ok(Gap {
            stream_id: h.stream_id,
            first_seq: h.seq,
            count,
            reason,
            host_ts_ns: h.host_ts_ns,
        })
    }
}
