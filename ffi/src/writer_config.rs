//! A writer's configuration: `streamq_writer_config` (init, set/get by option name) and
//! its conversion to the engine's `WriterConfig`. The engine checks the settings when
//! the writer starts (`StartError::InvalidConfig`, one message shape for every front
//! end); this file only translates.
//!
//! Contract of the exports here (the `SAFETY` comments refer to it): a config pointer is
//! NULL or points to a `streamq_writer_config` of at least its `struct_size` bytes
//! (`sized.rs`), filled by `streamq_writer_config_init`, whose `path` is NULL or
//! NUL-terminated and whose `metadata` is NULL or `metadata_len` valid `streamq_kv`;
//! `name` and `value` are NUL-terminated; `buf` is NULL or `len` writable bytes; other
//! outputs NULL or valid for a write of their type.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use streamq_core::{Compression, FsyncPolicy, WriterConfig};

use crate::args::{kv_list, string};
use crate::option_text as text;
use crate::panic::call;
use crate::result::{Error, Res, err, streamq_result};
use crate::sink::{
    attach_callbacks, callback_sink, streamq_durable_fn, streamq_error_fn, streamq_segment_fn,
    streamq_sink_fn,
};
use crate::sized::{Input, init_input, read_input, set_field, update_input, versioned};

/// A key/value pair of metadata (both NUL-terminated UTF-8).
///
/// Frozen: used in arrays, this struct never grows (it has no `struct_size`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_kv {
    /// The key, e.g. "width".
    pub key: *const c_char,
    /// The value, e.g. "640".
    pub value: *const c_char,
}

/// Where the writer puts frames (option `sink`: "capture_file", "directory",
/// "callback").
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

/// When the writer calls `fdatasync` (option `fsync`: "close", "always",
/// "every:64MiB", "every:20ms").
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

