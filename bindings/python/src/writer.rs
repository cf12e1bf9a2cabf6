//! `streamq.Writer` and its `Stream`s: a capture file written on the engine's writer
//! thread(s) from any number of streams, each with its own ring and overflow policy.
//!
//! ## Callbacks and locks
//! `on_error` and `on_segment` run on the writer thread, which takes the GIL for them
//! (`Python::attach`). Every method here that waits for the writer (or takes a lock the
//! writer thread may hold while calling back) releases the GIL first, so the writer
//! thread can always get it. Calling back into the writer from inside a callback would
//! wait for the writer thread itself, so those calls raise RuntimeError instead. An
//! exception raised by a callback is reported through `sys.unraisablehook` and does not
//! stop the writer. At interpreter exit (atexit) every open writer is closed, then
//! callbacks are no longer called.

// `close()` results carry the engine's CloseError (a report inside), by value as the
// engine returns it.
#![allow(clippy::result_large_err)]

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};

use streamq::writer::{CloseError, SegmentInfo as RsSegment, WriterError, WriterReport};
use streamq::{
    FsyncPolicy, OverflowPolicy, QueueConfig, QueueStats as RsQueueStats, StreamConfig, WriterConfig,
};

use crate::errors;
use crate::producer::{BLOCK_SLICE, ProducerHandle, Reservation, parse_policy, policy_name};
use crate::stats::{QueueStats, Report, SegmentInfo};

/// Default ring budget of each stream.
pub const DEFAULT_STREAM_CAPACITY: usize = 256 << 20;
/// Name of the stream `Writer.write` uses.
pub const DEFAULT_STREAM: &str = "frames";

static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
static LIVE: Mutex<Vec<Weak<WriterInner>>> = Mutex::new(Vec::new());

