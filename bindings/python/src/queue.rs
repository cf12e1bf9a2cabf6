//! `streamq.Queue`: one engine queue. It extends `Producer` (its producing side, shared by
//! any number of Python threads: every producing method is inherited, none is repeated
//! here) and adds the consuming side.
//!
//! ## The consumer lock
//! The engine's consumer waits with `&mut Consumer`, so a blocked `pop` holds the
//! consumer's lock for as long as it waits. Another thread's `close()`, `len()` or
//! `finished` must not wait for a frame to arrive: they go through
//! [`ConsumerSide::quick`], which asks the waiting call to step aside — it triggers the
//! waiter's engine interrupt; the waiter returns `Interrupted`, lets go of the lock and
//! waits again (for the time left) once the quick call is done. Waiters register their
//! interrupt before looking at the request flag, and quick calls raise the flag before
//! triggering the registered interrupts, so neither side can miss the other.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use streamq::{Consumer, FrameInfo, Interrupt, PopTimeoutError, TryPopError};

use crate::errors;
use crate::frame::Frame;
use crate::options::QueueArgs;
use crate::producer::{Handle, Producer};
use crate::wait::{Attempt, Patience, PyInterrupt, block_on};

/// Default ring size of a `Queue`.
pub const DEFAULT_QUEUE_CAPACITY: usize = 64 << 20;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The consumer and the protocol that lets a quick call get past a waiting one.
struct ConsumerSide {
    consumer: Mutex<Consumer>,
    /// Held by a quick call from its request until it is done: a waiter that stepped
    /// aside queues here instead of grabbing the consumer back first.
    turnstile: Mutex<()>,
    /// A quick call wants the consumer.
    wanted: AtomicBool,
    /// Interrupts of the calls waiting with the consumer now, by ticket.
    waiters: Mutex<Vec<(u64, Interrupt)>>,
    next_ticket: AtomicU64,
    /// Threads inside a consumer wait in the engine now.
    waiting: AtomicUsize,
}

/// Keeps a waiter's interrupt registered.
struct Registered<'a> {
    side: &'a ConsumerSide,
    ticket: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        lock(&self.side.waiters).retain(|(t, _)| *t != self.ticket);
    }
}

/// Counts a thread as waiting in the engine for the guard's life.
struct Waiting<'a>(&'a AtomicUsize);
impl<'a> Waiting<'a> {
    fn new(c: &'a AtomicUsize) -> Self {
        c.fetch_add(1, Ordering::AcqRel);
        Waiting(c)
    }
}
impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConsumerSide {
    /// Runs `f` on the consumer now (GIL released), asking a waiting call to step aside.
    fn quick<R>(&self, f: impl FnOnce(&mut Consumer) -> R) -> R {
        let _turn = lock(&self.turnstile);
        if let Ok(mut c) = self.consumer.try_lock() {
            return f(&mut c);
        }
        self.wanted.store(true, Ordering::SeqCst);
        for (_, i) in lock(&self.waiters).iter() {
            i.trigger();
        }
        let mut c = lock(&self.consumer);
        self.wanted.store(false, Ordering::SeqCst);
        f(&mut c)
    }

    /// Runs the waiting call `f` on the consumer (GIL released), watching `int`: a quick
    /// call triggers it, and `f` then returns `Interrupted`.
    fn wait<R>(
        &self,
        int: &Interrupt,
        f: impl FnOnce(&mut Consumer) -> Result<R, PopTimeoutError>,
    ) -> Result<R, PopTimeoutError> {
        loop {
            // Behind any quick call in progress.
            drop(lock(&self.turnstile));
            let mut c = lock(&self.consumer);
            let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
            lock(&self.waiters).push((ticket, int.clone()));
            let _registered = Registered { side: self, ticket };
            if self.wanted.load(Ordering::SeqCst) {
                drop(c);
                continue;
            }
            let _waiting = Waiting::new(&self.waiting);
            return f(&mut c);
        }
    }
}

fn copy_batch(b: streamq::Batch<'_>) -> Vec<(FrameInfo, Vec<u8>)> {
    b.iter().map(|(i, d)| (i, d.to_vec())).collect()
}

