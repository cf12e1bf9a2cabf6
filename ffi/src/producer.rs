//! `streamq_producer`: the one producer handle, for a bare queue (`streamq_queue_create`)
//! and for a writer's stream (`streamq_writer_add_stream`) alike — pushes with options,
//! reservations that live between two C calls, water marks, and the stream's id and
//! durable sequence number.
//!
//! The handle wraps the engine's `SharedProducer` (an `Arc<Mutex<..>>` underneath), so
//! any number of threads may push through one handle at once. A reservation holds the
//! handle's lock from `reserve` to `commit`/`abort`, and the lock must be released by
//! the thread that took it: pending reservations are therefore kept in a thread-local
//! list, keyed by a per-handle id. A commit from another thread finds nothing there and
//! returns `STREAMQ_RESULT_NO_RESERVATION` instead of unlocking someone else's lock. (The
//! engine's `SharedReservation` borrows its producer; an owned reservation in the engine
//! would remove the `'static` borrow below.)
//!
//! Contract of the exports here (the `SAFETY` comments refer to it): a producer argument
//! is NULL or a live `streamq_producer*` (from `streamq_queue_create` or
//! `streamq_writer_add_stream`, not freed); `data` is NULL or `len` readable bytes that
//! nobody modifies during the call; `opts` is NULL or a `streamq_push_options` of at
//! least its `struct_size` bytes (`sized.rs`) whose `interrupt` is NULL or a live
//! `streamq_interrupt*`; every output pointer is NULL or valid for a write of its type.

use std::cell::RefCell;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use streamq_core::{Interrupt, PushOptions, Pushed, QueueStats, SharedProducer, SharedReservation, Wait};

use crate::args::{bytes, check_len, handle, out, write};
use crate::interrupt::streamq_interrupt;
use crate::panic::{call, call_or};
use crate::result::{Error, Res, err, streamq_result};
use crate::sized::{Input, Output, init_input, read_input, versioned};
use crate::stats::streamq_queue_stats;
use crate::writer::WriterShared;

/// How long a push or reservation may wait for room (`streamq_push_options.wait`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum streamq_wait {
    /// As the queue is configured (the default): under `STREAMQ_POLICY_BLOCK`, up to its
    /// `block_timeout_ms` (for ever if negative); the other policies never wait.
    Configured = 0,
    /// Never wait: a full `STREAMQ_POLICY_BLOCK` queue gives `STREAMQ_RESULT_WOULD_BLOCK`.
    Never = 1,
    /// Wait at most `timeout_ms` (then `STREAMQ_RESULT_TIMEOUT`).
    Timeout = 2,
    /// Wait until there is room or the queue closes.
    Forever = 3,
}

/// Options of one push or reservation. NULL options mean the defaults: the host clock's
/// timestamp and `STREAMQ_WAIT_CONFIGURED`. Fill with `streamq_push_options_init` (or
/// `STREAMQ_PUSH_OPTIONS_INIT`); every default is 0, so `= {sizeof opts}`-style zero
/// initialisation with `struct_size` set is equivalent.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_push_options {
    /// `sizeof(streamq_push_options)` as the caller's header declares it.
    pub struct_size: usize,
    /// Whether `device_ts_ns` is the frame's timestamp (else the host clock's reading at
    /// the push, or at the commit of a reservation).
    pub has_device_ts: bool,
    /// One of `streamq_wait` (default `STREAMQ_WAIT_CONFIGURED`).
    pub wait: u32,
    /// The frame's device timestamp in ns, if `has_device_ts` (used to merge streams in
    /// time order when reading).
    pub device_ts_ns: u64,
    /// With `STREAMQ_WAIT_TIMEOUT`: the longest wait, in milliseconds.
    pub timeout_ms: u64,
    /// An interrupt that cuts the wait short (`STREAMQ_RESULT_INTERRUPTED`); NULL: none.
    /// Must stay valid for the call.
    pub interrupt: *const streamq_interrupt,
}

versioned!(streamq_push_options);

impl Input for streamq_push_options {
    fn defaults() -> Self {
        streamq_push_options {
            struct_size: size_of::<Self>(),
            has_device_ts: false,
            wait: streamq_wait::Configured as u32,
            device_ts_ns: 0,
            timeout_ms: 0,
            interrupt: std::ptr::null(),
        }
    }
}

