//! A queue: its configuration, creation, and the producer end (`streamq_producer`).

use std::ffi::c_void;
use std::time::Duration;

use streamq_core::{OverflowPolicy, QueueConfig, WaterMarkEvent};

use crate::args::{bytes, handle, out, write};
use crate::consumer::streamq_consumer;
use crate::panic::{call, call_or};
use crate::producer::Prod;
use crate::result::{Res, err, streamq_result};
use crate::stats::streamq_queue_stats;

/// What a producer does when a frame does not fit in the byte budget.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum streamq_policy {
    /// Wait for room (for ever, or up to `block_timeout_ms`).
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
/// or record the event. `user` is the config's `on_water_mark_user`, passed as is.
pub type streamq_water_mark_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, event: streamq_water_mark, level: usize)>;

/// Settings for a queue (and, inside `streamq_stream_config`, for a writer's stream).
/// Fill it with `streamq_queue_config_default()`, then change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_queue_config {
    /// Ring size in bytes, frame headers included (rounded up to whole pages).
    /// Default 64 MiB. Must be > 0.
    pub capacity: usize,
    /// High water mark in bytes; 0 means the default, 3/4 of the capacity.
    pub high_water: usize,
    /// Low water mark in bytes; 0 means the default, 1/4 of the capacity.
    pub low_water: usize,
    /// Largest number of queued frames; 0 means no cap (bytes only).
    pub max_frames: usize,
    /// One of `streamq_policy` (as an integer, so an out-of-range value is rejected
    /// with `STREAMQ_RESULT_INVALID_ARGUMENT` rather than being undefined behaviour).
    pub policy: u32,
    /// How long a `STREAMQ_POLICY_BLOCK` push or reserve waits for room: negative for
    /// ever (default), else milliseconds (then `STREAMQ_RESULT_TIMEOUT`).
    pub block_timeout_ms: i64,
    /// Touch every page of the ring at creation so pushes never page-fault (default true).
    pub prefault: bool,
    /// Time every push into the latency histogram (default true).
    pub record_latency: bool,
    /// Optional water-mark callback (NULL: none).
    pub on_water_mark: streamq_water_mark_fn,
    /// Passed to `on_water_mark` unchanged. The callback may run on several threads, so
    /// whatever it points to must be safe to use from them.
    pub on_water_mark_user: *mut c_void,
}

/// The defaults: 64 MiB, block for ever, water marks at 3/4 and 1/4, prefault, latency.
#[unsafe(no_mangle)]
pub extern "C" fn streamq_queue_config_default() -> streamq_queue_config {
    streamq_queue_config {
        capacity: 64 << 20,
        high_water: 0,
        low_water: 0,
        max_frames: 0,
        policy: streamq_policy::Block as u32,
        block_timeout_ms: -1,
        prefault: true,
        record_latency: true,
        on_water_mark: None,
        on_water_mark_user: std::ptr::null_mut(),
    }
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

/// Converts the C config into the engine's.
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
            // SAFETY: the caller supplied this function pointer and user pointer for
            // exactly this call (documented on `streamq_water_mark_fn`).
            unsafe { (hook.f)(hook.user, ev, level) };
        });
    }
    Ok(q)
}

/// The producer end of a queue.
///
/// Thread safety: may move between threads and may be used by several threads at once
/// (pushes are serialised by a short internal lock; a blocking wait for room happens
/// outside it). Underneath: a `Box` holding an `Arc` shared with the consumer.
/// A reservation (`streamq_producer_reserve`) holds the lock until `_commit` /
/// `_abort`, which must be called on the same thread; other threads' pushes wait for it.
/// Freeing the handle (or `streamq_producer_close`) ends the stream: the consumer drains
/// what is queued, then sees `STREAMQ_RESULT_END_OF_STREAM`.
pub struct streamq_producer {
    pub(crate) p: Prod,
}

