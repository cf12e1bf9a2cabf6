//! The producer side shared by `Queue` and a writer's `Stream`: push with the GIL released
//! and Ctrl-C honoured while blocked, reserve/commit through a context manager, policies,
//! timeouts.
//!
//! ## Waiting in slices
//! The engine's blocking calls cannot be interrupted from outside, so a blocking push
//! waits in slices ([`WAIT_SLICE`] for untimestamped pushes, the queue's configured
//! `block_timeout` of [`BLOCK_SLICE`] for timestamped pushes and reservations, which have
//! no per-call timeout form on a shared handle) and calls `py.check_signals()` between
//! slices: Ctrl-C raises `KeyboardInterrupt` within a slice. Each expired slice is counted
//! by the engine as a refused push; the handle counts them too and subtracts them from
//! `pushes_refused` in the stats it reports, so the figure keeps its meaning (pushes that
//! gave up).

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyMemoryView;

use streamq::{
    OverflowPolicy, PushError, Pushed, QueueStats, ReserveError, SharedProducer, SharedReservation,
};

use crate::buffers::{BufferView, Input, Owner};
use crate::errors;

/// Longest wait inside the engine between two checks for Ctrl-C (untimestamped push, pop).
pub const WAIT_SLICE: Duration = Duration::from_millis(50);
/// The queues' configured block timeout: the wait slice of timestamped pushes and
/// reservations (no per-call timeout exists for them on a shared handle), and so the
/// precision of their `timeout`.
pub const BLOCK_SLICE: Duration = Duration::from_millis(5);
/// Frames up to this size are copied with the GIL held when that cannot block: releasing
/// and re-taking the GIL costs more than copying them.
pub const SMALL_FRAME: usize = 16 * 1024;

/// Parses a policy name.
pub fn parse_policy(s: &str) -> PyResult<OverflowPolicy> {
    match s.to_ascii_lowercase().replace('-', "_").as_str() {
        "block" => Ok(OverflowPolicy::Block),
        "fail" | "fail_fast" | "failfast" => Ok(OverflowPolicy::FailFast),
        "drop_newest" => Ok(OverflowPolicy::DropNewest),
        "drop_oldest" => Ok(OverflowPolicy::DropOldest),
        _ => Err(PyValueError::new_err(format!(
            "unknown policy {s:?}: expected \"block\", \"fail\", \"drop_newest\" or \"drop_oldest\""
        ))),
    }
}

/// The policy's name as accepted by [`parse_policy`].
pub fn policy_name(p: OverflowPolicy) -> &'static str {
    match p {
        OverflowPolicy::Block => "block",
        OverflowPolicy::FailFast => "fail",
        OverflowPolicy::DropNewest => "drop_newest",
        OverflowPolicy::DropOldest => "drop_oldest",
    }
}

/// A timeout in seconds (None: for ever) as a deadline.
pub fn deadline(timeout: Option<f64>) -> PyResult<Option<Instant>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_nan() || t < 0.0 => Err(PyValueError::new_err(format!(
            "timeout must be a non-negative number of seconds or None, not {t}"
        ))),
        Some(t) if t > 1e9 => Ok(None),
        Some(t) => Ok(Instant::now().checked_add(Duration::from_secs_f64(t))),
    }
}