/// Fills `*opts` (`struct_size` bytes: pass `sizeof *opts`, or use
/// `STREAMQ_PUSH_OPTIONS_INIT(opts)`) with the defaults: host timestamp,
/// `STREAMQ_WAIT_CONFIGURED`, no interrupt.
///
/// # Safety
/// `opts` is NULL or points to `struct_size` writable bytes aligned for the struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_push_options_init(
    opts: *mut streamq_push_options,
    struct_size: usize,
) -> streamq_result {
    call("streamq_push_options_init", || {
        // SAFETY: the caller's contract, as `init_input` needs it.
        unsafe { init_input(opts, struct_size, "opts") }
    })
}

/// A push's options, read from C (the interrupt cloned, so the engine's options can
/// borrow it).
struct Opts {
    ts: Option<u64>,
    wait: Wait,
    interrupt: Option<Interrupt>,
}

impl Opts {
    /// # Safety
    /// `p` is NULL or valid options per the module contract.
    unsafe fn read(p: *const streamq_push_options) -> Res<Opts> {
        let o = if p.is_null() {
            streamq_push_options::defaults()
        } else {
            // SAFETY: the module contract.
            unsafe { read_input(p, "opts") }?
        };
        let wait = match o.wait {
            0 => Wait::Configured,
            1 => Wait::Never,
            2 => Wait::Timeout(Duration::from_millis(o.timeout_ms)),
            3 => Wait::Forever,
            v => {
                return err(
                    streamq_result::InvalidArgument,
                    format!("opts->wait {v} is not a streamq_wait"),
                );
            }
        };
        // SAFETY: NULL or a live interrupt per the module contract.
        let interrupt = unsafe { o.interrupt.as_ref() }.map(|i| i.i.clone());
        Ok(Opts {
            ts: o.has_device_ts.then_some(o.device_ts_ns),
            wait,
            interrupt,
        })
    }

    fn engine(&self) -> PushOptions<'_> {
        let mut p = PushOptions::new().wait(self.wait);
        if let Some(ts) = self.ts {
            p = p.device_ts_ns(ts);
        }
        if let Some(i) = &self.interrupt {
            p = p.interrupt(i);
        }
        p
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The producer of a bare queue or of a writer's stream — one type for both.
///
/// Thread safety: may move between threads and may be used by several threads at once
/// (pushes are serialised by a short internal lock; a blocking wait for room happens
/// outside it). Underneath: a `Box` holding the engine's `SharedProducer` (an `Arc`
/// shared with the consumer or the writer) and, for a writer stream, an `Arc` of the
/// writer, so the stream calls keep working after `streamq_writer_free`.
/// A reservation (`streamq_producer_reserve`) holds the lock until `_commit` / `_abort`,
/// which must be called on the same thread; other threads' calls on the handle wait for
/// it, this thread's other calls on it return `STREAMQ_RESULT_BUSY`.
///
/// Lifetime: `streamq_producer_close` (or freeing the handle) ends the stream: the
/// consumer drains what is queued, then sees `STREAMQ_RESULT_END_OF_STREAM`; a writer
/// finishes the stream once drained. A closed handle stays valid until
/// `streamq_producer_free`. After its own close, or once the other side ended the stream
/// (`streamq_consumer_close` / `_free` of the queue's consumer, `streamq_writer_close` /
/// `_free` of the stream's writer): push and reserve return `STREAMQ_RESULT_CLOSED`,
/// close returns `STREAMQ_RESULT_CLOSED`, commit and abort
/// `STREAMQ_RESULT_NO_RESERVATION`; `stats`, `max_frame_len`, `stream_id`,
/// `durable_seq` (the final value), `above_high_water`, `water_mark_fd` and
/// `clear_water_mark_event` keep working; `wait_below_low` returns
/// `STREAMQ_RESULT_CLOSED` once the other side is gone. After a writer failure (not yet
/// closed), push and reserve return `STREAMQ_RESULT_FAILED` and close returns OK.
pub struct streamq_producer {
    id: u64,
    inner: SharedProducer,
    /// The stream's id (writer streams only), read once: it never changes.
    stream_id: Option<u16>,
    closed: AtomicBool,
    /// The writer of a writer stream.
    writer: Option<Arc<WriterShared>>,
}

/// A reservation made on this thread, with the producer clone it borrows.
struct Pending {
    id: u64,
    /// Borrows `*owner`; always dropped (or consumed) before `owner` is freed.
    res: Option<SharedReservation<'static>>,
    /// A clone of the handle's producer, from `Box::into_raw`: keeps the lock the
    /// reservation holds alive even if the handle is freed meanwhile.
    owner: NonNull<SharedProducer>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        // Unlock first (abort the reservation), then free the producer clone it borrows.
        drop(self.res.take());
        // SAFETY: `owner` came from `Box::into_raw` in `streamq_producer::reserve` and is
        // freed only here; the only borrow of it (`res`) was dropped just above.
        drop(unsafe { Box::from_raw(self.owner.as_ptr()) });
    }
}

