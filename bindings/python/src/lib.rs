//! `streamq._streamq`: the compiled part of the `streamq` Python package.
//!
//! | module | what |
//! |--------|------|
//! | `producer.rs` | `Producer`: the producing side of a queue or a writer stream (push, reserve, water marks) |
//! | `reservation.rs` | `Reservation`: ring space filled in place, published by commit |
//! | `queue.rs` | `Queue`: a bounded byte-budget frame queue (its Producer and its consumer side) |
//! | `writer.rs` | `Writer`: streams written on the engine's threads to a file, a directory or a callable |
//! | `options.rs` | option values from Python, parsed by the engine; deprecated names; `describe()` dicts |
//! | `callbacks.rs` | the writer's Python callables: sink, on_error, on_segment, on_durable |
//! | `wait.rs` | blocking in one engine call; `Interrupt` |
//! | `signals.rs` | Ctrl-C wakes a blocked call (signal wakeup descriptor + watcher thread) |
//! | `reader.rs` | `Reader`, `recover`: memory-mapped capture files, zero-copy frames |
//! | `frame.rs` | `Frame` |
//! | `buffers.rs` | zero-copy input (buffer protocol) and output (`__getbuffer__`) |
//! | `stats.rs` | records: QueueStats, Report, StreamInfo, VerifyReport ... |
//! | `errors.rs` | the exception hierarchy |
//!
//! The pure-Python part (`python/streamq/__init__.py`) adds the asyncio helpers.

use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict};

mod buffers;
mod callbacks;
mod errors;
mod frame;
mod options;
mod producer;
mod queue;
mod reader;
mod reservation;
mod signals;
mod stats;
mod wait;
mod writer;

#[pymodule]
fn _streamq(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    stats::register(m)?;
    m.add_class::<buffers::BufferView>()?;
    m.add_class::<frame::Frame>()?;
    m.add_class::<wait::PyInterrupt>()?;
    m.add_class::<producer::Producer>()?;
    m.add_class::<reservation::Reservation>()?;
    m.add_class::<queue::Queue>()?;
    m.add_class::<writer::Writer>()?;
    m.add_class::<reader::Reader>()?;
    m.add_class::<reader::FrameIter>()?;
    m.add_function(wrap_pyfunction!(reader::recover, m)?)?;
    // Close open writers at exit while the interpreter can still run their callbacks.
    // Registered as closures: nothing internal is a module attribute.
    let shutdown = PyCFunction::new_closure(
        py,
        Some(c"_streamq_shutdown"),
        None,
        |args: &Bound<'_, pyo3::types::PyTuple>, _: Option<&Bound<'_, PyDict>>| {
            writer::shutdown(args.py());
        },
    )?;
    py.import("atexit")?.call_method1("register", (shutdown,))?;
    // A forked child has no signal watcher thread: let it start a new one.
    let after_fork = PyCFunction::new_closure(
        py,
        Some(c"_streamq_after_fork_in_child"),
        None,
        |args: &Bound<'_, pyo3::types::PyTuple>, _: Option<&Bound<'_, PyDict>>| {
            signals::after_fork_in_child(args.py());
        },
    )?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("after_in_child", after_fork)?;
    py.import("os")?
        .getattr("register_at_fork")?
        .call((), Some(&kwargs))?;
    Ok(())
}