/// Time left until `deadline` (None: unbounded).
pub fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// Maps the engine's "the stage behind the queue failed" to an exception.
pub type FailureFn = Box<dyn Fn(Python<'_>) -> PyErr + Send + Sync>;

thread_local! {
    /// Producer handles on which this thread holds an open reservation (their lock).
    static OPEN_RESERVATIONS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// A shared producer handle plus what the bindings need around it.
pub struct ProducerHandle {
    pub producer: SharedProducer,
    pub policy: OverflowPolicy,
    /// "queue" or "stream": for messages.
    pub what: &'static str,
    /// Slices that expired inside the engine (counted there as refusals).
    internal_refusals: AtomicU64,
    /// Reservations being made or held, on any thread: while non-zero nothing takes the
    /// handle's lock with the GIL held (the holder may need the GIL to finish).
    reservations: AtomicUsize,
    failure: Option<FailureFn>,
    /// The water-mark descriptor (fixed for the queue's life).
    pub fd: Option<i32>,
}

/// A value moved out of `py.detach` on the same thread (the engine's reservation holds a
/// `MutexGuard`, which is `!Send` although it never changes thread here).
struct SameThread<T>(T);
// SAFETY: `py.detach` runs its closure on the calling thread, so the value never moves
// to another thread.
unsafe impl<T> Send for SameThread<T> {}

impl ProducerHandle {
    pub fn new(
        producer: SharedProducer,
        policy: OverflowPolicy,
        what: &'static str,
        failure: Option<FailureFn>,
    ) -> Self {
        let fd = producer.water_mark_fd();
        ProducerHandle {
            producer,
            policy,
            what,
            internal_refusals: AtomicU64::new(0),
            reservations: AtomicUsize::new(0),
            failure,
            fd,
        }
    }

    fn key(&self) -> usize {
        self as *const Self as usize
    }

    /// Refuses a call that would take the handle's lock while this thread holds it
    /// through an open reservation (it would deadlock).
    pub fn check_reentry(&self) -> PyResult<()> {
        let key = self.key();
        if OPEN_RESERVATIONS.with(|v| v.borrow().contains(&key)) {
            return Err(PyRuntimeError::new_err(format!(
                "this thread holds an open reservation on this {}: commit or abort it before \
                 pushing, reserving or reading stats (doing so now would deadlock)",
                self.what
            )));
        }
        Ok(())
    }

    /// Maps a push error to an exception.
    pub fn push_error(&self, py: Python<'_>, e: PushError) -> PyErr {
        match e {
            PushError::WouldBlock => errors::would_block(
                py,
                format!("{} is full (policy \"{}\")", self.what, policy_name(self.policy)),
            ),
            PushError::Timeout => errors::timeout(py, format!("{} stayed full until the timeout", self.what)),
            PushError::Closed => errors::closed(py, format!("{} is closed", self.what)),
            PushError::TooLarge { len, max } => errors::too_large(py, len, max),
            PushError::Failed => match &self.failure {
                Some(f) => f(py),
                None => errors::error(py, "the stage behind the queue has failed"),
            },
        }
    }

    fn reserve_error(&self, py: Python<'_>, e: ReserveError) -> PyErr {
        let p = match e {
            ReserveError::WouldBlock => PushError::WouldBlock,
            ReserveError::Timeout => PushError::Timeout,
            ReserveError::Closed => PushError::Closed,
            ReserveError::Failed => PushError::Failed,
            ReserveError::TooLarge { len, max } => PushError::TooLarge { len, max },
            ReserveError::Dropped { .. } => unreachable!("handled by the caller"),
        };
        self.push_error(py, p)
    }

    /// Copies one frame in. Returns its sequence number, or `None` if the overflow policy
    /// dropped it (`drop_newest`, or `drop_oldest` with every queued frame being read).
    pub fn push(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        timeout: Option<f64>,
        timestamp: Option<u64>,
    ) -> PyResult<Option<u64>> {
        let input = Input::extract(data)?;
        self.push_input(py, &input, timeout, timestamp)
    }

    pub fn push_input(
        &self,
        py: Python<'_>,
        input: &Input<'_>,
        timeout: Option<f64>,
        timestamp: Option<u64>,
    ) -> PyResult<Option<u64>> {
        self.check_reentry()?;
        let raw = input.raw();
        let no_wait = timeout == Some(0.0);
        let deadline = deadline(timeout)?;
        let p = &self.producer;
        let blocking = self.policy == OverflowPolicy::Block;

        // Fast path: a small frame, with the GIL held, when the call cannot wait.
        if raw.len() <= SMALL_FRAME && self.reservations.load(Ordering::Acquire) == 0 {
            // SAFETY: `input` is alive for the whole call.
            let bytes = unsafe { raw.as_slice() };
            let r = match timestamp {
                None => Some(p.try_push(bytes)),
                // Without a timeout argument the engine may wait: only when it cannot.
                Some(ts) if !blocking => Some(p.push_at(bytes, ts)),
                Some(_) => None,
            };
            match r {
                None => {}
                Some(Ok(pushed)) => return Ok(queued(pushed)),
                Some(Err(PushError::WouldBlock)) if blocking && !no_wait => {
                    // Full under Block: wait below; this attempt was not a refusal.
                    self.internal_refusals.fetch_add(1, Ordering::Relaxed);
                }
                Some(Err(e)) => return Err(self.push_error(py, e)),
            }
        } else if no_wait && timestamp.is_none() {
            // SAFETY: as above; `raw` stays valid while `input` lives.
            let r = py.detach(|| p.try_push(unsafe { raw.as_slice() }));
            return r.map(queued).map_err(|e| self.push_error(py, e));
        }

        loop {
            let slice = remaining(deadline).map_or(WAIT_SLICE, |r| r.min(WAIT_SLICE));
            // SAFETY: `input` (which owns or pins the memory) outlives the closure.
            let r = py.detach(|| {
                let bytes = unsafe { raw.as_slice() };
                match timestamp {
                    None => p.push_timeout(bytes, slice),
                    // Waits at most the queue's block timeout (BLOCK_SLICE).
                    Some(ts) => p.push_at(bytes, ts),
                }
            });
            match r {
                Ok(pushed) => return Ok(queued(pushed)),
                Err(PushError::Timeout) => {
                    if remaining(deadline).is_some_and(|r| r.is_zero()) {
                        return Err(self.push_error(py, PushError::Timeout));
                    }
                    self.internal_refusals.fetch_add(1, Ordering::Relaxed);
                    py.check_signals()?;
                }
                Err(e) => return Err(self.push_error(py, e)),
            }
        }
    }

    /// Corrects the engine's `pushes_refused` for the slices that expired internally.
    pub fn adjust(&self, mut s: QueueStats) -> QueueStats {
        let internal = self.internal_refusals.load(Ordering::Relaxed);
        s.pushes_refused = s.pushes_refused.saturating_sub(internal);
        s
    }

    /// The queue's counters (with the GIL released: the handle's lock may be busy).
    pub fn stats(&self, py: Python<'_>) -> PyResult<QueueStats> {
        self.check_reentry()?;
        let s = py.detach(|| self.producer.stats());
        Ok(self.adjust(s))
    }

    /// Whether the queue is above its high water mark.
    pub fn is_above_high_water(&self, py: Python<'_>) -> PyResult<bool> {
        self.check_reentry()?;
        Ok(py.detach(|| self.producer.is_above_high_water()))
    }

    /// Resets the water-mark descriptor's readiness.
    pub fn clear_event(&self, py: Python<'_>) -> PyResult<()> {
        self.check_reentry()?;
        py.detach(|| self.producer.clear_water_mark_event());
        Ok(())
    }

    /// Waits (in slices, Ctrl-C honoured) until the queue is not above high water.
    /// True when it is not, False on timeout; ClosedError if the consumer closed.
    pub fn wait_below_low(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        self.check_reentry()?;
        let deadline = deadline(timeout)?;
        loop {
            let slice = remaining(deadline).map_or(WAIT_SLICE, |r| r.min(WAIT_SLICE));
            match py.detach(|| self.producer.wait_below_low(Some(slice))) {
                Ok(()) => return Ok(true),
                Err(streamq::WaitError::Closed) => {
                    return Err(errors::closed(py, format!("{} is closed", self.what)));
                }
                Err(streamq::WaitError::Timeout) => {
                    if remaining(deadline).is_some_and(|r| r.is_zero()) {
                        return Ok(false);
                    }
                    py.check_signals()?;
                }
            }
        }
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

    /// Reserves `len` bytes of ring to be filled in place.
    pub fn reserve(
        this: &Arc<Self>,
        py: Python<'_>,
        len: usize,
        timeout: Option<f64>,
        timestamp: Option<u64>,
    ) -> PyResult<Reservation> {
        this.check_reentry()?;
        let deadline = deadline(timeout)?;
        let boxed = Box::new(this.producer.clone());
        // SAFETY: the reservation borrows the boxed handle, which the Reservation owns
        // and drops after it (field order); the box's address never changes.
        let prod: &'static SharedProducer = unsafe { &*(&*boxed as *const SharedProducer) };
        this.reservations.fetch_add(1, Ordering::AcqRel);
        let guard = PendingGuard(this);
        let res = loop {
            let r = py.detach(|| SameThread(prod.reserve(len)));
            match r.0 {
                Ok(res) => break Ok(res),
                Err(ReserveError::Dropped { seq }) => break Err(seq),
                Err(ReserveError::Timeout) if this.policy == OverflowPolicy::Block => {
                    if remaining(deadline).is_some_and(|r| r.is_zero()) {
                        return Err(this.push_error(py, PushError::Timeout));
                    }
                    this.internal_refusals.fetch_add(1, Ordering::Relaxed);
                    py.check_signals()?;
                }
                Err(e) => return Err(this.reserve_error(py, e)),
            }
        };
        std::mem::forget(guard);
        let (res, view) = match res {
            Ok(mut res) => {
                let ptr = res.as_mut_ptr();
                // SAFETY: the slot stays reserved (and mapped) until the reservation is
                // committed or dropped; after that the view is invalidated, and the
                // ring stays mapped while the Owner's handle clone lives.
                let view = unsafe { BufferView::new(ptr, len, false, Owner::Ring(this.producer.clone())) };
                OPEN_RESERVATIONS.with(|v| v.borrow_mut().push(this.key()));
                (Some(res), view)
            }
            Err(_seq) => {
                // Dropped by policy: a scratch buffer takes the bytes, then is discarded.
                this.reservations.fetch_sub(1, Ordering::AcqRel);
                (None, BufferView::from_vec_writable(vec![0u8; len]))
            }
        };
        let dropped = res.is_none();
        Ok(Reservation {
            res,
            _producer: boxed,
            handle: Arc::clone(this),
            view: Py::new(py, view)?,
            mv: None,
            len,
            timestamp,
            seq: None,
            dropped,
            done: false,
        })
    }
}

/// Undoes the reservation count if reserve() fails or is interrupted.
struct PendingGuard<'a>(&'a ProducerHandle);
impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.0.reservations.fetch_sub(1, Ordering::AcqRel);
    }
}

