//! What a writer reports: `streamq_writer_report` (all streams) and
//! `streamq_stream_report` (one stream), live before close and final after.
//!
//! Contract of the exports here (the `SAFETY` comments refer to it): a writer argument
//! is NULL or a live `streamq_writer*`; output structs are NULL or as `sized.rs`
//! describes outputs (`struct_size` set by the caller).

use streamq_core::WriterReport;

use crate::args::{cstring_lossy, handle};
use crate::panic::call;
use crate::result::{err, streamq_result};
use crate::sized::{Output, versioned};
use crate::stats::{streamq_latency, streamq_queue_stats};
use crate::writer::streamq_writer;

/// What the writer did: frames written, dropped by reason, failed, bytes. An output: set
/// `struct_size` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct streamq_writer_report {
    /// `sizeof(streamq_writer_report)` as the caller's header declares it, set by the
    /// caller (`STREAMQ_OUTPUT_INIT`); the library writes no more than that.
    pub struct_size: usize,
    /// Frames written, all streams.
    pub frames_written: u64,
    /// Payload bytes (uncompressed) written.
    pub bytes_written: u64,
    /// Bytes the sink stored (record headers, index, compression included).
    pub stored_bytes: u64,
    /// Frames dropped by policy because a queue was full (newest).
    pub frames_dropped_newest: u64,
    /// Frames evicted by policy (oldest).
    pub frames_dropped_oldest: u64,
    /// Frames accepted but not written (writer error, or pushed during close).
    pub frames_failed: u64,
    /// Frames stored compressed.
    pub frames_compressed: u64,
    /// Frames stored raw although compression was on (codec behind, or no gain).
    pub frames_stored_raw: u64,
    /// Uncompressed / stored bytes of the compressed frames (1.0 if none).
    pub compression_ratio: f64,
    /// Vectored writes issued.
    pub writes: u64,
    /// fsync / fdatasync calls.
    pub syncs: u64,
    /// Duration of each write call.
    pub write_latency: streamq_latency,
    /// Segment files finished.
    pub segments: u64,
    /// Streams (read each with `streamq_writer_stream_report`).
    pub streams: u64,
    /// Seconds from the writer's start to the report.
    pub seconds: f64,
    /// Whether the writer has failed (the error is `streamq_writer_close`'s result).
    pub failed: bool,
}

/// Per-stream figures of a writer. An output: set `struct_size` before the call.
/// Growth: `queue` is the last member and this struct grows only through it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_stream_report {
    /// `sizeof(streamq_stream_report)` as the caller's header declares it, set by the
    /// caller (`STREAMQ_OUTPUT_INIT`); the library writes no more than that.
    pub struct_size: usize,
    /// Stream name (owned by the writer handle; valid until `streamq_writer_free`).
    pub name: *const std::ffi::c_char,
    /// Frames written.
    pub frames_written: u64,
    /// Payload bytes (uncompressed) written.
    pub bytes_written: u64,
    /// Frames dropped by policy (newest).
    pub frames_dropped_newest: u64,
    /// Frames evicted by policy (oldest).
    pub frames_dropped_oldest: u64,
    /// Frames accepted but not written.
    pub frames_failed: u64,
    /// Highest sequence known to be on stable storage (valid if `has_durable_seq`).
    pub durable_seq: u64,
    /// Last sequence written (valid if `has_last_seq`).
    pub last_seq: u64,
    /// Stream id in the capture (0, 1, … in the order the streams were added).
    pub id: u16,
    /// Whether `durable_seq` is set.
    pub has_durable_seq: bool,
    /// Whether `last_seq` is set.
    pub has_last_seq: bool,
    /// The stream's queue counters (push latency, level, peak …); its `struct_size` is
    /// what of it the caller's struct holds.
    pub queue: streamq_queue_stats,
}

versioned!(streamq_writer_report, streamq_stream_report);

pub(crate) fn report_c(r: &WriterReport) -> streamq_writer_report {
    streamq_writer_report {
        struct_size: size_of::<streamq_writer_report>(),
        frames_written: r.frames_written,
        bytes_written: r.bytes_written,
        stored_bytes: r.stored_bytes,
        frames_dropped_newest: r.frames_dropped_newest,
        frames_dropped_oldest: r.frames_dropped_oldest,
        frames_failed: r.frames_failed,
        frames_compressed: r.frames_compressed,
        frames_stored_raw: r.frames_stored_raw,
        compression_ratio: r.compression_ratio,
        writes: r.writes,
        syncs: r.syncs,
        write_latency: r.write_latency.into(),
        segments: r.segments.len() as u64,
        streams: r.streams.len() as u64,
        seconds: r.seconds,
        failed: r.error.is_some(),
    }
}

/// The final report after `streamq_writer_close` (whether it succeeded or not), a live
/// snapshot before it.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_get_report(
    writer: *const streamq_writer,
    report_out: *mut streamq_writer_report,
) -> streamq_result {
    call("streamq_writer_get_report", || {
        // SAFETY: the module contract.
        let w = unsafe { handle(writer, "writer") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(report_out, "report_out") }?;
        o.write(report_c(&w.shared.report()));
        Ok(())
    })
}

/// Figures of stream `index` (its id; 0 ≤ index < report.streams), final after close,
/// live before. `STREAMQ_RESULT_NOT_FOUND` for an unknown index.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_stream_report(
    writer: *const streamq_writer,
    index: usize,
    report_out: *mut streamq_stream_report,
) -> streamq_result {
    call("streamq_writer_stream_report", || {
        // SAFETY: the module contract.
        let w = unsafe { handle(writer, "writer") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(report_out, "report_out") }?;
        let r = w.shared.report();
        let Some(s) = r.streams.get(index) else {
            return err(
                streamq_result::NotFound,
                format!("no stream {index} (the writer has {})", r.streams.len()),
            );
        };
        let mut names = w.shared.report_names.lock().unwrap_or_else(|p| p.into_inner());
        // The names of streams 0..=index, from the engine, made once (ids are indexes).
        for sr in r.streams.iter().take(index + 1).skip(names.len()) {
            names.push(cstring_lossy(&sr.name));
        }
        o.write(streamq_stream_report {
            struct_size: size_of::<streamq_stream_report>(),
            name: names[index].as_ptr(),
            frames_written: s.frames_written,
            bytes_written: s.bytes_written,
            frames_dropped_newest: s.frames_dropped_newest,
            frames_dropped_oldest: s.frames_dropped_oldest,
            frames_failed: s.frames_failed,
            durable_seq: s.durable_seq.unwrap_or(0),
            last_seq: s.last_seq.unwrap_or(0),
            id: s.id,
            has_durable_seq: s.durable_seq.is_some(),
            has_last_seq: s.last_seq.is_some(),
            queue: streamq_queue_stats {
                struct_size: o.size() - std::mem::offset_of!(streamq_stream_report, queue).min(o.size()),
                ..s.queue.clone().into()
            },
        });
        Ok(())
    })
}
