//! The writer (`streamq_writer`) and its streams (`streamq_stream`).

use std::ffi::{CString, c_char, c_void};
use std::sync::{Mutex, RwLock, RwLockReadGuard};
use std::time::Duration;

use streamq_core::writer::SegmentInfo;
use streamq_core::{FsyncPolicy, StreamConfig, Writer, WriterConfig, WriterError, WriterReport};

use crate::args::{bytes, check_len, cstring_lossy, handle, kv_list, out, string, string_or, write};
use crate::panic::{call, call_or};
use crate::producer::Prod;
use crate::queue::{queue_config, streamq_queue_config, streamq_queue_config_default};
use crate::result::{Error, Res, err, streamq_result};
use crate::stats::{streamq_latency, streamq_queue_stats};

/// A key/value pair of metadata (both NUL-terminated UTF-8).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_kv {
    /// The key, e.g. "width".
    pub key: *const c_char,
    /// The value, e.g. "640".
    pub value: *const c_char,
}

/// Where the writer puts frames.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum streamq_sink {
    /// One capture file (docs/FORMAT.md) at `path`, optionally split into segments.
    CaptureFile = 0,
    /// One file per frame under the directory `path`, a bounded number of writes in
    /// flight.
    Directory = 1,
}

/// When the writer calls `fdatasync`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum streamq_fsync {
    /// Only at close.
    OnClose = 0,
    /// After at least `fsync_interval` bytes since the last sync.
    EveryBytes = 1,
    /// At least every `fsync_interval` milliseconds while data is written.
    EveryMs = 2,
    /// After every write call (slow; for small, precious streams).
    Always = 3,
}

/// A finished segment file, as given to `streamq_segment_fn`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_segment_info {
    /// Its path (valid during the callback only).
    pub path: *const c_char,
    /// Its number (0, 1, …).
    pub index: u32,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Called once when the writer fails, on the writer thread, with the result code and
/// message (valid during the call). Producers see `STREAMQ_RESULT_FAILED` on their next call.
/// It must not call `streamq_writer_flush`, `_close` or `_free` on the same writer
/// (they wait for the writer thread: deadlock) nor push to its streams; it may record
/// the error and signal another thread.
pub type streamq_error_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, code: streamq_result, message: *const c_char)>;

/// Called on the writer thread each time a segment file is complete (closed, trailer
/// written, synced) — e.g. to upload it. Same restrictions as `streamq_error_fn`.
pub type streamq_segment_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, info: *const streamq_segment_info)>;

/// Called on the writer thread after each fsync, per stream: frames of `stream_id` up to
/// sequence `seq` are on stable storage. Same restrictions as `streamq_error_fn`.
pub type streamq_durable_fn = Option<unsafe extern "C" fn(user: *mut c_void, stream_id: u16, seq: u64)>;