thread_local! {
    static PENDING: RefCell<Vec<Pending>> = const { RefCell::new(Vec::new()) };
}

fn busy() -> Error {
    Error::new(
        streamq_result::Busy,
        "this thread holds a reservation on the handle: commit or abort it first",
    )
}

fn no_reservation() -> Error {
    Error::new(
        streamq_result::NoReservation,
        "no reservation pending on this handle from this thread",
    )
}

impl streamq_producer {
    pub(crate) fn new(inner: SharedProducer, writer: Option<Arc<WriterShared>>) -> Self {
        streamq_producer {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            stream_id: inner.stream_id(),
            inner,
            closed: AtomicBool::new(false),
            writer,
        }
    }

    fn has_pending(&self) -> bool {
        PENDING.with(|p| p.borrow().iter().any(|x| x.id == self.id))
    }

    fn take_pending(&self) -> Option<Pending> {
        // The borrow ends before the caller commits (which may run a water-mark callback
        // that calls back into this library on this thread).
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            let i = p.iter().position(|x| x.id == self.id)?;
            Some(p.swap_remove(i))
        })
    }

    /// The engine producer, for calls that take its lock (which this thread must not
    /// hold through a reservation: that would deadlock).
    fn inner(&self) -> Res<&SharedProducer> {
        if self.has_pending() {
            Err(busy())
        } else {
            Ok(&self.inner)
        }
    }

    fn push(&self, data: &[u8], opts: &Opts) -> Res<Pushed> {
        Ok(self.inner()?.push_with(data, &opts.engine())?)
    }

    /// Reserves `len` bytes; returns where to write them.
    fn reserve(&self, len: usize, opts: &Opts) -> Res<*mut u8> {
        self.inner()?;
        let owner = NonNull::from(Box::leak(Box::new(self.inner.clone())));
        // SAFETY: `owner` is a live heap allocation freed only by `Pending::drop`, after
        // the reservation borrowing it; it is never moved or mutably borrowed meanwhile.
        let producer: &'static SharedProducer = unsafe { owner.as_ref() };
        match producer.reserve_with(len, &opts.engine()) {
            Ok(mut res) => {
                let ptr = res.as_mut_ptr();
                PENDING.with(|p| {
                    p.borrow_mut().push(Pending {
                        id: self.id,
                        res: Some(res),
                        owner,
                    })
                });
                Ok(ptr)
            }
            Err(e) => {
                // SAFETY: no reservation borrows `owner`; free it.
                drop(unsafe { Box::from_raw(owner.as_ptr()) });
                Err(e.into())
            }
        }
    }

    /// Publishes this thread's reservation; its sequence number.
    fn commit(&self) -> Res<u64> {
        let mut p = self.take_pending().ok_or_else(no_reservation)?;
        let res = p.res.take().ok_or_else(no_reservation)?;
        let seq = res.commit();
        drop(p);
        Ok(seq)
    }

    fn abort(&self) -> Res {
        drop(self.take_pending().ok_or_else(no_reservation)?);
        Ok(())
    }

    /// Whether the other side ended the stream (the consumer closed; the writer closed).
    fn ended_elsewhere(&self) -> bool {
        match &self.writer {
            Some(w) => w.writer.is_closed(),
            None => self.inner.is_closed(),
        }
    }

    /// Ends the stream; aborts this thread's reservation.
    fn close(&self) -> Res {
        drop(self.take_pending());
        if self.closed.swap(true, Ordering::AcqRel) {
            return err(streamq_result::Closed, "the producer is already closed");
        }
        let elsewhere = self.ended_elsewhere();
        self.inner.close();
        if elsewhere {
            return err(
                streamq_result::Closed,
                if self.writer.is_some() {
                    "the stream was already ended by its writer's close"
                } else {
                    "the queue was already closed by its consumer"
                },
            );
        }
        Ok(())
    }

    fn stream_id(&self) -> Res<u16> {
        self.stream_id.ok_or_else(|| {
            Error::new(
                streamq_result::NotAStream,
                "this producer feeds a bare queue, not a writer stream: it has no stream id",
            )
        })
    }

    fn durable_seq(&self) -> Res<u64> {
        let (Some(id), Some(w)) = (self.stream_id, &self.writer) else {
            return err(
                streamq_result::NotAStream,
                "this producer feeds a bare queue, not a writer stream: nothing is made durable",
            );
        };
        w.writer.durable_seq(id).ok_or_else(|| {
            Error::new(
                streamq_result::NotFound,
                format!("nothing of stream {id} is known to be on stable storage yet"),
            )
        })
    }

    fn stats(&self) -> Res<QueueStats> {
        Ok(self.inner()?.stats())
    }
}

