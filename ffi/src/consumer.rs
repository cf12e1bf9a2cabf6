//! `streamq_consumer`, the consumer end of a queue: pop into a caller's buffer, peek in
//! place, batches.
//!
//! Frames peeked in place borrow the engine's `Consumer` (a `Batch<'_>`) across C calls;
//! the consumer is therefore kept behind a raw pointer owned by the handle, and the
//! batch is given a `'static` lifetime that `Drop for State` makes true (the batch is
//! dropped first). The engine offers an owning reader cursor but no owning batch; one
//! would remove this.
//!
//! Contract of the exports here (the `SAFETY` comments refer to it): a consumer argument
//! is NULL or a live `streamq_consumer*` from `streamq_queue_create`, not freed; `buf` is
//! NULL or `len` writable bytes nobody else accesses during the call; output structs are
//! NULL or as `sized.rs` describes outputs (`struct_size` set by the caller; an array's
//! element size is its first element's `struct_size`); other outputs NULL or valid for a
//! write of their type.

use std::ptr::NonNull;
use std::sync::{Mutex, MutexGuard};

use streamq_core::{Batch, Consumer, FrameInfo};

use crate::args::{Timeout, bytes_mut, handle, out, write};
use crate::panic::{call, call_or};
use crate::result::{Res, err, streamq_result};
use crate::sized::{Output, OutputArray, versioned};
use crate::stats::streamq_queue_stats;

/// A frame handed out by the consumer: where its bytes are and its metadata. An output:
/// set `struct_size` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_frame {
    /// `sizeof(streamq_frame)` as the caller's header declares it, set by the caller
    /// (`STREAMQ_OUTPUT_INIT`); in `streamq_consumer_pop_batch`'s array, element 0's is
    /// the element size.
    pub struct_size: usize,
    /// The bytes: in the caller's buffer (pop) or in the ring (peek). NULL when the call
    /// returned `STREAMQ_RESULT_BUFFER_TOO_SMALL`.
    pub data: *const u8,
    /// Frame length in bytes (with `STREAMQ_RESULT_BUFFER_TOO_SMALL`: the size needed).
    pub len: usize,
    /// Sequence number; a jump means frames were dropped (see the stats).
    pub seq: u64,
    /// Device timestamp in ns (given in the push options, else the host time of the
    /// push).
    pub device_ts_ns: u64,
    /// Host CLOCK_MONOTONIC time of the push, in ns.
    pub host_ts_ns: u64,
}

versioned!(streamq_frame);

fn frame(info: FrameInfo, data: *const u8, len: usize) -> streamq_frame {
    streamq_frame {
        struct_size: size_of::<streamq_frame>(),
        data,
        len,
        seq: info.seq,
        device_ts_ns: info.device_ts_ns,
        host_ts_ns: info.host_ts_ns,
    }
}

/// The consumer end of a queue.
///
/// Thread safety: may move between threads; calls from several threads are serialised by
/// an internal lock (a blocking pop holds it while it waits, so use one consuming thread,
/// or timeouts). Underneath: a `Box` holding the engine's consumer (which shares an `Arc`
/// with the producer). Frames obtained by peek stay claimed — their ring space is not
/// reused — until `streamq_consumer_release`.
///
/// Lifetime: `streamq_consumer_close` (or freeing the handle) makes every later push
/// return `STREAMQ_RESULT_CLOSED` and wakes blocked producers; frames still queued are
/// counted as discarded. A closed handle stays valid until `streamq_consumer_free`: pop,
/// pop_batch, peek, peek_batch, batch_frame, release and close return
/// `STREAMQ_RESULT_CLOSED`, stats keep working. Once the producer is closed or freed the
/// consumer drains what is queued, then its pops return `STREAMQ_RESULT_END_OF_STREAM`.
pub struct streamq_consumer {
    state: Mutex<State>,
}

struct State {
    /// From `Box::into_raw`; freed in `Drop`, after `held`.
    consumer: NonNull<Consumer>,
    /// Frames claimed from the ring (borrowing `*consumer`) and how many of them were
    /// popped already.
    held: Option<Held>,
    closed: bool,
}

struct Held {
    batch: Batch<'static>,
    next: usize,
}

// SAFETY: `Consumer` is `Send`, and `Batch` (a `&mut Consumer` plus plain data) is `Send`
// too; the raw pointer is only an owning `Box` in disguise.
unsafe impl Send for State {}