/// Settings for a writer. Fill it with `streamq_writer_config_init` (or
/// `STREAMQ_WRITER_CONFIG_INIT`), set `path` (or `sink` = `STREAMQ_SINK_CALLBACK` and
/// `sink_fn`), then change fields or set options by name with
/// `streamq_writer_config_set` — the option names and texts are those of the command
/// line and Python (docs/OPTIONS.md).
///
/// Which sink uses what is the engine's rule, checked by `streamq_writer_create`: an
/// option a sink does not use, set to something other than its default, is refused with
/// `STREAMQ_RESULT_INVALID_ARGUMENT` and the engine's message ("compression applies to
/// the capture_file sink only (this writer's sink is directory)"). Capture files only:
/// `metadata`, `compression_level`, `compress_workers`, `raw_when_behind`,
/// `writes_in_flight`, `preallocate_bytes`, `direct_io`, `max_write_rate`, the segment
/// settings, `index_interval_bytes`; the directory sink only: `io_workers`. (A C field
/// equal to its default cannot be told from an unset one.) The fsync policy applies to
/// every sink (for the callback sink a "sync" only advances the durable mark: what the
/// callback returned from is considered stored), and so do the callbacks.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_writer_config {
    /// `sizeof(streamq_writer_config)` as the caller's header declares it (set by the
    /// init function; see "Structs that grow" at the top of this header).
    pub struct_size: usize,
    /// Option `path`: the capture file (or directory) path. Required for
    /// `STREAMQ_SINK_CAPTURE_FILE` and `STREAMQ_SINK_DIRECTORY`; must be NULL for
    /// `STREAMQ_SINK_CALLBACK`. Read by `streamq_writer_create`, not kept.
    pub path: *const c_char,
    /// Option `metadata`: file-level metadata pairs (sensor, host, session …), copied
    /// at create; may be NULL if `metadata_len` is 0. Capture files only.
    pub metadata: *const streamq_kv,
    /// Number of `metadata` entries.
    pub metadata_len: usize,
    /// Option `max_write_bytes`: largest coalesced vectored write in bytes (default
    /// 8 MiB; at least 4096).
    pub max_write_bytes: usize,
    /// With `fsync_policy`: bytes (`STREAMQ_FSYNC_EVERY_BYTES`) or milliseconds
    /// (`STREAMQ_FSYNC_EVERY_MS`).
    pub fsync_interval: u64,
    /// Option `preallocate`: disk space reserved ahead with `fallocate` (default 0: off;
    /// on ext4 it slows O_DIRECT writes, which must convert the reserved extents).
    pub preallocate_bytes: u64,
    /// Option `segment_bytes`: start a new segment file after this many bytes (0:
    /// never, default).
    pub segment_bytes: u64,
    /// Option `segment_duration`: start a new segment file after this many
    /// milliseconds (0: never, default).
    pub segment_duration_ms: u64,
    /// Option `index_interval`: bytes between index checkpoints (default 4 MiB).
    pub index_interval_bytes: u64,
    /// Option `linger`: how long the writer naps after a round of writes before it
    /// sleeps on its streams, in milliseconds (default 1; 0 disables).
    pub linger_ms: u64,
    /// Optional error callback (writer thread).
    pub on_error: streamq_error_fn,
    /// Optional segment callback (writer thread).
    pub on_segment: streamq_segment_fn,
    /// Optional durability callback (writer thread).
    pub on_durable: streamq_durable_fn,
    /// The callback sink: required with `STREAMQ_SINK_CALLBACK` (NULL is
    /// `STREAMQ_RESULT_NULL_POINTER`), must be NULL otherwise.
    pub sink_fn: streamq_sink_fn,
    /// Passed unchanged to the callbacks (`on_error`, `on_segment`, `on_durable`,
    /// `sink_fn`); they run on the writer thread, so what it points to must be usable
    /// from there.
    pub callback_user: *mut c_void,
    /// Option `sink`: one of `streamq_sink` (default `STREAMQ_SINK_CAPTURE_FILE`).
    pub sink: u32,
    /// Option `compression`: 0 stores frames raw (default, "none"); 1..22 is the zstd
    /// level ("zstd:3"; "zstd" is level 1; 1–3 keep up with a camera).
    pub compression_level: i32,
    /// Option `compress_workers`: compression worker threads; 0: one per core
    /// (default).
    pub compress_workers: u32,
    /// Option `io_workers`: directory sink, files written at once; 0: one per core
    /// (default).
    pub io_workers: u32,
    /// Option `writes_in_flight`: O_DIRECT capture files, writes kept in flight on I/O
    /// threads while the writer prepares the next (default 2; 0 writes synchronously; at
    /// most 64). Frames count as written only once their write has returned.
    pub writes_in_flight: u32,
    /// Option `fsync` (with `fsync_interval`): one of `streamq_fsync` (default
    /// `STREAMQ_FSYNC_ON_CLOSE`).
    pub fsync_policy: u32,
    /// Option `max_streams`: the most streams `streamq_writer_add_stream` accepts (0:
    /// the format's limit, 65 535, the default); past it, `STREAMQ_RESULT_LIMIT`.
    pub max_streams: u32,
    /// Option `raw_when_behind`: with compression, store frames raw while their
    /// stream's queue is above high water (default true: the compressors are behind);
    /// false compresses every frame.
    pub raw_when_behind: bool,
    /// Option `direct_io`: capture files bypass the page cache with O_DIRECT (default
    /// true; file systems without O_DIRECT fall back to buffered writes).
    pub direct_io: bool,
    /// Option `max_write_rate`: limits the capture file's writes to this many bytes per
    /// second on average (default 0: no limit). Added after the first layout of this
    /// struct: a program built against a header without it gets no limit.
    pub max_write_rate: u64,
}

versioned!(streamq_writer_config);

impl Input for streamq_writer_config {
    fn defaults() -> Self {
        streamq_writer_config {
            struct_size: size_of::<Self>(),
            path: std::ptr::null(),
            metadata: std::ptr::null(),
            metadata_len: 0,
            max_write_bytes: 8 << 20,
            fsync_interval: 0,
            preallocate_bytes: 0,
            segment_bytes: 0,
            segment_duration_ms: 0,
            index_interval_bytes: DEFAULT_INDEX_INTERVAL,
            linger_ms: 1,
            on_error: None,
            on_segment: None,
            on_durable: None,
            sink_fn: None,
            callback_user: std::ptr::null_mut(),
            sink: streamq_sink::CaptureFile as u32,
            compression_level: 0,
            compress_workers: 0,
            io_workers: 0,
            writes_in_flight: DEFAULT_WRITES_IN_FLIGHT,
            fsync_policy: streamq_fsync::OnClose as u32,
            max_streams: 0,
            raw_when_behind: true,
            direct_io: true,
            max_write_rate: 0,
        }
    }
}