fn to_frames(py: Python<'_>, frames: Vec<(FrameInfo, Vec<u8>)>) -> PyResult<Bound<'_, PyList>> {
    let out = PyList::empty(py);
    for (info, data) in frames {
        out.append(Frame::owned(py, info, data)?)?;
    }
    Ok(out)
}

/// A bounded queue of variable-size frames with a byte budget.
///
/// Memory never grows past `capacity` bytes (frame headers included). When a frame does
/// not fit, `policy` decides: "block" waits for room (Ctrl-C interrupts the wait),
/// "fail-fast" raises WouldBlockError, "drop-newest" drops the new frame, "drop-oldest"
/// evicts the oldest unread frames; every drop is counted in `stats`. Frames pushed
/// before anyone pops are kept.
///
/// A queue is a `Producer` (the class writer streams have too) with a consumer side:
/// push, try_push, reserve, try_reserve, the water marks, stats and options are
/// inherited, written once in `producer.rs`; `close()` here closes the consumer side
/// (`close_producer()` is the producer's close). `q.producer` is a separate `Producer`
/// handle on the same producing side, for code that should not see the consumer. Any
/// number of threads may push at once (the GIL is released while a frame is copied into
/// the ring and while waiting); popping is for one consumer at a time.
#[pyclass(frozen, subclass, extends = Producer, module = "streamq._streamq", name = "Queue")]
pub struct Queue {
    producer: Py<Producer>,
    handle: Arc<Handle>,
    side: ConsumerSide,
}

#[pymethods]
impl Queue {
    #[new]
    #[pyo3(signature = (
        capacity = None, *, policy = None, high_water = None, low_water = None, max_frames = None,
        block_timeout = None, prefault = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        capacity: Option<&Bound<'_, PyAny>>,
        policy: Option<&str>,
        high_water: Option<&Bound<'_, PyAny>>,
        low_water: Option<&Bound<'_, PyAny>>,
        max_frames: Option<usize>,
        block_timeout: Option<&Bound<'_, PyAny>>,
        prefault: Option<bool>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let settings = QueueArgs {
            capacity,
            policy,
            high_water,
            low_water,
            max_frames,
            block_timeout,
            prefault,
        }
        .settings(DEFAULT_QUEUE_CAPACITY, streamq::OverflowPolicy::Block)?;
        let described = settings.config.describe();
        let config = settings.config.clone();
        let (producer, consumer) = py
            .detach(|| streamq::queue(config))
            .map_err(|e| errors::build(py, e))?;
        let handle = Arc::new(Handle::new(producer.into_shared(), &settings, described, None));
        let producer = Producer {
            handle: Arc::clone(&handle),
        };
        let queue = Queue {
            producer: Py::new(
                py,
                Producer {
                    handle: Arc::clone(&handle),
                },
            )?,
            handle,
            side: ConsumerSide {
                consumer: Mutex::new(consumer),
                turnstile: Mutex::new(()),
                wanted: AtomicBool::new(false),
                waiters: Mutex::new(Vec::new()),
                next_ticket: AtomicU64::new(0),
                waiting: AtomicUsize::new(0),
            },
        };
        Ok(PyClassInitializer::from(producer).add_subclass(queue))
    }

    /// The queue's producing side as a plain `Producer` (the queue itself is one too;
    /// this one has no consumer methods and its `close()` ends the stream).
    #[getter]
    fn producer(&self, py: Python<'_>) -> Py<Producer> {
        self.producer.clone_ref(py)
    }

    /// Takes the oldest frame, waiting up to `timeout` seconds (None: until one arrives;
    /// 0: not at all).
    ///
    /// Raises Timeout when the timeout passes, EndOfStream (a ClosedError) once the
    /// producer side closed and the queue is drained, or after close(); Interrupted if
    /// `interrupt` is triggered. Ctrl-C interrupts the wait.
    #[pyo3(signature = (timeout = None, *, interrupt = None))]
    fn pop(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
        interrupt: Option<&Bound<'_, PyInterrupt>>,
    ) -> PyResult<Frame> {
        let patience = Patience::new(timeout, true, None)?;
        let side = &self.side;
        let r = match py.detach(|| side.quick(|c| c.try_pop())) {
            Ok(f) => Ok(f),
            Err(TryPopError::Disconnected) => Err(PopTimeoutError::Disconnected),
            Err(TryPopError::Empty) if matches!(patience, Patience::Never) => Err(PopTimeoutError::Timeout),
            Err(TryPopError::Empty) => block_on(py, patience, interrupt.map(Bound::get), |wait, int| {
                match side.wait(int, |c| c.pop_with(wait, Some(int))) {
                    Err(PopTimeoutError::Interrupted) => Attempt::Interrupted,
                    r => Attempt::Done(r),
                }
            })?,
        };
        match r {
            Ok(f) => Frame::owned(py, f.info, f.data),
            Err(PopTimeoutError::Disconnected) => Err(errors::end_of_stream(py)),
            Err(PopTimeoutError::Timeout) => Err(errors::timeout(py, "no frame before the timeout")),
            Err(e) => Err(errors::error(py, e.to_string())),
        }
    }

    /// Takes up to `max_frames` frames totalling at most `max_bytes` payload bytes (the
    /// first frame whatever its size), waiting up to `timeout` seconds for the first one.
    /// Returns [] if none arrived in time; raises EndOfStream at end of stream.
    #[pyo3(signature = (max_frames = 64, max_bytes = 64 << 20, timeout = None, *, interrupt = None))]
    fn pop_batch<'py>(
        &self,
        py: Python<'py>,
        max_frames: usize,
        max_bytes: usize,
        timeout: Option<f64>,
        interrupt: Option<&Bound<'_, PyInterrupt>>,
    ) -> PyResult<Bound<'py, PyList>> {
        if max_frames == 0 {
            return Err(PyValueError::new_err("max_frames must be at least 1"));
        }
        let patience = Patience::new(timeout, true, None)?;
        let side = &self.side;
        let first = py.detach(|| side.quick(|c| c.try_peek_batch(max_frames, max_bytes).map(copy_batch)));
        let r = match first {
            Ok(frames) => Ok(frames),
            Err(TryPopError::Disconnected) => Err(PopTimeoutError::Disconnected),
            Err(TryPopError::Empty) if matches!(patience, Patience::Never) => Err(PopTimeoutError::Timeout),
            Err(TryPopError::Empty) => block_on(py, patience, interrupt.map(Bound::get), |wait, int| {
                let r = side.wait(int, |c| {
                    c.peek_batch_with(max_frames, max_bytes, wait, Some(int))
                        .map(copy_batch)
                });
                match r {
                    Err(PopTimeoutError::Interrupted) => Attempt::Interrupted,
                    r => Attempt::Done(r),
                }
            })?,
        };
        match r {
            Ok(frames) => to_frames(py, frames),
            Err(PopTimeoutError::Disconnected) => Err(errors::end_of_stream(py)),
            Err(PopTimeoutError::Timeout) => Ok(PyList::empty(py)),
            Err(e) => Err(errors::error(py, e.to_string())),
        }
    }

    /// Closes the consumer side: later pushes raise ClosedError, blocked producers wake,
    /// frames still queued are counted as discarded, pop raises EndOfStream. Idempotent.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.side.quick(|c| c.close()));
    }

    /// Ends the stream from the producer side (`q.producer.close()`): later pushes raise
    /// ClosedError; the consumer drains what is queued, then sees end of stream.
    /// Idempotent.
    fn close_producer(&self, py: Python<'_>) -> PyResult<()> {
        self.handle.close(py)
    }

    /// Whether the stream has ended for the consumer: producers closed and nothing left,
    /// or close() was called.
    #[getter]
    fn finished(&self, py: Python<'_>) -> bool {
        py.detach(|| self.side.quick(|c| c.is_finished()))
    }

    /// Threads waiting in the engine for a frame now (in pop() or pop_batch()).
    #[getter]
    fn waiting_consumers(&self) -> usize {
        self.side.waiting.load(Ordering::Acquire)
    }

    /// Frames queued now.
    fn __len__(&self, py: Python<'_>) -> usize {
        py.detach(|| self.side.quick(|c| c.stats().frames_queued as usize))
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes both sides.
    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.handle.close(py)?;
        self.close(py);
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let s = py.detach(|| self.side.quick(|c| c.stats()));
        format!(
            "<streamq.Queue policy={} capacity={} queued={} frames / {} bytes>",
            self.handle.policy(),
            self.handle.capacity(),
            s.frames_queued,
            s.level_bytes
        )
    }
}