impl Drop for streamq_producer {
    fn drop(&mut self) {
        // A reservation this thread still holds is aborted (it holds the lock). One held
        // by another thread keeps its own producer clone; it ends when that thread
        // commits, aborts or exits.
        drop(self.take_pending());
    }
}

/// Frees the producer (ending the stream if it is still open). NULL is a no-op.
///
/// # Safety
/// The module contract; no other thread may be using the handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_free(producer: *mut streamq_producer) {
    call_or("streamq_producer_free", (), || {
        if !producer.is_null() {
            // SAFETY: created by Box::into_raw (queue create / add_stream), freed once
            // (contract).
            drop(unsafe { Box::from_raw(producer) });
        }
    })
}

/// Copies `len` bytes into the queue as one frame; the one push entry point. `opts`
/// (NULL: the defaults) gives the device timestamp, how long to wait for room under
/// `STREAMQ_POLICY_BLOCK`, and an interrupt.
///
/// Returns `STREAMQ_RESULT_OK` (queued; `*seq_out` is its sequence number),
/// `STREAMQ_RESULT_DROPPED` (drop policy; `*seq_out` is the dropped frame's number — a
/// documented exception to "outputs only on success"), `STREAMQ_RESULT_WOULD_BLOCK`,
/// `STREAMQ_RESULT_TIMEOUT`, `STREAMQ_RESULT_INTERRUPTED`, `STREAMQ_RESULT_TOO_LARGE`,
/// `STREAMQ_RESULT_CLOSED`, `STREAMQ_RESULT_FAILED` (the stream's writer failed),
/// `STREAMQ_RESULT_BUSY`. `data` may be NULL when `len` is 0 (an empty frame); `seq_out`
/// may be NULL.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_push(
    producer: *mut streamq_producer,
    data: *const u8,
    len: usize,
    opts: *const streamq_push_options,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_producer_push", || {
        // SAFETY: the module contract.
        let (p, d) = unsafe { (handle(producer, "producer")?, bytes(data, len, "data")?) };
        // SAFETY: the module contract.
        let o = unsafe { Opts::read(opts) }?;
        match p.push(d, &o)? {
            Pushed::Queued { seq } => {
                // SAFETY: NULL or writable (contract).
                unsafe { write(seq_out, seq) };
                Ok(())
            }
            Pushed::Dropped { seq } => {
                // SAFETY: as above (documented: written with STREAMQ_RESULT_DROPPED).
                unsafe { write(seq_out, seq) };
                err(
                    streamq_result::Dropped,
                    format!("queue full: frame {seq} dropped by the overflow policy"),
                )
            }
        }
    })
}