/// The engine's defaults for the options the C struct states explicitly (the unit test
/// below checks that the C defaults describe exactly as the engine's).
const DEFAULT_INDEX_INTERVAL: u64 = 4 << 20;
const DEFAULT_WRITES_IN_FLIGHT: u32 = 2;

/// Fills `*config` (`struct_size` bytes: pass `sizeof *config`, or use
/// `STREAMQ_WRITER_CONFIG_INIT(config)`) with the defaults: no path, capture file, no
/// compression, fsync on close, 8 MiB writes, 2 writes in flight, O_DIRECT, no
/// preallocation, no segments, no callbacks, no sink callback, no rate limit.
///
/// # Safety
/// `config` is NULL or points to `struct_size` writable bytes aligned for the struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_config_init(
    config: *mut streamq_writer_config,
    struct_size: usize,
) -> streamq_result {
    call("streamq_writer_config_init", || {
        // SAFETY: the caller's contract, as `init_input` needs it.
        unsafe { init_input(config, struct_size, "config") }
    })
}

/// What the engine config is built for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A writer: every required pointer must be there.
    Start,
    /// `describe()` only: missing pointers are read as empty.
    Describe,
}

fn sink_name(v: u32) -> Res<&'static str> {
    Ok(match v {
        0 => "capture_file",
        1 => "directory",
        2 => "callback",
        _ => {
            return err(
                streamq_result::InvalidArgument,
                format!("sink {v} is not a streamq_sink"),
            );
        }
    })
}

/// The engine's config for the C one.
///
/// # Safety
/// `c`'s pointers satisfy the module contract.
pub(crate) unsafe fn writer_config(c: &streamq_writer_config, purpose: Purpose) -> Res<WriterConfig> {
    sink_name(c.sink)?; // refuses an unknown sink value
    let mut w = if c.sink == streamq_sink::Callback as u32 {
        // The C struct carries a path and a function pointer side by side; the engine's
        // sink holds one or the other, so these two checks are the C layer's.
        if !c.path.is_null() {
            return err(
                streamq_result::InvalidArgument,
                "config->path must be NULL with STREAMQ_SINK_CALLBACK (frames go to config->sink_fn)",
            );
        }
        match (c.sink_fn, purpose) {
            (Some(f), Purpose::Start) => WriterConfig::callback(callback_sink(f, c.callback_user)),
            (_, Purpose::Describe) => WriterConfig::callback(|_| Ok(())),
            (None, Purpose::Start) => {
                return err(
                    streamq_result::NullPointer,
                    "config->sink_fn is NULL (required with STREAMQ_SINK_CALLBACK)",
                );
            }
        }
    } else {
        if c.sink_fn.is_some() {
            return err(
                streamq_result::InvalidArgument,
                "config->sink_fn is set but config->sink is not STREAMQ_SINK_CALLBACK",
            );
        }
        let path = match (c.path.is_null(), purpose) {
            (true, Purpose::Describe) => "",
            // SAFETY: NULL or NUL-terminated (contract).
            _ => unsafe { string(c.path, "config->path") }?,
        };
        if c.sink == streamq_sink::CaptureFile as u32 {
            WriterConfig::capture_file(path)
        } else {
            WriterConfig::directory(path)
        }
    };
    // SAFETY: NULL with 0, or `metadata_len` valid pairs (contract).
    let metadata = unsafe { kv_list(c.metadata, c.metadata_len, "config->metadata") }?;
    for (k, v) in metadata {
        w = w.metadata(k, v);
    }
    // The options with a default are passed only when changed, so the engine refuses
    // exactly those a sink does not use that the caller did set.
    if c.compression_level != 0 {
        w = w.zstd(c.compression_level);
    }
    if c.compress_workers != 0 {
        w = w.compress_workers(c.compress_workers as usize);
    }
    if !c.raw_when_behind {
        w = w.raw_when_behind(false);
    }
    if c.io_workers != 0 {
        w = w.io_workers(c.io_workers as usize);
    }
    if c.writes_in_flight != DEFAULT_WRITES_IN_FLIGHT {
        w = w.writes_in_flight(c.writes_in_flight as usize);
    }
    if c.preallocate_bytes != 0 {
        w = w.preallocate(c.preallocate_bytes);
    }
    if !c.direct_io {
        w = w.direct_io(false);
    }
    if c.segment_bytes != 0 {
        w = w.segment_bytes(c.segment_bytes);
    }
    if c.segment_duration_ms != 0 {
        w = w.segment_duration(Duration::from_millis(c.segment_duration_ms));
    }
    if c.index_interval_bytes != DEFAULT_INDEX_INTERVAL {
        w = w.index_interval(c.index_interval_bytes);
    }
    if c.max_write_rate != 0 {
        w = w.max_write_rate(c.max_write_rate);
    }
    if c.max_streams != 0 {
        let n = u16::try_from(c.max_streams).map_err(|_| {
            Error::new(
                streamq_result::InvalidArgument,
                format!(
                    "config->max_streams {} is above 65535, the format's limit",
                    c.max_streams
                ),
            )
        })?;
        w = w.max_streams(n);
    }
    w = w
        .max_write_bytes(c.max_write_bytes)
        .linger(Duration::from_millis(c.linger_ms))
        .fsync(match c.fsync_policy {
            0 => FsyncPolicy::OnClose,
            1 => FsyncPolicy::EveryBytes(c.fsync_interval),
            2 => FsyncPolicy::Every(Duration::from_millis(c.fsync_interval)),
            3 => FsyncPolicy::Always,
            v => {
                return err(
                    streamq_result::InvalidArgument,
                    format!("config->fsync_policy {v} is not a streamq_fsync"),
                );
            }
        });
    if c.fsync_policy == streamq_fsync::EveryMs as u32 && c.fsync_interval == 0 {
        // FsyncPolicy::Every(0) has no text form in the engine; it would mean "always".
        return err(
            streamq_result::InvalidArgument,
            "config->fsync_interval must be positive with STREAMQ_FSYNC_EVERY_MS",
        );
    }
    Ok(match purpose {
        Purpose::Start => attach_callbacks(w, c),
        Purpose::Describe => w,
    })
}

