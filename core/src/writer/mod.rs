//! The writer: drains one or more stream queues into a sink on its own threads.
//!
//! ```no_run
//! use streamq::{StreamConfig, Writer, WriterConfig};
//!
//! let writer = Writer::start(WriterConfig::capture_file("capture.sqcap").zstd(1))?;
//! let mut depth = writer.add_stream(StreamConfig::new("depth", "depth/u16").capacity(256 << 20))?;
//! depth.push(&vec![0u8; 900 * 1024])?;
//! drop(depth);
//! let report = writer.close()?;
//! println!("{} frames written", report.frames_written);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod callback_sink;
mod config;
mod direct_io;
mod directory_sink;
mod engine;
mod error;
mod file_sink;
mod io;
mod pipeline;
mod report;
mod sink;

pub use config::{
    Durable, DurableCallback, ErrorCallback, SegmentCallback, SinkCallback, SinkEvent, SinkFrame, SinkKind,
    StreamConfig, WriterConfig,
};
pub use error::{AddStreamError, CloseError, FlushError, StartError, WriterError};
pub use file_sink::segment_path;
#[cfg(feature = "testing")]
pub use io::{Fault, FaultInjector};
pub use report::{FinishedSegment, StreamReport, WriterReport};

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::Producer;
use crate::format::StreamDef;
use crate::queue::stats::LatencySummary;
use crate::queue::{QueueShared, queue_with_signal};
use crate::signal::Signal;
use engine::{Control, EngineSettings, EngineShared};

/// A running capture: owns the writer thread(s); streams are added with
/// [`add_stream`](Writer::add_stream), even while recording.
///
/// `Writer` is `Send + Sync`: any thread may add streams, flush or read stats.
pub struct Writer {
    engine: Arc<EngineShared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    streams: Mutex<Vec<(StreamDef, Arc<QueueShared>)>>,
    max_streams: u16,
    started: Instant,
    /// What the first `close` returned: later calls (and drop) return it again.
    closed: Mutex<Option<Result<WriterReport, CloseError>>>,
}

impl Writer {
    /// Opens the sink and starts the writer thread.
    pub fn start(config: WriterConfig) -> Result<Writer, StartError> {
        config.validate()?;
        let WriterConfig {
            sink,
            metadata,
            compression,
            compress_workers,
            raw_when_behind,
            io_workers,
            writes_in_flight,
            max_write_bytes,
            fsync,
            preallocate_bytes,
            direct_io,
            segment_bytes,
            segment_duration,
            index_interval_bytes,
            max_streams,
            linger,
            on_segment,
            on_error,
            on_durable,
            fault_injector,
            max_write_rate,
            ..
        } = config;
        let write_hooks: Vec<Arc<dyn io::FaultInjector>> = max_write_rate
            .map(|r| Arc::new(io::WriteRateLimit::new(r)) as Arc<dyn io::FaultInjector>)
            .into_iter()
            .chain(fault_injector)
            .collect();
        let faults: Option<Arc<dyn io::FaultInjector>> = match write_hooks.len() {
            0 => None,
            1 => write_hooks.into_iter().next(),
            _ => Some(Arc::new(io::WriteHooks(write_hooks))),
        };
        let sink: Box<dyn sink::Sink> = match sink {
            SinkKind::CaptureFile(path) => {
                Box::new(file_sink::FileSink::create(file_sink::FileSinkConfig {
                    path,
                    metadata,
                    preallocate: preallocate_bytes,
                    index_interval: index_interval_bytes,
                    segment_bytes,
                    segment_duration,
                    faults,
                    direct_io,
                    max_write: max_write_bytes,
                    writes_in_flight,
                })?)
            }
            SinkKind::Directory(dir) => Box::new(directory_sink::DirSink::create(&dir, io_workers)?),
            SinkKind::Callback(f) => Box::new(callback_sink::CallbackSink {
                f,
                names: Vec::new(),
                delivered: 0,
            }),
        };
        let engine = Arc::new(EngineShared {
            doorbell: Arc::new(Signal::new()),
            control: Mutex::new(Control::default()),
            changed: Condvar::new(),
            pending: AtomicBool::new(false),
        });
        let settings = EngineSettings {
            compression: compression.zstd_level(),
            compress_workers,
            raw_when_behind,
            max_write_bytes,
            fsync,
            linger,
            on_segment,
            on_error,
            on_durable,
        };
        let eng = Arc::clone(&engine);
        let thread = std::thread::Builder::new()
            .name("streamq-writer".into())
            .spawn(move || engine::run(eng, sink, settings))
            .map_err(|e| {
                StartError::Open(WriterError::io(
                    "start writer thread for",
                    std::path::Path::new("-"),
                    &e,
                ))
            })?;
        Ok(Writer {
            engine,
            thread: Mutex::new(Some(thread)),
            streams: Mutex::new(Vec::new()),
            max_streams,
            started: Instant::now(),
            closed: Mutex::new(None),
        })
    }