/// Reserves room for a frame of `len` bytes and returns in `*data_out` where to write
/// them (zero copy: a camera SDK fills the ring directly). Publish it with
/// `streamq_producer_commit`, or give the space back with `_abort`, on the same thread.
/// `opts` (NULL: the defaults) is as for `streamq_producer_push`; its device timestamp,
/// if any, is the one the commit gives the frame. Until the commit or abort this
/// handle's lock is held: other threads' calls on the handle wait, and this thread's
/// other calls on it return `STREAMQ_RESULT_BUSY`. Failures: as push, plus
/// `STREAMQ_RESULT_DROPPED` (drop policies: the frame is counted as dropped, nothing to
/// commit). `*data_out` is written only on `STREAMQ_RESULT_OK` and stays valid until the
/// commit or abort.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_reserve(
    producer: *mut streamq_producer,
    len: usize,
    opts: *const streamq_push_options,
    data_out: *mut *mut u8,
) -> streamq_result {
    call("streamq_producer_reserve", || {
        // SAFETY: the module contract.
        let p = unsafe { handle(producer, "producer") }?;
        out(data_out, "data_out")?;
        check_len(len, "len")?;
        // SAFETY: the module contract.
        let o = unsafe { Opts::read(opts) }?;
        let ptr = p.reserve(len, &o)?;
        // SAFETY: checked non-NULL, writable (module contract).
        unsafe { write(data_out, ptr) };
        Ok(())
    })
}

/// Publishes this thread's reservation (timestamp: the reserve options' device
/// timestamp, else the host clock's now); `*seq_out` (may be NULL) gets its sequence
/// number. `STREAMQ_RESULT_NO_RESERVATION` if this thread has none on this handle.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_commit(
    producer: *mut streamq_producer,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_producer_commit", || {
        // SAFETY: the module contract.
        let seq = unsafe { handle(producer, "producer") }?.commit()?;
        // SAFETY: NULL or writable (contract).
        unsafe { write(seq_out, seq) };
        Ok(())
    })
}

/// Discards this thread's reservation (no sequence number is used).
/// `STREAMQ_RESULT_NO_RESERVATION` if there is none.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_abort(producer: *mut streamq_producer) -> streamq_result {
    call("streamq_producer_abort", || {
        // SAFETY: the module contract.
        unsafe { handle(producer, "producer") }?.abort()
    })
}

/// Ends the stream: later pushes return `STREAMQ_RESULT_CLOSED`; a queue's consumer
/// drains what is queued, a writer finishes the stream. Aborts this thread's pending
/// reservation; waits for a reservation another thread holds on the handle. Returns
/// `STREAMQ_RESULT_OK`, or `STREAMQ_RESULT_CLOSED` if the stream had already ended: this
/// handle was closed before, or the other side ended it first (the queue's consumer
/// closed or was freed; the stream's writer closed or was freed). The handle stays valid
/// until `streamq_producer_free`.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_close(producer: *mut streamq_producer) -> streamq_result {
    call("streamq_producer_close", || {
        // SAFETY: the module contract.
        unsafe { handle(producer, "producer") }?.close()
    })
}

/// The stream's id in its capture (0, 1, … in the order the streams were added) into
/// `*id_out`; `STREAMQ_RESULT_NOT_A_STREAM` for a bare queue's producer. Works after
/// close.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_stream_id(
    producer: *const streamq_producer,
    id_out: *mut u16,
) -> streamq_result {
    call("streamq_producer_stream_id", || {
        // SAFETY: the module contract.
        let p = unsafe { handle(producer, "producer") }?;
        out(id_out, "id_out")?;
        let id = p.stream_id()?;
        // SAFETY: checked non-NULL (contract).
        unsafe { write(id_out, id) };
        Ok(())
    })
}

/// Highest sequence number of this stream known to be on stable storage, into
/// `*seq_out`. `STREAMQ_RESULT_NOT_FOUND` while nothing of the stream is durable,
/// `STREAMQ_RESULT_NOT_A_STREAM` for a bare queue's producer. Works after the stream's
/// or the writer's close and after `streamq_writer_free` (the final value).
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_durable_seq(
    producer: *const streamq_producer,
    seq_out: *mut u64,
) -> streamq_result {
    call("streamq_producer_durable_seq", || {
        // SAFETY: the module contract.
        let p = unsafe { handle(producer, "producer") }?;
        out(seq_out, "seq_out")?;
        let seq = p.durable_seq()?;
        // SAFETY: checked non-NULL (contract).
        unsafe { write(seq_out, seq) };
        Ok(())
    })
}

