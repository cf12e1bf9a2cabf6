//! `streamq.Writer` and its `Stream`s: frames from any number of streams, each with its
//! own ring and overflow policy, stored by the engine's writer thread(s) in one of three
//! sinks: a capture file (the default), a directory with one file per frame, or a Python
//! callable (`sink=`).
//!
//! ## Callbacks and locks
//! `on_error`, `on_segment`, `on_durable` and a callable sink run on the writer thread,
//! which takes the GIL for them (`Python::attach`). Every method here that waits for the
//! writer (or takes a lock the writer thread may hold while calling back) releases the
//! GIL first, so the writer thread can always get it. Calling back into the writer from
//! inside a callback would wait for the writer thread itself, so those calls raise
//! RuntimeError instead. An exception raised by `on_error` / `on_segment` / `on_durable`
//! is reported through `sys.unraisablehook` and does not stop the writer; one raised by
//! the sink fails the writer (it is the sink's write error). At interpreter exit
//! (atexit) every open writer is closed, then callbacks are no longer called (a sink
//! call then fails the writer).

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

use streamq::writer::{CloseError, SegmentInfo as RsSegment, SinkEvent, WriterError, WriterReport};
use streamq::{
    DropReason, FsyncPolicy, OverflowPolicy, QueueConfig, QueueStats as RsQueueStats, StreamConfig,
    WriterConfig,
};

use crate::errors;
use crate::frame::Frame;
use crate::producer::{BLOCK_SLICE, ProducerHandle, Reservation, parse_policy, policy_name};
use crate::stats::{GapInfo, QueueStats, Report, SegmentInfo};

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
            "cannot use the writer from inside its own on_error / on_segment / on_durable \
             callback or its sink (they run on the writer thread, which would wait for itself)",
        ));
    }
    Ok(())
}

/// Runs `f` (which calls `cb`) with the GIL on the writer thread, flagged as a callback,
/// reporting its exception as unraisable.
fn call_back_with(cb: &Py<PyAny>, f: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>>) {
    if SHUTTING_DOWN.load(Ordering::Acquire) {
        return;
    }
    Python::attach(|py| {
        IN_CALLBACK.with(|c| c.set(true));
        let r = f(py);
        IN_CALLBACK.with(|c| c.set(false));
        if let Err(e) = r {
            e.write_unraisable(py, Some(cb.bind(py)));
        }
    });
}

/// Calls `cb` with the one argument `f` makes, as [`call_back_with`].
fn call_back(cb: &Py<PyAny>, f: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>>) {
    call_back_with(cb, |py| f(py).and_then(|arg| cb.call1(py, (arg,))));
}

/// The exception a callable sink raised (the first one: the writer stops there), kept
/// to become the `__cause__` of the WriterError raised from then on.
type SinkException = Arc<Mutex<Option<PyErr>>>;

/// Stream names by id, for the gap events of a callable sink (the engine's gap events
/// carry the id only). Filled by `add_stream` before it returns the stream, so before
/// any of its frames can be dropped.
type StreamNames = Arc<Mutex<Vec<String>>>;

/// The engine's error as a Python exception; a sink's failure gets the sink's own
/// exception as `__cause__`.
fn writer_err(py: Python<'_>, e: &WriterError, sink_exc: &SinkException) -> PyErr {
    let err = errors::writer(py, e);
    if let WriterError::Sink(_) = e
        && let Some(cause) = lock(sink_exc).as_ref()
    {
        err.set_cause(py, Some(cause.clone_ref(py)));
    }
    err
}

/// "ValueError: bad frame" for an exception.
fn describe(py: Python<'_>, e: &PyErr) -> String {
    let ty = e
        .get_type(py)
        .qualname()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "exception".into());
    let text = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    if text.is_empty() {
        ty
    } else {
        format!("{ty}: {text}")
    }
}

fn gap_reason(r: DropReason) -> &'static str {
    match r {
        DropReason::Newest => "dropped_newest",
        DropReason::Oldest => "dropped_oldest",
    }
}