/// Creates a queue and returns its two ends, both to be freed with their `_free`.
///
/// Frames pushed before anyone pops are kept (a queue starts paused).
/// Returns `STREAMQ_RESULT_INVALID_ARGUMENT` for an inconsistent config, `STREAMQ_RESULT_IO` if the
/// ring cannot be allocated. Outputs are written only on `STREAMQ_RESULT_OK`.
///
/// # Safety
/// `config` must point to a valid config; `producer_out` and `consumer_out` to writable
/// pointers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_queue_create(
    config: *const streamq_queue_config,
    producer_out: *mut *mut streamq_producer,
    consumer_out: *mut *mut streamq_consumer,
) -> streamq_result {
    call("streamq_queue_create", || {
        // SAFETY: NULL or a valid config per the contract.
        let c = unsafe { handle(config, "config") }?;
        out(producer_out, "producer_out")?;
        out(consumer_out, "consumer_out")?;
        let policy = policy(c.policy)?;
        let (p, c) = streamq_core::queue(queue_config(c)?)?;
        let p = Box::into_raw(Box::new(streamq_producer {
            p: Prod::new(p.into_shared(), policy),
        }));
        let c = Box::into_raw(Box::new(streamq_consumer::new(c)));
        // SAFETY: both outputs were checked non-NULL and are writable per the contract.
        unsafe {
            write(producer_out, p);
            write(consumer_out, c);
        }
        Ok(())
    })
}

/// Frees the producer end (ending the stream if it is the last one). NULL is a no-op.
///
/// # Safety
/// `producer` must be NULL or a handle from `streamq_queue_create` not freed yet, and no
/// other thread may be using it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_free(producer: *mut streamq_producer) {
    call_or("streamq_producer_free", (), || {
        if !producer.is_null() {
            // SAFETY: created by Box::into_raw in streamq_queue_create, freed once.
            drop(unsafe { Box::from_raw(producer) });
        }
    })
}

/// Copies `len` bytes as one frame, timestamped with the host clock. Under
/// `STREAMQ_POLICY_BLOCK` waits for room up to the configured `block_timeout_ms`.
///
/// Returns `STREAMQ_RESULT_OK` (queued; `*seq_out` is its sequence number), `STREAMQ_RESULT_DROPPED`
/// (drop policy; `*seq_out` is the dropped frame's number — a documented exception to
/// "outputs only on success"), `STREAMQ_RESULT_WOULD_BLOCK`, `STREAMQ_RESULT_TIMEOUT`,
/// `STREAMQ_RESULT_TOO_LARGE`, `STREAMQ_RESULT_CLOSED`, `STREAMQ_RESULT_BUSY`. `data` may be NULL when `len`
/// is 0 (an empty frame); `seq_out` may be NULL.
///
/// # Safety
/// `producer` must be a live handle; `data` must point to `len` readable bytes;
/// `seq_out` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_push(
    producer: *mut streamq_producer,
    data: *const u8,
    len: usize,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_producer_push", || {
        // SAFETY: per the contract.
        let (p, d) = unsafe { (handle(producer, "producer")?, bytes(data, len, "data")?) };
        // SAFETY: seq_out is NULL or writable.
        unsafe { p.p.push(d, None, None, seq_out) }
    })
}

/// As `streamq_producer_push` with a caller-supplied device timestamp in ns.
///
/// # Safety
/// As `streamq_producer_push`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_push_at(
    producer: *mut streamq_producer,
    data: *const u8,
    len: usize,
    timestamp_ns: u64,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_producer_push_at", || {
        // SAFETY: per the contract.
        let (p, d) = unsafe { (handle(producer, "producer")?, bytes(data, len, "data")?) };
        // SAFETY: seq_out is NULL or writable.
        unsafe { p.p.push(d, Some(timestamp_ns), None, seq_out) }
    })
}

