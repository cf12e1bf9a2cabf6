//! Reading capture files: open (one file or several segments), list streams,
//! iterate frames zero-copy (file order, merged by timestamp, one stream), seek
//! by sequence or time, verify every CRC, and recover a crashed file.
//!
//! A cleanly closed file is opened from its TRAILER and INDEX chain without
//! reading the frames; a file without a valid trailer (crash, power cut, still
//! being written) is scanned forward up to its last valid record.

mod cursor;
mod error;
mod frame;
mod recover;
mod scan;
mod segments;
mod streams;
mod verify;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

pub use cursor::{Cursor, CursorOrder};
pub use error::ReaderError;
pub use frame::{Record, RecordedFrame, RecordedGap};
pub use recover::{RecoverReport, recover};
pub use segments::SegmentInfo;
pub use streams::StreamInfo;
pub use verify::{MAX_ERRORS, StreamVerify, VerifyReport};

use crate::format::RECORD_HEADER_LEN;
use segments::{Loc, Segment, open_segment};

/// An open capture (one file, or several segment files read as one).
///
/// Damage handling: a file opened by scanning lists only records with a valid
/// CRC (damaged ones are skipped). A cleanly closed file is opened from its
/// index without reading payloads, so a frame whose payload was damaged later is
/// still listed and its [`RecordedFrame::data`] returns [`ReaderError::Corrupt`].
/// [`Reader::verify`] always checks everything.
///
/// `Reader` is `Send + Sync`; frames borrow from it (zero-copy).
pub struct Reader {
    segments: Vec<Segment>,
    /// FRAME and GAP records of all segments, in file order.
    locs: Vec<Loc>,
    streams: Vec<StreamInfo>,
    /// Per stream: indices into `locs` of its frames, by (seq, file order).
    by_stream: BTreeMap<u16, Vec<usize>>,
    /// Indices of all frames by (device ts, host ts, file order); built lazily.
    merged: OnceLock<Vec<usize>>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("segments", &self.segment_infos().collect::<Vec<_>>())
            .field("records", &self.locs.len())
            .field("streams", &self.streams)
            .finish()
    }
}

impl Reader {
    /// Opens one capture file (memory-mapped, read-only).
    pub fn open(path: impl AsRef<Path>) -> Result<Reader, ReaderError> {
        Self::open_segments(&[path.as_ref()])
    }

    /// Opens a capture split into segment files, given in order. Each segment
    /// is a complete capture file; stream definitions are shared by id.
    pub fn open_segments<P: AsRef<Path>>(paths: &[P]) -> Result<Reader, ReaderError> {
        if paths.is_empty() {
            return Err(ReaderError::NoSegments);
        }
        let mut segments = Vec::with_capacity(paths.len());
        let mut locs = Vec::new();
        let mut defs = Vec::new();
        for (i, p) in paths.iter().enumerate() {
            let seg = u32::try_from(i).map_err(|_| ReaderError::NoSegments)?;
            let loaded = open_segment(p.as_ref(), seg)?;
            segments.push(loaded.segment);
            locs.extend(loaded.locs);
            defs.extend(loaded.defs);
        }
        let streams = streams::summarize(&defs, &locs);
        let mut by_stream: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
        for (i, l) in locs.iter().enumerate() {
            if l.gap.is_none() {
                by_stream.entry(l.header.stream_id).or_default().push(i);
            }
        }
        for v in by_stream.values_mut() {
            // Stable and linear for the usual already-sorted case.
            v.sort_by_key(|&i| locs[i].header.seq);
        }
        Ok(Reader {
            segments,
            locs,
            streams,
            by_stream,
            merged: OnceLock::new(),
        })
    }

    /// The streams (defined or referenced), sorted by id, with their counts.
    pub fn streams(&self) -> &[StreamInfo] {
        &self.streams
    }

    /// One stream's summary.
    pub fn stream(&self, id: u16) -> Option<&StreamInfo> {
        self.streams.iter().find(|s| s.id == id)
    }