/// Largest frame (payload bytes) the queue accepts, into `*len_out`.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_max_frame_len(
    producer: *const streamq_producer,
    len_out: *mut usize,
) -> streamq_result {
    call("streamq_producer_max_frame_len", || {
        // SAFETY: the module contract.
        let p = unsafe { handle(producer, "producer") }?;
        out(len_out, "len_out")?;
        let n = p.inner()?.max_frame_len();
        // SAFETY: checked non-NULL (contract).
        unsafe { write(len_out, n) };
        Ok(())
    })
}

/// A snapshot of the queue's counters (`stats_out->struct_size` set by the caller).
/// Works after close.
///
/// # Safety
/// The module contract; `stats_out` as `sized.rs` describes outputs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_stats(
    producer: *const streamq_producer,
    stats_out: *mut streamq_queue_stats,
) -> streamq_result {
    call("streamq_producer_stats", || {
        // SAFETY: the module contract.
        let p = unsafe { handle(producer, "producer") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(stats_out, "stats_out") }?;
        o.write(p.stats()?.into());
        Ok(())
    })
}

/// Blocks until the queue is not above high water (at once if it is not). `timeout_ms`:
/// negative for ever, 0 just checks. `interrupt` (may be NULL) cuts the wait short.
/// Returns `STREAMQ_RESULT_TIMEOUT`, `STREAMQ_RESULT_INTERRUPTED`, or
/// `STREAMQ_RESULT_CLOSED` if the other side of the queue is gone (consumer closed,
/// writer closed). Works on every producer, queue or writer stream.
///
/// # Safety
/// The module contract; `interrupt` NULL or a live interrupt.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_wait_below_low(
    producer: *const streamq_producer,
    timeout_ms: i64,
    interrupt: *const streamq_interrupt,
) -> streamq_result {
    call("streamq_producer_wait_below_low", || {
        // SAFETY: the module contract.
        let p = unsafe { handle(producer, "producer") }?;
        // SAFETY: NULL or a live interrupt (contract).
        let i = unsafe { interrupt.as_ref() }.map(|i| i.i.clone());
        let wait = match timeout_ms {
            ..0 => Wait::Forever,
            0 => Wait::Never,
            n => Wait::Timeout(Duration::from_millis(n as u64)),
        };
        Ok(p.inner()?.wait_below_low(wait, i.as_ref())?)
    })
}

/// Whether the queue is above high water now, into `*above_out`.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_above_high_water(
    producer: *const streamq_producer,
    above_out: *mut bool,
) -> streamq_result {
    call("streamq_producer_above_high_water", || {
        // SAFETY: the module contract.
        let p = unsafe { handle(producer, "producer") }?;
        out(above_out, "above_out")?;
        let v = p.inner()?.is_above_high_water();
        // SAFETY: checked non-NULL (contract).
        unsafe { write(above_out, v) };
        Ok(())
    })
}

/// A descriptor (Linux eventfd) that polls readable after each water-mark transition,
/// for `poll`/`epoll` loops. After it polls readable, call
/// `streamq_producer_clear_water_mark_event`, then `streamq_producer_above_high_water`.
/// Owned by the queue (valid while this handle lives): do not close it. Returns -1 if
/// `producer` is NULL, busy, or the platform has no eventfd.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_water_mark_fd(producer: *const streamq_producer) -> i32 {
    call_or("streamq_producer_water_mark_fd", -1, || {
        // SAFETY: the module contract.
        let Ok(p) = (unsafe { handle(producer, "producer") }) else {
            return -1;
        };
        p.inner().ok().and_then(|i| i.water_mark_fd()).unwrap_or(-1)
    })
}

/// Resets the water-mark descriptor's readiness.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_producer_clear_water_mark_event(
    producer: *const streamq_producer,
) -> streamq_result {
    call("streamq_producer_clear_water_mark_event", || {
        // SAFETY: the module contract.
        unsafe { handle(producer, "producer") }?
            .inner()?
            .clear_water_mark_event();
        Ok(())
    })
}
