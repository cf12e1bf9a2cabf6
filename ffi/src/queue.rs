//! A queue's configuration (`streamq_queue_config`: init, set/get by option name) and
//! its creation (`streamq_queue_create`). The producer end is in `producer.rs`, the
//! consumer end in `consumer.rs`.
//!
//! Contract of the exports here (the `SAFETY` comments refer to it): a config pointer is
//! NULL or points to a `streamq_queue_config` of at least its `struct_size` bytes
//! (`sized.rs`), filled by `streamq_queue_config_init`; strings are NULL or
//! NUL-terminated; output pointers are NULL or valid for a write of their type; `buf`
//! is NULL or `len` writable bytes.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use streamq_core::{OverflowPolicy, QueueConfig, WaterMarkEvent};

use crate::args::{out, string, write};
use crate::consumer::streamq_consumer;
use crate::option_text as text;
use crate::panic::{call, quiet};
use crate::producer::streamq_producer;
use crate::result::{Res, err, streamq_result};
use crate::sized::{Input, init_input, read_input, set_field, update_input, versioned};

/// What a producer does when a frame does not fit in the byte budget (option `policy`:
/// "block", "fail-fast", "drop-newest", "drop-oldest").
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum streamq_policy {
    /// Wait for room (for ever, or up to `block_timeout_ms`, or as a push's options say).
    Block = 0,
    /// Return `STREAMQ_RESULT_WOULD_BLOCK` at once.
    FailFast = 1,
    /// Refuse the new frame, count it as dropped: `STREAMQ_RESULT_DROPPED`.
    DropNewest = 2,
    /// Evict the oldest unread frames (counted as dropped) and queue the new one.
    DropOldest = 3,
}

/// A water-mark transition.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum streamq_water_mark {
    /// The queued bytes reached the high mark.
    AboveHigh = 1,
    /// The queued bytes fell to the low mark.
    BelowLow = 2,
}

/// Water-mark callback: `event` happened with `level` bytes queued.
///
/// Runs on the thread whose push, commit, pop or release caused the transition (a
/// writer's stream: on the writer thread for `STREAMQ_WATER_MARK_BELOW_LOW`). It must
/// return quickly and must not call any function on a handle of the same queue (the
/// calling handle may hold a lock); it may signal a condition variable, write to a pipe,
/// or record the event. It must not unwind (no C++ exception may leave it). `user` is
/// the config's `on_water_mark_user`, passed as is.
pub type streamq_water_mark_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, event: streamq_water_mark, level: usize)>;

/// Settings for a queue (and, inside `streamq_stream_config`, for a writer's stream).
/// Fill it with `streamq_queue_config_init` (or `STREAMQ_QUEUE_CONFIG_INIT`), then change
/// fields, or set options by name with `streamq_queue_config_set`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_queue_config {
    /// `sizeof(streamq_queue_config)` as the caller's header declares it (set by the
    /// init function; see "Structs that grow" at the top of this header).
    pub struct_size: usize,
    /// Option `capacity`: ring size in bytes, frame headers included (rounded up to whole
    /// pages). Default 64 MiB (256 MiB in a stream config). Must be > 0.
    pub capacity: usize,
    /// Option `high_water`: high water mark in bytes; 0 means the default, 3/4 of the
    /// capacity.
    pub high_water: usize,
    /// Option `low_water`: low water mark in bytes; 0 means the default, 1/4 of the
    /// capacity.
    pub low_water: usize,
    /// Option `max_frames`: largest number of queued frames; 0 means no cap (bytes only).
    pub max_frames: usize,
    /// Option `block_timeout`: how long a `STREAMQ_POLICY_BLOCK` push or reserve with
    /// `STREAMQ_WAIT_CONFIGURED` waits for room: negative for ever (default), else
    /// milliseconds (then `STREAMQ_RESULT_TIMEOUT`).
    pub block_timeout_ms: i64,
    /// Optional water-mark callback (NULL: none).
    pub on_water_mark: streamq_water_mark_fn,
    /// Passed to `on_water_mark` unchanged. The callback may run on several threads, so
    /// whatever it points to must be safe to use from them.
    pub on_water_mark_user: *mut c_void,
    /// Option `policy`: one of `streamq_policy` (an integer, so an out-of-range value is
    /// rejected with `STREAMQ_RESULT_INVALID_ARGUMENT` rather than being undefined
    /// behaviour). Default `STREAMQ_POLICY_BLOCK`.
    pub policy: u32,
    /// Option `prefault`: touch every page of the ring at creation so pushes never
    /// page-fault (default true).
    pub prefault: bool,
    /// Time every push into the latency histogram (default true).
    pub record_latency: bool,
}

