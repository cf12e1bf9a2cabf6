//! `streamq.Writer`: frames from any number of streams, each with its own ring and
//! overflow policy (each stream's producing side is a `Producer`), stored by the
//! engine's writer thread(s) in one of three sinks: a capture file (the default), a
//! directory with one file per frame, or a Python callable (`sink=`).
//!
//! The rules live in the engine: unique stream names, options a sink does not use,
//! ranges, the close report kept by an idempotent `close`. This file maps Python
//! arguments onto the engine's configuration (`options.rs`), its callbacks onto Python
//! callables (`callbacks.rs`), and its errors onto exceptions.

// `close()` results carry the engine's CloseError (a report inside), by value as the
// engine returns it.
#![allow(clippy::result_large_err)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use streamq::writer::{AddStreamError, CloseError, WriterReport};
use streamq::{OverflowPolicy, StreamConfig, WriterConfig};

use crate::callbacks::{self, SHUTTING_DOWN, SinkException, check_not_in_callback, in_callback, writer_err};
use crate::errors;
use crate::options::{self, QueueArgs, QueueSettings, WriterArgs};
use crate::producer::{Handle, Producer, StreamPart};
use crate::stats::Report;

/// Default ring budget of each stream.
pub const DEFAULT_STREAM_CAPACITY: usize = 256 << 20;
/// Name of the default stream (`Writer.default_stream`, which `Writer.push` uses).
pub const DEFAULT_STREAM: &str = "frames";

/// Writers not yet dropped, closed at interpreter exit.
static LIVE: Mutex<Vec<Weak<WriterShared>>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The engine writer and what its streams need of it; shared by the `Writer` object and
/// its streams' producers (a stream keeps its writer alive).
pub struct WriterShared {
    /// Present until dropped.
    writer: Option<streamq::Writer>,
    /// The exception a callable sink raised.
    sink_exc: SinkException,
    /// The capture file or directory (None for a callable sink).
    path: Option<PathBuf>,
    /// "capture_file", "directory" or "callback".
    sink: &'static str,
    /// The configuration as the engine describes it.
    options: Vec<(&'static str, String)>,
}

impl WriterShared {
    pub fn writer(&self) -> &streamq::Writer {
        self.writer
            .as_ref()
            .expect("the engine writer lives as long as WriterShared")
    }

    /// The exception a push sees once the writer failed (`PushError::Failed`).
    pub fn failure(&self, py: Python<'_>) -> PyErr {
        match py.detach(|| self.writer().error()) {
            Some(e) => writer_err(py, &e, &self.sink_exc),
            None => errors::closed(py, "writer is closed"),
        }
    }

