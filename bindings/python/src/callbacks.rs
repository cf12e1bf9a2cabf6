//! Python callables the writer thread calls: a callable sink, `on_error`, `on_segment`,
//! `on_durable`.
//!
//! They run on the writer thread, which takes the GIL for them (`Python::attach`). Every
//! method that waits for the writer (or takes a lock the writer thread may hold while
//! calling back) releases the GIL first, so the writer thread can always get it. Calling
//! the writer from inside one of its callbacks would wait for the writer thread itself:
//! such calls raise RuntimeError instead ([`check_not_in_callback`]). An exception
//! raised by `on_error` / `on_segment` / `on_durable` is reported through
//! `sys.unraisablehook` and does not stop the writer; one raised by the sink fails the
//! writer (it is the sink's write error) and becomes the `__cause__` of the WriterError
//! raised from then on. At interpreter exit every open writer is closed (its sink can
//! still run), then callbacks are no longer called ([`SHUTTING_DOWN`]).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use streamq::writer::{Durable, FinishedSegment, SinkEvent, WriterError};

use crate::frame::Frame;
use crate::stats::{GapInfo, SegmentInfo};

/// Set at interpreter exit once open writers are closed: callbacks are no longer called.
pub static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);

thread_local! {
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is inside a writer callback (the writer thread, calling Python).
pub fn in_callback() -> bool {
    IN_CALLBACK.with(Cell::get)
}

/// Refuses a call that would wait for the writer thread from that very thread.
pub fn check_not_in_callback() -> PyResult<()> {
    if in_callback() {
        return Err(PyRuntimeError::new_err(
            "cannot use the writer from inside its own on_error / on_segment / on_durable \
             callback or its sink (they run on the writer thread, which would wait for itself)",
        ));
    }
    Ok(())
}

/// Runs `f` with the GIL, flagged as a callback.
fn flagged<R>(py: Python<'_>, f: impl FnOnce(Python<'_>) -> R) -> R {
    IN_CALLBACK.with(|c| c.set(true));
    let r = f(py);
    IN_CALLBACK.with(|c| c.set(false));
    r
}

/// Calls `cb` through `f` on the writer thread; its exception goes to
/// `sys.unraisablehook`.
fn call_back(cb: &Py<PyAny>, f: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>>) {
    if SHUTTING_DOWN.load(Ordering::Acquire) {
        return;
    }
    Python::attach(|py| {
        if let Err(e) = flagged(py, f) {
            e.write_unraisable(py, Some(cb.bind(py)));
        }
    });
}

/// The exception a callable sink raised (the first one: the writer stops there), kept
/// to become the `__cause__` of the WriterError raised from then on.
pub type SinkException = Arc<Mutex<Option<PyErr>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The engine's error as a Python exception; a sink's failure gets the sink's own
/// exception as `__cause__`.
pub fn writer_err(py: Python<'_>, e: &WriterError, sink_exc: &SinkException) -> PyErr {
    let err = crate::errors::writer(py, e);
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

/// The engine's callback sink for a Python callable: each frame becomes a `Frame` (its
/// bytes copied into a `bytes` object) and each gap a `GapInfo` (the engine's events
/// carry the stream's name), passed to `sink` on the writer thread with the GIL. An
/// exception fails the writer with its text; the exception itself is kept in `exc`.
pub fn python_sink(
    sink: Py<PyAny>,
    exc: SinkException,
) -> impl FnMut(SinkEvent<'_>) -> Result<(), String> + Send + 'static {
    move |ev| {
        if SHUTTING_DOWN.load(Ordering::Acquire) {
            return Err("the Python interpreter is shutting down".into());
        }
        Python::attach(|py| {
            let r = flagged(py, |py| -> PyResult<()> {
                let arg: Py<PyAny> = match ev {
                    SinkEvent::Frame(f) => {
                        let name = PyString::intern(py, f.stream).unbind();
                        Py::new(py, Frame::sink(py, f.info, f.stream_id, name, f.data))?.into_any()
                    }
                    SinkEvent::Gap {
                        stream_id,
                        stream,
                        gap,
                    } => Py::new(
                        py,
                        GapInfo {
                            stream_id,
                            stream: stream.to_string(),
                            first_seq: gap.first_seq,
                            count: gap.count,
                            reason: gap.reason.to_string(),
                            host_time: gap.host_ts_ns,
                        },
                    )?
                    .into_any(),
                    // Events a newer engine may add are not for this sink.
                    _ => return Ok(()),
                };
                sink.call1(py, (arg,))?;
                Ok(())
            });
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

/// `on_error(exc)`: the writer's error as the exception the producer will see.
pub fn on_error(cb: Py<PyAny>, exc: SinkException) -> impl Fn(&WriterError) + Send + Sync + 'static {
    move |e| {
        call_back(&cb, |py| {
            Ok(writer_err(py, e, &exc).into_value(py).into_any()).and_then(|a| cb.call1(py, (a,)))
        })
    }
}

/// `on_segment(info)`: a finished segment as a `SegmentInfo`.
pub fn on_segment(cb: Py<PyAny>) -> impl Fn(&FinishedSegment) + Send + Sync + 'static {
    move |s| call_back(&cb, |py| cb.call1(py, (SegmentInfo::new(py, s)?,)))
}

/// `on_durable(stream_id, seq)`: a stream's frames up to `seq` are on stable storage.
pub fn on_durable(cb: Py<PyAny>) -> impl Fn(&Durable<'_>) + Send + Sync + 'static {
    move |d| call_back(&cb, |py| cb.call1(py, (d.stream_id, d.seq)))
}
