//! Writer settings: where frames go, compression, fsync cadence, segments, callbacks.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{OverflowPolicy, QueueConfig};
use crate::writer::error::WriterError;
use crate::writer::io::FaultInjector;
use crate::writer::report::SegmentInfo;

/// When the writer calls `fdatasync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Never (the OS writes back when it likes); `close()` still syncs.
    OnClose,
    /// After at least this many bytes since the last sync.
    EveryBytes(u64),
    /// At least this often while data is being written.
    Every(Duration),
    /// After every write call (slow; for small, precious streams).
    Always,
}

/// A frame handed to a callback sink.
#[derive(Debug)]
pub struct SinkFrame<'a> {
    /// Stream id.
    pub stream_id: u16,
    /// Stream name.
    pub stream: &'a str,
    /// Frame metadata.
    pub info: crate::FrameInfo,
    /// Frame bytes (in the ring; valid during the call only).
    pub data: &'a [u8],
}

/// What a callback sink receives.
#[derive(Debug)]
pub enum SinkEvent<'a> {
    /// A frame.
    Frame(SinkFrame<'a>),
    /// A run of dropped frames of one stream.
    Gap {
        /// Stream id.
        stream_id: u16,
        /// The drop record.
        gap: crate::Gap,
    },
}

/// A user sink: runs on the writer thread; the time it takes is the write, so
/// back-pressure and drop policies behave exactly as with a file.
pub type SinkCallback = Box<dyn FnMut(SinkEvent<'_>) -> Result<(), String> + Send>;

/// Where frames go.
pub enum SinkKind {
    /// One capture file (`docs/FORMAT.md`), optionally split into segments.
    CaptureFile(PathBuf),
    /// A directory with one file per frame (`frame-000001.raw`, one sub-directory per
    /// stream when there are several), with a bounded number of writes in flight.
    Directory(PathBuf),
    /// A user callback.
    Callback(SinkCallback),
}

impl std::fmt::Debug for SinkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SinkKind::CaptureFile(p) => f.debug_tuple("CaptureFile").field(p).finish(),
            SinkKind::Directory(p) => f.debug_tuple("Directory").field(p).finish(),
            SinkKind::Callback(_) => f.write_str("Callback(..)"),
        }
    }
}

/// Settings for one stream of a capture.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    pub(crate) name: String,
    pub(crate) media_type: String,
    pub(crate) metadata: Vec<(String, String)>,
    pub(crate) queue: QueueConfig,
}

impl StreamConfig {
    /// A stream called `name` carrying `media_type` (e.g. `"depth/u16"`), with a 256 MiB
    /// ring and the `Block` policy.
    pub fn new(name: impl Into<String>, media_type: impl Into<String>) -> Self {
        StreamConfig {
            name: name.into(),
            media_type: media_type.into(),
            metadata: Vec::new(),
            queue: QueueConfig::new(256 << 20),
        }
    }

    /// Adds a metadata pair (width, height, pixel format, units …), stored in the file.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// The stream's ring budget in bytes (water marks default to 3/4 and 1/4 of it).
    pub fn capacity(mut self, bytes: usize) -> Self {
        self.queue.capacity = bytes;
        self
    }

    /// The stream's overflow policy.
    pub fn policy(mut self, policy: OverflowPolicy) -> Self {
        self.queue = self.queue.policy(policy);
        self
    }

    /// Replaces the whole queue configuration (water marks, callbacks, timeouts …).
    pub fn queue_config(mut self, config: QueueConfig) -> Self {
        self.queue = config;
        self
    }
}

/// Callback when a segment file is complete (closed, trailer written, synced).
pub type SegmentCallback = Arc<dyn Fn(&SegmentInfo) + Send + Sync>;
/// Callback when the writer fails; runs once, on the writer thread.
pub type ErrorCallback = Arc<dyn Fn(&WriterError) + Send + Sync>;
/// Callback after each fsync: (stream id, highest durable sequence number).
pub type DurableCallback = Arc<dyn Fn(u16, u64) + Send + Sync>;