thread_local! {
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

fn check_not_in_callback() -> PyResult<()> {
    if IN_CALLBACK.with(Cell::get) {
        return Err(PyRuntimeError::new_err(
            "cannot use the writer from inside its own on_error / on_segment callback \
             (it runs on the writer thread, which would wait for itself)",
        ));
    }
    Ok(())
}

/// Runs `f` with the GIL on the writer thread, reporting its exception as unraisable.
fn call_back(cb: &Py<PyAny>, f: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>>) {
    if SHUTTING_DOWN.load(Ordering::Acquire) {
        return;
    }
    Python::attach(|py| {
        IN_CALLBACK.with(|c| c.set(true));
        let r = f(py).and_then(|arg| cb.call1(py, (arg,)));
        IN_CALLBACK.with(|c| c.set(false));
        if let Err(e) = r {
            e.write_unraisable(py, Some(cb.bind(py)));
        }
    });
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the bindings keep about one engine writer; shared by the Writer object and its
/// streams (a stream keeps its writer alive).
pub struct WriterInner {
    writer: RwLock<Option<streamq::Writer>>,
    /// close()'s result, once closed.
    outcome: Mutex<Option<Result<WriterReport, CloseError>>>,
    /// Producer handles by stream id.
    handles: Mutex<Vec<Arc<ProducerHandle>>>,
    /// Streams by id (for `Writer.streams`).
    streams: Mutex<Vec<Arc<StreamCore>>>,
    /// Serialises stream creation (ids are handed out in order).
    adding: Mutex<()>,
    /// Serialises creation of the default stream.
    default_lock: Mutex<()>,
    default: OnceLock<Arc<StreamCore>>,
    path: PathBuf,
    capacity: usize,
    policy: OverflowPolicy,
}

impl WriterInner {
    fn error(&self) -> Option<WriterError> {
        if let Some(w) = self.writer.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return w.error();
        }
        match lock(&self.outcome).as_ref() {
            Some(Err(e)) => Some(e.error.clone()),
            _ => None,
        }
    }

    /// Closes the engine writer (once); later calls return the same outcome.
    fn close(&self) -> Result<WriterReport, CloseError> {
        let taken = self.writer.write().unwrap_or_else(|p| p.into_inner()).take();
        let mut outcome = lock(&self.outcome);
        if let Some(w) = taken {
            *outcome = Some(w.close());
        }
        outcome.clone().unwrap_or_else(|| {
            Err(CloseError {
                error: WriterError::Closed,
                report: Default::default(),
            })
        })
    }

    /// Moves every stream producer's pending latency samples into its queue's stats (they
    /// are merged every few thousand pushes otherwise). Refuses if this thread holds a
    /// reservation on one of the streams (taking its lock would deadlock).
    fn flush_latency(&self, py: Python<'_>) -> PyResult<()> {
        let handles = py.detach(|| lock(&self.handles).clone());
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

    fn adjust(&self, id: u16, s: RsQueueStats) -> RsQueueStats {
        match lock(&self.handles).get(id as usize) {
            Some(h) => h.adjust(s),
            None => s,
        }
    }

    fn report(self: &Arc<Self>, py: Python<'_>, r: &WriterReport) -> PyResult<Py<Report>> {
        Report::new(py, r, |id, s| self.adjust(id, s))
    }

    fn add_stream(
        self: &Arc<Self>,
        name: String,
        media_type: String,
        capacity: usize,
        policy: OverflowPolicy,
        metadata: Vec<(String, String)>,
    ) -> Result<Arc<StreamCore>, PyErrBuilder> {
        let _adding = lock(&self.adding);
        if lock(&self.streams).iter().any(|s| s.name == name) {
            return Err(PyErrBuilder::Value(format!(
                "the capture already has a stream named {name:?}"
            )));
        }
        let queue = QueueConfig::new(capacity)
            .policy(policy)
            .block_timeout(Some(BLOCK_SLICE));
        let mut config = StreamConfig::new(name.clone(), media_type.clone()).queue_config(queue);
        for (k, v) in &metadata {
            config = config.metadata(k.clone(), v.clone());
        }
        let guard = self.writer.read().unwrap_or_else(|p| p.into_inner());
        let w = guard.as_ref().ok_or(PyErrBuilder::Closed)?;
        let producer = w.add_stream(config).map_err(PyErrBuilder::Writer)?;
        drop(guard);
        let id = producer.id();
        let weak = Arc::downgrade(self);
        let failure = Box::new(move |py: Python<'_>| match weak.upgrade() {
            Some(inner) => match py.detach(|| inner.error()) {
                Some(e) => errors::writer(py, &e),
                None => errors::writer(py, &WriterError::Closed),
            },
            None => errors::closed(py, "writer is closed"),
        });
        let handle = Arc::new(ProducerHandle::new(
            producer.into_shared(),
            policy,
            "stream",
            Some(failure),
        ));
        {
            let mut handles = lock(&self.handles);
            // Ids are dense and handed out in order (stream creation is serialised).
            let i = id as usize;
            if handles.len() > i {
                handles[i] = Arc::clone(&handle);
            } else {
                while handles.len() < i {
                    handles.push(Arc::clone(&handle));
                }
                handles.push(Arc::clone(&handle));
            }
        }
        let core = Arc::new(StreamCore {
            handle,
            id,
            name,
            media_type,
            metadata,
            inner: Arc::clone(self),
        });
        lock(&self.streams).push(Arc::clone(&core));
        Ok(core)
    }
}

impl Drop for WriterInner {
    fn drop(&mut self) {
        let w = self.writer.get_mut().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = w {
            if IN_CALLBACK.with(Cell::get) {
                // The last reference went away inside a callback, on the writer thread:
                // closing here would wait for this very thread. Close it from another.
                let _ = std::thread::Builder::new()
                    .name("streamq-close".into())
                    .spawn(move || drop(w));
            } else if SHUTTING_DOWN.load(Ordering::Acquire) {
                drop(w);
            } else {
                // Closing waits for the writer thread, which may need the GIL for a callback.
                Python::attach(|py| py.detach(move || drop(w)));
            }
        }
    }
}

/// An error built without the GIL, raised with it.
pub enum PyErrBuilder {
    Value(String),
    Closed,
    Writer(WriterError),
}

impl PyErrBuilder {
    fn into_err(self, py: Python<'_>) -> PyErr {
        match self {
            PyErrBuilder::Value(m) => PyValueError::new_err(m),
            PyErrBuilder::Closed => errors::closed(py, "writer is closed"),
            PyErrBuilder::Writer(e) => errors::writer(py, &e),
        }
    }
}

/// The Rust side of one stream.
pub struct StreamCore {
    handle: Arc<ProducerHandle>,
    id: u16,
    name: String,
    media_type: String,
    metadata: Vec<(String, String)>,
    inner: Arc<WriterInner>,
}

fn parse_compress(c: Option<&str>) -> PyResult<Option<i32>> {
    let Some(c) = c else { return Ok(None) };
    let c = c.trim().to_ascii_lowercase();
    if c.is_empty() || c == "none" {
        return Ok(None);
    }
    if c == "zstd" {
        return Ok(Some(3));
    }
    if let Some(level) = c.strip_prefix("zstd:") {
        let level: i32 = level.parse().map_err(|_| {
            PyValueError::new_err(format!("bad zstd level in {c:?}: expected zstd:1 .. zstd:22"))
        })?;
        if !(1..=22).contains(&level) {
            return Err(PyValueError::new_err(format!(
                "zstd level must be 1..22, not {level}"
            )));
        }
        return Ok(Some(level));
    }
    Err(PyValueError::new_err(format!(
        "unknown compression {c:?}: expected None, \"zstd\" or \"zstd:LEVEL\""
    )))
}

fn parse_fsync(v: &Bound<'_, PyAny>) -> PyResult<FsyncPolicy> {
    if let Ok(s) = v.cast::<PyString>() {
        return match s.to_str()?.to_ascii_lowercase().as_str() {
            "close" | "on_close" => Ok(FsyncPolicy::OnClose),
            "always" => Ok(FsyncPolicy::Always),
            other => Err(PyValueError::new_err(format!(
                "unknown fsync policy {other:?}: expected \"close\", \"always\", an int (bytes) or a float (seconds)"
            ))),
        };
    }
    if v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(
            "fsync must be \"close\", \"always\", an int or a float, not a bool",
        ));
    }
    if v.is_instance_of::<PyInt>() {
        let n: u64 = v.extract()?;
        if n == 0 {
            return Err(PyValueError::new_err("fsync byte interval must be positive"));
        }
        return Ok(FsyncPolicy::EveryBytes(n));
    }
    if v.is_instance_of::<PyFloat>() {
        let s: f64 = v.extract()?;
        if !(s > 0.0 && s.is_finite()) {
            return Err(PyValueError::new_err(
                "fsync interval must be a positive number of seconds",
            ));
        }
        return Ok(FsyncPolicy::Every(Duration::from_secs_f64(s)));
    }
    Err(PyTypeError::new_err(
        "fsync must be \"close\", \"always\", an int (bytes) or a float (seconds)",
    ))
}

