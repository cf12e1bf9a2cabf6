//! The writer behind `streamq record`: its configuration from the arguments, the
//! rolling-segment deletion of `--keep-segments`, and one stream per synthetic source.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use streamq::writer::FinishedSegment;
use streamq::{Producer, StreamConfig, Writer, WriterConfig};
use streamq_cli::synthetic::{Kind, StreamSpec};
use streamq_cli::units::human_bytes;

use super::args::Args;
use crate::common::Failure;

/// Ring budget of the IMU stream at most (its frames are 32 bytes).
const IMU_CAPACITY_MAX: usize = 16 << 20;

/// Options as core prints them: `(name, canonical text)`.
pub type Described = Vec<(&'static str, String)>;

/// A started writer with one producer per stream, and the effective configuration.
pub struct Recording {
    pub writer: Writer,
    pub producers: Vec<Producer>,
    /// `WriterConfig::describe()` of the writer's configuration.
    pub writer_options: Described,
    /// `StreamConfig::describe()` of each stream's, in stream order.
    pub stream_options: Vec<Described>,
    /// Segments deleted by `--keep-segments` so far.
    pub segments_deleted: Arc<AtomicU64>,
}

/// The writer's configuration from the arguments.
fn writer_config(args: &Args, segments_deleted: &Arc<AtomicU64>) -> WriterConfig {
    let mut config = WriterConfig::capture_file(&args.path)
        .metadata("recorder", concat!("streamq-cli ", env!("CARGO_PKG_VERSION")))
        .metadata("source", "synthetic")
        .metadata("rate", args.rate.name())
        .fsync(args.fsync)
        .compression(args.compress)
        .writes_in_flight(args.writes_in_flight as usize)
        .raw_when_behind(!args.always_compress);
    if let Some(n) = args.compress_workers {
        config = config.compress_workers(n as usize);
    }
    if let Some(b) = args.max_write_bytes {
        config = config.max_write_bytes(usize::try_from(b.bytes()).unwrap_or(usize::MAX));
    }
    if let Some(b) = args.preallocate {
        config = config.preallocate(b.bytes());
    }
    if let Some(b) = args.segment_size {
        config = config.segment_bytes(b.bytes());
    }
    if let Some(d) = args.segment_duration {
        config = config.segment_duration(d);
    }
    if let Some(rate) = args.max_write_rate {
        config = config.max_write_rate(rate.bytes());
    }
    if let Some(keep) = args.keep_segments {
        config = config.on_segment(keep_newest(keep as usize, Arc::clone(segments_deleted)));
    }
    config
}

/// `--keep-segments K`: deletes the oldest finished segment once more than K are kept.
fn keep_newest(keep: usize, deleted: Arc<AtomicU64>) -> impl Fn(&FinishedSegment) + Send + Sync + 'static {
    let finished = Mutex::new(VecDeque::<PathBuf>::new());
    move |seg| {
        let mut finished = finished.lock().unwrap_or_else(|p| p.into_inner());
        finished.push_back(seg.path.clone());
        while finished.len() > keep {
            let Some(old) = finished.pop_front() else { break };
            match std::fs::remove_file(&old) {
                Ok(()) => {
                    deleted.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => eprintln!("streamq: cannot delete old segment {}: {e}", old.display()),
            }
        }
    }
}

/// A stream's ring budget, given `--capacity`.
fn stream_capacity(spec: &StreamSpec, capacity: usize) -> usize {
    if spec.kind == Kind::Imu {
        capacity.min(IMU_CAPACITY_MAX)
    } else {
        capacity
    }
}

/// One stream's configuration: its ring, policy and metadata.
fn stream_config(args: &Args, spec: &StreamSpec, capacity: usize) -> StreamConfig {
    let mut sc = StreamConfig::new(spec.kind.name(), spec.kind.media_type())
        .capacity(stream_capacity(spec, capacity))
        .policy(args.policy);
    match &args.replay {
        // Not the synthetic generator's frames: no `generator` key, so
        // `verify --check-synthetic` leaves the stream alone.
        Some(path) => sc = sc.metadata("source", format!("replay of {}", path.display())),
        None => {
            for (k, v) in spec.metadata() {
                sc = sc.metadata(k, v);
            }
        }
    }
    sc
}

/// Starts the writer and adds a stream per spec, each with a ring of `capacity` bytes.
pub fn start(args: &Args, specs: &[StreamSpec], capacity: usize) -> Result<Recording, Failure> {
    let segments_deleted = Arc::new(AtomicU64::new(0));
    let config = writer_config(args, &segments_deleted);
    let writer_options = config.describe();
    let writer = Writer::start(config)
        .map_err(|e| Failure::fail(format!("cannot record to {}: {e}", args.path.display())))?;
    let mut producers = Vec::new();
    let mut stream_options = Vec::new();
    for spec in specs {
        let sc = stream_config(args, spec, capacity);
        let described = sc.describe();
        let p = writer
            .add_stream(sc)
            .map_err(|e| Failure::usage(format!("stream {}: {e}", spec.kind)))?;
        if spec.frame_bytes > p.max_frame_len() {
            return Err(Failure::usage(format!(
                "stream {}: frames of {} do not fit a ring of {} (largest frame {}); raise --capacity",
                spec.kind,
                human_bytes(spec.frame_bytes as u64),
                human_bytes(stream_capacity(spec, capacity) as u64),
                human_bytes(p.max_frame_len() as u64)
            )));
        }
        producers.push(p);
        stream_options.push(described);
    }
    Ok(Recording {
        writer,
        producers,
        writer_options,
        stream_options,
        segments_deleted,
    })
}