versioned!(streamq_queue_config);

impl Input for streamq_queue_config {
    fn defaults() -> Self {
        streamq_queue_config {
            struct_size: size_of::<Self>(),
            capacity: 64 << 20,
            high_water: 0,
            low_water: 0,
            max_frames: 0,
            block_timeout_ms: -1,
            on_water_mark: None,
            on_water_mark_user: std::ptr::null_mut(),
            policy: streamq_policy::Block as u32,
            prefault: true,
            record_latency: true,
        }
    }
}

/// Fills `*config` (`struct_size` bytes: pass `sizeof *config`, or use
/// `STREAMQ_QUEUE_CONFIG_INIT(config)`) with the defaults: 64 MiB, block for ever, water
/// marks at 3/4 and 1/4, prefault, latency recorded, no callback.
///
/// # Safety
/// `config` is NULL or points to `struct_size` writable bytes aligned for the struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_queue_config_init(
    config: *mut streamq_queue_config,
    struct_size: usize,
) -> streamq_result {
    call("streamq_queue_config_init", || {
        // SAFETY: the caller's contract, as `init_input` needs it.
        unsafe { init_input(config, struct_size, "config") }
    })
}

/// The C callback and its user pointer, callable from any thread.
#[derive(Clone, Copy)]
struct WaterMarkHook {
    f: unsafe extern "C" fn(*mut c_void, streamq_water_mark, usize),
    user: *mut c_void,
}

// SAFETY: the header documents that the callback runs on other threads and that `user`
// must be usable from them; we only pass the pointer back, never dereference it.
unsafe impl Send for WaterMarkHook {}
// SAFETY: as above.
unsafe impl Sync for WaterMarkHook {}

pub(crate) fn policy(v: u32) -> Res<OverflowPolicy> {
    Ok(match v {
        0 => OverflowPolicy::Block,
        1 => OverflowPolicy::FailFast,
        2 => OverflowPolicy::DropNewest,
        3 => OverflowPolicy::DropOldest,
        _ => {
            return err(
                streamq_result::InvalidArgument,
                format!("policy {v} is not a streamq_policy"),
            );
        }
    })
}

fn policy_c(p: OverflowPolicy) -> u32 {
    (match p {
        OverflowPolicy::Block => streamq_policy::Block,
        OverflowPolicy::FailFast => streamq_policy::FailFast,
        OverflowPolicy::DropNewest => streamq_policy::DropNewest,
        OverflowPolicy::DropOldest => streamq_policy::DropOldest,
    }) as u32
}

/// The engine's config for the C one (the engine checks the values when the queue is
/// built).
pub(crate) fn queue_config(c: &streamq_queue_config) -> Res<QueueConfig> {
    let mut q = QueueConfig::new(c.capacity)
        .policy(policy(c.policy)?)
        .prefault(c.prefault)
        .record_latency(c.record_latency)
        .block_timeout(if c.block_timeout_ms < 0 {
            None
        } else {
            Some(Duration::from_millis(c.block_timeout_ms as u64))
        });
    if c.high_water != 0 {
        q = q.high_water(c.high_water);
    }
    if c.low_water != 0 {
        q = q.low_water(c.low_water);
    }
    if c.max_frames != 0 {
        q = q.max_frames(c.max_frames);
    }
    if let Some(f) = c.on_water_mark {
        let hook = WaterMarkHook {
            f,
            user: c.on_water_mark_user,
        };
        q = q.on_water_mark(move |e| {
            let hook = hook;
            let (ev, level) = match e {
                WaterMarkEvent::AboveHigh { level } => (streamq_water_mark::AboveHigh, level),
                WaterMarkEvent::BelowLow { level } => (streamq_water_mark::BelowLow, level),
            };
            // A panic here (there is none to expect) must not unwind into the engine.
            let _ = quiet(|| {
                // SAFETY: the caller supplied this function pointer and user pointer for
                // exactly this call (documented on `streamq_water_mark_fn`).
                unsafe { (hook.f)(hook.user, ev, level) }
            });
        });
    }
    Ok(q)
}