fn metadata_pairs(md: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    if let Some(md) = md {
        for (k, v) in md.iter() {
            out.push((k.str()?.to_string(), v.str()?.to_string()));
        }
    }
    Ok(out)
}

/// A capture writer: frames pushed from Python are written to one capture file (or a
/// series of segment files) by the engine's writer thread, with optional zstd
/// compression on a pool of workers, coalesced writes and a chosen fsync cadence.
///
/// `write(frame)` goes to a default stream named "frames" (created on first use);
/// `add_stream(name, ...)` adds more, each with its own ring budget and policy. Every
/// frame accepted is written, dropped by a policy (counted, with a gap record in the
/// file) or reported as failed: `close()` returns a Report saying which. A writer error
/// (disk full ...) is raised by the next write, flush or close, and passed to
/// `on_error`. Use it as a context manager to close it.
#[pyclass(frozen, subclass, module = "streamq._streamq", name = "Writer")]
pub struct Writer {
    inner: Arc<WriterInner>,
}

impl Writer {
    fn default_stream(&self, py: Python<'_>) -> PyResult<Arc<StreamCore>> {
        if let Some(s) = self.inner.default.get() {
            return Ok(Arc::clone(s));
        }
        let inner = &self.inner;
        let r = py.detach(|| {
            let _creating = lock(&inner.default_lock);
            if let Some(s) = inner.default.get() {
                return Ok(Arc::clone(s));
            }
            let s = inner.add_stream(
                DEFAULT_STREAM.to_string(),
                "application/octet-stream".to_string(),
                inner.capacity,
                inner.policy,
                Vec::new(),
            )?;
            let _ = inner.default.set(Arc::clone(&s));
            Ok(s)
        });
        r.map_err(|e: PyErrBuilder| e.into_err(py))
    }
}