    /// Facts about each segment file.
    pub fn segment_infos(&self) -> impl Iterator<Item = &SegmentInfo> + '_ {
        self.segments.iter().map(|s| &s.info)
    }

    /// Number of segment files.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Whether every segment ends with a valid TRAILER + footer.
    pub fn is_clean(&self) -> bool {
        self.segments.iter().all(|s| s.info.clean_close)
    }

    /// Number of frames in the capture.
    pub fn frame_count(&self) -> usize {
        self.by_stream.values().map(Vec::len).sum()
    }

    fn frame_at(&self, i: usize) -> Option<RecordedFrame<'_>> {
        let l = self.locs.get(i)?;
        let seg = self.segments.get(l.seg as usize)?;
        let start = usize::try_from(l.offset).ok()?.checked_add(RECORD_HEADER_LEN)?;
        let payload = seg
            .map
            .get(start..start.checked_add(l.header.payload_len as usize)?)?;
        Some(RecordedFrame::new(l.header, l.seg as usize, l.offset, payload))
    }

    fn record_at(&self, i: usize) -> Option<Record<'_>> {
        let l = self.locs.get(i)?;
        match l.gap {
            Some(gap) => Some(Record::Gap(RecordedGap::new(gap, l.seg as usize, l.offset))),
            None => self.frame_at(i).map(Record::Frame),
        }
    }

    /// Frames and gaps of all streams in file order (segment by segment).
    pub fn records(&self) -> impl Iterator<Item = Record<'_>> + '_ {
        (0..self.locs.len()).filter_map(|i| self.record_at(i))
    }

    /// Frames of all streams in file order.
    pub fn frames(&self) -> impl Iterator<Item = RecordedFrame<'_>> + '_ {
        self.records().filter_map(|r| match r {
            Record::Frame(f) => Some(f),
            Record::Gap(_) => None,
        })
    }

    /// Gap records in file order.
    pub fn gaps(&self) -> impl Iterator<Item = RecordedGap> + '_ {
        self.locs
            .iter()
            .filter_map(|l| l.gap.map(|gap| RecordedGap::new(gap, l.seg as usize, l.offset)))
    }

    fn merged(&self) -> &[usize] {
        self.merged.get_or_init(|| {
            let mut v: Vec<usize> = (0..self.locs.len())
                .filter(|&i| self.locs[i].gap.is_none())
                .collect();
            v.sort_by_key(|&i| {
                let h = &self.locs[i].header;
                (h.device_ts_ns, h.host_ts_ns)
            });
            v
        })
    }

    /// Frames of all streams ordered by device timestamp, ties by host timestamp
    /// then file order.
    pub fn iter_merged(&self) -> impl Iterator<Item = RecordedFrame<'_>> + '_ {
        self.merged().iter().filter_map(|&i| self.frame_at(i))
    }

    /// Frames of one stream in sequence order (file order for a well-formed file).
    pub fn iter_stream(&self, stream_id: u16) -> impl Iterator<Item = RecordedFrame<'_>> + '_ {
        self.stream_from(stream_id, 0)
    }

    fn stream_from(&self, stream_id: u16, from: usize) -> impl Iterator<Item = RecordedFrame<'_>> + '_ {
        self.stream_locs(stream_id)
            .get(from..)
            .unwrap_or(&[])
            .iter()
            .filter_map(|&i| self.frame_at(i))
    }

    /// Frames of `stream_id` starting at the first with sequence `>= seq`
    /// (binary search over the index).
    pub fn seek_seq(&self, stream_id: u16, seq: u64) -> impl Iterator<Item = RecordedFrame<'_>> + '_ {
        self.stream_from(stream_id, self.seq_position(stream_id, seq))
    }

    /// Frames of all streams in merged (device timestamp) order, starting at the
    /// first with device timestamp `>= ts_ns` (binary search).
    pub fn seek_time(&self, ts_ns: u64) -> impl Iterator<Item = RecordedFrame<'_>> + '_ {
        let m = self.merged();
        m[self.time_position(ts_ns)..]
            .iter()
            .filter_map(|&i| self.frame_at(i))
    }

    /// Frames of one stream starting at the first with device timestamp
    /// `>= ts_ns` (assumes timestamps grow with sequence numbers).
    pub fn seek_stream_time(
        &self,
        stream_id: u16,
        ts_ns: u64,
    ) -> impl Iterator<Item = RecordedFrame<'_>> + '_ {
        self.stream_from(stream_id, self.stream_time_position(stream_id, ts_ns))
    }

    /// Indices into `locs` of one stream's frames, by sequence.
    fn stream_locs(&self, stream_id: u16) -> &[usize] {
        self.by_stream.get(&stream_id).map_or(&[], Vec::as_slice)
    }

    /// Position in [`stream_locs`](Self::stream_locs) of the first frame with sequence `>= seq`.
    fn seq_position(&self, stream_id: u16, seq: u64) -> usize {
        self.stream_locs(stream_id)
            .partition_point(|&i| self.locs[i].header.seq < seq)
    }

    /// Position in the merged order of the first frame with device timestamp `>= ts_ns`.
    fn time_position(&self, ts_ns: u64) -> usize {
        self.merged()
            .partition_point(|&i| self.locs[i].header.device_ts_ns < ts_ns)
    }

    /// Position in one stream's frames of the first with device timestamp `>= ts_ns`.
    fn stream_time_position(&self, stream_id: u16, ts_ns: u64) -> usize {
        self.stream_locs(stream_id)
            .partition_point(|&i| self.locs[i].header.device_ts_ns < ts_ns)
    }
}