/// Settings for a [`Writer`](crate::Writer).
pub struct WriterConfig {
    pub(crate) sink: SinkKind,
    pub(crate) metadata: Vec<(String, String)>,
    pub(crate) compression: Option<i32>,
    pub(crate) compress_workers: usize,
    pub(crate) raw_when_behind: bool,
    pub(crate) io_workers: usize,
    pub(crate) writes_in_flight: usize,
    pub(crate) max_write_bytes: usize,
    pub(crate) fsync: FsyncPolicy,
    pub(crate) preallocate_bytes: u64,
    pub(crate) direct_io: bool,
    pub(crate) segment_bytes: Option<u64>,
    pub(crate) segment_duration: Option<Duration>,
    pub(crate) index_interval_bytes: u64,
    pub(crate) max_streams: u16,
    pub(crate) linger: Duration,
    pub(crate) on_segment: Option<SegmentCallback>,
    pub(crate) on_error: Option<ErrorCallback>,
    pub(crate) on_durable: Option<DurableCallback>,
    pub(crate) fault_injector: Option<Arc<dyn FaultInjector>>,
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl WriterConfig {
    /// Frames go to one capture file at `path`.
    pub fn capture_file(path: impl Into<PathBuf>) -> Self {
        Self::with_sink(SinkKind::CaptureFile(path.into()))
    }

    /// Frames go to one file each under directory `dir`.
    pub fn directory(dir: impl Into<PathBuf>) -> Self {
        Self::with_sink(SinkKind::Directory(dir.into()))
    }

    /// Frames go to a callback on the writer thread.
    pub fn callback(f: impl FnMut(SinkEvent<'_>) -> Result<(), String> + Send + 'static) -> Self {
        Self::with_sink(SinkKind::Callback(Box::new(f)))
    }

    fn with_sink(sink: SinkKind) -> Self {
        WriterConfig {
            sink,
            metadata: Vec::new(),
            compression: None,
            compress_workers: cores(),
            raw_when_behind: true,
            io_workers: cores(),
            writes_in_flight: 2,
            max_write_bytes: 8 << 20,
            fsync: FsyncPolicy::OnClose,
            preallocate_bytes: 0,
            direct_io: true,
            segment_bytes: None,
            segment_duration: None,
            index_interval_bytes: crate::format::DEFAULT_CHECKPOINT_BYTES,
            max_streams: u16::MAX,
            linger: Duration::from_millis(1),
            on_segment: None,
            on_error: None,
            on_durable: None,
            fault_injector: None,
        }
    }

    /// Adds a file-level metadata pair (sensor, host, session …).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// Compresses each frame with zstd at `level` (1–22; 1–3 keep up with a camera).
    pub fn zstd(mut self, level: i32) -> Self {
        self.compression = Some(level);
        self
    }

    /// Whether frames are stored uncompressed while their stream's queue is above high
    /// water (default true: the compressors are behind, so store rather than let the
    /// queue fill). With false every frame is compressed, and a producer that outruns the
    /// compressors meets its overflow policy instead (for saving space on a slow disk,
    /// or measuring compression).
    pub fn raw_when_behind(mut self, yes: bool) -> Self {
        self.raw_when_behind = yes;
        self
    }

    /// Compression worker threads (default: available cores).
    pub fn compress_workers(mut self, n: usize) -> Self {
        self.compress_workers = n;
        self
    }

    /// Directory sink: files written at once (default: available cores).
    pub fn io_workers(mut self, n: usize) -> Self {
        self.io_workers = n;
        self
    }

    /// O_DIRECT capture files: writes kept in flight on I/O threads while the writer
    /// thread copies and checksums the next batch (default 2; 0 writes synchronously
    /// from the writer thread). Frames count as written only when their write has
    /// returned; `flush`, fsync and close wait for every write in flight.
    pub fn writes_in_flight(mut self, n: usize) -> Self {
        self.writes_in_flight = n;
        self
    }

    /// Largest vectored write, in bytes (default 8 MiB): queued frames are coalesced up
    /// to this size. It also sizes the writer's pipeline: frames claimed and not yet
    /// written (being compressed, or done and waiting for their turn) hold at most this
    /// many raw bytes, times the compression workers when compressing, so every worker
    /// has frames queued while the writer thread writes.
    pub fn max_write_bytes(mut self, bytes: usize) -> Self {
        self.max_write_bytes = bytes;
        self
    }

    /// When to fdatasync (default: on close only).
    pub fn fsync(mut self, policy: FsyncPolicy) -> Self {
        self.fsync = policy;
        self
    }

    /// Disk space reserved ahead of the write position with `fallocate` (default 0:
    /// off). It makes a full disk show up before the data reaches it, but on ext4 the
    /// reserved blocks are "unwritten" extents that every O_DIRECT write must convert,
    /// which cost 15–20 % of the throughput where we measured it.
    pub fn preallocate(mut self, bytes: u64) -> Self {
        self.preallocate_bytes = bytes;
        self
    }

    /// Whether capture files bypass the page cache with O_DIRECT (default true; file
    /// systems without O_DIRECT fall back to buffered writes). Direct writes copy
    /// frames into an aligned staging buffer; buffered writes go straight from the ring.
    pub fn direct_io(mut self, yes: bool) -> Self {
        self.direct_io = yes;
        self
    }

    /// Starts a new segment file after this many bytes.
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = Some(bytes);
        self
    }

    /// Starts a new segment file after this long.
    pub fn segment_duration(mut self, d: Duration) -> Self {
        self.segment_duration = Some(d);
        self
    }

    /// Bytes between index checkpoints (default 4 MiB).
    pub fn index_interval(mut self, bytes: u64) -> Self {
        self.index_interval_bytes = bytes;
        self
    }

    /// The most streams this writer accepts (default and upper bound: 65 535, the
    /// format's limit); `add_stream` past it returns `TooManyStreams`.
    pub fn max_streams(mut self, n: u16) -> Self {
        self.max_streams = n;
        self
    }

    /// How long the writer naps after a round of writes before it goes to sleep on its
    /// streams (default 1 ms; zero disables). While it naps it is not registered as a
    /// waiter, so producers publish without a wake-up system call — for a 1.6 kHz IMU
    /// stream that is most of the cost of a push. Frames wait at most this long before the
    /// writer takes them; correctness never depends on it (an idle writer sleeps until
    /// woken).
    pub fn linger(mut self, d: Duration) -> Self {
        self.linger = d;
        self
    }

    /// Called with each finished segment (e.g. to upload it).
    pub fn on_segment(mut self, f: impl Fn(&SegmentInfo) + Send + Sync + 'static) -> Self {
        self.on_segment = Some(Arc::new(f));
        self
    }

    /// Called once when the writer fails.
    pub fn on_error(mut self, f: impl Fn(&WriterError) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(f));
        self
    }