impl Drop for State {
    fn drop(&mut self) {
        // Release held frames (they borrow the consumer) before freeing the consumer.
        self.held = None;
        // SAFETY: from `Box::into_raw` in `streamq_consumer::new`; freed once, here; the
        // only borrow of it (`held`) is gone.
        drop(unsafe { Box::from_raw(self.consumer.as_ptr()) });
    }
}

impl streamq_consumer {
    pub(crate) fn new(c: Consumer) -> Self {
        let consumer = NonNull::from(Box::leak(Box::new(c)));
        streamq_consumer {
            state: Mutex::new(State {
                consumer,
                held: None,
                closed: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    fn open(&self) -> Res {
        if self.closed {
            err(streamq_result::Closed, "consumer is closed")
        } else {
            Ok(())
        }
    }

    /// The consumer, for calls that are not allowed while frames are held.
    fn consumer(&mut self) -> Res<&mut Consumer> {
        if self.held.is_some() {
            return err(
                streamq_result::Busy,
                "peeked frames are held: release them (or pop them) first",
            );
        }
        // SAFETY: nothing is held, so no `Batch` borrows the consumer; `&mut self`
        // makes this the only access.
        Ok(unsafe { &mut *self.consumer.as_ptr() })
    }

    /// Makes sure frames are held, claiming up to `max_frames` / `max_bytes` if none are.
    fn claim(&mut self, max_frames: usize, max_bytes: usize, t: Timeout) -> Res {
        self.open()?;
        if self.held.is_some() {
            return Ok(());
        }
        // SAFETY: nothing is held, so no other borrow of the consumer exists. The batch
        // we create borrows it until it is dropped, which `Drop for State` orders before
        // freeing the consumer; while it lives the consumer is reached only through it.
        let c: &'static mut Consumer = unsafe { &mut *self.consumer.as_ptr() };
        let batch = match t {
            Timeout::NoWait => c.try_peek_batch(max_frames, max_bytes)?,
            Timeout::For(d) => c.peek_batch_timeout(max_frames, max_bytes, Some(d))?,
            Timeout::Forever => c.peek_batch_timeout(max_frames, max_bytes, None)?,
        };
        self.held = Some(Held { batch, next: 0 });
        Ok(())
    }

    /// Marks `n` more held frames as taken; releases the batch once all are.
    fn advance(&mut self, n: usize) {
        if let Some(h) = self.held.as_mut() {
            h.next += n;
            if h.next >= h.batch.len() {
                self.held = None;
            }
        }
    }
}

/// Frees the consumer end (closing it if it is open). NULL is a no-op.
///
/// # Safety
/// The module contract; no other thread may be using the handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_consumer_free(consumer: *mut streamq_consumer) {
    call_or("streamq_consumer_free", (), || {
        if !consumer.is_null() {
            // SAFETY: created by Box::into_raw in streamq_queue_create, freed once
            // (contract).
            drop(unsafe { Box::from_raw(consumer) });
        }
    })
}

/// A consumer timeout: negative waits for ever, 0 does not wait, else at most that long.
fn timeout(ms: i64) -> Timeout {
    crate::args::timeout_ms(ms)
}

/// Takes the oldest frame, copying it into `buf` (`len` bytes). `timeout_ms`: negative
/// waits for ever, 0 does not wait, else at most that long.
///
/// Returns `STREAMQ_RESULT_OK` (`*frame_out` describes the frame, `data` = `buf`),
/// `STREAMQ_RESULT_BUFFER_TOO_SMALL` (nothing consumed; `*frame_out` is written with
/// `data` = NULL and `len` = the size needed; the frame stays next),
/// `STREAMQ_RESULT_EMPTY` (timeout 0), `STREAMQ_RESULT_TIMEOUT`,
/// `STREAMQ_RESULT_END_OF_STREAM`, `STREAMQ_RESULT_CLOSED`. `buf` may be NULL when `len`
/// is 0.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_consumer_pop(
    consumer: *mut streamq_consumer,
    buf: *mut u8,
    len: usize,
    timeout_ms: i64,
    frame_out: *mut streamq_frame,
) -> streamq_result {
    call("streamq_consumer_pop", || {
        // SAFETY: the module contract.
        let c = unsafe { handle(consumer, "consumer") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(frame_out, "frame_out") }?;
        // SAFETY: the module contract.
        let buf = unsafe { bytes_mut(buf, len, "buf") }?;
        let mut s = c.lock();
        s.claim(1, 0, timeout(timeout_ms))?;
        let Some(h) = s.held.as_ref() else {
            return err(streamq_result::Empty, "queue is empty");
        };
        let Some((info, data)) = h.batch.get(h.next) else {
            return err(streamq_result::Empty, "queue is empty");
        };
        let n = data.len();
        if n > buf.len() {
            // Documented: written with STREAMQ_RESULT_BUFFER_TOO_SMALL.
            o.write(frame(info, std::ptr::null(), n));
            return err(
                streamq_result::BufferTooSmall,
                format!("frame {} needs {n} bytes, the buffer has {}", info.seq, buf.len()),
            );
        }
        buf[..n].copy_from_slice(data);
        o.write(frame(info, buf.as_ptr(), n));
        s.advance(1);
        Ok(())
    })
}

/// Takes up to `frames_len` frames (waiting as `streamq_consumer_pop` for the first),
/// copied one after the other into `buf` (`len` bytes); `frames_out[i]` describes frame
/// `i` (its `data` points into `buf`), `*count_out` says how many. Set
/// `frames_out[0].struct_size` to `sizeof frames_out[0]`: it is the array's element size.
/// Stops early at a frame that does not fit; if even the first does not, returns
/// `STREAMQ_RESULT_BUFFER_TOO_SMALL` with `frames_out[0]` = {NULL, size needed, …} and
/// nothing consumed. `frames_len` must be > 0.
///
/// # Safety
/// The module contract (`frames_out`: `frames_len` elements).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_consumer_pop_batch(
    consumer: *mut streamq_consumer,
    buf: *mut u8,
    len: usize,
    frames_out: *mut streamq_frame,
    frames_len: usize,
    timeout_ms: i64,
    count_out: *mut usize,
) -> streamq_result {
    call("streamq_consumer_pop_batch", || {
        // SAFETY: the module contract.
        let c = unsafe { handle(consumer, "consumer") }?;
        out(count_out, "count_out")?;
        if frames_len == 0 {
            return err(streamq_result::InvalidArgument, "frames_len must be at least 1");
        }
        // SAFETY: the module contract.
        let frames = unsafe { OutputArray::new(frames_out, frames_len, "frames_out") }?;
        // SAFETY: the module contract.
        let buf = unsafe { bytes_mut(buf, len, "buf") }?;
        let mut s = c.lock();
        let (mut n, mut off) = (0usize, 0usize);
        // Frames already held are served first; once they are all taken, more are
        // claimed without waiting while frame slots and buffer space remain.
        while n < frames.len() {
            let wait = if n == 0 {
                timeout(timeout_ms)
            } else {
                Timeout::NoWait
            };
            match s.claim(frames.len() - n, len - off, wait) {
                Ok(()) => {}
                Err(_) if n > 0 => break,
                Err(e) => return Err(e),
            }
            let Some(h) = s.held.as_ref() else { break };
            let mut taken = 0usize;
            let mut full = false;
            while n < frames.len() {
                let Some((info, data)) = h.batch.get(h.next + taken) else {
                    break;
                };
                if data.len() > buf.len() - off {
                    if n == 0 {
                        // Documented: element 0 written with BUFFER_TOO_SMALL.
                        frames.write(0, frame(info, std::ptr::null(), data.len()));
                        return err(
                            streamq_result::BufferTooSmall,
                            format!(
                                "frame {} needs {} bytes, the buffer has {}",
                                info.seq,
                                data.len(),
                                buf.len()
                            ),
                        );
                    }
                    full = true;
                    break;
                }
                buf[off..off + data.len()].copy_from_slice(data);
                frames.write(n, frame(info, buf[off..].as_ptr(), data.len()));
                off += data.len();
                n += 1;
                taken += 1;
            }
            s.advance(taken);
            if full || s.held.is_some() {
                break;
            }
        }
        // SAFETY: checked non-NULL (contract).
        unsafe { write(count_out, n) };
        Ok(())
    })
}

/// Reads the oldest frame in place (zero copy), waiting as `streamq_consumer_pop`.
/// `frame_out->data` points into the ring and stays valid until
/// `streamq_consumer_release`, a pop, `_close` or `_free`. Peeking again without a
/// release returns the same frame. Returns as `streamq_consumer_pop` (never
/// `STREAMQ_RESULT_BUFFER_TOO_SMALL`).
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_consumer_peek(
    consumer: *mut streamq_consumer,
    timeout_ms: i64,
    frame_out: *mut streamq_frame,
) -> streamq_result {
    call("streamq_consumer_peek", || {
        // SAFETY: the module contract.
        let c = unsafe { handle(consumer, "consumer") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(frame_out, "frame_out") }?;
        let mut s = c.lock();
        s.claim(1, 0, timeout(timeout_ms))?;
        let Some(h) = s.held.as_ref() else {
            return err(streamq_result::Empty, "queue is empty");
        };
        let Some((info, data)) = h.batch.get(h.next) else {
            return err(streamq_result::Empty, "queue is empty");
        };
        o.write(frame(info, data.as_ptr(), data.len()));
        Ok(())
    })
}

/// Claims up to `max_frames` frames / about `max_bytes` payload bytes in place (the
/// first frame whatever its size), waiting as `streamq_consumer_pop` for the first.
/// `*count_out` gets the number; read them with `streamq_consumer_batch_frame`, then
/// `streamq_consumer_release` them together. `STREAMQ_RESULT_BUSY` if frames are still
/// held.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_consumer_peek_batch(
    consumer: *mut streamq_consumer,
    max_frames: usize,
    max_bytes: usize,
    timeout_ms: i64,
    count_out: *mut usize,
) -> streamq_result {
    call("streamq_consumer_peek_batch", || {
        // SAFETY: the module contract.
        let c = unsafe { handle(consumer, "consumer") }?;
        out(count_out, "count_out")?;
        if max_frames == 0 {
            return err(streamq_result::InvalidArgument, "max_frames must be at least 1");
        }
        let mut s = c.lock();
        s.open()?;
        if s.held.is_some() {
            return err(
                streamq_result::Busy,
                "frames are already held: release them first",
            );
        }
        s.claim(max_frames, max_bytes, timeout(timeout_ms))?;
        let n = s.held.as_ref().map_or(0, |h| h.batch.len() - h.next);
        // SAFETY: checked non-NULL (contract).
        unsafe { write(count_out, n) };
        Ok(())
    })
}