/// Sets writer option `name` (a C field) from its text.
fn set_writer_option(c: &mut streamq_writer_config, name: &str, value: &str) -> Res<usize> {
    type W = streamq_writer_config;
    Ok(match name {
        "sink" => {
            let v = match value.trim() {
                "capture_file" => streamq_sink::CaptureFile,
                "directory" => streamq_sink::Directory,
                "callback" => streamq_sink::Callback,
                _ => {
                    return err(
                        streamq_result::InvalidArgument,
                        format!("sink: unknown sink '{value}' (use capture_file, directory or callback)"),
                    );
                }
            };
            set_field!(c: W, sink = v as u32)
        }
        "path" => return Err(text::pointer_field(name, "path")),
        "metadata" => return Err(text::pointer_field(name, "metadata")),
        "compression" => {
            let level = match text::parsed::<Compression>(name, value)? {
                Compression::None => 0,
                Compression::Zstd { level } => level,
                other => {
                    return err(
                        streamq_result::InvalidArgument,
                        format!("compression: {other} has no C representation in this library version"),
                    );
                }
            };
            set_field!(c: W, compression_level = level)
        }
        "compress_workers" => set_field!(c: W, compress_workers = text::number(name, value)?),
        "raw_when_behind" => set_field!(c: W, raw_when_behind = text::boolean(name, value)?),
        "io_workers" => set_field!(c: W, io_workers = text::number(name, value)?),
        "writes_in_flight" => set_field!(c: W, writes_in_flight = text::number(name, value)?),
        "max_write_bytes" => set_field!(c: W, max_write_bytes = text::size_usize(name, value)?),
        "max_write_rate" => {
            let r = text::or_word(value, "none", || text::size(name, value))?;
            if r == Some(0) {
                return err(
                    streamq_result::InvalidArgument,
                    "max_write_rate: must be positive (\"none\" for no limit)",
                );
            }
            set_field!(c: W, max_write_rate = r.unwrap_or(0))
        }
        "fsync" => {
            let (policy, interval) = match text::parsed::<FsyncPolicy>(name, value)? {
                FsyncPolicy::OnClose => (streamq_fsync::OnClose, 0),
                FsyncPolicy::Always => (streamq_fsync::Always, 0),
                FsyncPolicy::EveryBytes(n) => (streamq_fsync::EveryBytes, n),
                FsyncPolicy::Every(d) => (streamq_fsync::EveryMs, text::whole_millis(name, value, d)?),
                other => {
                    return err(
                        streamq_result::InvalidArgument,
                        format!("fsync: {other} has no C representation in this library version"),
                    );
                }
            };
            set_field!(c: W, fsync_interval = interval).max(set_field!(c: W, fsync_policy = policy as u32))
        }
        "preallocate" => set_field!(c: W, preallocate_bytes = text::size(name, value)?),
        "direct_io" => set_field!(c: W, direct_io = text::boolean(name, value)?),
        "segment_bytes" => set_field!(
            c: W,
            segment_bytes = text::or_word(value, "none", || text::size(name, value))?.unwrap_or(0)
        ),
        "segment_duration" => set_field!(
            c: W,
            segment_duration_ms = text::or_word(value, "none", || text::millis(name, value))?.unwrap_or(0)
        ),
        "index_interval" => set_field!(c: W, index_interval_bytes = text::size(name, value)?),
        "max_streams" => set_field!(c: W, max_streams = u32::from(text::number::<u16>(name, value)?)),
        "linger" => set_field!(c: W, linger_ms = text::millis(name, value)?),
        _ => {
            // SAFETY: `describe` needs no pointer but the metadata, not read with an
            // empty list; the config's pointers satisfy the contract anyway.
            let described = unsafe {
                writer_config(
                    &W {
                        metadata_len: 0,
                        ..*c
                    },
                    Purpose::Describe,
                )
            }
            .map(|w| w.describe())
            .unwrap_or_default();
            return Err(text::unknown("writer", name, &described));
        }
    })
}