    /// A close result as the report or the exception (with `.report`).
    fn close_result(&self, py: Python<'_>, r: Result<WriterReport, CloseError>) -> PyResult<Py<Report>> {
        match r {
            Ok(r) => Report::new(py, &r),
            Err(CloseError { error, report }) => {
                let err = writer_err(py, &error, &self.sink_exc);
                err.value(py).setattr("report", Report::new(py, &report)?)?;
                Err(err)
            }
        }
    }
}

impl Drop for WriterShared {
    fn drop(&mut self) {
        let Some(w) = self.writer.take() else { return };
        if in_callback() {
            // The last reference went away inside a callback, on the writer thread:
            // closing here would wait for this very thread. Close it from another.
            let _ = std::thread::Builder::new()
                .name("streamq-close".into())
                .spawn(move || drop(w));
        } else if SHUTTING_DOWN.load(std::sync::atomic::Ordering::Acquire) {
            drop(w);
        } else {
            // Closing waits for the writer thread, which may need the GIL for a callback.
            Python::attach(|py| py.detach(move || drop(w)));
        }
    }
}

/// Where a Writer's frames go.
enum Sink {
    CaptureFile,
    Directory,
    Callable(Py<PyAny>),
}

fn parse_sink(v: Option<&Bound<'_, PyAny>>) -> PyResult<Sink> {
    let Some(v) = v.filter(|v| !v.is_none()) else {
        return Ok(Sink::CaptureFile);
    };
    if let Ok(s) = v.cast::<PyString>() {
        return match s.to_str()? {
            "capture_file" => Ok(Sink::CaptureFile),
            "directory" => Ok(Sink::Directory),
            other => Err(PyValueError::new_err(format!(
                "unknown sink {other:?}: expected \"capture_file\", \"directory\" or a callable"
            ))),
        };
    }
    if v.is_callable() {
        return Ok(Sink::Callable(v.clone().unbind()));
    }
    Err(PyTypeError::new_err(format!(
        "sink must be \"capture_file\", \"directory\" or a callable taking a Frame or a GapInfo, not {}",
        v.get_type().name()?
    )))
}

/// A capture writer: frames pushed from Python are stored by the engine's writer thread
/// — by default in one capture file (or a series of segment files), with optional zstd
/// compression on a pool of workers, coalesced writes and a chosen fsync cadence.
///
/// `sink` chooses where frames go:
///
/// * `"capture_file"` (default, also None): the capture file `path`.
/// * `"directory"`: one file per frame under the directory `path` (`frame-000001.raw`;
///   streams after the first in a sub-directory named after them; drops listed in
///   `gaps.txt`), `io_workers` files written at once.
/// * a callable (then no `path`): called on the writer thread, in order, with each frame
///   (a `Frame`: `stream`, `stream_id`, `seq`, `timestamp`, `host_time`, and `data` as
///   `bytes`) and each run of frames dropped by a policy (a `GapInfo`, before the frames
///   that follow it). The time it takes is the write: a slow sink fills the rings and the
///   overflow policy applies. Its return value is ignored; an exception it raises fails
///   the writer like a disk error (WriterError, with the exception as `__cause__`).
///
/// Options use the engine's names and text (see `docs/OPTIONS.md`): `compression`
/// ("none", "zstd" = level 1, "zstd:3"), `compress_workers`, `raw_when_behind`,
/// `io_workers`, `writes_in_flight`, `max_write_bytes`, `max_write_rate` (bytes/s),
/// `fsync` ("close", "always", "every:64MiB", "every:20ms"; or an int of bytes, a float
/// of seconds), `preallocate`, `direct_io`, `segment_bytes`, `segment_duration`,
/// `index_interval`, `max_streams`, `linger`, `metadata`. Sizes are ints (bytes) or text
/// ("256MiB"), durations seconds or text ("10s"). Options the sink does not use raise
/// the engine's ValueError. `capacity` and `policy` are the default of each stream.
/// `writer.options` shows the effective configuration. Deprecated aliases (with a
/// DeprecationWarning): `compress` (compression), `workers` (compress_workers),
/// `segment_size` (segment_bytes), `segment_seconds` (segment_duration).
///
/// `default_stream` is a stream named "frames" (created on first use), whose `Producer`
/// methods the Python `streamq.Writer` forwards (`w.push(frame)`);
/// `add_stream(name, ...)` adds more, each with its own ring budget and policy, and
/// returns its `Producer`. Every frame accepted is written, dropped by a policy (counted,
/// with a gap record in the file) or reported as failed: `close()` returns a Report
/// saying which. A writer error (disk full, an exception in the sink ...) is raised by
/// the next push, flush or close, and passed to `on_error`. `on_durable(stream_id, seq)`
/// is called after each fsync with the highest sequence number of each stream now
/// durable. Use it as a context manager to close it.
#[pyclass(frozen, subclass, module = "streamq._streamq", name = "Writer")]
pub struct Writer {
    shared: Arc<WriterShared>,
    /// The streams' producers (in the order added).
    streams: Mutex<Vec<Arc<Handle>>>,
    /// Their Python objects, so `streams` gives back the objects `add_stream` returned.
    /// Only touched with the GIL held.
    objects: Mutex<Vec<Py<Producer>>>,
    /// Serialises creation of the default stream.
    default_lock: Mutex<()>,
    default: Mutex<Option<Arc<Handle>>>,
    /// Each stream's default ring budget and policy.
    stream_capacity: usize,
    stream_policy: OverflowPolicy,
}

impl Writer {
    /// Adds a stream (no GIL needed: call with it released).
    fn add(
        &self,
        name: String,
        media_type: String,
        settings: QueueSettings,
        metadata: Vec<(String, String)>,
    ) -> Result<Arc<Handle>, AddStreamError> {
        let mut config =
            StreamConfig::new(name.clone(), media_type.clone()).queue_config(settings.config.clone());
        for (k, v) in &metadata {
            config = config.metadata(k.clone(), v.clone());
        }
        let described = config.describe();
        let producer = self.shared.writer().add_stream(config)?;
        let id = producer
            .stream_id()
            .expect("a writer stream's producer has a stream id");
        let handle = Arc::new(Handle::new(
            producer.into_shared(),
            &settings,
            described,
            Some(StreamPart {
                id,
                name,
                media_type,
                metadata,
                writer: Arc::clone(&self.shared),
            }),
        ));
        lock(&self.streams).push(Arc::clone(&handle));
        Ok(handle)
    }

