//! Callbacks on the writer thread: the callback sink (`streamq_sink_fn` and the event
//! structs it receives) and the writer's `on_error`, `on_segment` and `on_durable`.
//! Stream names come from the engine with every event; they are made C strings once per
//! stream id here.
//!
//! The C functions and `user` pointers come from a `streamq_writer_config`; the header
//! documents that they run on the writer thread and that `user` must be usable there —
//! that is the contract the `SAFETY` comments below refer to. Every struct handed to a
//! callback, and what it points to, lives for the duration of the call.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::sync::Mutex;

use streamq_core::WriterConfig;
use streamq_core::writer::{Durable, FinishedSegment, SinkEvent};

use crate::args::cstring_lossy;
use crate::panic::quiet;
use crate::result::{streamq_result, writer_error_code};
use crate::sized::versioned;
use crate::writer_config::streamq_writer_config;

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
    /// The frames could not be written (the writer failed).
    WriteError = 3,
}

/// A finished segment file, as given to `streamq_segment_fn` (owned by the library,
/// valid during the call; `struct_size` is the library's).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_segment_info {
    /// `sizeof` this struct as the library knows it: fields past it are not there.
    pub struct_size: usize,
    /// Its path (valid during the callback only).
    pub path: *const c_char,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its number (0, 1, …).
    pub index: u32,
}

/// A stream's frames are on stable storage up to `seq`, as given to
/// `streamq_durable_fn` (owned by the library, valid during the call; `struct_size` is
/// the library's).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_durable {
    /// `sizeof` this struct as the library knows it: fields past it are not there.
    pub struct_size: usize,
    /// The stream's name (NUL-terminated UTF-8, valid during the call only).
    pub stream_name: *const c_char,
    /// Highest sequence number of the stream known to be durable.
    pub seq: u64,
    /// The stream's id.
    pub stream_id: u16,
}

/// Called once when the writer fails, on the writer thread, with the result code and
/// message (valid during the call). Producers see `STREAMQ_RESULT_FAILED` on their next
/// call. It must not call `streamq_writer_flush`, `_close` or `_free` on the same
/// writer (they wait for the writer thread: deadlock) nor push to its streams; it may
/// record the error and signal another thread. It must not unwind (no C++ exception may
/// leave it).
pub type streamq_error_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, code: streamq_result, message: *const c_char)>;

/// Called on the writer thread each time a segment file is complete (closed, trailer
/// written, synced) — e.g. to upload it. Same restrictions as `streamq_error_fn`.
pub type streamq_segment_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, info: *const streamq_segment_info)>;

/// Called on the writer thread after each fsync, per stream with new durable frames:
/// frames of `durable->stream_id` (named `durable->stream_name`) up to sequence
/// `durable->seq` are on stable storage. Same restrictions as `streamq_error_fn`.
pub type streamq_durable_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, durable: *const streamq_durable)>;

/// One frame given to a callback sink. Every pointer in it is valid during the call only:
/// copy what you keep.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_sink_frame {
    /// `sizeof` this struct as the library knows it: fields past it are not there.
    pub struct_size: usize,
    /// Stream name (NUL-terminated UTF-8), from the engine.
    pub stream_name: *const c_char,
    /// The frame's bytes, in the stream's ring (never NULL, even when `len` is 0).
    pub data: *const u8,
    /// Frame length in bytes.
    pub len: usize,
    /// Sequence number within the stream (a jump is announced by a gap event first).
    pub seq: u64,
    /// Device timestamp in ns (from the push options, else the host time of the push).
    pub device_ts_ns: u64,
    /// Host CLOCK_MONOTONIC time of the push, in ns.
    pub host_ts_ns: u64,
    /// Stream id (0, 1, … in the order the streams were added).
    pub stream_id: u16,
}