/// As `streamq_producer_push`, waiting at most `timeout_ms` for room under
/// `STREAMQ_POLICY_BLOCK` (negative: for ever; 0: not at all).
///
/// # Safety
/// As `streamq_producer_push`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_push_timeout(
    producer: *mut streamq_producer,
    data: *const u8,
    len: usize,
    timeout_ms: i64,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_producer_push_timeout", || {
        // SAFETY: per the contract.
        let (p, d) = unsafe { (handle(producer, "producer")?, bytes(data, len, "data")?) };
        // SAFETY: seq_out is NULL or writable.
        unsafe {
            p.p.push(d, None, Some(crate::args::timeout_ms(timeout_ms)), seq_out)
        }
    })
}

/// As `streamq_producer_push`, never waiting: a full `STREAMQ_POLICY_BLOCK` queue gives
/// `STREAMQ_RESULT_WOULD_BLOCK`.
///
/// # Safety
/// As `streamq_producer_push`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_try_push(
    producer: *mut streamq_producer,
    data: *const u8,
    len: usize,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_producer_try_push", || {
        // SAFETY: per the contract.
        let (p, d) = unsafe { (handle(producer, "producer")?, bytes(data, len, "data")?) };
        // SAFETY: seq_out is NULL or writable.
        unsafe { p.p.push(d, None, Some(crate::args::Timeout::NoWait), seq_out) }
    })
}

/// Reserves room for a frame of `len` bytes and returns in `*data_out` where to write
/// them (zero copy: a camera SDK fills the ring directly). Publish with
/// `streamq_producer_commit` / `_commit_at`, or give the space back with `_abort`, on
/// the same thread. Until then this handle's lock is held: other threads' calls on the
/// handle wait, and this thread's other calls on it return `STREAMQ_RESULT_BUSY`.
/// Waits like `streamq_producer_push`. Failures: as push, plus `STREAMQ_RESULT_DROPPED` (drop
/// policies: the frame is counted as dropped, nothing to commit). `*data_out` is written
/// only on `STREAMQ_RESULT_OK` and stays valid until the commit or abort.
///
/// # Safety
/// `producer` must be a live handle, `data_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_reserve(
    producer: *mut streamq_producer,
    len: usize,
    data_out: *mut *mut u8,
) -> streamq_result {
    call("streamq_producer_reserve", || {
        // SAFETY: per the contract.
        let p = unsafe { handle(producer, "producer") }?;
        out(data_out, "data_out")?;
        crate::args::check_len(len, "len")?;
        let ptr = p.p.reserve(len)?;
        // SAFETY: checked non-NULL, writable per the contract.
        unsafe { write(data_out, ptr) };
        Ok(())
    })
}

/// Publishes this thread's reservation with the host clock as timestamp; `*seq_out`
/// (may be NULL) gets its sequence number. `STREAMQ_RESULT_NO_RESERVATION` if this thread has
/// none on this handle.
///
/// # Safety
/// `producer` must be a live handle, `seq_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_commit(
    producer: *mut streamq_producer,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_producer_commit", || {
        // SAFETY: per the contract.
        let p = unsafe { handle(producer, "producer") }?;
        // SAFETY: seq_out is NULL or writable.
        unsafe { p.p.commit(None, seq_out) }
    })
}

/// As `streamq_producer_commit` with a device timestamp in ns.
///
/// # Safety
/// As `streamq_producer_commit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_commit_at(
    producer: *mut streamq_producer,
    timestamp_ns: u64,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_producer_commit_at", || {
        // SAFETY: per the contract.
        let p = unsafe { handle(producer, "producer") }?;
        // SAFETY: seq_out is NULL or writable.
        unsafe { p.p.commit(Some(timestamp_ns), seq_out) }
    })
}

/// Discards this thread's reservation (no sequence number is used).
/// `STREAMQ_RESULT_NO_RESERVATION` if there is none.
///
/// # Safety
/// `producer` must be a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_abort(producer: *mut streamq_producer) -> streamq_result {
    call("streamq_producer_abort", || {
        // SAFETY: per the contract.
        unsafe { handle(producer, "producer") }?.p.abort()
    })
}