#[pymethods]
impl Writer {
    #[new]
    #[pyo3(signature = (
        path, compress = None, fsync = None, segment_size = None, segment_seconds = None,
        capacity = DEFAULT_STREAM_CAPACITY, policy = "block", workers = None, metadata = None,
        on_error = None, on_segment = None, preallocate = None, writes_in_flight = None,
        raw_when_behind = true
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        compress: Option<&str>,
        fsync: Option<&Bound<'_, PyAny>>,
        segment_size: Option<u64>,
        segment_seconds: Option<f64>,
        capacity: usize,
        policy: &str,
        workers: Option<usize>,
        metadata: Option<&Bound<'_, PyDict>>,
        on_error: Option<Py<PyAny>>,
        on_segment: Option<Py<PyAny>>,
        preallocate: Option<u64>,
        writes_in_flight: Option<usize>,
        raw_when_behind: bool,
    ) -> PyResult<Self> {
        let policy = parse_policy(policy)?;
        let mut config = WriterConfig::capture_file(&path);
        if let Some(level) = parse_compress(compress)? {
            config = config.zstd(level);
        }
        if let Some(f) = fsync {
            config = config.fsync(parse_fsync(f)?);
        }
        if let Some(b) = segment_size {
            config = config.segment_bytes(b);
        }
        if let Some(s) = segment_seconds {
            if !(s > 0.0 && s.is_finite()) {
                return Err(PyValueError::new_err("segment_seconds must be a positive number"));
            }
            config = config.segment_duration(Duration::from_secs_f64(s));
        }
        if let Some(w) = workers {
            config = config.compress_workers(w);
        }
        if let Some(p) = preallocate {
            config = config.preallocate(p);
        }
        if let Some(n) = writes_in_flight {
            config = config.writes_in_flight(n);
        }
        config = config.raw_when_behind(raw_when_behind);
        for (k, v) in metadata_pairs(metadata)? {
            config = config.metadata(k, v);
        }
        for (name, cb) in [("on_error", &on_error), ("on_segment", &on_segment)] {
            if let Some(cb) = cb
                && !cb.bind(py).is_callable()
            {
                return Err(PyTypeError::new_err(format!("{name} must be callable")));
            }
        }
        if let Some(cb) = on_error {
            config = config.on_error(move |e: &WriterError| {
                call_back(&cb, |py| Ok(errors::writer(py, e).into_value(py).into_any()));
            });
        }
        if let Some(cb) = on_segment {
            config = config.on_segment(move |s: &RsSegment| {
                call_back(&cb, |py| Ok(SegmentInfo::new(py, s)?.into_any()));
            });
        }
        let writer = py
            .detach(|| streamq::Writer::start(config))
            .map_err(|e| errors::writer(py, &e))?;
        let inner = Arc::new(WriterInner {
            writer: RwLock::new(Some(writer)),
            outcome: Mutex::new(None),
            handles: Mutex::new(Vec::new()),
            streams: Mutex::new(Vec::new()),
            adding: Mutex::new(()),
            default_lock: Mutex::new(()),
            default: OnceLock::new(),
            path,
            capacity,
            policy,
        });
        {
            let mut live = lock(&LIVE);
            live.retain(|w| w.strong_count() > 0);
            live.push(Arc::downgrade(&inner));
        }
        Ok(Writer { inner })
    }

    /// Writes one frame (any C-contiguous buffer) to the default stream "frames".
    ///
    /// Returns its sequence number, or None if the stream's overflow policy dropped it
    /// (the drop is counted and recorded in the file as a gap). With policy "block" the
    /// call waits while the ring is full (the GIL released; Ctrl-C interrupts; `timeout`
    /// seconds bound the wait). `timestamp`: device time in ns. Raises the writer's
    /// error (WriterError / WriterIOError) once it has failed, ClosedError after close().
    #[pyo3(signature = (frame, timestamp = None, timeout = None))]
    fn write(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        timestamp: Option<u64>,
        timeout: Option<f64>,
    ) -> PyResult<Option<u64>> {
        check_not_in_callback()?;
        let s = self.default_stream(py)?;
        s.handle.push(py, frame, timeout, timestamp)
    }

    /// Adds a stream to the capture (also while recording) and returns it.
    ///
    /// `media_type` describes the encoding ("depth/u16", "color/rgb8", "imu/f32x6" ...);
    /// `metadata` (str -> str, e.g. width, height, units) is stored in the file.
    /// `capacity` (bytes) and `policy` default to the writer's.
    #[pyo3(signature = (name, media_type = "application/octet-stream", capacity = None, policy = None, metadata = None))]
    fn add_stream(
        &self,
        py: Python<'_>,
        name: String,
        media_type: &str,
        capacity: Option<usize>,
        policy: Option<&str>,
        metadata: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Stream> {
        check_not_in_callback()?;
        if name.is_empty() {
            return Err(PyValueError::new_err("a stream needs a name"));
        }
        let policy = match policy {
            Some(p) => parse_policy(p)?,
            None => self.inner.policy,
        };
        let capacity = capacity.unwrap_or(self.inner.capacity);
        let md = metadata_pairs(metadata)?;
        let inner = &self.inner;
        let media_type = media_type.to_string();
        let core = py
            .detach(|| inner.add_stream(name, media_type, capacity, policy, md))
            .map_err(|e| e.into_err(py))?;
        Ok(Stream { core })
    }

    /// The streams, in id order.
    #[getter]
    fn streams(&self, py: Python<'_>) -> Vec<Stream> {
        let v = py.detach(|| lock(&self.inner.streams).clone());
        v.into_iter().map(|core| Stream { core }).collect()
    }

    /// Blocks until every frame written so far (all streams) is in the file — and synced,
    /// unless fsync is "close" — or dropped by policy. Raises the writer's error if it
    /// failed, ClosedError after close().
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        check_not_in_callback()?;
        let inner = &self.inner;
        let r = py.detach(|| {
            let g = inner.writer.read().unwrap_or_else(|p| p.into_inner());
            g.as_ref().map(|w| w.flush())
        });
        match r {
            None => Err(errors::closed(py, "writer is closed")),
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(errors::writer(py, &e)),
        }
    }

    /// Ends every stream, waits until everything accepted is written (trailer, index,
    /// fsync), stops the writer threads and returns the Report. If the writer failed,
    /// raises WriterError (WriterIOError for I/O errors) whose `.report` says what was
    /// written, dropped and lost. Idempotent: later calls give the same result.
    fn close(&self, py: Python<'_>) -> PyResult<Py<Report>> {
        check_not_in_callback()?;
        let inner = &self.inner;
        inner.flush_latency(py)?;
        match py.detach(|| inner.close()) {
            Ok(r) => inner.report(py, &r),
            Err(CloseError { error, report }) => {
                let err = errors::writer(py, &error);
                let rep = inner.report(py, &report)?;
                err.value(py).setattr("report", rep)?;
                Err(err)
            }
        }
    }

    /// Whether close() has run.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| {
            self.inner
                .writer
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .is_none()
        })
    }

    /// A Report of what has been written so far (the final one after close()).
    #[getter]
    fn stats(&self, py: Python<'_>) -> PyResult<Py<Report>> {
        check_not_in_callback()?;
        let inner = &self.inner;
        inner.flush_latency(py)?;
        let r = py.detach(|| {
            if let Some(w) = inner.writer.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
                return w.stats();
            }
            match lock(&inner.outcome).as_ref() {
                Some(Ok(r)) => r.clone(),
                Some(Err(e)) => WriterReport::clone(&e.report),
                None => WriterReport::default(),
            }
        });
        inner.report(py, &r)
    }

    /// Highest sequence number of the default stream ("frames", or the only stream)
    /// known to be on stable storage; None before the first fsync.
    #[getter]
    fn durable_seq(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        check_not_in_callback()?;
        let streams = py.detach(|| lock(&self.inner.streams).clone());
        let s = self.inner.default.get().cloned().or_else(|| {
            if streams.len() == 1 {
                streams.first().cloned()
            } else {
                None
            }
        });
        match s {
            Some(s) => Stream { core: s }.durable_seq(py),
            None if streams.is_empty() => Ok(None),
            None => Err(PyValueError::new_err(
                "several streams and no default one: use Writer.durable_seqs or Stream.durable_seq",
            )),
        }
    }

    /// Durable sequence number of every stream, by name.
    #[getter]
    fn durable_seqs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        check_not_in_callback()?;
        let d = PyDict::new(py);
        for s in self.streams(py) {
            d.set_item(s.core.name.clone(), s.durable_seq(py)?)?;
        }
        Ok(d)
    }

    /// The writer's error as an exception object, or None.
    #[getter]
    fn error(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        check_not_in_callback()?;
        let e = py.detach(|| self.inner.error());
        Ok(e.map(|e| errors::writer(py, &e).into_value(py).into_any()))
    }

    /// The capture file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path.clone()
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

    fn __repr__(&self, py: Python<'_>) -> String {
        let closed = self.closed(py);
        format!(
            "<streamq.Writer {:?}{}>",
            self.inner.path.display().to_string(),
            if closed { " closed" } else { "" }
        )
    }
}

