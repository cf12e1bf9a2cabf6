//! The exception hierarchy of the `streamq` package and the mapping of engine errors.
//!
//! ```text
//! Exception
//! └── streamq.Error
//!     ├── ClosedError                    use of a closed queue / producer / writer / reader
//!     │   └── EndOfStream                pop / next after the producers closed and the queue drained
//!     ├── Timeout                        also a builtins.TimeoutError
//!     ├── WouldBlockError                full queue under policy "fail-fast" (or block=False)
//!     ├── FrameTooLargeError             also a ValueError: the frame can never fit
//!     ├── CorruptFileError               not a capture file, damaged record, bad version
//!     ├── IOFailure                      also a builtins.OSError, with errno / strerror / filename
//!     ├── Interrupted                    a wait cut short by a streamq.Interrupt
//!     └── WriterError                    the writer failed (``.report`` when raised by close)
//!         └── WriterIOError              a WriterError that is also an IOFailure
//! ```
//!
//! No name shadows a builtin (`Timeout`, not `TimeoutError`; `IOFailure`, not `IOError`):
//! `from streamq import *` is safe. The old names stay reachable as deprecated attributes
//! of the package (see `python/streamq/__init__.py`).
//!
//! The classes are made at module import with `type(name, bases, dict)` so that several
//! bases are possible (pyo3's `create_exception!` takes one).

use pyo3::exceptions::{PyException, PyOSError, PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use streamq::reader::ReaderError;
use streamq::writer::{AddStreamError, FlushError, StartError, WriterError};
use streamq::{BuildError, OptionTextError};

struct Types {
    error: Py<PyType>,
    closed: Py<PyType>,
    end_of_stream: Py<PyType>,
    timeout: Py<PyType>,
    would_block: Py<PyType>,
    too_large: Py<PyType>,
    corrupt: Py<PyType>,
    io: Py<PyType>,
    interrupted: Py<PyType>,
    writer: Py<PyType>,
    writer_io: Py<PyType>,
}

static TYPES: PyOnceLock<Types> = PyOnceLock::new();

fn make<'py>(py: Python<'py>, name: &str, bases: &[&Bound<'py, PyType>], doc: &str) -> PyResult<Py<PyType>> {
    let dict = PyDict::new(py);
    dict.set_item("__module__", "streamq")?;
    dict.set_item("__doc__", doc)?;
    let bases = PyTuple::new(py, bases)?;
    let ty = py.get_type::<PyType>().call1((name, bases, dict))?;
    Ok(ty.cast_into::<PyType>()?.unbind())
}

fn types(py: Python<'_>) -> PyResult<&Types> {
    TYPES.get_or_try_init(py, || {
        let exc = py.get_type::<PyException>();
        let error = make(py, "Error", &[&exc], "Base class of every streamq error.")?;
        let e = error.bind(py);
        let closed = make(
            py,
            "ClosedError",
            &[e],
            "The queue, producer, writer or reader is closed: nothing more can be pushed or read.",
        )?;
        let end_of_stream = make(
            py,
            "EndOfStream",
            &[closed.bind(py)],
            "End of stream: every producer closed and the queue is drained (or the consumer closed).",
        )?;
        let timeout = make(
            py,
            "Timeout",
            &[e, &py.get_type::<PyTimeoutError>()],
            "A blocking call's timeout passed (also a builtins.TimeoutError).",
        )?;
        let would_block = make(
            py,
            "WouldBlockError",
            &[e],
            "The queue is full and the call may not wait (policy \"fail-fast\", block=False or timeout=0).",
        )?;
        let too_large = make(
            py,
            "FrameTooLargeError",
            &[e, &py.get_type::<PyValueError>()],
            "The frame is larger than the queue could ever hold (also a ValueError).",
        )?;
        let corrupt = make(
            py,
            "CorruptFileError",
            &[e],
            "Not a capture file, an unsupported format version, or a damaged record.",
        )?;
        let io = make(
            py,
            "IOFailure",
            &[e, &py.get_type::<PyOSError>()],
            "An operating-system error (also a builtins.OSError: errno, strerror, filename).",
        )?;
        let interrupted = make(
            py,
            "Interrupted",
            &[e],
            "A wait was cut short because the streamq.Interrupt given to the call was triggered.",
        )?;
        let writer = make(
            py,
            "WriterError",
            &[e],
            "The writer failed. Raised by the next push/flush/close; close()'s carries `.report`.",
        )?;
        let writer_io = make(
            py,
            "WriterIOError",
            &[writer.bind(py), io.bind(py)],
            "The writer failed on an I/O error (ENOSPC, EIO ...); also a streamq.IOFailure / OSError.",
        )?;
        Ok::<_, PyErr>(Types {
            error,
            closed,
            end_of_stream,
            timeout,
            would_block,
            too_large,
            corrupt,
            io,
            interrupted,
            writer,
            writer_io,
        })
    })
}

/// Creates the classes and adds them to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let t = types(py)?;
    for (name, ty) in [
        ("Error", &t.error),
        ("ClosedError", &t.closed),
        ("EndOfStream", &t.end_of_stream),
        ("Timeout", &t.timeout),
        ("WouldBlockError", &t.would_block),
        ("FrameTooLargeError", &t.too_large),
        ("CorruptFileError", &t.corrupt),
        ("IOFailure", &t.io),
        ("Interrupted", &t.interrupted),
        ("WriterError", &t.writer),
        ("WriterIOError", &t.writer_io),
    ] {
        m.add(name, ty.bind(py))?;
    }
    Ok(())
}