/// Settings for a writer. Fill it with `streamq_writer_config_default()`, set `path`,
/// then change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_writer_config {
    /// The capture file (or directory) path. Required.
    pub path: *const c_char,
    /// One of `streamq_sink` (default `STREAMQ_SINK_CAPTURE_FILE`).
    pub sink: u32,
    /// File-level metadata pairs (sensor, host, session …), copied; may be NULL if
    /// `metadata_len` is 0.
    pub metadata: *const streamq_kv,
    /// Number of `metadata` entries.
    pub metadata_len: usize,
    /// 0: store frames raw (default); 1..22: zstd level (1–3 keep up with a camera).
    pub compression_level: i32,
    /// Compression worker threads; 0: one per core (default).
    pub compress_workers: u32,
    /// With compression: store frames raw while their stream's queue is above high water
    /// (default true: the compressors are behind); false compresses every frame.
    pub raw_when_behind: bool,
    /// Directory sink: files written at once; 0: one per core (default).
    pub io_workers: u32,
    /// Largest coalesced vectored write in bytes (default 8 MiB; at least 4096).
    pub max_write_bytes: usize,
    /// O_DIRECT capture files: writes kept in flight on I/O threads while the writer
    /// prepares the next (default 2; 0 writes synchronously; at most 64). Frames count
    /// as written only once their write has returned.
    pub writes_in_flight: u32,
    /// One of `streamq_fsync` (default `STREAMQ_FSYNC_ON_CLOSE`).
    pub fsync_policy: u32,
    /// Bytes (`STREAMQ_FSYNC_EVERY_BYTES`) or milliseconds (`STREAMQ_FSYNC_EVERY_MS`).
    pub fsync_interval: u64,
    /// Disk space reserved ahead with `fallocate` (default 0: off; on ext4 it slows
    /// O_DIRECT writes, which must convert the reserved extents).
    pub preallocate_bytes: u64,
    /// Start a new segment file after this many bytes (0: never, default).
    pub segment_bytes: u64,
    /// Start a new segment file after this many milliseconds (0: never, default).
    pub segment_duration_ms: u64,
    /// The most streams `streamq_writer_add_stream` accepts (0: the format's limit,
    /// 65 535, the default); past it, `STREAMQ_RESULT_LIMIT`.
    pub max_streams: u32,
    /// Optional error callback (writer thread).
    pub on_error: streamq_error_fn,
    /// Optional segment callback (writer thread).
    pub on_segment: streamq_segment_fn,
    /// Optional durability callback (writer thread).
    pub on_durable: streamq_durable_fn,
    /// Passed unchanged to the three callbacks; they run on the writer thread, so what it
    /// points to must be usable from there.
    pub callback_user: *mut c_void,
}

/// Defaults: no path, capture file, no compression, fsync on close, 8 MiB writes, 2
/// writes in flight, no preallocation, no segments, no callbacks.
#[unsafe(no_mangle)]
pub extern "C" fn streamq_writer_config_default() -> streamq_writer_config {
    streamq_writer_config {
        path: std::ptr::null(),
        sink: streamq_sink::CaptureFile as u32,
        metadata: std::ptr::null(),
        metadata_len: 0,
        compression_level: 0,
        compress_workers: 0,
        raw_when_behind: true,
        io_workers: 0,
        max_write_bytes: 8 << 20,
        writes_in_flight: 2,
        fsync_policy: streamq_fsync::OnClose as u32,
        fsync_interval: 0,
        preallocate_bytes: 0,
        segment_bytes: 0,
        segment_duration_ms: 0,
        max_streams: 0,
        on_error: None,
        on_segment: None,
        on_durable: None,
        callback_user: std::ptr::null_mut(),
    }
}

/// Settings for one stream of a capture: its name, media type, metadata and queue.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_stream_config {
    /// Stream name, e.g. "depth". Required.
    pub name: *const c_char,
    /// Media type / encoding, e.g. "depth/u16" (NULL: "application/octet-stream").
    pub media_type: *const c_char,
    /// Stream metadata (width, height, pixel format, units …), copied; may be NULL if
    /// `metadata_len` is 0.
    pub metadata: *const streamq_kv,
    /// Number of `metadata` entries.
    pub metadata_len: usize,
    /// The stream's own ring budget, overflow policy, water marks (default: 256 MiB,
    /// block).
    pub queue: streamq_queue_config,
}

/// Defaults: no name, "application/octet-stream", a 256 MiB blocking queue.
#[unsafe(no_mangle)]
pub extern "C" fn streamq_stream_config_default() -> streamq_stream_config {
    let mut queue = streamq_queue_config_default();
    queue.capacity = 256 << 20;
    streamq_stream_config {
        name: std::ptr::null(),
        media_type: std::ptr::null(),
        metadata: std::ptr::null(),
        metadata_len: 0,
        queue,
    }
}

/// What the writer did: frames written, dropped by reason, failed, bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct streamq_writer_report {
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