    /// Adds a stream and returns its producer — the same [`Producer`] a bare
    /// [`queue`](crate::queue) gives, carrying the stream's id
    /// ([`Producer::stream_id`]). Works before and during recording; frames pushed before
    /// the writer thread picks the stream up are kept. Stream names are unique within a
    /// writer.
    pub fn add_stream(&self, config: StreamConfig) -> Result<Producer, AddStreamError> {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        {
            let c = self.engine.lock();
            if let Some(e) = &c.error {
                return Err(AddStreamError::Failed(e.clone()));
            }
            if c.closing || c.finished {
                return Err(AddStreamError::Closed);
            }
        }
        if config.name.is_empty() {
            return Err(AddStreamError::InvalidConfig("a stream needs a name".into()));
        }
        if streams.iter().any(|(def, _)| def.name == config.name) {
            return Err(AddStreamError::DuplicateName(config.name));
        }
        let id = u16::try_from(streams.len()).map_err(|_| AddStreamError::TooManyStreams)?;
        if id >= self.max_streams {
            return Err(AddStreamError::TooManyStreams);
        }
        let (producer, consumer) =
            queue_with_signal(config.queue, Arc::clone(&self.engine.doorbell), Some(id))
                .map_err(|e| AddStreamError::InvalidConfig(format!("stream {}: {e}", config.name)))?;
        let def = StreamDef {
            id,
            name: config.name,
            media_type: config.media_type,
            metadata: config.metadata,
        };
        streams.push((def.clone(), Arc::clone(consumer.shared())));
        self.engine.lock().new_streams.push((def, consumer));
        self.engine.poke();
        Ok(producer)
    }

    /// The names of the streams added so far, in id order (a stream's id is its index).
    pub fn stream_names(&self) -> Vec<String> {
        let streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.iter().map(|(def, _)| def.name.clone()).collect()
    }

    /// Blocks until every frame pushed so far (on every stream) is written — and
    /// synced, unless the fsync policy is "on close" — or dropped by policy. Returns
    /// the writer's error if it has failed, `Closed` once it is closed.
    pub fn flush(&self) -> Result<(), FlushError> {
        let targets: Vec<u64> = {
            let streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
            streams.iter().map(|(_, s)| s.stats().frames_pushed).collect()
        };
        let mut c = self.engine.lock();
        if let Some(e) = &c.error {
            return Err(FlushError::Failed(e.clone()));
        }
        if c.closing || c.finished {
            return Err(FlushError::Closed);
        }
        c.flush_requested += 1;
        let generation = c.flush_requested;
        c.flush_targets.push((generation, targets));
        drop(c);
        self.engine.poke();
        let mut c = self.engine.lock();
        while c.flush_done < generation && c.error.is_none() && !c.finished {
            c = self.engine.changed.wait(c).unwrap_or_else(|p| p.into_inner());
        }
        match &c.error {
            Some(e) => Err(FlushError::Failed(e.clone())),
            None => Ok(()),
        }
    }

