//! `streamq.Producer`: the producing side of a queue — a `Queue` is one (it extends this
//! class; `Queue.producer` is a separate handle on the same side) — or of a writer stream
//! (`Writer.add_stream`, `Writer.default_stream`). One class, one verb (`push`), one
//! keyword order, the engine's one entry point (`push_with`); each operation is written
//! once, in the `#[pymethods]` below.
//!
//! Pushing copies the frame with the GIL released (frames up to [`SMALL_FRAME`] are
//! copied with it held, when that cannot block). A push that must wait for room waits
//! in one engine call (see `wait.rs`); Ctrl-C interrupts it.

use std::cell::RefCell;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use streamq::{
    Interrupt, OverflowPolicy, PushError, PushOptions, Pushed, ReserveError, SharedProducer, Wait, WaitError,
};

use crate::buffers::{BufferView, Input, Owner};
use crate::callbacks::check_not_in_callback;
use crate::errors;
use crate::options::{self, QueueSettings};
use crate::reservation::{Reservation, SameThread};
use crate::stats;
use crate::wait::{Attempt, Patience, PyInterrupt, block_on};
use crate::writer::WriterShared;

/// Frames up to this size are copied with the GIL held when that cannot block:
/// releasing and re-taking the GIL costs more than copying them.
pub const SMALL_FRAME: usize = 16 * 1024;

