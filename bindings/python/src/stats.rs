//! Read-only records handed to Python: queue stats, latency percentiles, writer and
//! stream reports, segments, stream summaries, verify and recover reports.
//!
//! Each is a frozen class with plain attributes, a `to_dict()` (nested records become
//! dicts too, ready for `json.dumps`) and a readable `repr`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use streamq::reader::{RecoverReport as RsRecover, StreamInfo as RsStreamInfo, VerifyReport as RsVerify};
use streamq::writer::{FinishedSegment, WriterReport};
use streamq::{LatencySummary as RsLatency, QueueStats as RsQueueStats};

/// Converts nested records (anything with `to_dict`), lists and tuples to plain values.
fn dictify<'py>(v: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = v.py();
    if let Ok(l) = v.cast::<PyList>() {
        let out = PyList::empty(py);
        for item in l.iter() {
            out.append(dictify(item)?)?;
        }
        return Ok(out.into_any());
    }
    if let Ok(t) = v.cast::<PyTuple>() {
        let items: Vec<Bound<'py, PyAny>> = t.iter().map(dictify).collect::<PyResult<_>>()?;
        return Ok(PyTuple::new(py, items)?.into_any());
    }
    let is_record = v
        .get_type()
        .module()
        .map(|m| m == "streamq._streamq")
        .unwrap_or(false);
    if is_record && v.hasattr("to_dict")? {
        return v.call_method0("to_dict");
    }
    Ok(v)
}