fn new_err(py: Python<'_>, pick: impl Fn(&Types) -> &Py<PyType>, msg: String) -> PyErr {
    match types(py) {
        Ok(t) => PyErr::from_type(pick(t).bind(py).clone(), (msg,)),
        Err(e) => e,
    }
}

/// `streamq.Error`.
pub fn error(py: Python<'_>, msg: impl Into<String>) -> PyErr {
    new_err(py, |t| &t.error, msg.into())
}

/// `streamq.ClosedError`.
pub fn closed(py: Python<'_>, msg: impl Into<String>) -> PyErr {
    new_err(py, |t| &t.closed, msg.into())
}

/// `streamq.EndOfStream`.
pub fn end_of_stream(py: Python<'_>) -> PyErr {
    new_err(py, |t| &t.end_of_stream, "end of stream".into())
}

/// `streamq.Timeout`.
pub fn timeout(py: Python<'_>, msg: impl Into<String>) -> PyErr {
    new_err(py, |t| &t.timeout, msg.into())
}

/// `streamq.WouldBlockError`.
pub fn would_block(py: Python<'_>, msg: impl Into<String>) -> PyErr {
    new_err(py, |t| &t.would_block, msg.into())
}

/// `streamq.Interrupted`.
pub fn interrupted(py: Python<'_>) -> PyErr {
    new_err(
        py,
        |t| &t.interrupted,
        "the wait was interrupted (its streamq.Interrupt was triggered)".into(),
    )
}

/// `streamq.FrameTooLargeError`.
pub fn too_large(py: Python<'_>, len: usize, max: usize) -> PyErr {
    new_err(
        py,
        |t| &t.too_large,
        format!("frame of {len} bytes can never fit in this queue (largest is {max} bytes)"),
    )
}

/// `streamq.CorruptFileError`.
pub fn corrupt(py: Python<'_>, msg: impl Into<String>) -> PyErr {
    new_err(py, |t| &t.corrupt, msg.into())
}

fn os_error(
    py: Python<'_>,
    pick: impl Fn(&Types) -> &Py<PyType>,
    errno: Option<i32>,
    msg: String,
    path: Option<String>,
) -> PyErr {
    let t = match types(py) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let ty = pick(t).bind(py).clone();
    match (errno, path) {
        // OSError(errno, strerror, filename) fills the attributes.
        (Some(n), Some(p)) => PyErr::from_type(ty, (n, msg, p)),
        (Some(n), None) => PyErr::from_type(ty, (n, msg)),
        (None, _) => PyErr::from_type(ty, (msg,)),
    }
}

/// `streamq.IOFailure` (an OSError) from a Rust I/O error.
pub fn io(py: Python<'_>, e: &std::io::Error, path: Option<&std::path::Path>) -> PyErr {
    os_error(
        py,
        |t| &t.io,
        e.raw_os_error(),
        e.to_string(),
        path.map(|p| p.display().to_string()),
    )
}

/// A ValueError for an option value the engine's parser refused; the message starts
/// with the Python argument's name.
pub fn option(name: &str, e: &OptionTextError) -> PyErr {
    PyValueError::new_err(format!("{name}: {e}"))
}

/// Why a running writer failed: `WriterIOError` for I/O errors (errno, filename set),
/// else `WriterError`.
pub fn writer(py: Python<'_>, e: &WriterError) -> PyErr {
    match e {
        WriterError::Io {
            path, raw_os_error, ..
        } => os_error(
            py,
            |t| &t.writer_io,
            *raw_os_error,
            e.to_string(),
            Some(path.display().to_string()),
        ),
        _ => new_err(py, |t| &t.writer, e.to_string()),
    }
}

/// `Writer.start` refused: the engine's message as a ValueError for a configuration it
/// cannot use (an option the sink does not use, a value out of range), else the
/// writer error (the file could not be created ...).
pub fn start(py: Python<'_>, e: &StartError) -> PyErr {
    match e {
        StartError::InvalidConfig(m) => PyValueError::new_err(m.clone()),
        StartError::Open(e) => writer(py, e),
        _ => error(py, e.to_string()),
    }
}

/// `Writer.add_stream` refused; `failed` maps the writer's own error.
pub fn add_stream(py: Python<'_>, e: &AddStreamError, failed: impl Fn(&WriterError) -> PyErr) -> PyErr {
    match e {
        AddStreamError::InvalidConfig(_) | AddStreamError::DuplicateName(_) => {
            PyValueError::new_err(e.to_string())
        }
        AddStreamError::Closed => closed(py, "writer is closed"),
        AddStreamError::Failed(w) => failed(w),
        _ => error(py, e.to_string()),
    }
}

/// `Writer.flush` refused; `failed` maps the writer's own error.
pub fn flush(py: Python<'_>, e: &FlushError, failed: impl Fn(&WriterError) -> PyErr) -> PyErr {
    match e {
        FlushError::Closed => closed(py, "writer is closed"),
        FlushError::Failed(w) => failed(w),
        _ => error(py, e.to_string()),
    }
}

/// A queue could not be built.
pub fn build(py: Python<'_>, e: BuildError) -> PyErr {
    match e {
        BuildError::InvalidConfig(m) => PyValueError::new_err(m),
        BuildError::Io(e) => io(py, &e, None),
        e => error(py, e.to_string()),
    }
}

/// The exception for a reader failure.
pub fn reader(py: Python<'_>, e: &ReaderError) -> PyErr {
    match e {
        ReaderError::Io { path, source } => io(py, source, Some(path)),
        ReaderError::NoSegments => PyValueError::new_err("no capture file given"),
        _ => corrupt(py, e.to_string()),
    }
}