fn queued(p: Pushed) -> Option<u64> {
    match p {
        Pushed::Queued { seq } => Some(seq),
        Pushed::Dropped { .. } => None,
    }
}

/// Space reserved in a queue's ring for one frame, filled in place and published by
/// `commit()` — or by leaving a `with` block normally; an exception in the block (or
/// `abort()`) discards it.
///
/// ```python
/// r = q.reserve(len(frame))
/// with r as buf:            # a writable memoryview over the ring
///     buf[:] = frame        # or numpy.frombuffer(buf, dtype=...)[:] = image
/// r.seq                     # its sequence number (None if the policy dropped it)
/// ```
///
/// While open, the reservation holds the handle's lock: other threads' pushes wait for
/// it, and this thread must not push to, reserve on or read stats of the same queue (that
/// raises RuntimeError rather than deadlocking). Use it on the thread that made it.
/// Views derived from the buffer (numpy arrays) must not be used after the block: the
/// ring space is handed to the consumer and reused; a ResourceWarning says so if any are
/// still alive at commit.
#[pyclass(unsendable, module = "streamq._streamq", name = "Reservation")]
pub struct Reservation {
    // Dropped before `_producer`, which it borrows.
    res: Option<SharedReservation<'static>>,
    _producer: Box<SharedProducer>,
    handle: Arc<ProducerHandle>,
    view: Py<BufferView>,
    mv: Option<Py<PyMemoryView>>,
    len: usize,
    timestamp: Option<u64>,
    seq: Option<u64>,
    dropped: bool,
    done: bool,
}