    fn add_error(&self, py: Python<'_>, e: &AddStreamError) -> PyErr {
        errors::add_stream(py, e, |w| writer_err(py, w, &self.shared.sink_exc))
    }

    fn default_stream_handle(&self, py: Python<'_>) -> PyResult<Arc<Handle>> {
        if let Some(h) = lock(&self.default).as_ref() {
            return Ok(Arc::clone(h));
        }
        let settings = QueueArgs::default().settings(self.stream_capacity, self.stream_policy)?;
        let r = py.detach(|| {
            let _creating = lock(&self.default_lock);
            if let Some(h) = lock(&self.default).as_ref() {
                return Ok(Arc::clone(h));
            }
            let h = self.add(
                DEFAULT_STREAM.to_string(),
                "application/octet-stream".to_string(),
                settings,
                Vec::new(),
            )?;
            *lock(&self.default) = Some(Arc::clone(&h));
            Ok(h)
        });
        r.map_err(|e| self.add_error(py, &e))
    }

    /// The Python object of a stream's producer (made once, with the GIL).
    fn object(&self, py: Python<'_>, handle: &Arc<Handle>) -> PyResult<Py<Producer>> {
        let mut objects = lock(&self.objects);
        if let Some(o) = objects.iter().find(|o| Arc::ptr_eq(&o.get().handle, handle)) {
            return Ok(o.clone_ref(py));
        }
        let o = Py::new(
            py,
            Producer {
                handle: Arc::clone(handle),
            },
        )?;
        objects.push(o.clone_ref(py));
        Ok(o)
    }

    fn handles(&self) -> Vec<Arc<Handle>> {
        let mut v = lock(&self.streams).clone();
        v.sort_by_key(|h| h.stream.as_ref().map_or(0, |s| s.id));
        v
    }