/// Sets writer option `name` from its text, exactly as the command line and Python take
/// it: `sink` ("capture_file", "directory", "callback"), `compression` ("none", "zstd",
/// "zstd:3"), `compress_workers`, `raw_when_behind` ("true"/"false"), `io_workers`,
/// `writes_in_flight`, `max_write_bytes` ("8MiB"), `max_write_rate` ("100MB", "none"),
/// `fsync` ("close", "always", "every:64MiB", "every:20ms"), `preallocate`,
/// `direct_io`, `segment_bytes` ("1GiB", "none"), `segment_duration` ("10m", "none"),
/// `index_interval`, `max_streams`, `linger` ("1ms"). Durations are held in whole
/// milliseconds. `path` and `metadata` are pointers: assign those fields. An unknown
/// name, an unreadable value, or an option the caller's (older) struct has no field for
/// is `STREAMQ_RESULT_INVALID_ARGUMENT` with the config unchanged. Values are checked
/// together by `streamq_writer_create`.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_config_set(
    config: *mut streamq_writer_config,
    name: *const c_char,
    value: *const c_char,
) -> streamq_result {
    call("streamq_writer_config_set", || {
        // SAFETY: the module contract.
        let (n, v) = unsafe { (string(name, "name")?, string(value, "value")?) };
        // SAFETY: the module contract.
        unsafe { update_input(config, "config", |c| set_writer_option(c, n, v)) }
    })
}

/// The canonical text of writer option `name` as the engine prints it (its
/// `describe()`: "zstd:3", "every:64MiB", "8MiB", "none" …; also `path`) into `buf`
/// (`len` bytes, NUL-terminated) and its length into `*len_out` (may be NULL). A buffer
/// too small: `STREAMQ_RESULT_BUFFER_TOO_SMALL` with `*len_out` written and `buf`
/// untouched (`buf` may be NULL with `len` 0 to ask for the length). A config the engine
/// cannot describe (an enum field out of range) is `STREAMQ_RESULT_INVALID_ARGUMENT`.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_writer_config_get(
    config: *const streamq_writer_config,
    name: *const c_char,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> streamq_result {
    call("streamq_writer_config_get", || {
        // SAFETY: the module contract.
        let c = unsafe { read_input(config, "config") }?;
        // SAFETY: the module contract.
        let n = unsafe { string(name, "name") }?;
        // SAFETY: the module contract (the config's pointers).
        let described = unsafe { writer_config(&c, Purpose::Describe) }?.describe();
        // SAFETY: the module contract on `buf` and `len_out`.
        unsafe { text::get("writer", &described, n, buf, len, len_out) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C defaults are the engine's defaults, option for option.
    #[test]
    fn c_defaults_describe_as_the_engines() {
        let mut c = streamq_writer_config::defaults();
        c.path = c"x.sqcap".as_ptr();
        // SAFETY: `path` is a static C string, no metadata.
        let ours = unsafe { writer_config(&c, Purpose::Describe) }
            .unwrap()
            .describe();
        assert_eq!(ours, WriterConfig::capture_file("x.sqcap").describe());
    }
}