thread_local! {
    /// Producer handles on which this thread holds an open reservation (their lock).
    static OPEN_RESERVATIONS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// What a writer stream's producer knows of its stream.
pub struct StreamPart {
    pub id: u16,
    pub name: String,
    pub media_type: String,
    pub metadata: Vec<(String, String)>,
    /// The writer (kept alive by its streams).
    pub writer: Arc<WriterShared>,
}

/// The engine's shared producer handle plus what the binding needs around it.
pub struct Handle {
    pub producer: SharedProducer,
    policy: OverflowPolicy,
    /// The queue's `block_timeout` (what `timeout=None` means).
    block_timeout: Option<Duration>,
    capacity: usize,
    max_frame_len: usize,
    fd: Option<RawFd>,
    /// The queue's or stream's configuration, as the engine describes it.
    options: Vec<(&'static str, String)>,
    /// Reservations being made or held, on any thread: while non-zero nothing takes the
    /// handle's lock with the GIL held (the holder may need the GIL to finish).
    reservations: AtomicUsize,
    pub stream: Option<StreamPart>,
}

/// The engine's options of one push or reservation.
fn push_options(timestamp: Option<u64>, wait: Wait, interrupt: Option<&Interrupt>) -> PushOptions<'_> {
    let mut o = PushOptions::new().wait(wait);
    if let Some(ts) = timestamp {
        o = o.device_ts_ns(ts);
    }
    if let Some(i) = interrupt {
        o = o.interrupt(i);
    }
    o
}

fn queued(p: Pushed) -> Option<u64> {
    match p {
        Pushed::Queued { seq } => Some(seq),
        Pushed::Dropped { .. } => None,
    }
}

impl Handle {
    /// `producer` of a queue built from `settings` (`options`: the queue's or the
    /// stream's `describe()`).
    pub fn new(
        producer: SharedProducer,
        settings: &QueueSettings,
        options: Vec<(&'static str, String)>,
        stream: Option<StreamPart>,
    ) -> Self {
        let fd = producer.water_mark_fd();
        let max_frame_len = producer.max_frame_len();
        Handle {
            producer,
            policy: settings.policy,
            block_timeout: settings.block_timeout,
            capacity: settings.config.effective_capacity(),
            max_frame_len,
            fd,
            options,
            reservations: AtomicUsize::new(0),
            stream,
        }
    }

    fn key(&self) -> usize {
        self as *const Self as usize
    }

    fn what(&self) -> &'static str {
        if self.stream.is_some() { "stream" } else { "queue" }
    }

    /// Refuses a call that would take the handle's lock while this thread holds it
    /// through an open reservation (it would deadlock).
    pub fn check_reentry(&self) -> PyResult<()> {
        let key = self.key();
        if OPEN_RESERVATIONS.with(|v| v.borrow().contains(&key)) {
            return Err(PyRuntimeError::new_err(format!(
                "this thread holds an open reservation on this {}: commit or abort it before \
                 pushing, reserving or reading stats (doing so now would deadlock)",
                self.what()
            )));
        }
        Ok(())
    }

    /// A writer stream's calls that wait for the writer must not come from its thread.
    fn check_caller(&self) -> PyResult<()> {
        if self.stream.is_some() {
            check_not_in_callback()?;
        }
        self.check_reentry()
    }

    /// Maps a push error to an exception.
    pub fn push_error(&self, py: Python<'_>, e: PushError) -> PyErr {
        match e {
            PushError::WouldBlock => errors::would_block(
                py,
                format!("{} is full (policy \"{}\")", self.what(), self.policy),
            ),
            PushError::Timeout => {
                errors::timeout(py, format!("{} stayed full until the timeout", self.what()))
            }
            PushError::Closed => errors::closed(py, format!("{} is closed", self.what())),
            PushError::TooLarge { len, max } => errors::too_large(py, len, max),
            PushError::Failed => match &self.stream {
                Some(s) => s.writer.failure(py),
                None => errors::error(py, "the stage behind the queue has failed"),
            },
            PushError::Interrupted => errors::interrupted(py),
            e => errors::error(py, e.to_string()),
        }
    }

    fn reserve_error(&self, py: Python<'_>, e: ReserveError) -> PyErr {
        let p = match e {
            ReserveError::WouldBlock => PushError::WouldBlock,
            ReserveError::Timeout => PushError::Timeout,
            ReserveError::Closed => PushError::Closed,
            ReserveError::Failed => PushError::Failed,
            ReserveError::TooLarge { len, max } => PushError::TooLarge { len, max },
            ReserveError::Interrupted => PushError::Interrupted,
            e => return errors::error(py, e.to_string()),
        };
        self.push_error(py, p)
    }

    /// Called by a reservation once committed or aborted (on the thread that made it).
    pub fn reservation_done(&self) {
        let key = self.key();
        OPEN_RESERVATIONS.with(|v| {
            let mut v = v.borrow_mut();
            if let Some(i) = v.iter().position(|k| *k == key) {
                v.swap_remove(i);
            }
        });
        self.reservations.fetch_sub(1, Ordering::AcqRel);
    }

    pub fn is_above_high_water(&self, py: Python<'_>) -> PyResult<bool> {
        self.check_reentry()?;
        Ok(py.detach(|| self.producer.is_above_high_water()))
    }

    pub fn clear_event(&self, py: Python<'_>) -> PyResult<()> {
        self.check_reentry()?;
        py.detach(|| self.producer.clear_water_mark_event());
        Ok(())
    }

    pub fn fileno(&self, py: Python<'_>) -> PyResult<i32> {
        self.fd
            .ok_or_else(|| errors::error(py, "no water-mark descriptor on this platform"))
    }

    /// Ends the stream for every producer.
    pub fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.check_reentry()?;
        py.detach(|| self.producer.close());
        Ok(())
    }

    /// Whether pushes would fail with ClosedError.
    pub fn is_closed(&self, py: Python<'_>) -> PyResult<bool> {
        self.check_reentry()?;
        Ok(py.detach(|| self.producer.is_closed()))
    }

    /// The policy's canonical name ("block", "fail-fast", "drop-newest", "drop-oldest").
    pub fn policy(&self) -> String {
        self.policy.to_string()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    pub fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        options::describe(py, &self.options)
    }
}

/// Undoes the reservation count if reserve() fails or is interrupted.
struct PendingGuard<'a>(&'a Handle);
impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.0.reservations.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The producing side of a queue or of one writer stream: the same class for both.
///
/// * `push(data, *, timestamp=None, timeout=None, block=True, interrupt=None)` copies a
///   frame in (any C-contiguous buffer) and returns its sequence number, or None if the
///   overflow policy dropped it. `try_push(data)` never waits. `reserve(size, ...)` /
///   `try_reserve(size)` give ring space to fill in place (see `Reservation`).
/// * Water marks: `is_above_high_water`, `wait_below_low()`, `fileno()` (an eventfd for
///   event loops), `clear_event()`.
/// * `close()` ends the stream for every holder of it; `stats` are the queue's counters;
///   `options` the effective configuration (canonical option names and text).
/// * A writer stream's producer also has `stream_id`, `name`, `media_type`, `metadata`
///   and `durable_seq`; a queue's has `stream_id` None.
///
/// Any number of threads may push at once (the GIL is released while a frame is copied
/// into the ring and while waiting). Ctrl-C interrupts a wait.
///
/// `Queue` extends this class (a queue is its producer plus a consumer side);
/// `Writer.default_stream` is one too.
#[pyclass(frozen, subclass, module = "streamq._streamq", name = "Producer")]
pub struct Producer {
    pub handle: Arc<Handle>,
}

