//! Counters and latency figures of a queue, read as a consistent-enough snapshot.
//!
//! Each counter has exactly one writer (the producer side or the consumer side), so the
//! hot path updates them with plain relaxed stores, never read-modify-write.

use hdrhistogram::Histogram;

use crate::sync::{AtomicU64, Ordering};

/// A snapshot of a queue's counters. Frame accounting always balances:
/// `frames_pushed == frames_popped + frames_dropped_newest + frames_dropped_oldest +
/// frames_discarded + frames_queued`.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct QueueStats {
    /// Frames given a sequence number: queued, or dropped by the overflow policy.
    pub frames_pushed: u64,
    /// Frames taken by the consumer (popped, or peeked and released).
    pub frames_popped: u64,
    /// Frames refused because the queue was full (`DropNewest`, or `DropOldest` with
    /// every queued frame in use by the consumer).
    pub frames_dropped_newest: u64,
    /// Unread frames evicted to make room (`DropOldest`).
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
    /// Pushes that returned `WouldBlock` or `Timeout` (the caller kept the frame).
    pub pushes_refused: u64,
    /// Ring bytes in use now (frame headers and alignment included).
    pub level_bytes: u64,
    /// Highest `level_bytes` seen.
    pub peak_level_bytes: u64,
    /// Ring size in bytes.
    pub capacity_bytes: u64,
    /// Water-mark transitions so far (both directions).
    pub water_mark_transitions: u64,
    /// Whether the queue is above high water now.
    pub above_high_water: bool,
    /// Producer threads waiting for room (or for the low water mark) right now.
    pub waiting_producers: u64,
    /// Total time producers spent blocked waiting for room, in nanoseconds.
    pub blocked_ns: u64,
    /// Push latency (call to return; for a reservation, reserve to commit), in
    /// nanoseconds. Sampled: the first 1024 pushes of a producer, pushes of frames of
    /// 16 KiB or more and every push that waited, evicted or dropped are timed; of the
    /// other (small, fast-path) pushes one in 16 is timed and stands for the untimed ones
    /// around it. `count` is the number of pushes represented.
    pub push_latency: LatencySummary,
}

impl QueueStats {
    /// Frames dropped for any reason.
    pub fn frames_dropped(&self) -> u64 {
        self.frames_dropped_newest + self.frames_dropped_oldest
    }
}

/// Percentiles of a latency histogram, in nanoseconds (all 0 when nothing was recorded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LatencySummary {
    /// Number of samples (for push latency: pushes represented, see
    /// [`QueueStats::push_latency`]).
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest sample.
    pub max: u64,
    /// Mean.
    pub mean: u64,
}

impl LatencySummary {
    /// Summarises a histogram of nanosecond samples.
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean() as u64,
        }
    }
}

/// A latency histogram: 1 ns to 100 s at 2 significant digits (1 % resolution; a tenth
/// of the memory of 3 digits, so merging it into the shared one is cheap).
pub(crate) fn new_latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 2).expect("static histogram bounds are valid")
}

/// Counters written only by the producer side.
#[derive(Default)]
pub(crate) struct ProducerCounters {
    pub(crate) pushed: AtomicU64,
    pub(crate) bytes_pushed: AtomicU64,
    pub(crate) dropped_newest: AtomicU64,
    pub(crate) dropped_oldest: AtomicU64,
    pub(crate) bytes_dropped: AtomicU64,
    pub(crate) refused: AtomicU64,
    /// Highest level seen by the producer just before an eviction (see `peak_level`).
    pub(crate) peak_level: AtomicU64,
    pub(crate) blocked_ns: AtomicU64,
}

/// Counters written only by the consumer side.
#[derive(Default)]
pub(crate) struct ConsumerCounters {
    /// Highest level seen by the consumer just before a release.
    ///
    /// The level only rises at publishes and only falls at releases and evictions, so
    /// its maximum is reached just before one of those falls or is the level now. The
    /// side that makes it fall notes it there (where it already touches the positions),
    /// and `stats()` takes the largest of the two notes and the current level. This
    /// keeps the producer from reading the consumer's position on every push.
    pub(crate) peak_level: AtomicU64,
    pub(crate) popped: AtomicU64,
    pub(crate) bytes_popped: AtomicU64,
    pub(crate) discarded: AtomicU64,
}

