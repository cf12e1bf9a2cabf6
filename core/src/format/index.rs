//! INDEX records and the [`IndexBuilder`] that a writer feeds.

use std::collections::BTreeMap;

use super::bytes::Cursor;
use super::record::{RecordKind, encode_record, expect_kind, record_len};
use super::trailer::{StreamTotals, TRAILER_CLEAN_CLOSE, Trailer, encode_footer};
use super::{FormatError, FrameMeta, Gap, NONE_U64, RecordHeader};

/// Length of one INDEX entry.
pub const INDEX_ENTRY_LEN: usize = 40;

/// Default record bytes between INDEX checkpoints (4 MiB).
pub const DEFAULT_CHECKPOINT_BYTES: u64 = 4 << 20;

/// Most entries in one INDEX record (2.5 MiB of payload); more are split across
/// chained INDEX records.
pub const MAX_INDEX_ENTRIES: usize = 65_536;

const INDEX_FIXED_LEN: usize = 16;

/// One indexed FRAME or GAP record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexEntry {
    /// File offset of the record header.
    pub offset: u64,
    /// Sequence number (FRAME) or first dropped sequence (GAP).
    pub seq: u64,
    /// Device timestamp (0 for GAP).
    pub device_ts_ns: u64,
    /// Host timestamp.
    pub host_ts_ns: u64,
    /// Stream id.
    pub stream_id: u16,
    /// Kind code of the indexed record ([`RecordKind::Frame`] or [`RecordKind::Gap`]).
    pub kind: u8,
}

/// A decoded INDEX record: entries since the previous checkpoint and a back link.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexRecord {
    /// Offset of the previous INDEX record, `None` for the first.
    pub prev_index_offset: Option<u64>,
    /// Entries in file order.
    pub entries: Vec<IndexEntry>,
}

impl IndexRecord {
    /// Encodes the complete INDEX record; `checkpoint` goes in the header's seq.
    pub fn encode(&self, checkpoint: u64, host_ts_ns: u64) -> Result<Vec<u8>, FormatError> {
        let count = u32::try_from(self.entries.len()).map_err(|_| FormatError::TooLarge("index entries"))?;
        let mut p = Vec::with_capacity(INDEX_FIXED_LEN + self.entries.len() * INDEX_ENTRY_LEN);
        p.extend_from_slice(&self.prev_index_offset.unwrap_or(NONE_U64).to_le_bytes());
        p.extend_from_slice(&count.to_le_bytes());
        p.extend_from_slice(&0u32.to_le_bytes());
        for e in &self.entries {
            p.extend_from_slice(&e.offset.to_le_bytes());
            p.extend_from_slice(&e.seq.to_le_bytes());
            p.extend_from_slice(&e.device_ts_ns.to_le_bytes());
            p.extend_from_slice(&e.host_ts_ns.to_le_bytes());
            p.extend_from_slice(&e.stream_id.to_le_bytes());
            p.push(e.kind);
            p.extend_from_slice(&[0u8; 5]);
        }
        let raw_len = u32::try_from(p.len()).map_err(|_| FormatError::TooLarge("index"))?;
        let h = RecordHeader {
            kind: RecordKind::Index as u8,
            raw_len,
            seq: checkpoint,
            host_ts_ns,
            ..RecordHeader::default()
        };
        encode_record(&h, &p)
    }

    /// Decodes an INDEX payload.
    pub fn decode_body(payload: &[u8]) -> Result<IndexRecord, FormatError> {
        let mut c = Cursor::new(payload);
        let prev = c.u64()?;
        let count = c.u32()?;
        c.u32()?;
        if u64::from(count) * INDEX_ENTRY_LEN as u64 > c.remaining() as u64 {
            return Err(FormatError::Malformed("index entry count exceeds payload"));
        }
        let mut entries = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let offset = c.u64()?;
            let seq = c.u64()?;
            let device_ts_ns = c.u64()?;
            let host_ts_ns = c.u64()?;
            let stream_id = c.u16()?;
            let kind = c.u8()?;
            c.bytes(5)?;
            entries.push(IndexEntry {
                offset,
                seq,
                device_ts_ns,
                host_ts_ns,
                stream_id,
                kind,
            });
        }
        Ok(IndexRecord {
            prev_index_offset: (prev != NONE_U64).then_some(prev),
            entries,
        })
    }

    /// Decodes an INDEX payload after checking the header's kind.
    pub fn decode_checked(h: &RecordHeader, payload: &[u8]) -> Result<IndexRecord, FormatError> {
        expect_kind(h, RecordKind::Index)?;
        Self::decode_body(payload)
    }
}

/// Accumulates index entries and per-stream totals while a file is written.
///
/// The writer reports every record it appends (with the record's file offset);
/// the builder says when an INDEX checkpoint is due, encodes it, and at close
/// encodes the final INDEX + TRAILER + footer.
#[derive(Debug, Clone)]
pub struct IndexBuilder {
    interval_bytes: u64,
    pending: Vec<IndexEntry>,
    pending_bytes: u64,
    last_index_offset: Option<u64>,
    checkpoints: u64,
    last_host_ts_ns: u64,
    totals: BTreeMap<u16, StreamTotals>,
}

impl Default for IndexBuilder {
    fn default() -> Self {
        Self::new(DEFAULT_CHECKPOINT_BYTES)
    }
}

impl IndexBuilder {
    /// A builder that asks for a checkpoint after `interval_bytes` of indexed records.
    pub fn new(interval_bytes: u64) -> Self {
        Self {
            interval_bytes: interval_bytes.max(1),
            pending: Vec::new(),
            pending_bytes: 0,
            last_index_offset: None,
            checkpoints: 0,
            last_host_ts_ns: 0,
            totals: BTreeMap::new(),
        }
    }

