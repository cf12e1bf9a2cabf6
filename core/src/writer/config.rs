//! Writer settings: where frames go, compression, fsync cadence, segments, callbacks.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::option_text::{Compression, FsyncPolicy};
use crate::queue::config::{OverflowPolicy, QueueConfig};
use crate::writer::error::{StartError, WriterError};
use crate::writer::io::FaultInjector;
use crate::writer::report::FinishedSegment;

/// A frame handed to a callback sink.
#[derive(Debug)]
#[non_exhaustive]
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
#[non_exhaustive]
pub enum SinkEvent<'a> {
    /// A frame.
    Frame(SinkFrame<'a>),
    /// A run of dropped frames of one stream.
    Gap {
        /// Stream id.
        stream_id: u16,
        /// Stream name.
        stream: &'a str,
        /// The drop record.
        gap: crate::Gap,
    },
}

/// A user sink: runs on the writer thread; the time it takes is the write, so
/// back-pressure and drop policies behave exactly as with a file.
pub type SinkCallback = Box<dyn FnMut(SinkEvent<'_>) -> Result<(), String> + Send>;

/// Where frames go.
#[non_exhaustive]
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

    /// Every option with its value in canonical text (`docs/OPTIONS.md`): the stream's
    /// name and media type, then its queue's options.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("name", self.name.clone()),
            ("media_type", self.media_type.clone()),
        ];
        v.extend(self.queue.describe());
        v
    }

    /// Replaces the whole queue configuration (water marks, callbacks, timeouts …).
    pub fn queue_config(mut self, config: QueueConfig) -> Self {
        self.queue = config;
        self
    }
}

/// Callback when a segment file is complete (closed, trailer written, synced).
pub type SegmentCallback = Arc<dyn Fn(&FinishedSegment) + Send + Sync>;
/// Callback when the writer fails; runs once, on the writer thread.
pub type ErrorCallback = Arc<dyn Fn(&WriterError) + Send + Sync>;
/// Callback after each fsync, once per stream that has new frames on stable storage.
pub type DurableCallback = Arc<dyn Fn(&Durable<'_>) + Send + Sync>;

/// A stream's frames up to `seq` are on stable storage (what [`DurableCallback`] gets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Durable<'a> {
    /// Stream id.
    pub stream_id: u16,
    /// Stream name.
    pub stream: &'a str,
    /// Highest sequence number of the stream known to be durable.
    pub seq: u64,
}

/// Options only the capture-file sink uses (every other sink refuses them when set).
const CAPTURE_FILE_OPTIONS: [&str; 11] = [
    "metadata",
    "compression",
    "compress_workers",
    "raw_when_behind",
    "writes_in_flight",
    "preallocate",
    "direct_io",
    "max_write_rate",
    "segment_bytes",
    "segment_duration",
    "index_interval",
];
/// Options only the directory sink uses.
const DIRECTORY_OPTIONS: [&str; 1] = ["io_workers"];

