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
pub mod format;
mod memory;
mod option_text;
mod queue;
pub mod reader;
mod signal;
mod sync;
mod wait;
// The writer's threads use std primitives; loom models cover the queue protocol only.
#[cfg(not(loom))]
pub mod writer;

pub use option_text::{
    ByteSize, Compression, FsyncPolicy, OptionTextError, format_duration, has_time_unit, parse_duration,
};
pub use queue::config::{DropReason, OverflowPolicy, QueueConfig, WaterMarkCallback};
pub use queue::error::{
    BuildError, CommitError, PopError, PopTimeoutError, PushError, ReserveError, TryPopError, WaitError,
};
pub use queue::stats::{LatencySummary, QueueStats};
pub use queue::watermark::WaterMarkEvent;
pub use queue::{
    Batch, Consumer, Frame, FrameInfo, FrameRef, Gap, Producer, Pushed, Reservation, SharedProducer,
    SharedReservation, queue,
};
pub use wait::{Interrupt, PushOptions, Wait};
/// Test hooks, with the `testing` cargo feature only: the capture format's encoders and
/// decoders (to craft and damage files) and the writer's I/O fault injector. Not part of
/// the stable API.
#[cfg(all(feature = "testing", not(loom)))]
pub mod testing {
    /// The capture format's encoders and decoders (`docs/FORMAT.md`).
    pub mod format {
        pub use crate::format::builder::CaptureBuilder;
        pub use crate::format::crc::{header_crc, record_crc};
        pub use crate::format::error::FormatError;
        pub use crate::format::frame::{FrameMeta, encode_frame_header};
        pub use crate::format::gap::Gap;
        pub use crate::format::header::{FileHeader, MAX_METADATA_LEN};
        pub use crate::format::index::{
            DEFAULT_CHECKPOINT_BYTES, INDEX_ENTRY_LEN, IndexBuilder, IndexEntry, IndexRecord,
            MAX_INDEX_ENTRIES,
        };
        pub use crate::format::record::{
            DecodedRecord, RecordHeader, RecordKind, decode_record, padding, padding_len, record_len,
            split_record,
        };
        pub use crate::format::stream_def::StreamDef;
        pub use crate::format::trailer::{
            FOOTER_LEN, FOOTER_MAGIC, StreamTotals, TRAILER_CLEAN_CLOSE, TRAILER_RECOVERED, Trailer,
            decode_footer, encode_footer,
        };
        pub use crate::format::*;
    }
    pub use crate::writer::{Fault, FaultInjector};
}

#[cfg(not(loom))]
pub use writer::{
    AddStreamError, CloseError, FlushError, StartError, StreamConfig, Writer, WriterConfig, WriterError,
    WriterReport,
};

/// The README's Rust examples, run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
