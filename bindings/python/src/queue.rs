//! `streamq.Queue`: one engine queue, with both its producer side (shared by any number
//! of Python threads) and its consumer side.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use streamq::{Consumer, FrameInfo, PopTimeoutError, QueueConfig, TryPopError};

use crate::errors;
use crate::frame::Frame;
use crate::producer::{
    BLOCK_SLICE, ProducerHandle, Reservation, WAIT_SLICE, deadline, parse_policy, policy_name, remaining,
};
use crate::stats::QueueStats;

/// Default ring size of a `Queue`.
pub const DEFAULT_QUEUE_CAPACITY: usize = 64 << 20;

/// A bounded queue of variable-size frames with a byte budget.
///
/// Memory never grows past `capacity` bytes (frame headers included). When a frame does
/// not fit, `policy` decides: "block" waits for room (Ctrl-C interrupts the wait),
/// "fail" raises WouldBlockError, "drop_newest" drops the new frame, "drop_oldest"
/// evicts the oldest unread frames; every drop is counted in `stats`. Frames pushed
/// before anyone pops are kept.
///
/// Any number of threads may push at once (the GIL is released while a frame is copied
/// into the ring and while waiting); popping is for one consumer at a time.
#[pyclass(frozen, subclass, module = "streamq._streamq", name = "Queue")]
pub struct Queue {
    handle: Arc<ProducerHandle>,
    consumer: Mutex<Consumer>,
    capacity: usize,
    max_frame_len: usize,
    /// Threads inside a waiting pop / pop_batch now.
    waiting_consumers: AtomicUsize,
}

/// Counts a thread as waiting in pop for the guard's life.
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