    /// The writer's error, if it has failed.
    pub fn error(&self) -> Option<WriterError> {
        self.engine.lock().error.clone()
    }

    /// Highest sequence number of stream `id` known to be on stable storage.
    pub fn durable_seq(&self, stream: u16) -> Option<u64> {
        self.engine
            .lock()
            .progress
            .get(stream as usize)
            .and_then(|p| p.durable_seq)
    }

    /// A snapshot of what has been written so far.
    pub fn stats(&self) -> WriterReport {
        self.report()
    }

    fn report(&self) -> WriterReport {
        let streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let c = self.engine.lock();
        let mut r = WriterReport {
            stored_bytes: c.stored_bytes,
            frames_compressed: c.frames_compressed,
            frames_stored_raw: c.frames_stored_raw,
            compression_ratio: if c.compressed_stored_bytes > 0 {
                c.compressed_raw_bytes as f64 / c.compressed_stored_bytes as f64
            } else {
                1.0
            },
            writes: c.writes,
            syncs: c.syncs,
            write_latency: c
                .write_latency
                .as_ref()
                .map(LatencySummary::from_histogram)
                .unwrap_or_default(),
            segments: c.segments.clone(),
            seconds: self.started.elapsed().as_secs_f64(),
            error: c.error.as_ref().map(|e| e.to_string()),
            ..Default::default()
        };
        for (i, (def, shared)) in streams.iter().enumerate() {
            let p = c.progress.get(i).cloned().unwrap_or_default();
            let q = shared.stats();
            let s = StreamReport {
                id: def.id,
                name: def.name.clone(),
                frames_written: p.frames_written,
                bytes_written: p.bytes_written,
                frames_dropped_newest: q.frames_dropped_newest,
                frames_dropped_oldest: q.frames_dropped_oldest,
                // Once the writer thread has stopped, frames still queued (a push that
                // raced the failure or the close) can never be written: they failed.
                frames_failed: p.frames_failed
                    + q.frames_discarded
                    + if c.finished { q.frames_queued } else { 0 },
                durable_seq: p.durable_seq,
                last_seq: p.last_seq,
                queue: q,
            };
            r.frames_written += s.frames_written;
            r.bytes_written += s.bytes_written;
            r.frames_dropped_newest += s.frames_dropped_newest;
            r.frames_dropped_oldest += s.frames_dropped_oldest;
            r.frames_failed += s.frames_failed;
            r.streams.push(s);
        }
        r
    }

    /// Ends every stream, waits until everything accepted is written, writes the
    /// trailer, syncs, stops the threads and reports. Frames still being pushed while
    /// `close` runs may be refused (`Closed`) or counted as failed — never lost
    /// silently. Idempotent: a second call (from any thread) returns the first call's
    /// result, and dropping the writer closes it.
    pub fn close(&self) -> Result<WriterReport, CloseError> {
        let mut closed = self.closed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = closed.as_ref() {
            return r.clone();
        }
        let r = self.shutdown();
        *closed = Some(r.clone());
        r
    }

    /// Whether `close` has completed.
    pub fn is_closed(&self) -> bool {
        self.closed.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    fn shutdown(&self) -> Result<WriterReport, CloseError> {
        {
            let mut c = self.engine.lock();
            c.closing = true;
        }
        for (_, s) in self.streams.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            s.close_producers();
        }
        self.engine.poke();
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle
            && let Err(panic) = h.join()
        {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let mut c = self.engine.lock();
            if c.error.is_none() {
                c.error = Some(WriterError::Panicked(msg));
            }
        }
        let report = self.report();
        match self.engine.lock().error.clone() {
            Some(error) => Err(CloseError {
                error,
                report: Box::new(report),
            }),
            None => Ok(report),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