/// Per-stream figures of a writer.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_stream_report {
    /// Stream name (owned by the writer handle; valid until `streamq_writer_free`).
    pub name: *const c_char,
    /// Stream id in the capture (0, 1, … in the order the streams were added).
    pub id: u16,
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
    /// Whether `durable_seq` is set.
    pub has_durable_seq: bool,
    /// Last sequence written (valid if `has_last_seq`).
    pub last_seq: u64,
    /// Whether `last_seq` is set.
    pub has_last_seq: bool,
    /// The stream's queue counters (push latency, level, peak …).
    pub queue: streamq_queue_stats,
}

/// A running capture: owns the writer thread(s).
///
/// Thread safety: may move between threads and be used by several threads at once
/// (`streamq_writer_add_stream`, `_flush`, `_report` … take an internal read lock;
/// `_close` takes it exclusively, so it waits for flushes in progress). Underneath: a
/// `Box` holding the engine's `Writer`. After `streamq_writer_close` the handle stays
/// valid — calls return `STREAMQ_RESULT_CLOSED`, reports return the final figures — until
/// `streamq_writer_free`. Stream handles are independent objects: free them before or
/// after the writer; after close their pushes return `STREAMQ_RESULT_CLOSED`.
pub struct streamq_writer {
    state: RwLock<State>,
    /// Stream names by id, for `streamq_stream_report::name`.
    names: Mutex<Vec<CString>>,
}

struct State {
    writer: Option<Writer>,
    /// The close report (set by close, whether it succeeded or not).
    report: Option<WriterReport>,
}

/// One stream of a writer: the producer of its queue.
///
/// Thread safety: as `streamq_producer` — may move between threads and be used by
/// several threads at once; different streams' handles are fully independent, so each
/// sensor thread can push to its own stream without contention. A reservation must be
/// committed or aborted on the thread that made it. Underneath: a `Box` holding an
/// `Arc` shared with the writer thread.
pub struct streamq_stream {
    p: Prod,
    id: u16,
}

#[derive(Clone, Copy)]
struct Callbacks {
    on_error: streamq_error_fn,
    on_segment: streamq_segment_fn,
    on_durable: streamq_durable_fn,
    user: *mut c_void,
}

// SAFETY: documented in the header: the callbacks run on the writer thread and `user`
// must be usable there; we only pass the pointer back.
unsafe impl Send for Callbacks {}
// SAFETY: as above.
unsafe impl Sync for Callbacks {}

impl Callbacks {
    fn error(&self, e: &WriterError) {
        if let Some(f) = self.on_error {
            let code = Error::from(e).code;
            let msg = cstring_lossy(&e.to_string());
            // SAFETY: the caller-supplied callback and user pointer, for this purpose.
            unsafe { f(self.user, code, msg.as_ptr()) };
        }
    }

    fn segment(&self, s: &SegmentInfo) {
        if let Some(f) = self.on_segment {
            let path = cstring_lossy(&s.path.to_string_lossy());
            let info = streamq_segment_info {
                path: path.as_ptr(),
                index: s.index,
                bytes: s.bytes,
            };
            // SAFETY: as above; `info` and `path` outlive the call.
            unsafe { f(self.user, &info) };
        }
    }

    fn durable(&self, id: u16, seq: u64) {
        if let Some(f) = self.on_durable {
            // SAFETY: as above.
            unsafe { f(self.user, id, seq) };
        }
    }
}