impl Reservation {
    fn release_view(&mut self, py: Python<'_>) {
        if let Some(mv) = self.mv.take() {
            // Fails with BufferError when views derived from it are alive.
            let _ = mv.bind(py).call_method0("release");
        }
        let view = self.view.get();
        view.invalidate();
        if !self.dropped && view.exports() > 0 {
            let warnings = py.import("warnings");
            if let Ok(w) = warnings {
                let cat = py.get_type::<pyo3::exceptions::PyResourceWarning>();
                let _ = w.call_method1(
                    "warn",
                    (
                        "a view of a streamq reservation is still alive after commit/abort; its \
                         memory now belongs to the queue and will be reused",
                        cat,
                        2,
                    ),
                );
            }
        }
    }

    fn finish(&mut self, py: Python<'_>, commit: bool) -> PyResult<Option<u64>> {
        if self.done {
            return Err(PyRuntimeError::new_err(
                "the reservation was already committed or aborted",
            ));
        }
        self.done = true;
        self.release_view(py);
        if let Some(res) = self.res.take() {
            if commit {
                self.seq = Some(match self.timestamp {
                    Some(ts) => res.commit_at(ts),
                    None => res.commit(),
                });
            } else {
                res.abort();
            }
            self.unregister();
        }
        Ok(self.seq)
    }