#[pymethods]
impl Producer {
    /// Copies `data` (any C-contiguous buffer: bytes, bytearray, memoryview, numpy
    /// array) in as one frame.
    ///
    /// Returns the frame's sequence number, or None if the overflow policy dropped it
    /// ("drop-newest", or "drop-oldest" while the consumer holds every queued frame);
    /// drops are counted in `stats`. Under "block" a full queue makes the call wait:
    /// `timeout` seconds at most (None: the queue's `block_timeout`, for ever by
    /// default) — then Timeout; `block=False` (or `timeout=0`) never waits —
    /// WouldBlockError at once. Ctrl-C and `interrupt` (a streamq.Interrupt) cut the wait
    /// short. `timestamp` is a device time in ns (default: the host's monotonic clock).
    /// Raises ClosedError once either side closed, FrameTooLargeError if the frame can
    /// never fit, the writer's error (WriterError) once a writer stream's writer failed.
    #[pyo3(signature = (data, *, timestamp = None, timeout = None, block = true, interrupt = None))]
    fn push(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        timestamp: Option<u64>,
        timeout: Option<f64>,
        block: bool,
        interrupt: Option<&Bound<'_, PyInterrupt>>,
    ) -> PyResult<Option<u64>> {
        self.handle.check_caller()?;
        let input = Input::extract(data)?;
        let raw = input.raw();
        let patience = Patience::new(timeout, block, self.handle.block_timeout)?;
        let p = &self.handle.producer;

        // First attempt, never waiting. A small frame is copied with the GIL held
        // unless a reservation may hold the handle's lock (taking it could then block).
        let (wait, probe) = patience.first();
        let first = push_options(timestamp, wait, probe);
        // SAFETY: `input` (which owns or pins the memory) outlives every use of `raw`.
        let bytes = unsafe { raw.as_slice() };
        let r = if raw.len() <= SMALL_FRAME && self.handle.reservations.load(Ordering::Acquire) == 0 {
            p.push_with(bytes, &first)
        } else {
            py.detach(|| {
                // SAFETY: as above.
                p.push_with(unsafe { raw.as_slice() }, &first)
            })
        };
        match r {
            Ok(pushed) => return Ok(queued(pushed)),
            // Full under "block": wait below (the engine counted nothing).
            Err(PushError::Interrupted) if probe.is_some() => {}
            Err(e) => return Err(self.handle.push_error(py, e)),
        }

        // The wait: one engine call, re-made only after a signal handler returned.
        let r = block_on(py, patience, interrupt.map(Bound::get), |wait, int| {
            // SAFETY: as above.
            let bytes = unsafe { raw.as_slice() };
            match p.push_with(bytes, &push_options(timestamp, wait, Some(int))) {
                Err(PushError::Interrupted) => Attempt::Interrupted,
                r => Attempt::Done(r),
            }
        })?;
        r.map(queued).map_err(|e| self.handle.push_error(py, e))
    }

    /// `push(data, timestamp=timestamp, block=False)`: never waits.
    #[pyo3(signature = (data, *, timestamp = None))]
    fn try_push(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        timestamp: Option<u64>,
    ) -> PyResult<Option<u64>> {
        self.push(py, data, timestamp, None, false, None)
    }

    /// Deprecated alias of `push` (the old `Stream.write`, positional order kept: frame,
    /// timestamp, timeout). Use `push(data, timestamp=..., timeout=...)`.
    #[pyo3(signature = (frame, timestamp = None, timeout = None))]
    fn write(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        timestamp: Option<u64>,
        timeout: Option<f64>,
    ) -> PyResult<Option<u64>> {
        options::deprecated(
            py,
            "write() is deprecated: use push(data, timestamp=..., timeout=...)",
        )?;
        self.push(py, frame, timestamp, timeout, true, None)
    }

