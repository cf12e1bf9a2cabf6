//! # streamq
//!
//! A bounded byte-budget queue of variable-size frames, and (in later modules) the writer
//! that drains it to disk. Built for sensor capture: a depth camera's 30 × 900 KB frames
//! per second for 45 minutes, with memory that never grows past its budget, a producer
//! that never waits on disk I/O, and no frame ever lost without being counted.
//!
//! ```
//! use streamq::{OverflowPolicy, QueueConfig, Pushed};
//!
//! // 4 MiB of ring, including per-frame headers; refuse new frames when full.
//! let config = QueueConfig::new(4 << 20).policy(OverflowPolicy::DropNewest);
//! let (mut producer, mut consumer) = streamq::queue(config)?;
//!
//! // Copying push, or reserve space and fill it in place (zero copy).
//! assert!(matches!(producer.push(b"hello")?, Pushed::Queued { seq: 0 }));
//! let mut slot = producer.reserve(4)?;
//! slot.copy_from_slice(&[1, 2, 3, 4]);
//! slot.commit();
//! drop(producer); // end of stream
//!
//! // Read in place, or pop copies; `None` from the iterator means end of stream.
//! assert_eq!(consumer.try_peek()?.data(), b"hello");
//! let frames: Vec<_> = consumer.by_ref().collect();
//! assert_eq!(frames[0].data, [1, 2, 3, 4]);
//! assert_eq!(consumer.stats().frames_popped, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! See `docs/ARCHITECTURE.md` for how a frame travels through the parts.
#![deny(missing_docs)]

mod barrier;
pub mod clock;
mod config;
mod error;
pub mod format;
mod frame_copy;
mod memory;
mod queue;
pub mod reader;
mod signal;
mod stats;
mod sync;
mod watermark;
// The writer's threads use std primitives; loom models cover the queue protocol only.
#[cfg(not(loom))]
pub mod writer;

pub use config::{DropReason, OverflowPolicy, QueueConfig, WaterMarkCallback};
pub use error::{
    BuildError, CommitError, PopError, PopTimeoutError, PushError, ReserveError, TryPopError, WaitError,
};
pub use queue::{
    Batch, Consumer, Frame, FrameInfo, FrameRef, Gap, Producer, Pushed, Reservation, SharedProducer,
    SharedReservation, queue,
};
pub use stats::{LatencySummary, QueueStats};
pub use watermark::WaterMarkEvent;
#[cfg(not(loom))]
pub use writer::{
    CloseError, FsyncPolicy, StreamConfig, StreamProducer, Writer, WriterConfig, WriterError, WriterReport,
};