    /// Moves every stream producer's pending latency samples into its queue's stats (they
    /// are merged every few thousand pushes otherwise). Refuses if this thread holds a
    /// reservation on one of the streams (taking its lock would deadlock).
    fn flush_latency(&self, py: Python<'_>) -> PyResult<()> {
        let handles = self.handles();
        for h in &handles {
            h.check_reentry()?;
        }
        py.detach(|| {
            for h in &handles {
                let _ = h.producer.stats();
            }
        });
        Ok(())
    }
}

#[pymethods]
impl Writer {
    #[new]
    #[pyo3(signature = (
        path = None, *, sink = None, compression = None, compress_workers = None,
        raw_when_behind = None, io_workers = None, writes_in_flight = None, max_write_bytes = None,
        max_write_rate = None, fsync = None, preallocate = None, direct_io = None,
        segment_bytes = None, segment_duration = None, index_interval = None, max_streams = None,
        linger = None, metadata = None, capacity = None, policy = None, on_error = None,
        on_segment = None, on_durable = None,
        compress = None, workers = None, segment_size = None, segment_seconds = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: Option<PathBuf>,
        sink: Option<&Bound<'_, PyAny>>,
        compression: Option<&str>,
        compress_workers: Option<usize>,
        raw_when_behind: Option<bool>,
        io_workers: Option<usize>,
        writes_in_flight: Option<usize>,
        max_write_bytes: Option<&Bound<'_, PyAny>>,
        max_write_rate: Option<&Bound<'_, PyAny>>,
        fsync: Option<&Bound<'_, PyAny>>,
        preallocate: Option<&Bound<'_, PyAny>>,
        direct_io: Option<bool>,
        segment_bytes: Option<&Bound<'_, PyAny>>,
        segment_duration: Option<&Bound<'_, PyAny>>,
        index_interval: Option<&Bound<'_, PyAny>>,
        max_streams: Option<u16>,
        linger: Option<&Bound<'_, PyAny>>,
        metadata: Option<&Bound<'_, PyDict>>,
        capacity: Option<&Bound<'_, PyAny>>,
        policy: Option<&str>,
        on_error: Option<Py<PyAny>>,
        on_segment: Option<Py<PyAny>>,
        on_durable: Option<Py<PyAny>>,
        compress: Option<&str>,
        workers: Option<usize>,
        segment_size: Option<&Bound<'_, PyAny>>,
        segment_seconds: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let compression = options::alias(py, "compression", compression, "compress", compress)?;
        let compress_workers = options::alias(py, "compress_workers", compress_workers, "workers", workers)?;
        let segment_bytes = options::alias(py, "segment_bytes", segment_bytes, "segment_size", segment_size)?;
        let segment_duration = options::alias(
            py,
            "segment_duration",
            segment_duration,
            "segment_seconds",
            segment_seconds,
        )?;
        for (name, cb) in [
            ("on_error", &on_error),
            ("on_segment", &on_segment),
            ("on_durable", &on_durable),
        ] {
            if let Some(cb) = cb
                && !cb.bind(py).is_callable()
            {
                return Err(PyTypeError::new_err(format!("{name} must be callable")));
            }
        }
        // Each stream's defaults (checked now, not at the first add_stream).
        let defaults = QueueArgs {
            capacity,
            policy,
            ..QueueArgs::default()
        }
        .settings(DEFAULT_STREAM_CAPACITY, OverflowPolicy::Block)?;
        let metadata = options::metadata_pairs(metadata)?;
        let sink = parse_sink(sink)?;
        let kind = match sink {
            Sink::CaptureFile => "capture_file",
            Sink::Directory => "directory",
            Sink::Callable(_) => "callback",
        };
        let sink_exc = SinkException::default();
        let config = match (sink, &path) {
            (Sink::CaptureFile, Some(p)) => WriterConfig::capture_file(p),
            (Sink::Directory, Some(p)) => WriterConfig::directory(p),
            (Sink::CaptureFile | Sink::Directory, None) => {
                return Err(PyTypeError::new_err(format!(
                    "Writer() needs a path for the {kind} sink"
                )));
            }
            (Sink::Callable(_), Some(_)) => {
                return Err(PyValueError::new_err(
                    "a callable sink takes no path (frames go to the callable)",
                ));
            }
            (Sink::Callable(f), None) => {
                WriterConfig::callback(callbacks::python_sink(f, Arc::clone(&sink_exc)))
            }
        };
        let mut config = WriterArgs {
            compression,
            compress_workers,
            raw_when_behind,
            io_workers,
            writes_in_flight,
            max_write_bytes,
            max_write_rate,
            fsync,
            preallocate,
            direct_io,
            segment_bytes,
            segment_duration,
            index_interval,
            max_streams,
            linger,
            metadata,
        }
        .apply(config)?;
        if let Some(cb) = on_error {
            config = config.on_error(callbacks::on_error(cb, Arc::clone(&sink_exc)));
        }
        if let Some(cb) = on_segment {
            config = config.on_segment(callbacks::on_segment(cb));
        }
        if let Some(cb) = on_durable {
            config = config.on_durable(callbacks::on_durable(cb));
        }
        let described = config.describe();
        let writer = py
            .detach(|| streamq::Writer::start(config))
            .map_err(|e| errors::start(py, &e))?;
        let shared = Arc::new(WriterShared {
            writer: Some(writer),
            sink_exc,
            path,
            sink: kind,
            options: described,
        });
        {
            let mut live = lock(&LIVE);
            live.retain(|w| w.strong_count() > 0);
            live.push(Arc::downgrade(&shared));
        }
        Ok(Writer {
            shared,
            streams: Mutex::new(Vec::new()),
            objects: Mutex::new(Vec::new()),
            default_lock: Mutex::new(()),
            default: Mutex::new(None),
            stream_capacity: defaults.capacity,
            stream_policy: defaults.policy,
        })
    }