fn writer_config(c: &streamq_writer_config) -> Res<WriterConfig> {
    // SAFETY: the config's strings and arrays are valid per the export's contract.
    let path = unsafe { string(c.path, "config->path") }?;
    let mut w = match c.sink {
        0 => WriterConfig::capture_file(path),
        1 => WriterConfig::directory(path),
        v => {
            return err(
                streamq_result::InvalidArgument,
                format!("sink {v} is not a streamq_sink"),
            );
        }
    };
    // SAFETY: as above.
    for (k, v) in unsafe { kv_list(c.metadata, c.metadata_len, "config->metadata") }? {
        w = w.metadata(k, v);
    }
    if c.compression_level != 0 {
        w = w.zstd(c.compression_level);
    }
    if c.compress_workers != 0 {
        w = w.compress_workers(c.compress_workers as usize);
    }
    w = w.raw_when_behind(c.raw_when_behind);
    if c.io_workers != 0 {
        w = w.io_workers(c.io_workers as usize);
    }
    w = w
        .max_write_bytes(c.max_write_bytes)
        .writes_in_flight(c.writes_in_flight as usize)
        .preallocate(c.preallocate_bytes);
    w = w.fsync(match c.fsync_policy {
        0 => FsyncPolicy::OnClose,
        1 => FsyncPolicy::EveryBytes(c.fsync_interval),
        2 => FsyncPolicy::Every(Duration::from_millis(c.fsync_interval)),
        3 => FsyncPolicy::Always,
        v => {
            return err(
                streamq_result::InvalidArgument,
                format!("fsync_policy {v} is not a streamq_fsync"),
            );
        }
    });
    if c.fsync_policy == 2 && c.fsync_interval == 0 {
        return err(streamq_result::InvalidArgument, "fsync_interval must be positive");
    }
    if c.segment_bytes != 0 {
        w = w.segment_bytes(c.segment_bytes);
    }
    if c.max_streams != 0 {
        w = w.max_streams(c.max_streams.min(u16::MAX as u32) as u16);
    }
    if c.segment_duration_ms != 0 {
        w = w.segment_duration(Duration::from_millis(c.segment_duration_ms));
    }
    let cb = Callbacks {
        on_error: c.on_error,
        on_segment: c.on_segment,
        on_durable: c.on_durable,
        user: c.callback_user,
    };
    if cb.on_error.is_some() {
        w = w.on_error(move |e| cb.error(e));
    }
    if cb.on_segment.is_some() {
        w = w.on_segment(move |s| cb.segment(s));
    }
    if cb.on_durable.is_some() {
        w = w.on_durable(move |id, seq| cb.durable(id, seq));
    }
    Ok(w)
}

impl streamq_writer {
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The final report after close, a live snapshot before.
    fn report(&self) -> WriterReport {
        let s = self.read();
        match (&s.report, &s.writer) {
            (Some(r), _) => r.clone(),
            (None, Some(w)) => w.stats(),
            (None, None) => WriterReport::default(),
        }
    }
}

fn with_writer<T>(w: &streamq_writer, f: impl FnOnce(&Writer) -> Res<T>) -> Res<T> {
    let s = w.read();
    match &s.writer {
        Some(wr) => f(wr),
        None => err(streamq_result::Closed, "writer is closed"),
    }
}

fn report_c(r: &WriterReport) -> streamq_writer_report {
    streamq_writer_report {
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

/// Opens the sink (creating the file) and starts the writer thread.
///
/// Returns `STREAMQ_RESULT_INVALID_ARGUMENT` (bad setting; see `streamq_last_error`),
/// `STREAMQ_RESULT_IO` (cannot create the file), `STREAMQ_RESULT_NULL_POINTER`. `*writer_out` is
/// written only on `STREAMQ_RESULT_OK`.
///
/// # Safety
/// `config` must point to a valid config whose strings and arrays are valid for the
/// call; `writer_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_create(
    config: *const streamq_writer_config,
    writer_out: *mut *mut streamq_writer,
) -> streamq_result {
    call("streamq_writer_create", || {
        // SAFETY: per the contract.
        let c = unsafe { handle(config, "config") }?;
        out(writer_out, "writer_out")?;
        let w = Writer::start(writer_config(c)?)?;
        let h = Box::new(streamq_writer {
            state: RwLock::new(State {
                writer: Some(w),
                report: None,
            }),
            names: Mutex::new(Vec::new()),
        });
        // SAFETY: checked non-NULL.
        unsafe { write(writer_out, Box::into_raw(h)) };
        Ok(())
    })
}

/// Closes the writer if it is still open (as `streamq_writer_close`, discarding the
/// report) and frees it. NULL is a no-op. Stream handles stay valid (pushes then return
/// `STREAMQ_RESULT_CLOSED`) until their own `streamq_stream_free`.
///
/// # Safety
/// `writer` must be NULL or a handle from `streamq_writer_create` not freed yet, and no
/// other thread may be using it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_free(writer: *mut streamq_writer) {
    call_or("streamq_writer_free", (), || {
        if !writer.is_null() {
            // SAFETY: created by Box::into_raw in streamq_writer_create, freed once.
            drop(unsafe { Box::from_raw(writer) });
        }
    })
}

