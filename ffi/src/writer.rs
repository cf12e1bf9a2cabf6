//! `streamq_writer`: a running capture — create, add streams (each a
//! `streamq_producer`), flush, close, free. Its configuration is in `writer_config.rs`
//! and `stream_config.rs`, its callbacks in `sink.rs`, its reports in `report.rs`.
//!
//! Contract of the exports here (the `SAFETY` comments refer to it): a writer argument
//! is NULL or a live `streamq_writer*` from `streamq_writer_create`, not freed; config
//! pointers are NULL or as their modules describe (`struct_size`, strings, metadata);
//! output structs are NULL or as `sized.rs` describes outputs; other outputs NULL or
//! valid for a write of their type.

use std::ffi::CString;
use std::sync::{Arc, Mutex};

use streamq_core::{Writer, WriterReport};

use crate::args::{handle, out, write};
use crate::panic::{call, call_or};
use crate::producer::streamq_producer;
use crate::report::{report_c, streamq_writer_report};
use crate::result::{Error, Res, streamq_result};
use crate::sized::{Output, read_input};
use crate::stream_config::{stream_config, streamq_stream_config};
use crate::writer_config::{Purpose, streamq_writer_config, writer_config};

/// What a writer handle and its streams' producers share: the engine's writer (which
/// keeps its close result) and the stream names as C strings for the reports.
pub(crate) struct WriterShared {
    pub(crate) writer: Writer,
    /// Stream names by id, made from the engine's report when a report asks for them.
    pub(crate) report_names: Mutex<Vec<CString>>,
}

impl WriterShared {
    /// The final report after close (kept by the engine, whether the close succeeded or
    /// not), a live snapshot before.
    pub(crate) fn report(&self) -> WriterReport {
        if self.writer.is_closed() {
            match self.writer.close() {
                Ok(r) => r,
                Err(e) => *e.report,
            }
        } else {
            self.writer.stats()
        }
    }
}

/// A running capture: owns the writer thread(s).
///
/// Thread safety: may move between threads and be used by several threads at once (a
/// flush in progress when another thread closes returns once the close has written
/// everything). Underneath: a `Box` holding an `Arc` of the engine's `Writer` (which
/// keeps its close result), shared with the producers of its streams.
///
/// Lifetime: after `streamq_writer_close` the handle stays valid until
/// `streamq_writer_free`: `add_stream` and `flush` return `STREAMQ_RESULT_CLOSED`,
/// `close` again returns what the first close returned (and the same report), the
/// reports give the final figures. Stream producers are independent handles: free them
/// before or after the writer. Once the writer is closed or freed, their pushes return
/// `STREAMQ_RESULT_CLOSED` (see `streamq_producer`).
pub struct streamq_writer {
    pub(crate) shared: Arc<WriterShared>,
}

/// Opens the sink (creating the file) and starts the writer thread.
///
/// Returns `STREAMQ_RESULT_INVALID_ARGUMENT` (a bad or inapplicable setting; the
/// engine's message is in `streamq_last_error`, e.g. "compression applies to the
/// capture_file sink only (this writer's sink is directory)"), `STREAMQ_RESULT_IO`
/// (cannot create the file), `STREAMQ_RESULT_NULL_POINTER`. `*writer_out` is written
/// only on `STREAMQ_RESULT_OK`.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_create(
    config: *const streamq_writer_config,
    writer_out: *mut *mut streamq_writer,
) -> streamq_result {
    call("streamq_writer_create", || {
        // SAFETY: the module contract.
        let c = unsafe { read_input(config, "config") }?;
        out(writer_out, "writer_out")?;
        // SAFETY: the config's pointers satisfy the module contract.
        let w = Writer::start(unsafe { writer_config(&c, Purpose::Start) }?)?;
        let h = Box::new(streamq_writer {
            shared: Arc::new(WriterShared {
                writer: w,
                report_names: Mutex::new(Vec::new()),
            }),
        });
        // SAFETY: checked non-NULL (contract).
        unsafe { write(writer_out, Box::into_raw(h)) };
        Ok(())
    })
}