    /// The default stream "frames" (application/octet-stream, the writer's capacity and
    /// policy), created on first use: a `Producer` like those `add_stream` returns.
    /// `writer.push(...)`, `try_push`, `reserve`, `try_reserve` and the deprecated `write`
    /// are this producer's (forwarded by the Python `streamq.Writer`, as a convenience).
    #[getter]
    fn default_stream(&self, py: Python<'_>) -> PyResult<Py<Producer>> {
        check_not_in_callback()?;
        let handle = self.default_stream_handle(py)?;
        self.object(py, &handle)
    }

    /// Adds a stream to the capture (also while recording) and returns its Producer.
    ///
    /// `media_type` describes the encoding ("depth/u16", "color/rgb8", "imu/f32x6" ...);
    /// `metadata` (str -> str, e.g. width, height, units) is stored in the file.
    /// `capacity` (bytes, or text such as "256MiB") and `policy` default to the writer's;
    /// `high_water`, `low_water`, `max_frames`, `block_timeout` and `prefault` are the
    /// stream queue's, as for Queue. Stream names are unique within a writer (ValueError).
    #[pyo3(signature = (
        name, media_type = "application/octet-stream", *, capacity = None, policy = None,
        high_water = None, low_water = None, max_frames = None, block_timeout = None,
        prefault = None, metadata = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn add_stream(
        &self,
        py: Python<'_>,
        name: String,
        media_type: &str,
        capacity: Option<&Bound<'_, PyAny>>,
        policy: Option<&str>,
        high_water: Option<&Bound<'_, PyAny>>,
        low_water: Option<&Bound<'_, PyAny>>,
        max_frames: Option<usize>,
        block_timeout: Option<&Bound<'_, PyAny>>,
        prefault: Option<bool>,
        metadata: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<Producer>> {
        check_not_in_callback()?;
        let settings = QueueArgs {
            capacity,
            policy,
            high_water,
            low_water,
            max_frames,
            block_timeout,
            prefault,
        }
        .settings(self.stream_capacity, self.stream_policy)?;
        let md = options::metadata_pairs(metadata)?;
        let media_type = media_type.to_string();
        let handle = py
            .detach(|| self.add(name, media_type, settings, md))
            .map_err(|e| self.add_error(py, &e))?;
        self.object(py, &handle)
    }

    /// The streams' producers, in stream id order (the objects add_stream returned).
    #[getter]
    fn streams(&self, py: Python<'_>) -> PyResult<Vec<Py<Producer>>> {
        self.handles().iter().map(|h| self.object(py, h)).collect()
    }

    /// Blocks until every frame pushed so far (all streams) is in the file — and synced,
    /// unless fsync is "close" — or dropped by policy. Raises the writer's error if it
    /// failed, ClosedError after close().
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        check_not_in_callback()?;
        let shared = &self.shared;
        py.detach(|| shared.writer().flush())
            .map_err(|e| errors::flush(py, &e, |w| writer_err(py, w, &shared.sink_exc)))
    }

