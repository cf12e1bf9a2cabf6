//! `streamq.Reservation`: ring space for one frame, filled in place through a writable
//! memoryview and published by `commit()`.

use std::sync::Arc;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyMemoryView;

use streamq::{SharedProducer, SharedReservation};

use crate::buffers::BufferView;
use crate::producer::Handle;

/// A value moved out of `py.detach` on the same thread (the engine's reservation holds a
/// `MutexGuard`, which is `!Send` although it never changes thread here).
pub struct SameThread<T>(pub T);
// SAFETY: `py.detach` runs its closure on the calling thread, so the value never moves
// to another thread.
unsafe impl<T> Send for SameThread<T> {}

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
    handle: Arc<Handle>,
    view: Py<BufferView>,
    mv: Option<Py<PyMemoryView>>,
    len: usize,
    seq: Option<u64>,
    dropped: bool,
    done: bool,
}

impl Reservation {
    /// A reservation (`res`, borrowing `producer`) or, if the policy dropped the frame
    /// (`res` None), a scratch buffer; `view` is what the caller fills.
    pub fn new(
        py: Python<'_>,
        res: Option<SharedReservation<'static>>,
        producer: Box<SharedProducer>,
        handle: Arc<Handle>,
        view: BufferView,
        len: usize,
    ) -> PyResult<Self> {
        let dropped = res.is_none();
        Ok(Reservation {
            res,
            _producer: producer,
            handle,
            view: Py::new(py, view)?,
            mv: None,
            len,
            seq: None,
            dropped,
            done: false,
        })
    }

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
            // The timestamp given to reserve() is the one commit() uses.
            if commit {
                self.seq = Some(res.commit());
            } else {
                res.abort();
            }
            self.handle.reservation_done();
        }
        Ok(self.seq)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(res) = self.res.take() {
            res.abort();
            self.handle.reservation_done();
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