/// Closes the writer if it is still open (as `streamq_writer_close`, discarding the
/// result) and frees the handle. NULL is a no-op. Stream producers stay valid (pushes
/// then return `STREAMQ_RESULT_CLOSED`) until their own `streamq_producer_free`.
///
/// # Safety
/// The module contract; no other thread may be using the handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_free(writer: *mut streamq_writer) {
    call_or("streamq_writer_free", (), || {
        if !writer.is_null() {
            // SAFETY: created by Box::into_raw in streamq_writer_create, freed once
            // (contract).
            let w = unsafe { Box::from_raw(writer) };
            // The producers keep the engine's writer alive: close it here, not when the
            // last of them goes.
            let _ = w.shared.writer.close();
        }
    })
}

/// Adds a stream and returns its producer — the same `streamq_producer` a queue gives
/// (free it with `streamq_producer_free`). Works before and during recording; stream ids
/// are given in order (0, 1, …; `streamq_producer_stream_id`). Returns
/// `STREAMQ_RESULT_CLOSED` after close, the writer's error (`STREAMQ_RESULT_IO`,
/// `STREAMQ_RESULT_FAILED` …) after a failure, `STREAMQ_RESULT_INVALID_ARGUMENT` for a
/// bad stream config or a name already used in this writer, `STREAMQ_RESULT_LIMIT` past
/// `max_streams`.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_add_stream(
    writer: *mut streamq_writer,
    config: *const streamq_stream_config,
    producer_out: *mut *mut streamq_producer,
) -> streamq_result {
    call("streamq_writer_add_stream", || {
        // SAFETY: the module contract.
        let w = unsafe { handle(writer, "writer") }?;
        // SAFETY: the module contract.
        let c = unsafe { read_input(config, "config") }?;
        out(producer_out, "producer_out")?;
        // SAFETY: the config's pointers satisfy the module contract.
        let sc = unsafe { stream_config(&c, Purpose::Start) }?;
        let p = w.shared.writer.add_stream(sc)?;
        let h = streamq_producer::new(p.into_shared(), Some(Arc::clone(&w.shared)));
        // SAFETY: checked non-NULL (contract).
        unsafe { write(producer_out, Box::into_raw(Box::new(h))) };
        Ok(())
    })
}

/// Blocks until every frame pushed so far on every stream is written — and synced,
/// unless the fsync policy is `STREAMQ_FSYNC_ON_CLOSE` — or dropped by policy. Returns
/// the writer's error (`STREAMQ_RESULT_IO`, `STREAMQ_RESULT_FAILED`) if it has failed,
/// `STREAMQ_RESULT_CLOSED` after close.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_flush(writer: *mut streamq_writer) -> streamq_result {
    call("streamq_writer_flush", || {
        // SAFETY: the module contract.
        let w = unsafe { handle(writer, "writer") }?;
        Ok(w.shared.writer.flush()?)
    })
}

/// Ends every stream, waits until everything accepted is written, writes the trailer,
/// syncs, stops the threads. Returns `STREAMQ_RESULT_OK` with `*report_out` (may be
/// NULL; `struct_size` set by the caller) filled, or the writer's first error
/// (`STREAMQ_RESULT_IO`, `STREAMQ_RESULT_FAILED` …) — the file is then valid up to its
/// last complete record, and `streamq_writer_get_report` gives what was written, dropped
/// and lost. Idempotent: a later call (from any thread) returns the first call's result
/// and report again.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_close(
    writer: *mut streamq_writer,
    report_out: *mut streamq_writer_report,
) -> streamq_result {
    call("streamq_writer_close", || {
        // SAFETY: the module contract.
        let w = unsafe { handle(writer, "writer") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::optional(report_out, "report_out") }?;
        let r: Res<WriterReport> = w.shared.writer.close().map_err(|e| Error::from(&e));
        let r = r?;
        if let Some(o) = o {
            o.write(report_c(&r));
        }
        Ok(())
    })
}
