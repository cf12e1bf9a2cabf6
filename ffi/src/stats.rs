//! Plain C mirrors of the engine's queue counters.

use streamq_core::{LatencySummary, QueueStats};

use crate::sized::versioned;

/// Percentiles of a latency histogram in nanoseconds (all 0 when nothing was recorded).
///
/// Frozen: this struct is embedded in others and never grows (it has no `struct_size`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct streamq_latency {
    /// Number of samples.
    pub count: u64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Largest sample.
    pub max_ns: u64,
    /// Mean.
    pub mean_ns: u64,
}

impl From<LatencySummary> for streamq_latency {
    fn from(l: LatencySummary) -> Self {
        streamq_latency {
            count: l.count,
            p50_ns: l.p50,
            p90_ns: l.p90,
            p99_ns: l.p99,
            p999_ns: l.p999,
            max_ns: l.max,
            mean_ns: l.mean,
        }
    }
}

/// A snapshot of a queue's counters. Frame accounting always balances:
/// `frames_pushed == frames_popped + frames_dropped_newest + frames_dropped_oldest +
/// frames_discarded + frames_queued`. An output: set `struct_size` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct streamq_queue_stats {
    /// `sizeof(streamq_queue_stats)` as the caller's header declares it, set by the
    /// caller (`STREAMQ_OUTPUT_INIT`); the library writes no more than that.
    pub struct_size: usize,
    /// Frames given a sequence number: queued, or dropped by the overflow policy.
    pub frames_pushed: u64,
    /// Frames taken by the consumer (popped, or peeked and released).
    pub frames_popped: u64,
    /// Frames refused because the queue was full (drop-newest).
    pub frames_dropped_newest: u64,
    /// Unread frames evicted to make room (drop-oldest).
    pub frames_dropped_oldest: u64,
    /// Frames still queued when the consumer closed, discarded with the queue.
    pub frames_discarded: u64,
    /// Frames queued now.
    pub frames_queued: u64,
    /// Payload bytes of all pushed frames (queued or dropped).
    pub bytes_pushed: u64,
    /// Payload bytes taken by the consumer.
    pub bytes_popped: u64,
    /// Payload bytes dropped by policy (either reason).
    pub bytes_dropped: u64,
    /// Pushes that returned `STREAMQ_RESULT_WOULD_BLOCK` or `STREAMQ_RESULT_TIMEOUT`
    /// (an interrupted wait is not counted).
    pub pushes_refused: u64,
    /// Ring bytes in use now (frame headers and alignment included).
    pub level_bytes: u64,
    /// Highest `level_bytes` seen.
    pub peak_level_bytes: u64,
    /// Ring size in bytes.
    pub capacity_bytes: u64,
    /// Water-mark transitions so far (both directions).
    pub water_mark_transitions: u64,
    /// Producer threads waiting for room right now.
    pub waiting_producers: u64,
    /// Total time producers spent blocked waiting for room, in nanoseconds.
    pub blocked_ns: u64,
    /// Push latency (call to return).
    pub push_latency: streamq_latency,
    /// Whether the queue is above high water now.
    pub above_high_water: bool,
}

versioned!(streamq_queue_stats);

impl From<QueueStats> for streamq_queue_stats {
    fn from(s: QueueStats) -> Self {
        streamq_queue_stats {
            struct_size: size_of::<Self>(),
            frames_pushed: s.frames_pushed,
            frames_popped: s.frames_popped,
            frames_dropped_newest: s.frames_dropped_newest,
            frames_dropped_oldest: s.frames_dropped_oldest,
            frames_discarded: s.frames_discarded,
            frames_queued: s.frames_queued,
            bytes_pushed: s.bytes_pushed,
            bytes_popped: s.bytes_popped,
            bytes_dropped: s.bytes_dropped,
            pushes_refused: s.pushes_refused,
            level_bytes: s.level_bytes,
            peak_level_bytes: s.peak_level_bytes,
            capacity_bytes: s.capacity_bytes,
            water_mark_transitions: s.water_mark_transitions,
            waiting_producers: s.waiting_producers,
            blocked_ns: s.blocked_ns,
            push_latency: s.push_latency.into(),
            above_high_water: s.above_high_water,
        }
    }
}
