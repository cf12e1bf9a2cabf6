//! What `close()` reports and what `stats()` shows while recording.

use std::path::PathBuf;

use crate::queue::stats::{LatencySummary, QueueStats};

/// Per-stream figures.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StreamReport {
    /// Stream id in the file.
    pub id: u16,
    /// Stream name.
    pub name: String,
    /// Frames written to the sink.
    pub frames_written: u64,
    /// Payload bytes (uncompressed) written.
    pub bytes_written: u64,
    /// Frames dropped by the overflow policy because the queue was full (newest).
    pub frames_dropped_newest: u64,
    /// Frames evicted by the overflow policy (oldest).
    pub frames_dropped_oldest: u64,
    /// Frames accepted but lost because the writer failed or was closed under them.
    pub frames_failed: u64,
    /// Highest sequence number known to be on stable storage (after an fsync).
    pub durable_seq: Option<u64>,
    /// Last sequence number written (not necessarily synced).
    pub last_seq: Option<u64>,
    /// The stream's queue counters (push latency, level, peak …).
    pub queue: QueueStats,
}

impl StreamReport {
    /// Frames dropped by policy, both reasons.
    pub fn frames_dropped(&self) -> u64 {
        self.frames_dropped_newest + self.frames_dropped_oldest
    }
}

/// A finished segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FinishedSegment {
    /// Its path.
    pub path: PathBuf,
    /// Its number (0, 1, …).
    pub index: u32,
    /// Its size in bytes.
    pub bytes: u64,
    /// Per stream: (stream id, first seq, last seq) of the frames it holds.
    pub frame_ranges: Vec<(u16, u64, u64)>,
}

/// Everything the writer did: frames written, dropped by reason, failed, bytes, errors.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct WriterReport {
    /// Frames written, all streams.
    pub frames_written: u64,
    /// Payload bytes (uncompressed) written.
    pub bytes_written: u64,
    /// Bytes the sink stored (file bytes with headers, index, compression).
    pub stored_bytes: u64,
    /// Frames dropped by policy, newest.
    pub frames_dropped_newest: u64,
    /// Frames dropped by policy, oldest.
    pub frames_dropped_oldest: u64,
    /// Frames accepted but not written (writer error, or pushed during close).
    pub frames_failed: u64,
    /// Frames stored compressed.
    pub frames_compressed: u64,
    /// Frames that compression was enabled for but were stored raw because the
    /// compressors fell behind (queue above high water) or the data did not shrink.
    pub frames_stored_raw: u64,
    /// Uncompressed / stored payload bytes of the compressed frames (1.0 if none).
    pub compression_ratio: f64,
    /// Vectored writes issued.
    pub writes: u64,
    /// fsync / fdatasync calls.
    pub syncs: u64,
    /// Duration of each write call, in ns.
    pub write_latency: LatencySummary,
    /// Segments finished (one entry for an unsegmented capture).
    pub segments: Vec<FinishedSegment>,
    /// Per-stream figures.
    pub streams: Vec<StreamReport>,
    /// Seconds from the writer's start to the report.
    pub seconds: f64,
    /// The first error, if any (also returned by `close()` as `CloseError`).
    pub error: Option<String>,
}

impl WriterReport {
    /// Frames dropped by policy, both reasons.
    pub fn frames_dropped(&self) -> u64 {
        self.frames_dropped_newest + self.frames_dropped_oldest
    }

    /// Payload megabytes (10^6 bytes) per second.
    pub fn mb_per_s(&self) -> f64 {
        if self.seconds > 0.0 {
            self.bytes_written as f64 / 1e6 / self.seconds
        } else {
            0.0
        }
    }
}