/// Adds `n` to a counter that only the calling side writes (a load and a store; no
/// locked instruction on the hot path).
#[inline]
pub(crate) fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// Adds `n` to a counter several threads may write (off the hot path).
#[inline]
pub(crate) fn bump_shared(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// Pushes timed one by one before sampling starts (so short runs and tests see every push).
pub(crate) const LATENCY_EXACT_PUSHES: u32 = 1024;
/// After that, one fast-path push in this many is timed...
pub(crate) const LATENCY_SAMPLE_EVERY: u32 = 16;
/// ...unless its frame is at least this large (then the clock read is noise).
pub(crate) const LATENCY_ALWAYS_BYTES: usize = 16 << 10;

/// A producer's push-latency histogram with sampling.
///
/// Timing a push costs a clock read and a histogram update, as much as the rest of a
/// small push, so not every push is timed:
/// * the first [`LATENCY_EXACT_PUSHES`] pushes of a producer, every push of a frame of at
///   least [`LATENCY_ALWAYS_BYTES`], and every push that left the fast path (waited for
///   room, evicted, or found the ring full) are timed and counted once;
/// * of the other pushes (small, fast path), one in [`LATENCY_SAMPLE_EVERY`] is timed and
///   recorded with the weight of the untimed pushes before it. Untimed pushes still
///   pending when the histogram is merged take the last sample's value.
///
/// So `count` is the number of pushes and the percentiles are those of all pushes, the
/// small fast-path ones estimated from a 1-in-16 sample (their spread is small: a copy).
pub(crate) struct LatencySampler {
    pub(crate) hist: Histogram<u64>,
    exact_left: u32,
    countdown: u32,
    untimed: u64,
    last: u64,
    pub(crate) flushed_at: u64,
}

impl LatencySampler {
    pub(crate) fn new() -> Self {
        LatencySampler {
            hist: new_latency_histogram(),
            exact_left: LATENCY_EXACT_PUSHES,
            countdown: LATENCY_SAMPLE_EVERY,
            untimed: 0,
            last: 0,
            flushed_at: 0,
        }
    }

    /// Whether to time a push of `len` bytes from its start. A push not chosen here but
    /// that leaves the fast path is timed from there (see [`record_slow`](Self::record_slow)).
    #[inline]
    pub(crate) fn wants(&mut self, len: usize) -> bool {
        if len >= LATENCY_ALWAYS_BYTES {
            return true;
        }
        if self.exact_left > 0 {
            self.exact_left -= 1;
            return true;
        }
        self.countdown -= 1;
        if self.countdown == 0 {
            self.countdown = LATENCY_SAMPLE_EVERY;
            true
        } else {
            false
        }
    }

    /// Records a timed fast-path push.
    #[inline]
    pub(crate) fn record_fast(&mut self, ns: u64, len: usize) {
        let ns = ns.max(1);
        if len >= LATENCY_ALWAYS_BYTES || self.untimed == 0 {
            let _ = self.hist.record(ns);
        } else {
            let _ = self.hist.record_n(ns, self.untimed + 1);
            self.untimed = 0;
        }
        self.last = ns;
    }

    /// Records a push that left the fast path (always timed, weight 1).
    #[inline]
    pub(crate) fn record_slow(&mut self, ns: u64) {
        let _ = self.hist.record(ns.max(1));
    }

    /// Counts a push that was not timed.
    #[inline]
    pub(crate) fn skip(&mut self) {
        self.untimed += 1;
    }

    /// Samples taken since the last merge.
    #[inline]
    pub(crate) fn pending(&self) -> u64 {
        self.hist.len()
    }

    /// Whether a merge has anything to move.
    pub(crate) fn has_pending(&self) -> bool {
        !self.hist.is_empty() || (self.untimed > 0 && self.last > 0)
    }

    /// Gives the untimed pushes the last sample's value and moves everything into
    /// `into`.
    pub(crate) fn merge_into(&mut self, into: &mut Histogram<u64>, now: u64) {
        if self.untimed > 0 && self.last > 0 {
            let _ = self.hist.record_n(self.last, self.untimed);
            self.untimed = 0;
        }
        if !self.hist.is_empty() {
            let _ = into.add(&self.hist);
            self.hist.reset();
        }
        self.flushed_at = now;
    }
}