impl Queue {
    fn consumer(&self) -> MutexGuard<'_, Consumer> {
        self.consumer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn to_frames(py: Python<'_>, frames: Vec<(FrameInfo, Vec<u8>)>) -> PyResult<Bound<'_, PyList>> {
    let out = PyList::empty(py);
    for (info, data) in frames {
        out.append(Frame::owned(py, info, data)?)?;
    }
    Ok(out)
}

#[pymethods]
impl Queue {
    #[new]
    #[pyo3(signature = (capacity = DEFAULT_QUEUE_CAPACITY, high_water = None, low_water = None, policy = "block", max_frames = None))]
    fn new(
        py: Python<'_>,
        capacity: usize,
        high_water: Option<usize>,
        low_water: Option<usize>,
        policy: &str,
        max_frames: Option<usize>,
    ) -> PyResult<Self> {
        let policy = parse_policy(policy)?;
        let mut config = QueueConfig::new(capacity)
            .policy(policy)
            .block_timeout(Some(BLOCK_SLICE));
        if let Some(h) = high_water {
            config = config.high_water(h);
        }
        if let Some(l) = low_water {
            config = config.low_water(l);
        }
        if let Some(m) = max_frames {
            config = config.max_frames(m);
        }
        let effective = config.effective_capacity();
        let (producer, consumer) = py.detach(|| streamq::queue(config)).map_err(|e| match e {
            streamq::BuildError::InvalidConfig(m) => PyValueError::new_err(m),
            streamq::BuildError::Io(e) => errors::io(py, &e, None),
        })?;
        let max_frame_len = producer.max_frame_len();
        Ok(Queue {
            handle: Arc::new(ProducerHandle::new(producer.into_shared(), policy, "queue", None)),
            consumer: Mutex::new(consumer),
            capacity: effective,
            max_frame_len,
            waiting_consumers: AtomicUsize::new(0),
        })
    }

    /// Copies `data` (any C-contiguous buffer: bytes, bytearray, memoryview, numpy array)
    /// into the queue as one frame.
    ///
    /// Returns the frame's sequence number, or None if the overflow policy dropped it
    /// ("drop_newest", or "drop_oldest" while the consumer holds every queued frame); drops
    /// are counted in `stats`. `timeout` (seconds) bounds a "block" wait: TimeoutError
    /// after it, WouldBlockError at once for timeout=0. `timestamp` is a device time in ns
    /// (default: the host's monotonic clock). Raises ClosedError once either side closed,
    /// FrameTooLargeError if the frame can never fit.
    #[pyo3(signature = (data, timeout = None, timestamp = None))]
    fn push(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        timeout: Option<f64>,
        timestamp: Option<u64>,
    ) -> PyResult<Option<u64>> {
        self.handle.push(py, data, timeout, timestamp)
    }

    /// Reserves `size` bytes in the ring to fill in place; see `Reservation`.
    ///
    /// ```python
    /// r = q.reserve(n)
    /// with r as buf:
    ///     buf[:] = data      # committed on normal exit, aborted on exception
    /// ```
    #[pyo3(signature = (size, timeout = None, timestamp = None))]
    fn reserve(
        &self,
        py: Python<'_>,
        size: usize,
        timeout: Option<f64>,
        timestamp: Option<u64>,
    ) -> PyResult<Reservation> {
        ProducerHandle::reserve(&self.handle, py, size, timeout, timestamp)
    }

    /// Takes the oldest frame, waiting up to `timeout` seconds (None: until one arrives).
    ///
    /// Raises TimeoutError when the timeout passes, EndOfStream (a ClosedError) once the
    /// producer side closed and the queue is drained, or after close(). Ctrl-C interrupts
    /// the wait.
    #[pyo3(signature = (timeout = None))]
    fn pop(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Frame> {
        let deadline = deadline(timeout)?;
        let _waiting = Waiting::new(&self.waiting_consumers);
        loop {
            let slice = remaining(deadline).map_or(WAIT_SLICE, |r| r.min(WAIT_SLICE));
            let r = py.detach(|| {
                let mut c = self.consumer();
                if slice.is_zero() {
                    c.try_pop().map_err(|e| match e {
                        TryPopError::Empty => PopTimeoutError::Timeout,
                        TryPopError::Disconnected => PopTimeoutError::Disconnected,
                    })
                } else {
                    c.pop_timeout(slice)
                }
            });
            match r {
                Ok(f) => return Frame::owned(py, f.info, f.data),
                Err(PopTimeoutError::Disconnected) => return Err(errors::end_of_stream(py)),
                Err(PopTimeoutError::Timeout) => {
                    if remaining(deadline).is_some_and(|r| r.is_zero()) {
                        return Err(errors::timeout(py, "no frame before the timeout"));
                    }
                    py.check_signals()?;
                }
            }
        }
    }

    /// Takes up to `max_frames` frames totalling at most `max_bytes` payload bytes (the
    /// first frame whatever its size), waiting up to `timeout` seconds for the first one.
    /// Returns [] if none arrived in time; raises EndOfStream at end of stream.
    #[pyo3(signature = (max_frames = 64, max_bytes = 64 << 20, timeout = None))]
    fn pop_batch<'py>(
        &self,
        py: Python<'py>,
        max_frames: usize,
        max_bytes: usize,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyList>> {
        if max_frames == 0 {
            return Err(PyValueError::new_err("max_frames must be at least 1"));
        }
        let deadline = deadline(timeout)?;
        let _waiting = Waiting::new(&self.waiting_consumers);
        loop {
            let slice = remaining(deadline).map_or(WAIT_SLICE, |r| r.min(WAIT_SLICE));
            let r = py.detach(|| {
                let mut c = self.consumer();
                let copy = |b: streamq::Batch<'_>| b.iter().map(|(i, d)| (i, d.to_vec())).collect::<Vec<_>>();
                if slice.is_zero() {
                    match c.try_peek_batch(max_frames, max_bytes) {
                        Ok(b) => Ok(copy(b)),
                        Err(TryPopError::Empty) => Err(PopTimeoutError::Timeout),
                        Err(TryPopError::Disconnected) => Err(PopTimeoutError::Disconnected),
                    }
                } else {
                    c.peek_batch_timeout(max_frames, max_bytes, Some(slice)).map(copy)
                }
            });
            match r {
                Ok(frames) => return to_frames(py, frames),
                Err(PopTimeoutError::Disconnected) => return Err(errors::end_of_stream(py)),
                Err(PopTimeoutError::Timeout) => {
                    if remaining(deadline).is_some_and(|r| r.is_zero()) {
                        return Ok(PyList::empty(py));
                    }
                    py.check_signals()?;
                }
            }
        }
    }

    /// Closes the consumer side: later pushes raise ClosedError, blocked producers wake,
    /// frames still queued are counted as discarded, pop raises EndOfStream. Idempotent.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.consumer().close());
    }

    /// Ends the stream from the producer side: later pushes raise ClosedError; the
    /// consumer drains what is queued, then sees end of stream. Idempotent.
    fn close_producer(&self, py: Python<'_>) -> PyResult<()> {
        self.handle.close(py)
    }

    /// Whether pushes would raise ClosedError (either side closed).
    #[getter]
    fn closed(&self, py: Python<'_>) -> PyResult<bool> {
        self.handle.is_closed(py)
    }

    /// Whether the stream has ended for the consumer: producers closed and nothing left,
    /// or close() was called.
    #[getter]
    fn finished(&self, py: Python<'_>) -> bool {
        py.detach(|| self.consumer().is_finished())
    }

    /// A snapshot of the counters (QueueStats), push latency percentiles included.
    #[getter]
    fn stats(&self, py: Python<'_>) -> PyResult<Py<QueueStats>> {
        let s = self.handle.stats(py)?;
        QueueStats::new(py, &s)
    }

    /// The water-mark descriptor (a Linux eventfd): it polls readable after each
    /// transition across the high or low mark. For event loops (`loop.add_reader`);
    /// call clear_event() when it fires, then read is_above_high_water. Owned by the
    /// queue: do not close it.
    fn fileno(&self, py: Python<'_>) -> PyResult<i32> {
        self.handle
            .fd
            .ok_or_else(|| errors::error(py, "no water-mark descriptor on this platform"))
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
    /// seconds passed first. Raises ClosedError if the consumer closes. Ctrl-C interrupts.
    #[pyo3(signature = (timeout = None))]
    fn wait_below_low(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        self.handle.wait_below_low(py, timeout)
    }

    /// Ring size in bytes (the capacity rounded up to whole pages).
    #[getter]
    fn capacity(&self) -> usize {
        self.capacity
    }

    /// Largest frame (bytes) the queue accepts.
    #[getter]
    fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// The overflow policy's name.
    #[getter]
    fn policy(&self) -> &'static str {
        policy_name(self.handle.policy)
    }

    /// Threads inside pop() or pop_batch() now (waiting for a frame, or taking one).
    #[getter]
    fn waiting_consumers(&self) -> usize {
        self.waiting_consumers.load(Ordering::Acquire)
    }

    /// Frames queued now.
    fn __len__(&self, py: Python<'_>) -> usize {
        py.detach(|| self.consumer().stats().frames_queued as usize)
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
        let s = py.detach(|| self.consumer().stats());
        format!(
            "<streamq.Queue policy={} capacity={} queued={} frames / {} bytes>",
            policy_name(self.handle.policy),
            self.capacity,
            s.frames_queued,
            s.level_bytes
        )
    }
}
