//! The writer (`streamq_writer`) and its streams (`streamq_stream`).

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Duration;

use streamq_core::writer::{SegmentInfo, SinkEvent};
use streamq_core::{DropReason, FsyncPolicy, StreamConfig, Writer, WriterConfig, WriterError, WriterReport};

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
    /// Every frame and gap goes to the config's `sink_fn` on the writer thread (network,
    /// custom formats …); `path` must be NULL. The time the callback takes is the write:
    /// back-pressure and overflow policies behave as with a file.
    Callback = 2,
}

/// What a `streamq_sink_event` carries.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum streamq_sink_event_kind {
    /// A frame: `event->frame` is set, `event->gap` is NULL.
    Frame = 0,
    /// A run of frames dropped by the overflow policy: `event->gap` is set,
    /// `event->frame` is NULL.
    Gap = 1,
}

/// Why frames were lost. The values are the capture format's gap reason codes
/// (docs/FORMAT.md §4.6). A callback sink's gap events carry `NEWEST` or `OLDEST`; a gap
/// record read from a file (`streamq_gap_info`) may carry any of them, or a code this
/// library does not know.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum streamq_drop_reason {
    /// The new frames were refused because the queue was full
    /// (`STREAMQ_POLICY_DROP_NEWEST`).
    Newest = 1,
    /// Old, unread frames were evicted to make room (`STREAMQ_POLICY_DROP_OLDEST`).
    Oldest = 2,
    /// A write error or another cause (gap records read from a file only).
    WriteError = 3,
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

/// One frame given to a callback sink. Every pointer in it is valid during the call only:
/// copy what you keep.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_sink_frame {
    /// Stream id (0, 1, … in the order the streams were added).
    pub stream_id: u16,
    /// Stream name (NUL-terminated UTF-8).
    pub stream_name: *const c_char,
    /// The frame's bytes, in the stream's ring (never NULL, even when `len` is 0).
    pub data: *const u8,
    /// Frame length in bytes.
    pub len: usize,
    /// Sequence number within the stream (a jump is announced by a gap event first).
    pub seq: u64,
    /// Device timestamp in ns (given to `push_at` / `commit_at`, else the host time of
    /// the push).
    pub timestamp_ns: u64,
    /// Host CLOCK_MONOTONIC time of the push, in ns.
    pub host_time_ns: u64,
}

/// A run of consecutive frames of one stream dropped by its overflow policy, given to a
/// callback sink before the next frame of that stream (or at its end). Valid during the
/// call only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_sink_gap {
    /// Stream id.
    pub stream_id: u16,
    /// Stream name (NUL-terminated UTF-8).
    pub stream_name: *const c_char,
    /// Sequence number of the first dropped frame.
    pub first_seq: u64,
    /// Sequence number of the last dropped frame (`first_seq + count - 1`).
    pub last_seq: u64,
    /// Number of dropped frames (at least 1).
    pub count: u64,
    /// `STREAMQ_DROP_REASON_NEWEST` or `STREAMQ_DROP_REASON_OLDEST`.
    pub reason: u32,
    /// Host CLOCK_MONOTONIC time of the first drop, in ns.
    pub host_time_ns: u64,
}

/// What a callback sink receives: a frame or a gap, told apart by `kind`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_sink_event {
    /// One of `streamq_sink_event_kind`.
    pub kind: u32,
    /// The frame (`STREAMQ_SINK_EVENT_KIND_FRAME`), else NULL.
    pub frame: *const streamq_sink_frame,
    /// The gap (`STREAMQ_SINK_EVENT_KIND_GAP`), else NULL.
    pub gap: *const streamq_sink_gap,
}

/// The callback sink (`STREAMQ_SINK_CALLBACK`): stores one event, in order — frames of a
/// stream in sequence order, each gap before the frames that follow it. Returns 0 when
/// the event is handled; any other value fails the writer, exactly like an I/O error:
/// it stops cleanly, `on_error` runs with `STREAMQ_RESULT_FAILED`, the streams' next
/// pushes return `STREAMQ_RESULT_FAILED`, and `streamq_writer_flush` / `_close` return
/// it. Before failing, the callback may explain why in `message`: `message_len` bytes
/// (256) holding an empty string, e.g. `snprintf(message, message_len, "send: %s",
/// strerror(errno))`; the text (cut at `message_len - 1` bytes) and the return value go
/// into the writer's error (`streamq_last_error`, `on_error`). In the report, the frames
/// the callback accepted count as written, the one it refused and every later one as
/// failed.
///
/// Runs on the writer thread, one call at a time; `user` is the config's
/// `callback_user`. `event` and everything it points to (the frame's bytes included) are
/// valid during the call only. The time it takes is the write: while it runs the
/// streams' rings fill, and their overflow policy applies (block, drop with a gap event,
/// …). Same restrictions as `streamq_error_fn`: it must not call `streamq_writer_flush`,
/// `_close` or `_free` on its writer nor push to its streams (deadlock); it may block,
/// send, write, and signal other threads.
pub type streamq_sink_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        event: *const streamq_sink_event,
        message: *mut c_char,
        message_len: usize,
    ) -> c_int,