/// Adds a stream and returns its producer handle (free it with `streamq_stream_free`).
/// Works before and during recording; stream ids are given in order (0, 1, …).
/// Returns `STREAMQ_RESULT_CLOSED` after close, `STREAMQ_RESULT_FAILED`/`STREAMQ_RESULT_IO` after a writer
/// failure, `STREAMQ_RESULT_INVALID_ARGUMENT` for a bad queue config, `STREAMQ_RESULT_LIMIT` past
/// 65 535 streams.
///
/// # Safety
/// `writer` must be a live handle; `config` a valid stream config whose strings and
/// arrays are valid for the call; `stream_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_add_stream(
    writer: *mut streamq_writer,
    config: *const streamq_stream_config,
    stream_out: *mut *mut streamq_stream,
) -> streamq_result {
    call("streamq_writer_add_stream", || {
        // SAFETY: per the contract.
        let (w, c) = unsafe { (handle(writer, "writer")?, handle(config, "config")?) };
        out(stream_out, "stream_out")?;
        // SAFETY: per the contract (the config's strings and arrays).
        let name = unsafe { string(c.name, "config->name") }?;
        // SAFETY: as above.
        let media = unsafe { string_or(c.media_type, "application/octet-stream", "config->media_type") }?;
        // SAFETY: as above.
        let meta = unsafe { kv_list(c.metadata, c.metadata_len, "config->metadata") }?;
        let mut sc = StreamConfig::new(name, media).queue_config(queue_config(&c.queue)?);
        for (k, v) in meta {
            sc = sc.metadata(k, v);
        }
        let sp = with_writer(w, |wr| {
            // Names are recorded under the same lock order as ids are given out.
            let mut names = w.names.lock().unwrap_or_else(|p| p.into_inner());
            let sp = wr.add_stream(sc)?;
            let id = sp.id() as usize;
            if names.len() <= id {
                names.resize(id + 1, CString::default());
            }
            names[id] = cstring_lossy(name);
            Ok(sp)
        })?;
        let id = sp.id();
        let s = Box::new(streamq_stream {
            p: Prod::new(sp.into_shared(), crate::queue::policy(c.queue.policy)?),
            id,
        });
        // SAFETY: checked non-NULL.
        unsafe { write(stream_out, Box::into_raw(s)) };
        Ok(())
    })
}

/// Blocks until every frame pushed so far on every stream is written — and synced,
/// unless the fsync policy is `STREAMQ_FSYNC_ON_CLOSE` — or dropped by policy. Returns
/// the writer's error (`STREAMQ_RESULT_IO`, `STREAMQ_RESULT_FAILED`) if it has failed,
/// `STREAMQ_RESULT_CLOSED` after close.
///
/// # Safety
/// `writer` must be a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_flush(writer: *mut streamq_writer) -> streamq_result {
    call("streamq_writer_flush", || {
        // SAFETY: per the contract.
        let w = unsafe { handle(writer, "writer") }?;
        with_writer(w, |wr| Ok(wr.flush()?))
    })
}