/// A run of consecutive frames of one stream dropped by its overflow policy, given to a
/// callback sink before the next frame of that stream (or at its end). Valid during the
/// call only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_sink_gap {
    /// `sizeof` this struct as the library knows it: fields past it are not there.
    pub struct_size: usize,
    /// Stream name (NUL-terminated UTF-8), from the engine.
    pub stream_name: *const c_char,
    /// Sequence number of the first dropped frame.
    pub first_seq: u64,
    /// Sequence number of the last dropped frame (`first_seq + count - 1`).
    pub last_seq: u64,
    /// Number of dropped frames (at least 1).
    pub count: u64,
    /// Host CLOCK_MONOTONIC time of the first drop, in ns.
    pub host_ts_ns: u64,
    /// `STREAMQ_DROP_REASON_NEWEST` or `STREAMQ_DROP_REASON_OLDEST`.
    pub reason: u32,
    /// Stream id.
    pub stream_id: u16,
}

/// What a callback sink receives: a frame or a gap, told apart by `kind`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_sink_event {
    /// `sizeof` this struct as the library knows it: fields past it are not there.
    pub struct_size: usize,
    /// The frame (`STREAMQ_SINK_EVENT_KIND_FRAME`), else NULL.
    pub frame: *const streamq_sink_frame,
    /// The gap (`STREAMQ_SINK_EVENT_KIND_GAP`), else NULL.
    pub gap: *const streamq_sink_gap,
    /// One of `streamq_sink_event_kind`.
    pub kind: u32,
}

versioned!(
    streamq_segment_info,
    streamq_durable,
    streamq_sink_frame,
    streamq_sink_gap,
    streamq_sink_event
);

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
/// `_close` or `_free` on its writer nor push to its streams (deadlock), and must not
/// unwind; it may block, send, write, and signal other threads.
pub type streamq_sink_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        event: *const streamq_sink_event,
        message: *mut c_char,
        message_len: usize,
    ) -> c_int,
>;

/// Stream names as C strings by id, made from the names the engine gives with each
/// event (a stream's name never changes, so each is made once).
#[derive(Default)]
struct Names(Vec<Option<CString>>);

impl Names {
    fn get(&mut self, id: u16, name: &str) -> *const c_char {
        let i = id as usize;
        if self.0.len() <= i {
            self.0.resize(i + 1, None);
        }
        let slot = &mut self.0[i];
        if slot.as_ref().is_none_or(|c| c.as_bytes() != name.as_bytes()) {
            *slot = Some(cstring_lossy(name));
        }
        slot.as_deref().map_or(c"".as_ptr(), CStr::as_ptr)
    }
}

/// A `user` pointer handed back to C callbacks on the writer thread.
#[derive(Clone, Copy)]
struct User(*mut c_void);

// SAFETY: the header documents that the callbacks run on the writer thread and that
// `user` must be usable there; the library only passes the pointer back.
unsafe impl Send for User {}
// SAFETY: as above.
unsafe impl Sync for User {}

/// Room for the message a failing `streamq_sink_fn` may leave.
const SINK_MESSAGE_LEN: usize = 256;

type SinkFn = unsafe extern "C" fn(*mut c_void, *const streamq_sink_event, *mut c_char, usize) -> c_int;

/// The state of a C callback sink, owned by the engine's callback (writer thread).
struct CSink {
    f: SinkFn,
    user: User,
    names: Names,
    message: [c_char; SINK_MESSAGE_LEN],
}