>;

/// Settings for a writer. Fill it with `streamq_writer_config_default()`, set `path`
/// (or `sink` = `STREAMQ_SINK_CALLBACK` and `sink_fn`), then change what you need.
///
/// Which sink uses what: `metadata`, `compression_level`, `compress_workers`,
/// `raw_when_behind`, `max_write_bytes`, `writes_in_flight`, `preallocate_bytes` and the
/// segment settings are for `STREAMQ_SINK_CAPTURE_FILE`; `io_workers` is for
/// `STREAMQ_SINK_DIRECTORY`; `sink_fn` is for `STREAMQ_SINK_CALLBACK`. With another sink,
/// non-zero `metadata_len`, `compression_level`, `segment_bytes`,
/// `segment_duration_ms` or a `sink_fn` are rejected (`STREAMQ_RESULT_INVALID_ARGUMENT`:
/// they would do nothing); the tuning knobs with non-zero defaults are ignored. The
/// fsync policy applies to every sink (for the callback sink a "sync" only advances the
/// durable mark: what the callback returned from is considered stored) and so do the
/// callbacks.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_writer_config {
    /// The capture file (or directory) path. Required for `STREAMQ_SINK_CAPTURE_FILE`
    /// and `STREAMQ_SINK_DIRECTORY`; must be NULL for `STREAMQ_SINK_CALLBACK`.
    pub path: *const c_char,
    /// One of `streamq_sink` (default `STREAMQ_SINK_CAPTURE_FILE`).
    pub sink: u32,
    /// File-level metadata pairs (sensor, host, session …), copied; may be NULL if
    /// `metadata_len` is 0. Capture files only.
    pub metadata: *const streamq_kv,
    /// Number of `metadata` entries.
    pub metadata_len: usize,
    /// 0: store frames raw (default); 1..22: zstd level (1–3 keep up with a camera).
    /// Capture files only (the other sinks receive the raw frames).
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
    /// Passed unchanged to the callbacks (`on_error`, `on_segment`, `on_durable`,
    /// `sink_fn`); they run on the writer thread, so what it points to must be usable
    /// from there.
    pub callback_user: *mut c_void,
    /// The callback sink: required with `STREAMQ_SINK_CALLBACK` (NULL is
    /// `STREAMQ_RESULT_NULL_POINTER`), must be NULL otherwise.
    pub sink_fn: streamq_sink_fn,
}

/// Defaults: no path, capture file, no compression, fsync on close, 8 MiB writes, 2
/// writes in flight, no preallocation, no segments, no callbacks, no sink callback.
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
        sink_fn: None,
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
    /// Stream names by id, for `streamq_stream_report::name` (and a callback sink's gap
    /// events).
    names: Names,
}

/// Stream names by id, shared by the handle and its callback sink.
type Names = Arc<Mutex<Vec<CString>>>;

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

/// Room for the message a failing `streamq_sink_fn` may leave.
const SINK_MESSAGE_LEN: usize = 256;

/// The state of a C callback sink, owned by the engine's callback (writer thread).
struct CSink {
    f: unsafe extern "C" fn(*mut c_void, *const streamq_sink_event, *mut c_char, usize) -> c_int,
    user: *mut c_void,
    /// The handle's stream names (for gaps of a stream whose name is not cached yet).
    names: Names,
    /// Stream names as C strings, by id, made once per stream.
    cache: Vec<Option<CString>>,
    message: [c_char; SINK_MESSAGE_LEN],
}

// SAFETY: documented in the header: `sink_fn` runs on the writer thread and `user` must
// be usable there; we only pass the pointer back. The rest is owned data.
unsafe impl Send for CSink {}

impl CSink {
    /// The C name of stream `id`, made from `name` (frames carry it) or from the
    /// handle's list (gaps do not), once.
    fn name(&mut self, id: u16, name: Option<&str>) -> *const c_char {
        let i = id as usize;
        if self.cache.len() <= i {
            self.cache.resize(i + 1, None);
        }
        if self.cache[i].is_none() {
            self.cache[i] = match name {
                Some(n) => Some(cstring_lossy(n)),
                // The handle records a stream's name before it returns the stream's
                // handle, so before any of its frames can be dropped.
                None => lock(&self.names).get(i).cloned(),
            };
        }
        self.cache[i].as_deref().map_or(c"".as_ptr(), CStr::as_ptr)
    }