/// The `index`-th held frame not yet popped (0 = the next one), in place; valid until
/// `streamq_consumer_release`. `STREAMQ_RESULT_NOT_FOUND` if no frame is held or `index`
/// is past the held ones.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_consumer_batch_frame(
    consumer: *const streamq_consumer,
    index: usize,
    frame_out: *mut streamq_frame,
) -> streamq_result {
    call("streamq_consumer_batch_frame", || {
        // SAFETY: the module contract.
        let c = unsafe { handle(consumer, "consumer") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(frame_out, "frame_out") }?;
        let s = c.lock();
        s.open()?;
        let Some(h) = s.held.as_ref() else {
            return err(streamq_result::NotFound, "no frame is held");
        };
        let Some((info, data)) = h.next.checked_add(index).and_then(|i| h.batch.get(i)) else {
            return err(
                streamq_result::NotFound,
                format!("index {index} is past the held frames"),
            );
        };
        o.write(frame(info, data.as_ptr(), data.len()));
        Ok(())
    })
}

/// Consumes every held frame (from `_peek`, `_peek_batch`, or a pop that returned
/// `STREAMQ_RESULT_BUFFER_TOO_SMALL`) and gives their ring space back. Pointers obtained
/// from them become invalid. `STREAMQ_RESULT_NOT_FOUND` if nothing is held.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_consumer_release(consumer: *mut streamq_consumer) -> streamq_result {
    call("streamq_consumer_release", || {
        // SAFETY: the module contract.
        let c = unsafe { handle(consumer, "consumer") }?;
        let mut s = c.lock();
        s.open()?;
        if s.held.take().is_none() {
            return err(streamq_result::NotFound, "no frame is held");
        }
        Ok(())
    })
}