/// Settings for a [`Writer`](crate::Writer).
pub struct WriterConfig {
    pub(crate) sink: SinkKind,
    pub(crate) metadata: Vec<(String, String)>,
    pub(crate) compression: Compression,
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
    pub(crate) max_write_rate: Option<u64>,
    /// Options the caller set, by their canonical name (see `docs/OPTIONS.md`), so an
    /// option the sink would not use is refused rather than ignored.
    explicitly_set: Vec<&'static str>,
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
            compression: Compression::None,
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
            max_write_rate: None,
            explicitly_set: Vec::new(),
        }
    }

    /// Notes that option `name` was set, for the check that it applies to the sink.
    fn set(mut self, name: &'static str) -> Self {
        if !self.explicitly_set.contains(&name) {
            self.explicitly_set.push(name);
        }
        self
    }

    /// Adds a file-level metadata pair (sensor, host, session …).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self.set("metadata")
    }

    /// How frames are compressed (default none; see [`Compression`] for the text form).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        if compression == Compression::None {
            self
        } else {
            self.set("compression")
        }
    }

    /// Compresses each frame with zstd at `level` (1–22; 1–3 keep up with a camera):
    /// `compression(Compression::Zstd { level })`.
    pub fn zstd(self, level: i32) -> Self {
        self.compression(Compression::Zstd { level })
    }

    /// Whether frames are stored uncompressed while their stream's queue is above high
    /// water (default true: the compressors are behind, so store rather than let the
    /// queue fill). With false every frame is compressed, and a producer that outruns the
    /// compressors meets its overflow policy instead (for saving space on a slow disk,
    /// or measuring compression).
    pub fn raw_when_behind(mut self, yes: bool) -> Self {
        self.raw_when_behind = yes;
        self.set("raw_when_behind")
    }

    /// Compression worker threads (default: available cores).
    pub fn compress_workers(mut self, n: usize) -> Self {
        self.compress_workers = n;
        self.set("compress_workers")
    }

    /// Directory sink: files written at once (default: available cores).
    pub fn io_workers(mut self, n: usize) -> Self {
        self.io_workers = n;
        self.set("io_workers")
    }

    /// O_DIRECT capture files: writes kept in flight on I/O threads while the writer
    /// thread copies and checksums the next batch (default 2; 0 writes synchronously
    /// from the writer thread). Frames count as written only when their write has
    /// returned; `flush`, fsync and close wait for every write in flight.
    pub fn writes_in_flight(mut self, n: usize) -> Self {
        self.writes_in_flight = n;
        self.set("writes_in_flight")
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
        self.set("preallocate")
    }

    /// Whether capture files bypass the page cache with O_DIRECT (default true; file
    /// systems without O_DIRECT fall back to buffered writes). Direct writes copy
    /// frames into an aligned staging buffer; buffered writes go straight from the ring.
    pub fn direct_io(mut self, yes: bool) -> Self {
        self.direct_io = yes;
        self.set("direct_io")
    }

    /// Starts a new segment file after this many bytes.
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = Some(bytes);
        self.set("segment_bytes")
    }

    /// Starts a new segment file after this long.
    pub fn segment_duration(mut self, d: Duration) -> Self {
        self.segment_duration = Some(d);
        self.set("segment_duration")
    }

    /// Bytes between index checkpoints (default 4 MiB).
    pub fn index_interval(mut self, bytes: u64) -> Self {
        self.index_interval_bytes = bytes;
        self.set("index_interval")
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

    /// Limits the capture file's writes to this many bytes per second on average
    /// (default: no limit). Leaves disk bandwidth to other users of the disk; also shows
    /// back-pressure and the drop policies at work, as a slow disk would.
    pub fn max_write_rate(mut self, bytes_per_s: u64) -> Self {
        self.max_write_rate = Some(bytes_per_s);
        self.set("max_write_rate")
    }

    /// Called with each finished segment (e.g. to upload it).
    pub fn on_segment(mut self, f: impl Fn(&FinishedSegment) + Send + Sync + 'static) -> Self {
        self.on_segment = Some(Arc::new(f));
        self
    }

    /// Called once when the writer fails.
    pub fn on_error(mut self, f: impl Fn(&WriterError) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(f));
        self
    }

    /// Called after each fsync, per stream with new durable frames.
    pub fn on_durable(mut self, f: impl Fn(&Durable<'_>) + Send + Sync + 'static) -> Self {
        self.on_durable = Some(Arc::new(f));
        self
    }

    /// Injects I/O faults (tests of error handling: ENOSPC, EIO, short writes). A test
    /// hook: only with the `testing` feature.
    #[cfg(feature = "testing")]
    pub fn fault_injector(mut self, f: Arc<dyn FaultInjector>) -> Self {
        self.fault_injector = Some(f);
        self
    }

    /// Every option with its value in canonical text (`docs/OPTIONS.md`): what a front
    /// end shows as the effective configuration, identical whichever language set it.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        use crate::option_text::{ByteSize, format_duration};
        let (sink, path) = match &self.sink {
            SinkKind::CaptureFile(p) => ("capture_file", p.display().to_string()),
            SinkKind::Directory(p) => ("directory", p.display().to_string()),
            SinkKind::Callback(_) => ("callback", String::new()),
        };
        let none = || "none".to_string();
        vec![
            ("sink", sink.to_string()),
            ("path", path),
            ("compression", self.compression.to_string()),
            ("compress_workers", self.compress_workers.to_string()),
            ("raw_when_behind", self.raw_when_behind.to_string()),
            ("io_workers", self.io_workers.to_string()),
            ("writes_in_flight", self.writes_in_flight.to_string()),
            (
                "max_write_bytes",
                ByteSize(self.max_write_bytes as u64).to_string(),
            ),
            (
                "max_write_rate",
                self.max_write_rate.map_or_else(none, |r| ByteSize(r).to_string()),
            ),
            ("fsync", self.fsync.to_string()),
            ("preallocate", ByteSize(self.preallocate_bytes).to_string()),
            ("direct_io", self.direct_io.to_string()),
            (
                "segment_bytes",
                self.segment_bytes.map_or_else(none, |b| ByteSize(b).to_string()),
            ),
            (
                "segment_duration",
                self.segment_duration.map_or_else(none, format_duration),
            ),
            ("index_interval", ByteSize(self.index_interval_bytes).to_string()),
            ("max_streams", self.max_streams.to_string()),
            ("linger", format_duration(self.linger)),
        ]
    }

    pub(crate) fn validate(&self) -> Result<(), StartError> {
        let bad = |m: &str| Err(StartError::InvalidConfig(m.to_string()));
        let (kind, applies): (&str, &[&str]) = match self.sink {
            SinkKind::CaptureFile(_) => ("capture_file", &CAPTURE_FILE_OPTIONS),
            SinkKind::Directory(_) => ("directory", &DIRECTORY_OPTIONS),
            SinkKind::Callback(_) => ("callback", &[]),
        };
        if let Some(name) = self.explicitly_set.iter().find(|n| !applies.contains(n)) {
            let owner = if DIRECTORY_OPTIONS.contains(name) {
                "directory"
            } else {
                "capture_file"
            };
            return Err(StartError::InvalidConfig(format!(
                "{name} applies to the {owner} sink only (this writer's sink is {kind})"
            )));
        }
        if let Some(l) = self.compression.zstd_level()
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
        if self.max_write_rate == Some(0) {
            return bad("max_write_rate must be positive");
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