    /// Called after each fsync with (stream id, durable sequence).
    pub fn on_durable(mut self, f: impl Fn(u16, u64) + Send + Sync + 'static) -> Self {
        self.on_durable = Some(Arc::new(f));
        self
    }

    /// Injects I/O faults (tests of error handling: ENOSPC, EIO, short writes).
    pub fn fault_injector(mut self, f: Arc<dyn FaultInjector>) -> Self {
        self.fault_injector = Some(f);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), WriterError> {
        let bad = |m: &str| Err(WriterError::InvalidConfig(m.to_string()));
        if let Some(l) = self.compression
            && !(1..=22).contains(&l)
        {
            return bad("zstd level must be 1..=22");
        }
        if self.compress_workers == 0 || self.io_workers == 0 {
            return bad("worker counts must be at least 1");
        }
        if self.max_write_bytes < 4096 {
            return bad("max_write_bytes must be at least 4096");
        }
        if self.writes_in_flight > 64 {
            return bad("writes_in_flight must be at most 64");
        }
        if self.segment_bytes == Some(0) || self.segment_duration == Some(Duration::ZERO) {
            return bad("segment size and duration must be positive");
        }
        if self.index_interval_bytes == 0 {
            return bad("index interval must be positive");
        }
        if let FsyncPolicy::EveryBytes(0) = self.fsync {
            return bad("fsync byte interval must be positive");
        }
        Ok(())
    }
}