    fn unregister(&self) {
        let key = self.handle.key();
        OPEN_RESERVATIONS.with(|v| {
            let mut v = v.borrow_mut();
            if let Some(i) = v.iter().position(|k| *k == key) {
                v.swap_remove(i);
            }
        });
        self.handle.reservations.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(res) = self.res.take() {
            res.abort();
            self.unregister();
        }
    }
}

#[pymethods]
impl Reservation {
    /// The writable memoryview over the reserved bytes.
    fn __enter__(&mut self, py: Python<'_>) -> PyResult<Py<PyMemoryView>> {
        if self.done {
            return Err(PyRuntimeError::new_err(
                "the reservation was already committed or aborted",
            ));
        }
        if let Some(mv) = &self.mv {
            return Ok(mv.clone_ref(py));
        }
        let mv = BufferView::memoryview(self.view.bind(py))?.unbind();
        self.mv = Some(mv.clone_ref(py));
        Ok(mv)
    }

    /// Commits on a normal exit, aborts on an exception (which then propagates).
    #[pyo3(signature = (exc_type=None, _exc=None, _tb=None))]
    fn __exit__(
        &mut self,
        py: Python<'_>,
        exc_type: Option<Bound<'_, PyAny>>,
        _exc: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        if !self.done {
            self.finish(py, exc_type.is_none())?;
        }
        Ok(false)
    }

    /// Publishes the frame; returns its sequence number (None if the policy dropped it).
    fn commit(&mut self, py: Python<'_>) -> PyResult<Option<u64>> {
        self.finish(py, true)
    }

    /// Discards the reservation and gives the space back.
    fn abort(&mut self, py: Python<'_>) -> PyResult<()> {
        self.finish(py, false).map(|_| ())
    }

    /// The buffer to fill (same as what `with` gives).
    #[getter]
    fn buffer(&mut self, py: Python<'_>) -> PyResult<Py<PyMemoryView>> {
        self.__enter__(py)
    }

    /// Sequence number once committed (None before, or if dropped by policy).
    #[getter]
    fn seq(&self) -> Option<u64> {
        self.seq
    }

    /// Whether the overflow policy dropped this frame (the buffer is a scratch area).
    #[getter]
    fn dropped(&self) -> bool {
        self.dropped
    }

    /// Whether commit() or abort() has run.
    #[getter]
    fn done(&self) -> bool {
        self.done
    }

    fn __len__(&self) -> usize {
        self.len
    }

    fn __repr__(&self) -> String {
        let state = if self.dropped {
            "dropped"
        } else if !self.done {
            "open"
        } else if self.seq.is_some() {
            "committed"
        } else {
            "aborted"
        };
        format!("<streamq.Reservation {} bytes, {state}>", self.len)
    }
}