impl CSink {
    fn call(&mut self, ev: SinkEvent<'_>) -> Result<(), String> {
        let (frame, gap);
        let event = match ev {
            SinkEvent::Frame(fr) => {
                frame = streamq_sink_frame {
                    struct_size: size_of::<streamq_sink_frame>(),
                    stream_name: self.names.get(fr.stream_id, fr.stream),
                    // A valid pointer even for an empty frame (a dangling one is fine in
                    // Rust but not for C's memcpy and friends).
                    data: if fr.data.is_empty() {
                        c"".as_ptr().cast()
                    } else {
                        fr.data.as_ptr()
                    },
                    len: fr.data.len(),
                    seq: fr.info.seq,
                    device_ts_ns: fr.info.device_ts_ns,
                    host_ts_ns: fr.info.host_ts_ns,
                    stream_id: fr.stream_id,
                };
                streamq_sink_event {
                    struct_size: size_of::<streamq_sink_event>(),
                    kind: streamq_sink_event_kind::Frame as u32,
                    frame: &frame,
                    gap: std::ptr::null(),
                }
            }
            SinkEvent::Gap {
                stream_id,
                stream,
                gap: g,
            } => {
                gap = streamq_sink_gap {
                    struct_size: size_of::<streamq_sink_gap>(),
                    stream_name: self.names.get(stream_id, stream),
                    first_seq: g.first_seq,
                    last_seq: g.first_seq + g.count.saturating_sub(1),
                    count: g.count,
                    host_ts_ns: g.host_ts_ns,
                    reason: u32::from(g.reason.code()),
                    stream_id,
                };
                streamq_sink_event {
                    struct_size: size_of::<streamq_sink_event>(),
                    kind: streamq_sink_event_kind::Gap as u32,
                    frame: std::ptr::null(),
                    gap: &gap,
                }
            }
            // Nothing may be lost silently: an event the C sink cannot be told about
            // fails the writer.
            _ => return Err("libstreamq: a sink event kind this library version does not know".into()),
        };
        self.message[0] = 0;
        // SAFETY: the caller-supplied callback and user pointer, for this purpose (module
        // contract); `event`, what it points to (names in `names`, the frame's ring
        // bytes) and `message` (SINK_MESSAGE_LEN writable bytes) outlive the call.
        let rc = unsafe { (self.f)(self.user.0, &event, self.message.as_mut_ptr(), SINK_MESSAGE_LEN) };
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

/// The engine's sink callback for a C `sink_fn`.
pub(crate) fn callback_sink(
    f: SinkFn,
    user: *mut c_void,
) -> impl FnMut(SinkEvent<'_>) -> Result<(), String> + Send + 'static {
    let mut sink = CSink {
        f,
        user: User(user),
        names: Names::default(),
        message: [0; SINK_MESSAGE_LEN],
    };
    move |ev| quiet(|| sink.call(ev)).and_then(|r| r)
}

/// Attaches the config's `on_error`, `on_segment` and `on_durable` to the engine's
/// config.
pub(crate) fn attach_callbacks(mut w: WriterConfig, c: &streamq_writer_config) -> WriterConfig {
    let user = User(c.callback_user);
    if let Some(f) = c.on_error {
        w = w.on_error(move |e| {
            let user = user;
            let _ = quiet(|| {
                let msg = cstring_lossy(&e.to_string());
                // SAFETY: the caller-supplied callback and user pointer, for this purpose
                // (module contract); `msg` outlives the call.
                unsafe { f(user.0, writer_error_code(e), msg.as_ptr()) };
            });
        });
    }
    if let Some(f) = c.on_segment {
        w = w.on_segment(move |s: &FinishedSegment| {
            let user = user;
            let _ = quiet(|| {
                let path = cstring_lossy(&s.path.to_string_lossy());
                let info = streamq_segment_info {
                    struct_size: size_of::<streamq_segment_info>(),
                    path: path.as_ptr(),
                    bytes: s.bytes,
                    index: s.index,
                };
                // SAFETY: as above; `info` and `path` outlive the call.
                unsafe { f(user.0, &info) };
            });
        });
    }
    if let Some(f) = c.on_durable {
        let names = Mutex::new(Names::default());
        w = w.on_durable(move |d: &Durable<'_>| {
            let user = user;
            let _ = quiet(|| {
                let mut names = names.lock().unwrap_or_else(|p| p.into_inner());
                let durable = streamq_durable {
                    struct_size: size_of::<streamq_durable>(),
                    stream_name: names.get(d.stream_id, d.stream),
                    seq: d.seq,
                    stream_id: d.stream_id,
                };
                // SAFETY: as above; `durable` and the name (in `names`, locked) outlive
                // the call.
                unsafe { f(user.0, &durable) };
            });
        });
    }
    w
}
