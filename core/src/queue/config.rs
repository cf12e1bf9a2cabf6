//! Queue configuration: the byte budget, water marks, overflow policy.

use std::sync::Arc;
use std::time::Duration;

use crate::memory::ring_granule;
use crate::queue::error::BuildError;
use crate::queue::watermark::WaterMarkEvent;

/// What a producer does when the frame does not fit in the byte budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverflowPolicy {
    /// Wait for room (for ever, or until the configured / per-call timeout).
    Block,
    /// Return [`PushError::WouldBlock`](crate::PushError::WouldBlock) at once.
    FailFast,
    /// Refuse the new frame and count it as dropped (reason [`DropReason::Newest`]).
    DropNewest,
    /// Evict the oldest frames the consumer has not started reading, count them as
    /// dropped (reason [`DropReason::Oldest`]), and queue the new one.
    DropOldest,
}

/// Why frames are missing: the reason of a queue's drop record and of a capture's GAP
/// record (its on-disk code, `docs/FORMAT.md`). Every drop is counted under exactly one
/// reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Code 1: the new frame was refused because the queue was full.
    Newest,
    /// Code 2: an old, unread frame was evicted to make room for a new one.
    Oldest,
    /// Code 3: the frames could not be written (the writer failed).
    WriteError,
    /// A code this version does not know (a capture from a newer writer).
    Unknown(u8),
}

impl DropReason {
    /// The on-disk code.
    pub fn code(self) -> u8 {
        match self {
            DropReason::Newest => 1,
            DropReason::Oldest => 2,
            DropReason::WriteError => 3,
            DropReason::Unknown(c) => c,
        }
    }

    /// The reason for an on-disk code.
    pub fn from_code(code: u8) -> Self {
        match code {
            1 => DropReason::Newest,
            2 => DropReason::Oldest,
            3 => DropReason::WriteError,
            c => DropReason::Unknown(c),
        }
    }
}

/// Callback invoked on every water-mark transition, on the thread whose push or pop
/// caused it. It must not call back into the same queue handle.
pub type WaterMarkCallback = Arc<dyn Fn(WaterMarkEvent) + Send + Sync>;

/// Settings for a queue; build with [`QueueConfig::new`] and the setters, then
/// [`crate::queue`].
#[derive(Clone)]
pub struct QueueConfig {
    pub(crate) capacity: usize,
    pub(crate) high_water: Option<usize>,
    pub(crate) low_water: Option<usize>,
    pub(crate) max_frames: Option<usize>,
    pub(crate) policy: OverflowPolicy,
    pub(crate) block_timeout: Option<Duration>,
    pub(crate) prefault: bool,
    pub(crate) record_latency: bool,
    pub(crate) host_timestamps: bool,
    pub(crate) on_water_mark: Option<WaterMarkCallback>,
}

impl std::fmt::Debug for QueueConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueConfig")
            .field("capacity", &self.capacity)
            .field("high_water", &self.high_water)
            .field("low_water", &self.low_water)
            .field("max_frames", &self.max_frames)
            .field("policy", &self.policy)
            .field("block_timeout", &self.block_timeout)
            .field("prefault", &self.prefault)
            .field("record_latency", &self.record_latency)
            .field("host_timestamps", &self.host_timestamps)
            .field("on_water_mark", &self.on_water_mark.is_some())
            .finish()
    }
}

impl QueueConfig {
    /// A queue whose ring holds `capacity` bytes — frame headers included, so the budget
    /// is the memory really used (rounded up to a whole number of pages). Defaults:
    /// `Block` policy with no timeout, high water at 3/4 and low water at 1/4 of the
    /// capacity, pages touched up front, push latency recorded.
    pub fn new(capacity: usize) -> Self {
        QueueConfig {
            capacity,
            high_water: None,
            low_water: None,
            max_frames: None,
            policy: OverflowPolicy::Block,
            block_timeout: None,
            prefault: true,
            record_latency: true,
            host_timestamps: true,
            on_water_mark: None,
        }
    }

