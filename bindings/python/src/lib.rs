//! `streamq._streamq`: the compiled part of the `streamq` Python package.
//!
//! | module | what |
//! |--------|------|
//! | `queue.rs` | `Queue`: a bounded byte-budget frame queue (producer and consumer side) |
//! | `producer.rs` | push / reserve shared by queues and writer streams: GIL release, Ctrl-C, policies |
//! | `writer.rs` | `Writer` and its `Stream`s: capture files written on the engine's threads |
//! | `reader.rs` | `Reader`, `recover`: memory-mapped capture files, zero-copy frames |
//! | `frame.rs` | `Frame` |
//! | `buffers.rs` | zero-copy input (buffer protocol) and output (`__getbuffer__`) |
//! | `stats.rs` | records: QueueStats, Report, StreamInfo, VerifyReport ... |
//! | `errors.rs` | the exception hierarchy |
//!
//! The pure-Python part (`python/streamq/__init__.py`) adds the asyncio helpers.

use pyo3::prelude::*;

mod buffers;
mod errors;
mod frame;
mod producer;
mod queue;
mod reader;
mod stats;
mod writer;

#[pymodule]
fn _streamq(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    stats::register(m)?;
    m.add_class::<buffers::BufferView>()?;
    m.add_class::<frame::Frame>()?;
    m.add_class::<producer::Reservation>()?;
    m.add_class::<queue::Queue>()?;
    m.add_class::<writer::Writer>()?;
    m.add_class::<writer::Stream>()?;
    m.add_class::<reader::Reader>()?;
    m.add_class::<reader::FrameIter>()?;
    m.add_function(wrap_pyfunction!(reader::recover, m)?)?;
    m.add_function(wrap_pyfunction!(writer::_shutdown, m)?)?;
    m.add("WAIT_SLICE_SECONDS", producer::WAIT_SLICE.as_secs_f64())?;
    m.add("SMALL_FRAME_BYTES", producer::SMALL_FRAME)?;
    // Close open writers while the interpreter can still run their callbacks.
    let shutdown = m.getattr("_shutdown")?;
    py.import("atexit")?.call_method1("register", (shutdown,))?;
    Ok(())
}