    /// Reserves `size` bytes of ring to fill in place (a camera SDK writes straight into
    /// it); see Reservation. Waits like `push`; `timestamp` is the one `commit()` gives.
    #[pyo3(signature = (size, *, timestamp = None, timeout = None, block = true, interrupt = None))]
    fn reserve(
        &self,
        py: Python<'_>,
        size: usize,
        timestamp: Option<u64>,
        timeout: Option<f64>,
        block: bool,
        interrupt: Option<&Bound<'_, PyInterrupt>>,
    ) -> PyResult<Reservation> {
        let this = &self.handle;
        this.check_caller()?;
        let patience = Patience::new(timeout, block, this.block_timeout)?;
        let boxed = Box::new(this.producer.clone());
        // SAFETY: the reservation borrows the boxed handle, which the Reservation owns
        // and drops after it (field order); the box's address never changes.
        let prod: &'static SharedProducer = unsafe { &*(&*boxed as *const SharedProducer) };
        this.reservations.fetch_add(1, Ordering::AcqRel);
        let pending = PendingGuard(this);
        let (wait, probe) = patience.first();
        let first = push_options(timestamp, wait, probe);
        let r = py.detach(|| SameThread(prod.reserve_with(size, &first))).0;
        let r = match r {
            Err(ReserveError::Interrupted) if probe.is_some() => {
                block_on(py, patience, interrupt.map(Bound::get), |wait, int| {
                    match prod.reserve_with(size, &push_options(timestamp, wait, Some(int))) {
                        Err(ReserveError::Interrupted) => Attempt::Interrupted,
                        r => Attempt::Done(SameThread(r)),
                    }
                })?
                .0
            }
            r => r,
        };
        let (res, view) = match r {
            Ok(mut res) => {
                let ptr = res.as_mut_ptr();
                // SAFETY: the slot stays reserved (and mapped) until the reservation is
                // committed or dropped; after that the view is invalidated, and the
                // ring stays mapped while the Owner's handle clone lives.
                let view = unsafe { BufferView::new(ptr, size, false, Owner::Ring(this.producer.clone())) };
                OPEN_RESERVATIONS.with(|v| v.borrow_mut().push(this.key()));
                std::mem::forget(pending);
                (Some(res), view)
            }
            // Dropped by policy: a scratch buffer takes the bytes, then is discarded.
            Err(ReserveError::Dropped { .. }) => (None, BufferView::from_vec_writable(vec![0u8; size])),
            Err(e) => return Err(this.reserve_error(py, e)),
        };
        Reservation::new(py, res, boxed, Arc::clone(this), view, size)
    }

    /// `reserve(size, timestamp=timestamp, block=False)`: never waits.
    #[pyo3(signature = (size, *, timestamp = None))]
    fn try_reserve(&self, py: Python<'_>, size: usize, timestamp: Option<u64>) -> PyResult<Reservation> {
        self.reserve(py, size, timestamp, None, false, None)
    }