/// The queue options by name (`docs/OPTIONS.md`), shared with `streamq_stream_config_set`:
/// `Ok(Some(end))` with the end offset of the field set, `Ok(None)` for a name that is
/// not a queue option.
pub(crate) fn set_queue_option(c: &mut streamq_queue_config, name: &str, value: &str) -> Res<Option<usize>> {
    type Q = streamq_queue_config;
    Ok(Some(match name {
        "capacity" => set_field!(c: Q, capacity = text::size_usize(name, value)?),
        "policy" => set_field!(c: Q, policy = policy_c(text::parsed(name, value)?)),
        "high_water" => set_field!(
            c: Q,
            high_water = text::or_word(value, "default", || text::size_usize(name, value))?.unwrap_or(0)
        ),
        "low_water" => set_field!(
            c: Q,
            low_water = text::or_word(value, "default", || text::size_usize(name, value))?.unwrap_or(0)
        ),
        "max_frames" => set_field!(
            c: Q,
            max_frames = text::or_word(value, "none", || text::number::<usize>(name, value))?.unwrap_or(0)
        ),
        "block_timeout" => {
            let ms = text::or_word(value, "none", || text::millis(name, value))?;
            let ms = match ms {
                None => -1,
                Some(ms) => i64::try_from(ms).map_err(|_| {
                    crate::result::Error::new(streamq_result::InvalidArgument, "block_timeout: too long")
                })?,
            };
            set_field!(c: Q, block_timeout_ms = ms)
        }
        "prefault" => set_field!(c: Q, prefault = text::boolean(name, value)?),
        _ => return Ok(None),
    }))
}

/// Sets queue option `name` from its text, as the command line and Python take it:
/// `capacity` ("256MiB"), `policy` ("drop-oldest"), `high_water` / `low_water` (a size,
/// or "default"), `max_frames` (a number, or "none"), `block_timeout` ("500ms", or
/// "none" for ever; whole milliseconds), `prefault` ("true" / "false"). An unknown name
/// or unreadable value is `STREAMQ_RESULT_INVALID_ARGUMENT` (config unchanged; the
/// message says why). The values are checked together when the queue is created.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_queue_config_set(
    config: *mut streamq_queue_config,
    name: *const c_char,
    value: *const c_char,
) -> streamq_result {
    call("streamq_queue_config_set", || {
        // SAFETY: the module contract.
        let (n, v) = unsafe { (string(name, "name")?, string(value, "value")?) };
        // SAFETY: the module contract.
        unsafe {
            update_input(config, "config", |c| match set_queue_option(c, n, v)? {
                Some(end) => Ok(end),
                None => Err(text::unknown("queue", n, &queue_config(c)?.describe())),
            })
        }
    })
}

/// The canonical text of queue option `name` (the engine's `describe()`, e.g. "256MiB",
/// "drop-oldest", "none") into `buf` (`len` bytes, NUL-terminated), its length into
/// `*len_out` (may be NULL). A buffer too small: `STREAMQ_RESULT_BUFFER_TOO_SMALL` with
/// `*len_out` written and `buf` untouched (`buf` may be NULL with `len` 0 to ask for the
/// length).
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_queue_config_get(
    config: *const streamq_queue_config,
    name: *const c_char,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> streamq_result {
    call("streamq_queue_config_get", || {
        // SAFETY: the module contract.
        let c = unsafe { read_input(config, "config") }?;
        // SAFETY: the module contract.
        let n = unsafe { string(name, "name") }?;
        let described = queue_config(&c)?.describe();
        // SAFETY: the module contract on `buf` and `len_out`.
        unsafe { text::get("queue", &described, n, buf, len, len_out) }
    })
}

/// Creates a queue and returns its two ends, both to be freed with their `_free`.
///
/// Frames pushed before anyone pops are kept (a queue starts paused).
/// Returns `STREAMQ_RESULT_INVALID_ARGUMENT` for an inconsistent config (the message
/// says which setting), `STREAMQ_RESULT_IO` if the ring cannot be allocated. Outputs are
/// written only on `STREAMQ_RESULT_OK`.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_queue_create(
    config: *const streamq_queue_config,
    producer_out: *mut *mut streamq_producer,
    consumer_out: *mut *mut streamq_consumer,
) -> streamq_result {
    call("streamq_queue_create", || {
        // SAFETY: the module contract.
        let c = unsafe { read_input(config, "config") }?;
        out(producer_out, "producer_out")?;
        out(consumer_out, "consumer_out")?;
        let (p, c) = streamq_core::queue(queue_config(&c)?)?;
        let p = Box::into_raw(Box::new(streamq_producer::new(p.into_shared(), None)));
        let c = Box::into_raw(Box::new(streamq_consumer::new(c)));
        // SAFETY: both outputs were checked non-NULL and are writable (module contract).
        unsafe {
            write(producer_out, p);
            write(consumer_out, c);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C defaults are the engine's defaults, option for option.
    #[test]
    fn c_defaults_describe_as_the_engines() {
        let c = streamq_queue_config::defaults();
        assert_eq!(
            queue_config(&c).unwrap().describe(),
            QueueConfig::new(64 << 20).describe()
        );
    }
}