/// Ends every stream, waits until everything accepted is written, writes the trailer,
/// syncs, stops the threads. Returns `STREAMQ_RESULT_OK` with `*report_out` (may be NULL)
/// filled, or the writer's first error (`STREAMQ_RESULT_IO`, `STREAMQ_RESULT_FAILED` …) — the file is
/// then valid up to its last complete record, and `streamq_writer_get_report` gives what was
/// written, dropped and lost. The handle stays valid until `streamq_writer_free`; a
/// second close returns `STREAMQ_RESULT_CLOSED`.
///
/// # Safety
/// `writer` must be a live handle; `report_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_close(
    writer: *mut streamq_writer,
    report_out: *mut streamq_writer_report,
) -> streamq_result {
    call("streamq_writer_close", || {
        // SAFETY: per the contract.
        let w = unsafe { handle(writer, "writer") }?;
        let mut s = w.state.write().unwrap_or_else(|p| p.into_inner());
        let Some(wr) = s.writer.take() else {
            return err(streamq_result::Closed, "writer is already closed");
        };
        match wr.close() {
            Ok(r) => {
                let c = report_c(&r);
                s.report = Some(r);
                // SAFETY: NULL or writable per the contract.
                unsafe { write(report_out, c) };
                Ok(())
            }
            Err(e) => {
                s.report = Some(WriterReport::clone(&e.report));
                Err(Error::from(&e.error))
            }
        }
    })
}

/// The final report after `streamq_writer_close` (whether it succeeded or not), a live
/// snapshot before it.
///
/// # Safety
/// `writer` must be a live handle; `report_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_get_report(
    writer: *const streamq_writer,
    report_out: *mut streamq_writer_report,
) -> streamq_result {
    call("streamq_writer_get_report", || {
        // SAFETY: per the contract.
        let w = unsafe { handle(writer, "writer") }?;
        out(report_out, "report_out")?;
        let r = report_c(&w.report());
        // SAFETY: checked non-NULL.
        unsafe { write(report_out, r) };
        Ok(())
    })
}

/// Figures of stream `index` (its id; 0 ≤ index < report.streams), final after close,
/// live before. `STREAMQ_RESULT_NOT_FOUND` for an unknown index.
///
/// # Safety
/// `writer` must be a live handle; `report_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_stream_report(
    writer: *const streamq_writer,
    index: usize,
    report_out: *mut streamq_stream_report,
) -> streamq_result {
    call("streamq_writer_stream_report", || {
        // SAFETY: per the contract.
        let w = unsafe { handle(writer, "writer") }?;
        out(report_out, "report_out")?;
        let r = w.report();
        let Some(s) = r.streams.get(index) else {
            return err(
                streamq_result::NotFound,
                format!("no stream {index} (the writer has {})", r.streams.len()),
            );
        };
        let names = w.names.lock().unwrap_or_else(|p| p.into_inner());
        let name = names.get(s.id as usize).map_or(c"".as_ptr(), |n| n.as_ptr());
        let c = streamq_stream_report {
            name,
            id: s.id,
            frames_written: s.frames_written,
            bytes_written: s.bytes_written,
            frames_dropped_newest: s.frames_dropped_newest,
            frames_dropped_oldest: s.frames_dropped_oldest,
            frames_failed: s.frames_failed,
            durable_seq: s.durable_seq.unwrap_or(0),
            has_durable_seq: s.durable_seq.is_some(),
            last_seq: s.last_seq.unwrap_or(0),
            has_last_seq: s.last_seq.is_some(),
            queue: s.queue.clone().into(),
        };
        // SAFETY: checked non-NULL.
        unsafe { write(report_out, c) };
        Ok(())
    })
}

/// Highest sequence number of stream `stream_id` known to be on stable storage, into
/// `*seq_out`. `STREAMQ_RESULT_NOT_FOUND` if nothing of that stream is durable yet (or no such
/// stream). Works after close (final value).
///
/// # Safety
/// `writer` must be a live handle; `seq_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_durable_seq(
    writer: *const streamq_writer,
    stream_id: u16,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_writer_durable_seq", || {
        // SAFETY: per the contract.
        let w = unsafe { handle(writer, "writer") }?;
        out(seq_out, "seq_out")?;
        let d = {
            let s = w.read();
            match (&s.writer, &s.report) {
                (Some(wr), _) => wr.durable_seq(stream_id),
                (None, Some(r)) => r
                    .streams
                    .iter()
                    .find(|x| x.id == stream_id)
                    .and_then(|x| x.durable_seq),
                (None, None) => None,
            }
        };
        let Some(seq) = d else {
            return err(
                streamq_result::NotFound,
                format!("nothing of stream {stream_id} is durable yet"),
            );
        };
        // SAFETY: checked non-NULL.
        unsafe { write(seq_out, seq) };
        Ok(())
    })
}