    /// Ends every stream, waits until everything accepted is written (trailer, index,
    /// fsync), stops the writer threads and returns the Report. If the writer failed,
    /// raises WriterError (WriterIOError for I/O errors) whose `.report` says what was
    /// written, dropped and lost. Idempotent: later calls give the same result.
    fn close(&self, py: Python<'_>) -> PyResult<Py<Report>> {
        check_not_in_callback()?;
        self.flush_latency(py)?;
        let shared = &self.shared;
        let r = py.detach(|| shared.writer().close());
        shared.close_result(py, r)
    }

    /// Whether close() has run.
    #[getter]
    fn closed(&self) -> bool {
        self.shared.writer().is_closed()
    }

    /// A Report of what has been written so far (the final one after close()).
    #[getter]
    fn stats(&self, py: Python<'_>) -> PyResult<Py<Report>> {
        check_not_in_callback()?;
        self.flush_latency(py)?;
        let w = self.shared.writer();
        let r = py.detach(|| {
            if w.is_closed() {
                // Closing again returns the first close's result.
                match w.close() {
                    Ok(r) => r,
                    Err(e) => *e.report,
                }
            } else {
                w.stats()
            }
        });
        Report::new(py, &r)
    }

    /// Highest sequence number of the default stream ("frames", or the only stream)
    /// known to be on stable storage; None before the first fsync.
    #[getter]
    fn durable_seq(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        check_not_in_callback()?;
        let streams = self.handles();
        let default = lock(&self.default).clone();
        let s = default.or_else(|| {
            if streams.len() == 1 {
                streams.first().cloned()
            } else {
                None
            }
        });
        match s {
            Some(h) => {
                let id = h.stream.as_ref().map_or(0, |s| s.id);
                Ok(py.detach(|| self.shared.writer().durable_seq(id)))
            }
            None if streams.is_empty() => Ok(None),
            None => Err(PyValueError::new_err(
                "several streams and no default one: use Writer.durable_seqs or Producer.durable_seq",
            )),
        }
    }

    /// Durable sequence number of every stream, by name.
    #[getter]
    fn durable_seqs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        check_not_in_callback()?;
        let d = PyDict::new(py);
        for h in self.handles() {
            if let Some(s) = &h.stream {
                let seq = py.detach(|| self.shared.writer().durable_seq(s.id));
                d.set_item(&s.name, seq)?;
            }
        }
        Ok(d)
    }

    /// The writer's error as an exception object, or None.
    #[getter]
    fn error(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        check_not_in_callback()?;
        let e = py.detach(|| self.shared.writer().error());
        Ok(e.map(|e| {
            writer_err(py, &e, &self.shared.sink_exc)
                .into_value(py)
                .into_any()
        }))
    }

    /// The capture file's (or the directory sink's) path; None for a callable sink.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.shared.path.clone()
    }

    /// Where frames go: "capture_file", "directory" or "callback".
    #[getter]
    fn sink(&self) -> &'static str {
        self.shared.sink
    }

    /// The effective configuration: option name -> canonical text, as the engine
    /// describes it (e.g. {"compression": "zstd:3", "fsync": "every:64MiB", ...}).
    #[getter]
    fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        options::describe(py, &self.shared.options)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes the writer; its error, if any, propagates.
    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let target = match &self.shared.path {
            Some(p) => format!("{:?}", p.display().to_string()),
            None => "(callable)".to_string(),
        };
        format!(
            "<streamq.Writer {} {}{}>",
            self.shared.sink,
            target,
            if self.closed() { " closed" } else { "" }
        )
    }
}

/// Closes every open writer (registered with atexit at import), then stops calling
/// Python callbacks: the interpreter is going away.
pub fn shutdown(py: Python<'_>) {
    let live: Vec<Arc<WriterShared>> = lock(&LIVE).iter().filter_map(Weak::upgrade).collect();
    py.detach(|| {
        for w in &live {
            let _ = w.writer().close();
        }
    });
    SHUTTING_DOWN.store(true, std::sync::atomic::Ordering::Release);
    drop(live);
}