    fn totals_mut(&mut self, stream_id: u16) -> &mut StreamTotals {
        self.totals.entry(stream_id).or_insert_with(|| StreamTotals {
            stream_id,
            ..StreamTotals::default()
        })
    }

    /// Records that a STREAM_DEF for `stream_id` was written at `offset`.
    pub fn note_stream_def(&mut self, stream_id: u16, offset: u64) {
        let t = self.totals_mut(stream_id);
        if t.def_offset.is_none() {
            t.def_offset = Some(offset);
        }
    }

    /// Records that a FRAME with `meta` and a stored payload of `payload_len`
    /// bytes was written at `offset`.
    pub fn note_frame(&mut self, meta: &FrameMeta, payload_len: usize, offset: u64) {
        self.pending.push(IndexEntry {
            offset,
            seq: meta.seq,
            device_ts_ns: meta.device_ts_ns,
            host_ts_ns: meta.host_ts_ns,
            stream_id: meta.stream_id,
            kind: RecordKind::Frame as u8,
        });
        self.pending_bytes += record_len(payload_len);
        self.last_host_ts_ns = self.last_host_ts_ns.max(meta.host_ts_ns);
        let t = self.totals_mut(meta.stream_id);
        t.frames += 1;
        t.stored_bytes += payload_len as u64;
        t.raw_bytes += u64::from(meta.raw_len);
        t.first_seq.get_or_insert(meta.seq);
        t.last_seq = Some(meta.seq);
        t.first_device_ts_ns.get_or_insert(meta.device_ts_ns);
        t.last_device_ts_ns = Some(meta.device_ts_ns);
    }

    /// Records that GAP `gap` was written at `offset`.
    pub fn note_gap(&mut self, gap: &Gap, offset: u64) {
        self.pending.push(IndexEntry {
            offset,
            seq: gap.first_seq,
            device_ts_ns: 0,
            host_ts_ns: gap.host_ts_ns,
            stream_id: gap.stream_id,
            kind: RecordKind::Gap as u8,
        });
        self.pending_bytes += record_len(16);
        self.last_host_ts_ns = self.last_host_ts_ns.max(gap.host_ts_ns);
        let t = self.totals_mut(gap.stream_id);
        t.gap_records += 1;
        t.dropped = t.dropped.saturating_add(gap.count);
    }

    /// Whether an INDEX checkpoint is due (enough bytes or entries since the last).
    pub fn should_checkpoint(&self) -> bool {
        !self.pending.is_empty()
            && (self.pending_bytes >= self.interval_bytes || self.pending.len() >= MAX_INDEX_ENTRIES)
    }

    /// Bytes of indexed records since the last checkpoint.
    pub fn pending_bytes(&self) -> u64 {
        self.pending_bytes
    }

    /// Entries not yet written in an INDEX record.
    pub fn pending_entries(&self) -> usize {
        self.pending.len()
    }

    /// Offset of the last INDEX record produced, if any.
    pub fn last_index_offset(&self) -> Option<u64> {
        self.last_index_offset
    }

    /// Encodes an INDEX record with (up to [`MAX_INDEX_ENTRIES`] of) the pending
    /// entries, to be written at file offset `at_offset`. It links back to the
    /// previous INDEX; the builder remembers `at_offset` as the new chain head.
    pub fn take_checkpoint_record(&mut self, at_offset: u64) -> Vec<u8> {
        let n = self.pending.len().min(MAX_INDEX_ENTRIES);
        let entries: Vec<IndexEntry> = self.pending.drain(..n).collect();
        let rec = IndexRecord {
            prev_index_offset: self.last_index_offset,
            entries,
        };
        // At most MAX_INDEX_ENTRIES entries: the payload always fits in u32.
        let bytes = rec
            .encode(self.checkpoints, self.last_host_ts_ns)
            .unwrap_or_default();
        self.checkpoints += 1;
        self.last_index_offset = Some(at_offset);
        if self.pending.is_empty() {
            self.pending_bytes = 0;
        }
        bytes
    }

    /// Per-stream totals so far, sorted by stream id.
    pub fn totals(&self) -> Vec<StreamTotals> {
        self.totals.values().copied().collect()
    }

    /// Encodes a TRAILER from the current totals (low level; see [`Self::finish`]).
    pub fn trailer_record(&self, host_ts_ns: u64, flags: u32) -> Vec<u8> {
        Trailer {
            last_index_offset: self.last_index_offset,
            flags: flags | TRAILER_CLEAN_CLOSE,
            streams: self.totals(),
        }
        .encode(host_ts_ns)
        // At most 65 536 streams of 88 bytes: always fits.
        .unwrap_or_default()
    }

    /// Encodes the end of the file, to be written at `at_offset`: INDEX record(s)
    /// for the pending entries, the TRAILER (clean-close marker set) and the footer.
    pub fn finish(&mut self, at_offset: u64, host_ts_ns: u64) -> Vec<u8> {
        self.finish_with_flags(at_offset, host_ts_ns, 0)
    }

    /// [`Self::finish`] with extra trailer flags (e.g. [`super::TRAILER_RECOVERED`]).
    pub fn finish_with_flags(&mut self, at_offset: u64, host_ts_ns: u64, flags: u32) -> Vec<u8> {
        let mut out = Vec::new();
        while !self.pending.is_empty() {
            let rec = self.take_checkpoint_record(at_offset + out.len() as u64);
            out.extend_from_slice(&rec);
        }
        let trailer_offset = at_offset + out.len() as u64;
        let host_ts_ns = host_ts_ns.max(self.last_host_ts_ns);
        out.extend_from_slice(&self.trailer_record(host_ts_ns, flags));
        out.extend_from_slice(&encode_footer(trailer_offset));
        out
    }
}