    fn call(&mut self, ev: SinkEvent<'_>) -> Result<(), String> {
        let (frame, gap);
        let event = match ev {
            SinkEvent::Frame(fr) => {
                frame = streamq_sink_frame {
                    stream_id: fr.stream_id,
                    stream_name: self.name(fr.stream_id, Some(fr.stream)),
                    // A valid pointer even for an empty frame (a dangling one is fine in
                    // Rust but not for C's memcpy and friends).
                    data: if fr.data.is_empty() {
                        c"".as_ptr().cast()
                    } else {
                        fr.data.as_ptr()
                    },
                    len: fr.data.len(),
                    seq: fr.info.seq,
                    timestamp_ns: fr.info.timestamp_ns,
                    host_time_ns: fr.info.host_time_ns,
                };
                streamq_sink_event {
                    kind: streamq_sink_event_kind::Frame as u32,
                    frame: &frame,
                    gap: std::ptr::null(),
                }
            }
            SinkEvent::Gap { stream_id, gap: g } => {
                gap = streamq_sink_gap {
                    stream_id,
                    stream_name: self.name(stream_id, None),
                    first_seq: g.first_seq,
                    last_seq: g.first_seq + g.count.saturating_sub(1),
                    count: g.count,
                    reason: match g.reason {
                        DropReason::Newest => streamq_drop_reason::Newest as u32,
                        DropReason::Oldest => streamq_drop_reason::Oldest as u32,
                    },
                    host_time_ns: g.host_time_ns,
                };
                streamq_sink_event {
                    kind: streamq_sink_event_kind::Gap as u32,
                    frame: std::ptr::null(),
                    gap: &gap,
                }
            }
        };
        self.message[0] = 0;
        // SAFETY: the caller-supplied callback and user pointer, for this purpose; `event`,
        // what it points to (names in `cache`, the frame's ring bytes) and `message`
        // (SINK_MESSAGE_LEN writable bytes) outlive the call.
        let rc = unsafe { (self.f)(self.user, &event, self.message.as_mut_ptr(), SINK_MESSAGE_LEN) };
        if rc == 0 {
            return Ok(());
        }
        // Whatever the callback wrote, the text ends inside the buffer.
        self.message[SINK_MESSAGE_LEN - 1] = 0;
        // SAFETY: NUL-terminated within the buffer (set just above).
        let text = unsafe { CStr::from_ptr(self.message.as_ptr()) }.to_string_lossy();
        Err(if text.is_empty() {
            format!("sink_fn returned {rc}")
        } else {
            format!("{text} (sink_fn returned {rc})")
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn writer_config(c: &streamq_writer_config, names: &Names) -> Res<WriterConfig> {
    const CAPTURE_FILE: u32 = streamq_sink::CaptureFile as u32;
    const DIRECTORY: u32 = streamq_sink::Directory as u32;
    const CALLBACK: u32 = streamq_sink::Callback as u32;
    let mut w = match c.sink {
        CAPTURE_FILE | DIRECTORY => {
            // SAFETY: the config's strings and arrays are valid per the export's contract.
            let path = unsafe { string(c.path, "config->path") }?;
            if c.sink_fn.is_some() {
                return err(
                    streamq_result::InvalidArgument,
                    "config->sink_fn is set but config->sink is not STREAMQ_SINK_CALLBACK",
                );
            }
            if c.sink == CAPTURE_FILE {
                WriterConfig::capture_file(path)
            } else {
                WriterConfig::directory(path)
            }
        }
        CALLBACK => {
            if !c.path.is_null() {
                return err(
                    streamq_result::InvalidArgument,
                    "config->path must be NULL with STREAMQ_SINK_CALLBACK (frames go to config->sink_fn)",
                );
            }
            let Some(f) = c.sink_fn else {
                return err(
                    streamq_result::NullPointer,
                    "config->sink_fn is NULL (required with STREAMQ_SINK_CALLBACK)",
                );
            };
            let mut sink = CSink {
                f,
                user: c.callback_user,
                names: Arc::clone(names),
                cache: Vec::new(),
                message: [0; SINK_MESSAGE_LEN],
            };
            WriterConfig::callback(move |ev| sink.call(ev))
        }
        v => {
            return err(
                streamq_result::InvalidArgument,
                format!("sink {v} is not a streamq_sink"),
            );
        }
    };
    if c.sink != CAPTURE_FILE {
        // Settings the other sinks would silently not use.
        let unused = [
            (c.metadata_len != 0, "metadata"),
            (c.compression_level != 0, "compression_level"),
            (c.segment_bytes != 0, "segment_bytes"),
            (c.segment_duration_ms != 0, "segment_duration_ms"),
        ];
        if let Some((_, what)) = unused.iter().find(|(set, _)| *set) {
            return err(
                streamq_result::InvalidArgument,
                format!("config->{what} applies to STREAMQ_SINK_CAPTURE_FILE only"),
            );
        }
    }
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
        let names = Names::default();
        let w = Writer::start(writer_config(c, &names)?)?;
        let h = Box::new(streamq_writer {
            state: RwLock::new(State {
                writer: Some(w),
                report: None,
            }),
            names,
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