    /// Ends the stream for every producer of it (a writer finishes the stream once
    /// drained; a queue's consumer drains it, then sees the end). Later pushes raise
    /// ClosedError. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.handle.close(py)
    }

    /// Whether pushes would raise ClosedError (this stream or the consumer side closed).
    #[getter]
    fn closed(&self, py: Python<'_>) -> PyResult<bool> {
        self.handle.is_closed(py)
    }

    /// The queue's counters (QueueStats), push latency percentiles included.
    #[getter]
    fn stats(&self, py: Python<'_>) -> PyResult<Py<stats::QueueStats>> {
        if self.handle.stream.is_some() {
            check_not_in_callback()?;
        }
        self.handle.check_reentry()?;
        // GIL released: the handle's lock may be busy. This handle's pending push-latency
        // samples are included.
        let s = py.detach(|| self.handle.producer.stats());
        stats::QueueStats::new(py, &s)
    }

    /// The water-mark descriptor (a Linux eventfd): it polls readable after each
    /// transition across the high or low mark. For event loops (`loop.add_reader`);
    /// call clear_event() when it fires, then read is_above_high_water. Owned by the
    /// queue: do not close it.
    fn fileno(&self, py: Python<'_>) -> PyResult<i32> {
        self.handle.fileno(py)
    }

    /// Resets the water-mark descriptor's readiness.
    fn clear_event(&self, py: Python<'_>) -> PyResult<()> {
        self.handle.clear_event(py)
    }

    /// Whether the queue is above its high water mark (until it falls to the low mark).
    #[getter]
    fn is_above_high_water(&self, py: Python<'_>) -> PyResult<bool> {
        self.handle.is_above_high_water(py)
    }

    /// Blocks until the queue is not above high water: True then, False if `timeout`
    /// seconds passed first. Raises ClosedError if the consumer closes, Interrupted if
    /// `interrupt` is triggered. Ctrl-C interrupts.
    #[pyo3(signature = (timeout = None, *, interrupt = None))]
    fn wait_below_low(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
        interrupt: Option<&Bound<'_, PyInterrupt>>,
    ) -> PyResult<bool> {
        self.handle.check_caller()?;
        let patience = Patience::new(timeout, true, None)?;
        let p = &self.handle.producer;
        let first = py.detach(|| p.wait_below_low(Wait::Never, None));
        let r = match first {
            Err(WaitError::Timeout) if !matches!(patience, Patience::Never) => {
                block_on(py, patience, interrupt.map(Bound::get), |wait, int| {
                    match p.wait_below_low(wait, Some(int)) {
                        Err(WaitError::Interrupted) => Attempt::Interrupted,
                        r => Attempt::Done(r),
                    }
                })?
            }
            r => r,
        };
        match r {
            Ok(()) => Ok(true),
            Err(WaitError::Timeout) => Ok(false),
            Err(WaitError::Closed) => Err(errors::closed(py, format!("{} is closed", self.handle.what()))),
            Err(e) => Err(errors::error(py, e.to_string())),
        }
    }

    /// The stream's id in its capture; None for a queue's producer.
    #[getter]
    fn stream_id(&self) -> Option<u16> {
        self.handle.stream.as_ref().map(|s| s.id)
    }

    /// Deprecated alias of `stream_id` (the old `Stream.id`).
    #[getter]
    fn id(&self, py: Python<'_>) -> PyResult<Option<u16>> {
        options::deprecated(py, "Producer.id is deprecated: use stream_id")?;
        Ok(self.stream_id())
    }

    /// The stream's name (None for a queue's producer).
    #[getter]
    fn name(&self) -> Option<&str> {
        self.handle.stream.as_ref().map(|s| s.name.as_str())
    }

    /// The stream's media type (None for a queue's producer).
    #[getter]
    fn media_type(&self) -> Option<&str> {
        self.handle.stream.as_ref().map(|s| s.media_type.as_str())
    }

    /// The stream's metadata ({} for a queue's producer).
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        if let Some(s) = &self.handle.stream {
            for (k, v) in &s.metadata {
                d.set_item(k, v)?;
            }
        }
        Ok(d)
    }

    /// Highest sequence number of this stream known to be on stable storage (None before
    /// the first fsync, and for a queue's producer).
    #[getter]
    fn durable_seq(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        match &self.handle.stream {
            Some(s) => {
                check_not_in_callback()?;
                Ok(py.detach(|| s.writer.writer().durable_seq(s.id)))
            }
            None => Ok(None),
        }
    }

    /// The overflow policy's canonical name: "block", "fail-fast", "drop-newest" or
    /// "drop-oldest".
    #[getter]
    fn policy(&self) -> String {
        self.handle.policy()
    }

    /// Ring size in bytes (the capacity rounded up to whole pages).
    #[getter]
    fn capacity(&self) -> usize {
        self.handle.capacity()
    }

    /// Largest frame (bytes) the queue accepts.
    #[getter]
    fn max_frame_len(&self) -> usize {
        self.handle.max_frame_len()
    }

    /// The effective configuration: option name -> canonical text, as the engine
    /// describes it (e.g. {"capacity": "256MiB", "policy": "drop-oldest", ...}).
    #[getter]
    fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.handle.options(py)
    }

    fn __repr__(&self) -> String {
        match &self.handle.stream {
            Some(s) => format!(
                "<streamq.Producer stream_id={} name={:?} media_type={:?} policy={}>",
                s.id, s.name, s.media_type, self.handle.policy
            ),
            None => format!(
                "<streamq.Producer of a queue, policy={} capacity={}>",
                self.handle.policy, self.handle.capacity
            ),
        }
    }
}