/// Frees a stream handle (ending the stream: the writer finishes it once drained). NULL
/// is a no-op.
///
/// # Safety
/// `stream` must be NULL or a handle from `streamq_writer_add_stream` not freed yet, and
/// no other thread may be using it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_free(stream: *mut streamq_stream) {
    call_or("streamq_stream_free", (), || {
        if !stream.is_null() {
            // SAFETY: created by Box::into_raw in streamq_writer_add_stream, freed once.
            drop(unsafe { Box::from_raw(stream) });
        }
    })
}

/// The stream's id in the capture, into `*id_out`.
///
/// # Safety
/// `stream` must be a live handle; `id_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_id(
    stream: *const streamq_stream,
    id_out: *mut u16,
) -> streamq_result {
    call("streamq_stream_id", || {
        // SAFETY: per the contract.
        let s = unsafe { handle(stream, "stream") }?;
        out(id_out, "id_out")?;
        // SAFETY: checked non-NULL.
        unsafe { write(id_out, s.id) };
        Ok(())
    })
}

/// Copies a frame into the stream's queue; as `streamq_producer_push` (including
/// `STREAMQ_RESULT_DROPPED` with `*seq_out` written). After a writer failure: `STREAMQ_RESULT_FAILED`;
/// after close: `STREAMQ_RESULT_CLOSED`.
///
/// # Safety
/// `stream` must be a live handle; `data` `len` readable bytes (NULL if 0); `seq_out`
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_push(
    stream: *mut streamq_stream,
    data: *const u8,
    len: usize,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_stream_push", || {
        // SAFETY: per the contract.
        let (s, d) = unsafe { (handle(stream, "stream")?, bytes(data, len, "data")?) };
        // SAFETY: seq_out is NULL or writable.
        unsafe { s.p.push(d, None, None, seq_out) }
    })
}

/// As `streamq_stream_push` with a device timestamp in ns (used to merge streams in time
/// order when reading).
///
/// # Safety
/// As `streamq_stream_push`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_push_at(
    stream: *mut streamq_stream,
    data: *const u8,
    len: usize,
    timestamp_ns: u64,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_stream_push_at", || {
        // SAFETY: per the contract.
        let (s, d) = unsafe { (handle(stream, "stream")?, bytes(data, len, "data")?) };
        // SAFETY: seq_out is NULL or writable.
        unsafe { s.p.push(d, Some(timestamp_ns), None, seq_out) }
    })
}

/// As `streamq_stream_push`, waiting at most `timeout_ms` for room (negative: for ever;
/// 0: not at all).
///
/// # Safety
/// As `streamq_stream_push`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_push_timeout(
    stream: *mut streamq_stream,
    data: *const u8,
    len: usize,
    timeout_ms: i64,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_stream_push_timeout", || {
        // SAFETY: per the contract.
        let (s, d) = unsafe { (handle(stream, "stream")?, bytes(data, len, "data")?) };
        // SAFETY: seq_out is NULL or writable.
        unsafe {
            s.p.push(d, None, Some(crate::args::timeout_ms(timeout_ms)), seq_out)
        }
    })
}

/// As `streamq_stream_push`, never waiting (`STREAMQ_RESULT_WOULD_BLOCK` when full).
///
/// # Safety
/// As `streamq_stream_push`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_try_push(
    stream: *mut streamq_stream,
    data: *const u8,
    len: usize,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_stream_try_push", || {
        // SAFETY: per the contract.
        let (s, d) = unsafe { (handle(stream, "stream")?, bytes(data, len, "data")?) };
        // SAFETY: seq_out is NULL or writable.
        unsafe { s.p.push(d, None, Some(crate::args::Timeout::NoWait), seq_out) }
    })
}