    /// Sets the overflow policy.
    pub fn policy(mut self, policy: OverflowPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the high water mark in bytes (the level at which "above high" starts).
    pub fn high_water(mut self, bytes: usize) -> Self {
        self.high_water = Some(bytes);
        self
    }

    /// Sets the low water mark in bytes (the level at which "above high" ends).
    pub fn low_water(mut self, bytes: usize) -> Self {
        self.low_water = Some(bytes);
        self
    }

    /// Caps the number of queued frames as well as their bytes.
    pub fn max_frames(mut self, frames: usize) -> Self {
        self.max_frames = Some(frames);
        self
    }

    /// How long a `Block`-policy `push` / `reserve` waits before returning `Timeout`
    /// (`None`: for ever, or until the consumer closes).
    pub fn block_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.block_timeout = timeout;
        self
    }

    /// Whether to touch every page of the ring when it is created (default true), so
    /// that pushes never take a page fault.
    pub fn prefault(mut self, yes: bool) -> Self {
        self.prefault = yes;
        self
    }

    /// Whether to record push latency (default true). Pushes are sampled (see
    /// [`QueueStats::push_latency`](crate::QueueStats::push_latency)): a timed push
    /// costs one extra TSC read (~10 ns), an untimed one a counter update.
    pub fn record_latency(mut self, yes: bool) -> Self {
        self.record_latency = yes;
        self
    }

    /// Whether every frame gets a host CLOCK_MONOTONIC timestamp (default true; one
    /// TSC-based clock read, ~10 ns, per push). With `false` and `record_latency(false)`, a
    /// producer that supplies its own timestamps (`push_at`, `commit_at`) reads no clock
    /// at all — for small, very high-rate frames; host times are then 0.
    pub fn host_timestamps(mut self, yes: bool) -> Self {
        self.host_timestamps = yes;
        self
    }

    /// Sets the water-mark transition callback.
    pub fn on_water_mark(mut self, cb: impl Fn(WaterMarkEvent) + Send + Sync + 'static) -> Self {
        self.on_water_mark = Some(Arc::new(cb));
        self
    }

    /// The ring size actually allocated for this configuration.
    pub fn effective_capacity(&self) -> usize {
        let granule = ring_granule();
        self.capacity.div_ceil(granule).max(1) * granule
    }

    /// Checks the settings and returns (capacity, high, low) in bytes.
    /// Every option with its value in canonical text (`docs/OPTIONS.md`): what a front
    /// end shows as the effective configuration, identical whichever language set it.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        use crate::option_text::{ByteSize, format_duration};
        let size = |b: usize| ByteSize(b as u64).to_string();
        vec![
            ("capacity", size(self.capacity)),
            ("policy", self.policy.to_string()),
            ("high_water", self.high_water.map_or("default".into(), size)),
            ("low_water", self.low_water.map_or("default".into(), size)),
            (
                "max_frames",
                self.max_frames.map_or("none".into(), |n| n.to_string()),
            ),
            (
                "block_timeout",
                self.block_timeout.map_or("none".into(), format_duration),
            ),
            ("prefault", self.prefault.to_string()),
        ]
    }

    pub(crate) fn resolve(&self) -> Result<(usize, usize, usize), BuildError> {
        if self.capacity == 0 {
            return Err(BuildError::InvalidConfig(
                "capacity must be greater than 0".into(),
            ));
        }
        if self.capacity > (1usize << 40) {
            return Err(BuildError::InvalidConfig("capacity is larger than 1 TiB".into()));
        }
        let cap = self.effective_capacity();
        let high = self.high_water.unwrap_or(cap / 4 * 3);
        let low = self.low_water.unwrap_or((cap / 4).min(high));
        if high > cap {
            return Err(BuildError::InvalidConfig(format!(
                "high water ({high}) is above the capacity ({cap})"
            )));
        }
        if low > high {
            return Err(BuildError::InvalidConfig(format!(
                "low water ({low}) is above high water ({high})"
            )));
        }
        if self.max_frames == Some(0) {
            return Err(BuildError::InvalidConfig(
                "max_frames must be greater than 0".into(),
            ));
        }
        Ok((cap, high, low))
    }
}