/// Closes the consumer side: every later push returns `STREAMQ_RESULT_CLOSED`, blocked
/// producers wake, frames still queued are counted as discarded, held frames are
/// released. The handle stays valid (see the type's lifetime rules) until
/// `streamq_consumer_free`; a second close returns `STREAMQ_RESULT_CLOSED`.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_consumer_close(consumer: *mut streamq_consumer) -> streamq_result {
    call("streamq_consumer_close", || {
        // SAFETY: the module contract.
        let c = unsafe { handle(consumer, "consumer") }?;
        let mut s = c.lock();
        s.open()?;
        s.held = None;
        s.consumer()?.close();
        s.closed = true;
        Ok(())
    })
}

/// A snapshot of the queue's counters (`stats_out->struct_size` set by the caller).
/// `STREAMQ_RESULT_BUSY` while frames are held (release them first). Works after close.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_consumer_stats(
    consumer: *const streamq_consumer,
    stats_out: *mut streamq_queue_stats,
) -> streamq_result {
    call("streamq_consumer_stats", || {
        // SAFETY: the module contract.
        let c = unsafe { handle(consumer, "consumer") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(stats_out, "stats_out") }?;
        let mut s = c.lock();
        let st = s.consumer()?.stats();
        o.write(st.into());
        Ok(())
    })
}