/// Ends the stream for every producer of the queue (later pushes: `STREAMQ_RESULT_CLOSED`); the
/// consumer drains what is queued. Aborts this thread's pending reservation. The handle
/// stays valid until `streamq_producer_free`; a second close returns `STREAMQ_RESULT_CLOSED`.
///
/// # Safety
/// `producer` must be a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_close(producer: *mut streamq_producer) -> streamq_result {
    call("streamq_producer_close", || {
        // SAFETY: per the contract.
        unsafe { handle(producer, "producer") }?.p.close()
    })
}

/// Largest frame (payload bytes) the queue accepts, into `*len_out`.
///
/// # Safety
/// `producer` must be a live handle, `len_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_max_frame_len(
    producer: *const streamq_producer,
    len_out: *mut usize,
) -> streamq_result {
    call("streamq_producer_max_frame_len", || {
        // SAFETY: per the contract.
        let p = unsafe { handle(producer, "producer") }?;
        out(len_out, "len_out")?;
        let n = p.p.max_frame_len()?;
        // SAFETY: checked non-NULL.
        unsafe { write(len_out, n) };
        Ok(())
    })
}

/// A snapshot of the queue's counters.
///
/// # Safety
/// `producer` must be a live handle, `stats_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_stats(
    producer: *const streamq_producer,
    stats_out: *mut streamq_queue_stats,
) -> streamq_result {
    call("streamq_producer_stats", || {
        // SAFETY: per the contract.
        let p = unsafe { handle(producer, "producer") }?;
        out(stats_out, "stats_out")?;
        let s = p.p.stats()?;
        // SAFETY: checked non-NULL.
        unsafe { write(stats_out, s.into()) };
        Ok(())
    })
}

/// Blocks until the queue is not above high water (at once if it is not). `timeout_ms`:
/// negative for ever, 0 just checks. `STREAMQ_RESULT_TIMEOUT`, or `STREAMQ_RESULT_CLOSED` if the
/// consumer closed while waiting.
///
/// # Safety
/// `producer` must be a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_wait_below_low(
    producer: *const streamq_producer,
    timeout_ms: i64,
) -> streamq_result {
    call("streamq_producer_wait_below_low", || {
        // SAFETY: per the contract.
        unsafe { handle(producer, "producer") }?
            .p
            .wait_below_low(crate::args::timeout_ms(timeout_ms))
    })
}

/// Whether the queue is above high water now, into `*above_out`.
///
/// # Safety
/// `producer` must be a live handle, `above_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_above_high_water(
    producer: *const streamq_producer,
    above_out: *mut bool,
) -> streamq_result {
    call("streamq_producer_above_high_water", || {
        // SAFETY: per the contract.
        let p = unsafe { handle(producer, "producer") }?;
        out(above_out, "above_out")?;
        let v = p.p.inner()?.is_above_high_water();
        // SAFETY: checked non-NULL.
        unsafe { write(above_out, v) };
        Ok(())
    })
}

/// A descriptor (Linux eventfd) that polls readable after each water-mark transition,
/// for `poll`/`epoll` loops. After it polls readable, call
/// `streamq_producer_clear_water_mark_event`, then `streamq_producer_above_high_water`.
/// Owned by the queue: do not close it. Returns -1 if `producer` is NULL, busy, or the
/// platform has no eventfd.
///
/// # Safety
/// `producer` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_water_mark_fd(producer: *const streamq_producer) -> i32 {
    call_or("streamq_producer_water_mark_fd", -1, || {
        // SAFETY: per the contract.
        let Ok(p) = (unsafe { handle(producer, "producer") }) else {
            return -1;
        };
        p.p.inner().ok().and_then(|i| i.water_mark_fd()).unwrap_or(-1)
    })
}

/// Resets the water-mark descriptor's readiness.
///
/// # Safety
/// `producer` must be a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_clear_water_mark_event(
    producer: *mut streamq_producer,
) -> streamq_result {
    call("streamq_producer_clear_water_mark_event", || {
        // SAFETY: per the contract.
        unsafe { handle(producer, "producer") }?
            .p
            .inner()?
            .clear_water_mark_event();
        Ok(())
    })
}
