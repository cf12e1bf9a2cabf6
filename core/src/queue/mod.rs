//! The bounded frame queue: one byte ring, producer and consumer handles.

pub(crate) mod config;
mod consumer;
pub(crate) mod error;
pub(crate) mod frame_copy;
mod gaps;
mod producer;
mod shared;
mod slot;
pub(crate) mod stats;
pub(crate) mod watermark;

#[cfg(not(loom))]
pub(crate) use consumer::Claimed;
pub use consumer::{Batch, Consumer, Frame, FrameInfo, FrameRef};
pub use gaps::Gap;
pub use producer::{Producer, Pushed, Reservation, SharedProducer, SharedReservation};

use hdrhistogram::Histogram;

use crate::memory::RingMemory;
use crate::queue::config::QueueConfig;
use crate::queue::error::BuildError;
use crate::queue::stats::new_latency_histogram;
use crate::queue::watermark::WaterMarks;
use crate::signal::Signal;
use crate::sync::{Arc, AtomicBool, AtomicU64, Mutex};
use shared::{EvictState, Shared};
use slot::SLOT_HEADER_LEN;

/// Creates a queue and returns its producer and consumer handles.
///
/// ```
/// let (mut tx, mut rx) = streamq::queue(streamq::QueueConfig::new(1 << 20)).unwrap();
/// tx.push(b"frame").unwrap();
/// assert_eq!(rx.pop().unwrap().data, b"frame");
/// ```
pub fn queue(config: QueueConfig) -> Result<(Producer, Consumer), BuildError> {
    queue_with_signal(config, Arc::new(Signal::new()), None)
}

#[cfg(not(loom))] // the writer's name for it; loom builds leave the writer out
pub(crate) use shared::Shared as QueueShared;

/// As [`queue`], with a data signal shared with other queues (a writer's doorbell).
pub(crate) fn queue_with_signal(
    config: QueueConfig,
    data_signal: Arc<Signal>,
    stream_id: Option<u16>,
) -> Result<(Producer, Consumer), BuildError> {
    let (capacity, high, low) = config.resolve()?;
    let mem = RingMemory::new(capacity, config.prefault).map_err(BuildError::Io)?;
    let marks = WaterMarks::new(high, low, config.on_water_mark.clone()).map_err(BuildError::Io)?;
    let max_frame_len = (capacity as u64 - SLOT_HEADER_LEN).min(u32::MAX as u64) as usize;
    let hist: Histogram<u64> = new_latency_histogram();
    let shared = Arc::new(Shared {
        mem,
        capacity: capacity as u64,
        max_frame_len,
        stream_large_frames: crate::queue::frame_copy::streams_large_frames(capacity as u64),
        max_frames: config.max_frames.map_or(u64::MAX, |n| n as u64),
        wake_level: capacity as u64 - capacity as u64 / 8,
        policy: config.policy,
        block_timeout: config.block_timeout,
        record_latency: config.record_latency,
        host_timestamps: config.host_timestamps,
        tail: AtomicU64::new(0).into(),
        head: AtomicU64::new(0).into(),
        free: AtomicU64::new(0).into(),
        evict: Mutex::new(EvictState::default()),
        producers_closed: AtomicBool::new(false),
        consumer_closed: AtomicBool::new(false),
        failed: AtomicBool::new(false),
        data: data_signal,
        space: Signal::new(),
        marks,
        gaps: Mutex::new(Default::default()),
        latency: Mutex::new(hist),
        pc: Default::default(),
        cc: Default::default(),
    });
    Ok((
        Producer::new(Arc::clone(&shared), stream_id),
        Consumer::new(shared),
    ))
}