/// The engine's callback sink for a Python callable: each frame becomes a `Frame` (its
/// bytes copied into a `bytes` object) and each gap a `GapInfo`, passed to `sink` on the
/// writer thread with the GIL. An exception fails the writer with its text; the
/// exception itself is kept in `exc`.
fn python_sink(
    sink: Py<PyAny>,
    exc: SinkException,
    names: StreamNames,
) -> impl FnMut(SinkEvent<'_>) -> Result<(), String> + Send + 'static {
    // Stream names as Python strings, by id, made once per stream.
    let mut cache: Vec<Option<Py<PyString>>> = Vec::new();
    move |ev| {
        if SHUTTING_DOWN.load(Ordering::Acquire) {
            return Err("the Python interpreter is shutting down".into());
        }
        let id = match &ev {
            SinkEvent::Frame(f) => f.stream_id,
            SinkEvent::Gap { stream_id, .. } => *stream_id,
        } as usize;
        if cache.len() <= id {
            cache.resize_with(id + 1, || None);
        }
        // Looked up before taking the GIL (the list's lock is never held with it).
        let gap_name = match &ev {
            SinkEvent::Gap { .. } if cache[id].is_none() => lock(&names).get(id).cloned(),
            _ => None,
        };
        Python::attach(|py| {
            let name = match (&cache[id], &ev) {
                (Some(n), _) => n.clone_ref(py),
                (None, SinkEvent::Frame(f)) => PyString::new(py, f.stream).unbind(),
                (None, SinkEvent::Gap { .. }) => {
                    PyString::new(py, gap_name.as_deref().unwrap_or("")).unbind()
                }
            };
            if cache[id].is_none() && (gap_name.is_some() || matches!(ev, SinkEvent::Frame(_))) {
                cache[id] = Some(name.clone_ref(py));
            }
            IN_CALLBACK.with(|c| c.set(true));
            let r = (|| -> PyResult<()> {
                let arg: Py<PyAny> = match ev {
                    SinkEvent::Frame(f) => {
                        Py::new(py, Frame::sink(py, f.info, f.stream_id, name, f.data))?.into_any()
                    }
                    SinkEvent::Gap { stream_id, gap } => Py::new(
                        py,
                        GapInfo {
                            stream_id,
                            stream: name.bind(py).to_string(),
                            first_seq: gap.first_seq,
                            count: gap.count,
                            reason: gap_reason(gap.reason).to_string(),
                            host_time: gap.host_time_ns,
                        },
                    )?
                    .into_any(),
                };
                sink.call1(py, (arg,))?;
                Ok(())
            })();
            IN_CALLBACK.with(|c| c.set(false));
            r.map_err(|e| {
                let text = describe(py, &e);
                let mut slot = lock(&exc);
                if slot.is_none() {
                    *slot = Some(e);
                }
                text
            })
        })
    }
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
    /// The capture file or directory (None for a callable sink).
    path: Option<PathBuf>,
    /// "capture_file", "directory" or "callback".
    sink: &'static str,
    /// Stream names by id, for a callable sink's gap events.
    names: StreamNames,
    /// The exception a callable sink raised.
    sink_exc: SinkException,
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
        {
            let mut names = lock(&self.names);
            if names.len() <= id as usize {
                names.resize(id as usize + 1, String::new());
            }
            names[id as usize] = name.clone();
        }
        let weak = Arc::downgrade(self);
        let failure = Box::new(move |py: Python<'_>| match weak.upgrade() {
            Some(inner) => match py.detach(|| inner.error()) {
                Some(e) => writer_err(py, &e, &inner.sink_exc),
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
    fn into_err(self, py: Python<'_>, inner: &WriterInner) -> PyErr {
        match self {
            PyErrBuilder::Value(m) => PyValueError::new_err(m),
            PyErrBuilder::Closed => errors::closed(py, "writer is closed"),
            PyErrBuilder::Writer(e) => writer_err(py, &e, &inner.sink_exc),
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

fn metadata_pairs(md: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    if let Some(md) = md {
        for (k, v) in md.iter() {
            out.push((k.str()?.to_string(), v.str()?.to_string()));
        }
    }
    Ok(out)
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
/// `compress`, `workers`, `segment_size`, `segment_seconds`, `preallocate`,
/// `writes_in_flight` and `metadata` apply to capture files only, `io_workers` to the
/// directory sink only: given with another sink they raise ValueError.
///
/// `write(frame)` goes to a default stream named "frames" (created on first use);
/// `add_stream(name, ...)` adds more, each with its own ring budget and policy. Every
/// frame accepted is written, dropped by a policy (counted, with a gap record in the
/// file) or reported as failed: `close()` returns a Report saying which. A writer error
/// (disk full, an exception in the sink ...) is raised by the next write, flush or
/// close, and passed to `on_error`. `on_durable(stream_id, seq)` is called after each
/// fsync (see `fsync`) with the highest sequence number of each stream now durable. Use
/// it as a context manager to close it.
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
        r.map_err(|e: PyErrBuilder| e.into_err(py, inner))
    }
}

#[pymethods]
impl Writer {
    #[new]
    #[pyo3(signature = (
        path = None, compress = None, fsync = None, segment_size = None, segment_seconds = None,
        capacity = DEFAULT_STREAM_CAPACITY, policy = "block", workers = None, metadata = None,
        on_error = None, on_segment = None, preallocate = None, writes_in_flight = None,
        raw_when_behind = true, sink = None, on_durable = None, io_workers = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: Option<PathBuf>,
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
        sink: Option<&Bound<'_, PyAny>>,
        on_durable: Option<Py<PyAny>>,
        io_workers: Option<usize>,
    ) -> PyResult<Self> {
        let policy = parse_policy(policy)?;
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
        let compression = parse_compress(compress)?;
        let md = metadata_pairs(metadata)?;
        let sink = parse_sink(sink)?;
        let kind = match sink {
            Sink::CaptureFile => "capture_file",
            Sink::Directory => "directory",
            Sink::Callable(_) => "callback",
        };
        if !matches!(sink, Sink::CaptureFile) {
            let capture_only = [
                (compression.is_some(), "compress"),
                (workers.is_some(), "workers"),
                (segment_size.is_some(), "segment_size"),
                (segment_seconds.is_some(), "segment_seconds"),
                (preallocate.is_some(), "preallocate"),
                (writes_in_flight.is_some(), "writes_in_flight"),
                (!md.is_empty(), "metadata"),
            ];
            if let Some((_, what)) = capture_only.iter().find(|(set, _)| *set) {
                return Err(PyValueError::new_err(format!(
                    "{what} applies to the capture_file sink only (this writer's sink is {kind})"
                )));
            }
        }
        if io_workers.is_some() && !matches!(sink, Sink::Directory) {
            return Err(PyValueError::new_err(format!(
                "io_workers applies to the directory sink only (this writer's sink is {kind})"
            )));
        }
        let sink_exc = SinkException::default();
        let names = StreamNames::default();
        let mut config = match (sink, &path) {
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
                WriterConfig::callback(python_sink(f, Arc::clone(&sink_exc), Arc::clone(&names)))
            }
        };
        if let Some(level) = compression {
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
        if let Some(n) = io_workers {
            config = config.io_workers(n);
        }
        if let Some(p) = preallocate {
            config = config.preallocate(p);
        }
        if let Some(n) = writes_in_flight {
            config = config.writes_in_flight(n);
        }
        config = config.raw_when_behind(raw_when_behind);
        for (k, v) in md {
            config = config.metadata(k, v);
        }
        if let Some(cb) = on_error {
            let exc = Arc::clone(&sink_exc);
            config = config.on_error(move |e: &WriterError| {
                call_back(&cb, |py| Ok(writer_err(py, e, &exc).into_value(py).into_any()));
            });
        }
        if let Some(cb) = on_segment {
            config = config.on_segment(move |s: &RsSegment| {
                call_back(&cb, |py| Ok(SegmentInfo::new(py, s)?.into_any()));
            });
        }
        if let Some(cb) = on_durable {
            config = config.on_durable(move |id: u16, seq: u64| {
                call_back_with(&cb, |py| cb.call1(py, (id, seq)));
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
            sink: kind,
            names,
            sink_exc,
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
            .map_err(|e| e.into_err(py, inner))?;
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
            Some(Err(e)) => Err(writer_err(py, &e, &inner.sink_exc)),
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
                let err = writer_err(py, &error, &inner.sink_exc);
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
        Ok(e.map(|e| writer_err(py, &e, &self.inner.sink_exc).into_value(py).into_any()))
    }

    /// The capture file's (or the directory sink's) path; None for a callable sink.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.inner.path.clone()
    }

    /// Where frames go: "capture_file", "directory" or "callback".
    #[getter]
    fn sink(&self) -> &'static str {
        self.inner.sink
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
        let target = match &self.inner.path {
            Some(p) => format!("{:?}", p.display().to_string()),
            None => "(callable)".to_string(),
        };
        format!(
            "<streamq.Writer {} {}{}>",
            self.inner.sink,
            target,
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