/// Reserves `len` bytes in the stream's ring for a frame filled in place (a camera SDK
/// writes straight into it); `*data_out` is where. Publish with `streamq_stream_commit`
/// / `_commit_at`, or `_abort`, on the same thread. As `streamq_producer_reserve`.
///
/// # Safety
/// `stream` must be a live handle; `data_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_reserve(
    stream: *mut streamq_stream,
    len: usize,
    data_out: *mut *mut u8,
) -> streamq_result {
    call("streamq_stream_reserve", || {
        // SAFETY: per the contract.
        let s = unsafe { handle(stream, "stream") }?;
        out(data_out, "data_out")?;
        check_len(len, "len")?;
        let ptr = s.p.reserve(len)?;
        // SAFETY: checked non-NULL.
        unsafe { write(data_out, ptr) };
        Ok(())
    })
}

/// Publishes this thread's reservation (host clock timestamp); `*seq_out` (may be NULL)
/// gets its sequence number. `STREAMQ_RESULT_NO_RESERVATION` if there is none.
///
/// # Safety
/// `stream` must be a live handle; `seq_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_commit(
    stream: *mut streamq_stream,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_stream_commit", || {
        // SAFETY: per the contract.
        let s = unsafe { handle(stream, "stream") }?;
        // SAFETY: seq_out is NULL or writable.
        unsafe { s.p.commit(None, seq_out) }
    })
}

/// As `streamq_stream_commit` with a device timestamp in ns.
///
/// # Safety
/// As `streamq_stream_commit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_commit_at(
    stream: *mut streamq_stream,
    timestamp_ns: u64,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_stream_commit_at", || {
        // SAFETY: per the contract.
        let s = unsafe { handle(stream, "stream") }?;
        // SAFETY: seq_out is NULL or writable.
        unsafe { s.p.commit(Some(timestamp_ns), seq_out) }
    })
}

/// Discards this thread's reservation. `STREAMQ_RESULT_NO_RESERVATION` if there is none.
///
/// # Safety
/// `stream` must be a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_abort(stream: *mut streamq_stream) -> streamq_result {
    call("streamq_stream_abort", || {
        // SAFETY: per the contract.
        unsafe { handle(stream, "stream") }?.p.abort()
    })
}

/// Ends this stream (the writer finishes it once drained); later pushes return
/// `STREAMQ_RESULT_CLOSED`. The handle stays valid until `streamq_stream_free`; a second close
/// returns `STREAMQ_RESULT_CLOSED`.
///
/// # Safety
/// `stream` must be a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_close(stream: *mut streamq_stream) -> streamq_result {
    call("streamq_stream_close", || {
        // SAFETY: per the contract.
        unsafe { handle(stream, "stream") }?.p.close()
    })
}

/// The stream's queue counters.
///
/// # Safety
/// `stream` must be a live handle; `stats_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_stats(
    stream: *const streamq_stream,
    stats_out: *mut streamq_queue_stats,
) -> streamq_result {
    call("streamq_stream_stats", || {
        // SAFETY: per the contract.
        let s = unsafe { handle(stream, "stream") }?;
        out(stats_out, "stats_out")?;
        let st = s.p.stats()?;
        // SAFETY: checked non-NULL.
        unsafe { write(stats_out, st.into()) };
        Ok(())
    })
}

/// Largest frame (payload bytes) the stream accepts, into `*len_out`.
///
/// # Safety
/// `stream` must be a live handle; `len_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_stream_max_frame_len(
    stream: *const streamq_stream,
    len_out: *mut usize,
) -> streamq_result {
    call("streamq_stream_max_frame_len", || {
        // SAFETY: per the contract.
        let s = unsafe { handle(stream, "stream") }?;
        out(len_out, "len_out")?;
        let n = s.p.max_frame_len()?;
        // SAFETY: checked non-NULL.
        unsafe { write(len_out, n) };
        Ok(())
    })
}