macro_rules! record {
    (
        $(#[$m:meta])*
        $name:ident as $py:literal {
            $( $(#[$fm:meta])* $f:ident : $t:ty ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[pyclass(frozen, get_all, module = "streamq._streamq", name = $py)]
        pub struct $name {
            $( $(#[$fm])* pub $f: $t ),*
        }

        #[pymethods]
        impl $name {
            /// The fields as a dict (nested records as dicts too).
            fn to_dict<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
                let d = PyDict::new(slf.py());
                $( d.set_item(stringify!($f), dictify(slf.getattr(stringify!($f))?)?)?; )*
                Ok(d)
            }

            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                let mut parts: Vec<String> = Vec::new();
                $( parts.push(format!("{}={}", stringify!($f), slf.getattr(stringify!($f))?.repr()?)); )*
                Ok(format!("{}({})", $py, parts.join(", ")))
            }
        }
    };
}

record! {
    /// Percentiles of a latency histogram, in nanoseconds (all 0 when empty).
    LatencySummary as "LatencySummary" {
        count: u64,
        p50: u64,
        p90: u64,
        p99: u64,
        p999: u64,
        max: u64,
        mean: u64,
    }
}

impl From<&RsLatency> for LatencySummary {
    fn from(l: &RsLatency) -> Self {
        LatencySummary {
            count: l.count,
            p50: l.p50,
            p90: l.p90,
            p99: l.p99,
            p999: l.p999,
            max: l.max,
            mean: l.mean,
        }
    }
}

record! {
    /// A snapshot of a queue's counters. Frame accounting balances:
    /// frames_pushed == frames_popped + frames_dropped + frames_discarded + frames_queued.
    QueueStats as "QueueStats" {
        /// Frames given a sequence number: queued, or dropped by the overflow policy.
        frames_pushed: u64,
        /// Frames taken by the consumer.
        frames_popped: u64,
        /// Frames dropped for either reason.
        frames_dropped: u64,
        /// New frames refused because the queue was full (drop-newest).
        frames_dropped_newest: u64,
        /// Unread frames evicted to make room (drop-oldest).
        frames_dropped_oldest: u64,
        /// Frames still queued when the consumer closed.
        frames_discarded: u64,
        /// Frames queued now.
        frames_queued: u64,
        bytes_pushed: u64,
        bytes_popped: u64,
        bytes_dropped: u64,
        /// Pushes that gave up (WouldBlockError or Timeout); the caller kept the frame. A
        /// wait cut short by Ctrl-C or a streamq.Interrupt is not one.
        pushes_refused: u64,
        /// Ring bytes in use now (frame headers included).
        level_bytes: u64,
        peak_level_bytes: u64,
        capacity_bytes: u64,
        water_mark_transitions: u64,
        above_high_water: bool,
        /// Producer threads waiting for room (or for the low water mark) now.
        waiting_producers: u64,
        /// Total time producers spent waiting for room, in nanoseconds.
        blocked_ns: u64,
        /// Push latency (call to return) percentiles, in nanoseconds.
        push_latency: Py<LatencySummary>,
    }
}

impl QueueStats {
    pub fn new(py: Python<'_>, s: &RsQueueStats) -> PyResult<Py<Self>> {
        Py::new(
            py,
            QueueStats {
                frames_pushed: s.frames_pushed,
                frames_popped: s.frames_popped,
                frames_dropped: s.frames_dropped(),
                frames_dropped_newest: s.frames_dropped_newest,
                frames_dropped_oldest: s.frames_dropped_oldest,
                frames_discarded: s.frames_discarded,
                frames_queued: s.frames_queued,
                bytes_pushed: s.bytes_pushed,
                bytes_popped: s.bytes_popped,
                bytes_dropped: s.bytes_dropped,
                pushes_refused: s.pushes_refused,
                level_bytes: s.level_bytes,
                peak_level_bytes: s.peak_level_bytes,
                capacity_bytes: s.capacity_bytes,
                water_mark_transitions: s.water_mark_transitions,
                above_high_water: s.above_high_water,
                waiting_producers: s.waiting_producers,
                blocked_ns: s.blocked_ns,
                push_latency: Py::new(py, LatencySummary::from(&s.push_latency))?,
            },
        )
    }
}

record! {
    /// A finished segment file of a capture.
    SegmentInfo as "SegmentInfo" {
        path: String,
        index: u32,
        bytes: u64,
        /// (stream id, first seq, last seq) of the frames it holds.
        frame_ranges: Py<PyList>,
    }
}

impl SegmentInfo {
    pub fn new(py: Python<'_>, s: &FinishedSegment) -> PyResult<Py<Self>> {
        let ranges = PyList::new(py, s.frame_ranges.iter().map(|&(id, a, b)| (id, a, b)))?;
        Py::new(
            py,
            SegmentInfo {
                path: s.path.display().to_string(),
                index: s.index,
                bytes: s.bytes,
                frame_ranges: ranges.unbind(),
            },
        )
    }
}

record! {
    /// Per-stream figures of a writer report.
    StreamReport as "StreamReport" {
        id: u16,
        name: String,
        frames_written: u64,
        bytes_written: u64,
        frames_dropped: u64,
        frames_dropped_newest: u64,
        frames_dropped_oldest: u64,
        /// Frames accepted but not written (writer error, or pushed while closing).
        frames_failed: u64,
        /// Highest sequence number known to be on stable storage.
        durable_seq: Option<u64>,
        /// Last sequence number written (not necessarily synced).
        last_seq: Option<u64>,
        /// The stream's queue counters (push latency, level, peak ...).
        queue: Py<QueueStats>,
    }
}

record! {
    /// What a writer did: frames written, dropped (by reason), failed, bytes, timing.
    /// Returned by `Writer.close()` and `Writer.stats`.
    Report as "Report" {
        frames_written: u64,
        /// Uncompressed payload bytes written.
        bytes_written: u64,
        /// Bytes the file holds (headers, index, compression included).
        stored_bytes: u64,
        frames_dropped: u64,
        frames_dropped_newest: u64,
        frames_dropped_oldest: u64,
        frames_failed: u64,
        frames_compressed: u64,
        /// Frames stored raw although compression was on (codec behind, or no gain).
        frames_stored_raw: u64,
        /// Uncompressed / stored bytes of the compressed frames (1.0 if none).
        compression_ratio: f64,
        writes: u64,
        syncs: u64,
        /// Write-call latency percentiles, ns.
        write_latency: Py<LatencySummary>,
        /// Seconds from the writer's start to this report.
        seconds: f64,
        /// Payload MB (10^6 bytes) per second over `seconds`.
        mb_per_s: f64,
        segments: Py<PyList>,
        streams: Py<PyList>,
        /// The first error, if any.
        error: Option<String>,
    }
}

impl Report {
    /// Converts the engine's report.
    pub fn new(py: Python<'_>, r: &WriterReport) -> PyResult<Py<Self>> {
        let streams = PyList::empty(py);
        for s in &r.streams {
            streams.append(Py::new(
                py,
                StreamReport {
                    id: s.id,
                    name: s.name.clone(),
                    frames_written: s.frames_written,
                    bytes_written: s.bytes_written,
                    frames_dropped: s.frames_dropped(),
                    frames_dropped_newest: s.frames_dropped_newest,
                    frames_dropped_oldest: s.frames_dropped_oldest,
                    frames_failed: s.frames_failed,
                    durable_seq: s.durable_seq,
                    last_seq: s.last_seq,
                    queue: QueueStats::new(py, &s.queue)?,
                },
            )?)?;
        }
        let segments = PyList::empty(py);
        for s in &r.segments {
            segments.append(SegmentInfo::new(py, s)?)?;
        }
        Py::new(
            py,
            Report {
                frames_written: r.frames_written,
                bytes_written: r.bytes_written,
                stored_bytes: r.stored_bytes,
                frames_dropped: r.frames_dropped(),
                frames_dropped_newest: r.frames_dropped_newest,
                frames_dropped_oldest: r.frames_dropped_oldest,
                frames_failed: r.frames_failed,
                frames_compressed: r.frames_compressed,
                frames_stored_raw: r.frames_stored_raw,
                compression_ratio: r.compression_ratio,
                writes: r.writes,
                syncs: r.syncs,
                write_latency: Py::new(py, LatencySummary::from(&r.write_latency))?,
                seconds: r.seconds,
                mb_per_s: r.mb_per_s(),
                segments: segments.unbind(),
                streams: streams.unbind(),
                error: r.error.clone(),
            },
        )
    }
}

record! {
    /// A stream of a capture file, with its counts.
    StreamInfo as "StreamInfo" {
        id: u16,
        name: String,
        media_type: String,
        /// User metadata (width, height, pixel format, units ...).
        metadata: Py<PyDict>,
        frames: u64,
        /// Uncompressed bytes of its frames.
        bytes: u64,
        /// Stored (possibly compressed) bytes of its frames.
        stored_bytes: u64,
        gap_records: u64,
        /// Frames declared lost by gap records (dropped by policy or not written).
        dropped: u64,
        first_seq: Option<u64>,
        last_seq: Option<u64>,
        first_timestamp: Option<u64>,
        last_timestamp: Option<u64>,
    }
}

impl StreamInfo {
    pub fn new(py: Python<'_>, s: &RsStreamInfo) -> PyResult<Py<Self>> {
        let md = PyDict::new(py);
        let (name, media_type) = match &s.def {
            Some(d) => {
                for (k, v) in &d.metadata {
                    md.set_item(k, v)?;
                }
                (d.name.clone(), d.media_type.clone())
            }
            None => (format!("stream-{}", s.id), String::new()),
        };
        Py::new(
            py,
            StreamInfo {
                id: s.id,
                name,
                media_type,
                metadata: md.unbind(),
                frames: s.frames,
                bytes: s.bytes,
                stored_bytes: s.stored_bytes,
                gap_records: s.gap_records,
                dropped: s.dropped,
                first_seq: s.first_seq,
                last_seq: s.last_seq,
                first_timestamp: s.first_device_ts_ns,
                last_timestamp: s.last_device_ts_ns,
            },
        )
    }
}

record! {
    /// Verification results of one stream.
    StreamVerify as "StreamVerify" {
        stream_id: u16,
        name: String,
        frames: u64,
        bytes: u64,
        stored_bytes: u64,
        gaps: u64,
        dropped: u64,
        /// Sequence numbers missing without a gap record covering them.
        unexplained_missing: u64,
        first_seq: Option<u64>,
        last_seq: Option<u64>,
    }
}

record! {
    /// What `Reader.verify()` found: every CRC, every compressed frame, sequence continuity.
    VerifyReport as "VerifyReport" {
        /// No damage, no torn tail, no undecodable frame, no unexplained hole, clean close.
        ok: bool,
        segments: u64,
        records: u64,
        frames: u64,
        bytes: u64,
        stored_bytes: u64,
        bad_frames: u64,
        corrupt: u64,
        corrupt_bytes: u64,
        gaps: u64,
        dropped: u64,
        unexplained_missing: u64,
        truncated_bytes: u64,
        first_seq: Option<u64>,
        last_seq: Option<u64>,
        per_stream: Py<PyList>,
        clean_close: bool,
        errors: Vec<String>,
    }
}

impl VerifyReport {
    pub fn new(py: Python<'_>, r: &RsVerify) -> PyResult<Py<Self>> {
        let per = PyList::empty(py);
        for s in &r.per_stream {
            per.append(Py::new(
                py,
                StreamVerify {
                    stream_id: s.stream_id,
                    name: s.name.clone(),
                    frames: s.frames,
                    bytes: s.bytes,
                    stored_bytes: s.stored_bytes,
                    gaps: s.gaps,
                    dropped: s.dropped,
                    unexplained_missing: s.unexplained_missing,
                    first_seq: s.first_seq,
                    last_seq: s.last_seq,
                },
            )?)?;
        }
        Py::new(
            py,
            VerifyReport {
                ok: r.is_ok(),
                segments: r.segments,
                records: r.records,
                frames: r.frames,
                bytes: r.bytes,
                stored_bytes: r.stored_bytes,
                bad_frames: r.bad_frames,
                corrupt: r.corrupt,
                corrupt_bytes: r.corrupt_bytes,
                gaps: r.gaps,
                dropped: r.dropped,
                unexplained_missing: r.unexplained_missing,
                truncated_bytes: r.truncated_bytes,
                first_seq: r.first_seq,
                last_seq: r.last_seq,
                per_stream: per.unbind(),
                clean_close: r.clean_close,
                errors: r.errors.clone(),
            },
        )
    }
}

record! {
    /// What `streamq.recover()` did to a crashed capture file.
    RecoverReport as "RecoverReport" {
        /// The file was already cleanly closed; nothing was changed.
        already_clean: bool,
        original_len: u64,
        new_len: u64,
        /// Torn-tail bytes cut off.
        truncated_bytes: u64,
        corrupt_regions: u64,
        frames: u64,
        gaps: u64,
        streams: u64,
    }
}

impl From<&RsRecover> for RecoverReport {
    fn from(r: &RsRecover) -> Self {
        RecoverReport {
            already_clean: r.already_clean,
            original_len: r.original_len,
            new_len: r.new_len,
            truncated_bytes: r.truncated_bytes,
            corrupt_regions: r.corrupt_regions,
            frames: r.frames,
            gaps: r.gaps,
            streams: r.streams,
        }
    }
}

record! {
    /// A run of frames of one stream that were lost: a GAP record of a capture, or a
    /// drop reported to a callable sink.
    GapInfo as "GapInfo" {
        stream_id: u16,
        stream: String,
        first_seq: u64,
        count: u64,
        /// Why, in the engine's words (as the CLI and C print it): "drop-newest",
        /// "drop-oldest", "write-error" or "unknown-N".
        reason: String,
        host_time: u64,
    }
}

/// Registers the record classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<LatencySummary>()?;
    m.add_class::<QueueStats>()?;
    m.add_class::<SegmentInfo>()?;
    m.add_class::<StreamReport>()?;
    m.add_class::<Report>()?;
    m.add_class::<StreamInfo>()?;
    m.add_class::<StreamVerify>()?;
    m.add_class::<VerifyReport>()?;
    m.add_class::<RecoverReport>()?;
    m.add_class::<GapInfo>()?;
    Ok(())
}