/// One stream of a Writer: its own ring budget, overflow policy and sequence numbers,
/// feeding the same file. Several threads may write to one stream, and different
/// streams from different threads at once.
#[pyclass(frozen, module = "streamq._streamq", name = "Stream")]
pub struct Stream {
    core: Arc<StreamCore>,
}

#[pymethods]
impl Stream {
    /// Writes one frame; see Writer.write.
    #[pyo3(signature = (frame, timestamp = None, timeout = None))]
    fn write(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        timestamp: Option<u64>,
        timeout: Option<f64>,
    ) -> PyResult<Option<u64>> {
        check_not_in_callback()?;
        self.core.handle.push(py, frame, timeout, timestamp)
    }

    /// Reserves `size` bytes of the stream's ring to fill in place (a camera SDK writes
    /// straight into it); see Reservation.
    #[pyo3(signature = (size, timeout = None, timestamp = None))]
    fn reserve(
        &self,
        py: Python<'_>,
        size: usize,
        timeout: Option<f64>,
        timestamp: Option<u64>,
    ) -> PyResult<Reservation> {
        check_not_in_callback()?;
        ProducerHandle::reserve(&self.core.handle, py, size, timeout, timestamp)
    }

    /// Ends this stream (the writer finishes it once drained); later writes raise
    /// ClosedError.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.core.handle.close(py)
    }

    /// The stream's queue counters (QueueStats).
    #[getter]
    fn stats(&self, py: Python<'_>) -> PyResult<Py<QueueStats>> {
        check_not_in_callback()?;
        let s = self.core.handle.stats(py)?;
        QueueStats::new(py, &s)
    }

    /// Highest sequence number of this stream known to be on stable storage.
    #[getter]
    fn durable_seq(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        check_not_in_callback()?;
        let core = &self.core;
        Ok(py.detach(|| {
            if let Some(w) = core
                .inner
                .writer
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                return w.durable_seq(core.id);
            }
            match lock(&core.inner.outcome).as_ref() {
                Some(Ok(r)) => r.streams.get(core.id as usize).and_then(|s| s.durable_seq),
                Some(Err(e)) => e.report.streams.get(core.id as usize).and_then(|s| s.durable_seq),
                None => None,
            }
        }))
    }

    /// The water-mark descriptor of the stream's ring (see Queue.fileno).
    fn fileno(&self, py: Python<'_>) -> PyResult<i32> {
        self.core
            .handle
            .fd
            .ok_or_else(|| errors::error(py, "no water-mark descriptor on this platform"))
    }

    /// Resets the water-mark descriptor's readiness.
    fn clear_event(&self, py: Python<'_>) -> PyResult<()> {
        self.core.handle.clear_event(py)
    }

    /// Whether the stream's ring is above its high water mark.
    #[getter]
    fn is_above_high_water(&self, py: Python<'_>) -> PyResult<bool> {
        self.core.handle.is_above_high_water(py)
    }

    /// Blocks until the ring is not above high water (True), or `timeout` passes (False).
    #[pyo3(signature = (timeout = None))]
    fn wait_below_low(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        self.core.handle.wait_below_low(py, timeout)
    }

    /// Whether writes would raise ClosedError.
    #[getter]
    fn closed(&self, py: Python<'_>) -> PyResult<bool> {
        self.core.handle.is_closed(py)
    }

    /// Stream id in the capture.
    #[getter]
    fn id(&self) -> u16 {
        self.core.id
    }

    /// Stream name.
    #[getter]
    fn name(&self) -> &str {
        &self.core.name
    }

    /// Media type / encoding.
    #[getter]
    fn media_type(&self) -> &str {
        &self.core.media_type
    }

    /// The stream's metadata.
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.core.metadata {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// The overflow policy's name.
    #[getter]
    fn policy(&self) -> &'static str {
        policy_name(self.core.handle.policy)
    }

    fn __repr__(&self) -> String {
        format!(
            "<streamq.Stream id={} name={:?} media_type={:?} policy={}>",
            self.core.id,
            self.core.name,
            self.core.media_type,
            policy_name(self.core.handle.policy)
        )
    }
}

/// Closes every open writer (registered with atexit at import), then stops calling
/// Python callbacks: the interpreter is going away.
#[pyfunction]
pub fn _shutdown(py: Python<'_>) {
    let live: Vec<Arc<WriterInner>> = lock(&LIVE).iter().filter_map(Weak::upgrade).collect();
    py.detach(|| {
        for w in &live {
            let _ = w.close();
        }
    });
    SHUTTING_DOWN.store(true, Ordering::Release);
    drop(live);
}
