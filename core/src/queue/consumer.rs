//! The consumer side: copying `pop`, zero-copy `peek` and batches, end of stream, close.

use std::time::{Duration, Instant};

use crate::barrier;
use crate::queue::config::OverflowPolicy;
use crate::queue::error::{PopError, PopTimeoutError, TryPopError};
use crate::queue::gaps::Gap;
use crate::queue::shared::Shared;
use crate::queue::slot::{SlotHeader, payload, read_header, read_len, slot_size};
use crate::queue::stats::{QueueStats, bump};
use crate::sync::{Arc, Ordering, lock};
use crate::wait::{Interrupt, Wait};

/// Metadata of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Sequence number, given at commit; gaps mean drops (see [`Consumer::take_gaps`]).
    pub seq: u64,
    /// Device timestamp in ns (caller-supplied, or the host time if none was given).
    pub device_ts_ns: u64,
    /// Host CLOCK_MONOTONIC time of the push, in ns.
    pub host_ts_ns: u64,
}

/// A frame copied out of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its metadata.
    pub info: FrameInfo,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// A frame read in place in the ring. Its space is released when the view is dropped.
pub struct FrameRef<'a> {
    consumer: &'a mut Consumer,
    pos: u64,
    // Only the position and length are carried: the metadata stays in the claimed slot
    // header and is read when asked for (moving the whole 32-byte header through the
    // stack cost more than the rest of a small pop).
    len: u32,
}

impl FrameRef<'_> {
    /// The frame's bytes, in the ring.
    pub fn data(&self) -> &[u8] {
        // SAFETY: the slot is claimed by this consumer and released only when self drops.
        unsafe { payload(&self.consumer.shared.mem, self.pos, self.len) }
    }

    /// The frame's metadata.
    pub fn info(&self) -> FrameInfo {
        // SAFETY: as in `data`: nobody writes a claimed slot until it is released.
        info_of(&unsafe { read_header(&self.consumer.shared.mem, self.pos) })
    }
}

impl Drop for FrameRef<'_> {
    fn drop(&mut self) {
        self.consumer.release(1, self.len as u64);
    }
}

/// Several frames read in place, released together when the batch is dropped. This is
/// how the writer hands ring memory straight to `pwritev`.
pub struct Batch<'a> {
    consumer: &'a mut Consumer,
    slots: Vec<(u64, SlotHeader)>,
    bytes: u64,
}

impl<'a> Batch<'a> {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the batch holds no frame.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Payload bytes of all frames.
    pub fn payload_bytes(&self) -> u64 {
        self.bytes
    }

    /// The `i`-th frame's bytes and metadata.
    pub fn get(&self, i: usize) -> Option<(FrameInfo, &[u8])> {
        let (pos, h) = self.slots.get(i)?;
        // SAFETY: claimed by this consumer until the batch drops.
        let data = unsafe { payload(&self.consumer.shared.mem, *pos, h.len) };
        Some((info_of(h), data))
    }

    /// Removes and returns the drop records for sequence numbers below `before_seq`
    /// (see [`Consumer::take_gaps`]).
    pub fn take_gaps(&mut self, before_seq: u64) -> Vec<Gap> {
        self.consumer.take_gaps(before_seq)
    }

    /// Iterates the frames in order.
    pub fn iter(&self) -> impl Iterator<Item = (FrameInfo, &[u8])> + '_ {
        (0..self.slots.len()).filter_map(move |i| self.get(i))
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if !self.slots.is_empty() {
            let n = self.slots.len() as u64;
            let bytes = self.bytes;
            let mut slots = std::mem::take(&mut self.slots);
            slots.clear();
            self.consumer.spare_slots = slots;
            self.consumer.release(n, bytes);
        }
    }
}

/// A frame claimed with [`Consumer::claim_detached`].
#[cfg_attr(loom, allow(dead_code))] // the writer (not built under loom) uses it
pub(crate) struct Claimed {
    pub(crate) info: FrameInfo,
    /// The payload in the ring. It stays valid and unchanged until the frame is released
    /// with [`Consumer::release_claimed`] (or the consumer is dropped).
    pub(crate) data: *const u8,
    pub(crate) len: usize,
    /// The ring position just past the frame's slot: what `release_claimed` takes.
    pub(crate) end: u64,
}

/// Bytes ahead of the head that `claim_one` prefetches (when they are published).
const PREFETCH_AHEAD: u64 = 512;
const CACHE_LINE: u64 = 64;

/// Raises the consumer's peak-level note (one plain store, only when it rises).
#[inline]
fn note_level(peak: &mut u64, shared_peak: &crate::sync::AtomicU64, level: u64) {
    if level > *peak {
        *peak = level;
        shared_peak.store(level, Ordering::Relaxed);
    }
}

fn info_of(h: &SlotHeader) -> FrameInfo {
    FrameInfo {
        seq: h.seq,
        device_ts_ns: h.device_ts,
        host_ts_ns: h.host_ts,
    }
}

/// The consumer handle of a queue (exactly one per queue). `Send`, not `Sync`.
///
/// Frames pushed before anyone pops are kept: a queue starts "paused". Dropping the
/// consumer (or [`close`](Consumer::close)) makes every later push return `Closed` and
/// wakes blocked producers; frames still queued are counted as discarded.
pub struct Consumer {
    shared: Arc<Shared>,
    head: u64,
    tail_cache: u64,
    /// The `free` position this consumer stored last (all modes but DropOldest, where
    /// evictions move `free` too).
    free_pos: u64,
    /// Highest level this consumer saw just before a release (see `peak_level`).
    peak: u64,
    drop_oldest: bool,
    closed: bool,
    spare_slots: Vec<(u64, SlotHeader)>,
    _not_sync: std::marker::PhantomData<std::cell::Cell<()>>,
}

impl Consumer {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let drop_oldest = shared.policy == OverflowPolicy::DropOldest;
        Consumer {
            shared,
            head: 0,
            tail_cache: 0,
            free_pos: 0,
            peak: 0,
            drop_oldest,
            closed: false,
            spare_slots: Vec::new(),
            _not_sync: std::marker::PhantomData,
        }
    }

    /// Claims up to `max_frames` frames / about `max_bytes` payload bytes (the first frame
    /// always, whatever its size). Returns how many were pushed onto `out`.
    fn claim(&mut self, max_frames: usize, max_bytes: u64, out: &mut Vec<(u64, SlotHeader)>) -> u64 {
        if self.closed || max_frames == 0 {
            return 0;
        }
        let shared = &*self.shared;
        let guard = if self.drop_oldest {
            let g = lock(&shared.evict);
            // Evictions may have moved the head past frames we never saw.
            self.head = shared.head.load(Ordering::Acquire);
            Some(g)
        } else {
            None
        };
        let mut bytes = 0u64;
        let mut n = 0usize;
        while n < max_frames {
            // `>=`: under DropOldest an eviction can move the head past a stale cached tail.
            if self.head >= self.tail_cache {
                self.tail_cache = shared.tail.load(Ordering::Acquire);
                if self.head >= self.tail_cache {
                    break;
                }
            }
            // SAFETY: head < tail (acquired), so the slot is published, and it is not
            // yet claimed or freed: only we (or, under the evict lock we hold, the
            // evicting producer) move the head.
            let h = unsafe { read_header(&shared.mem, self.head) };
            if n > 0 && bytes + h.len as u64 > max_bytes {
                break;
            }
            out.push((self.head, h));
            self.head += slot_size(h.len as u64);
            bytes += h.len as u64;
            n += 1;
        }
        if n > 0 {
            // Published in every mode (one plain store) so others can tell "drained".
            shared.head.store(self.head, Ordering::Release);
        }
        if let Some(mut g) = guard
            && n > 0
        {
            g.held = true;
        }
        bytes
    }

    /// Claims the next frame, if one is published: [`claim`](Self::claim) for one frame,
    /// returning it by value (no batch vector; this is every `try_peek` and `pop`).
    #[inline]
    fn claim_one(&mut self) -> Option<(u64, u32)> {
        if self.closed {
            return None;
        }
        if self.drop_oldest {
            return self.claim_one_evictable();
        }
        let shared = &*self.shared;
        if self.head >= self.tail_cache {
            self.tail_cache = shared.tail.load(Ordering::Acquire);
            if self.head >= self.tail_cache {
                return None;
            }
        }
        let pos = self.head;
        // SAFETY: head < tail (acquired), so the slot is published, and it is not yet
        // claimed or freed: only this consumer moves the head outside DropOldest.
        let len = unsafe { read_len(&shared.mem, pos) };
        self.head = pos + slot_size(len as u64);
        shared.head.store(self.head, Ordering::Release);
        // A consumer that is behind walks the ring as a chain: each slot's position
        // comes from the previous slot's length, so every header read waits for the
        // last one. Prefetching two lines a few slots ahead turns that into a stream.
        // Only published bytes are prefetched: touching lines the producer is still
        // writing would take them away from it.
        let ahead = self.head + PREFETCH_AHEAD;
        if ahead + 2 * CACHE_LINE <= self.tail_cache {
            shared.mem.prefetch(ahead);
            shared.mem.prefetch(ahead + CACHE_LINE);
        }
        Some((pos, len))
    }

    /// `claim_one` under DropOldest, where the evict lock is needed.
    #[cold]
    fn claim_one_evictable(&mut self) -> Option<(u64, u32)> {
        let mut slots = std::mem::take(&mut self.spare_slots);
        slots.clear();
        self.claim(1, 0, &mut slots);
        let first = slots.first().map(|(pos, h)| (*pos, h.len));
        self.spare_slots = slots;
        first
    }

    /// Gives the space of every claimed frame back to the producer.
    #[inline]
    fn release(&mut self, frames: u64, bytes: u64) {
        self.release_to(self.head, frames, bytes);
    }

    /// Gives back the space of the claimed frames before ring position `to` (`self.head`
    /// for all of them; under DropOldest always all of them).
    fn release_to(&mut self, to: u64, frames: u64, bytes: u64) {
        let shared = &*self.shared;
        // The level just before this release is a local maximum (it only rose since the
        // last release or eviction): note it for the peak. The tail is loaded before
        // the `free` store, so the figure is a level that really existed.
        let new_free = if self.drop_oldest {
            let mut g = lock(&shared.evict);
            g.held = false;
            let before = shared
                .tail
                .load(Ordering::Relaxed)
                .saturating_sub(shared.free.load(Ordering::Relaxed));
            note_level(&mut self.peak, &shared.cc.peak_level, before);
            // Everything before the head is ours (now released) or evicted.
            let h = shared.head.load(Ordering::Acquire);
            shared.free.store(h, Ordering::Release);
            h
        } else {
            let before = shared.tail.load(Ordering::Relaxed).saturating_sub(self.free_pos);
            note_level(&mut self.peak, &shared.cc.peak_level, before);
            shared.free.store(to, Ordering::Release);
            self.free_pos = to;
            to
        };
        bump(&shared.cc.bytes_popped, bytes);
        let cc = &shared.cc;
        cc.popped
            .store(cc.popped.load(Ordering::Relaxed) + frames, Ordering::Release);
        // One light barrier between the `free` store above and both loads below. It pairs
        // with the heavy barrier of (a) the producer after it sets "above high water"
        // (so one of us sees the other's store and the downward transition is never
        // missed) and (b) a thread registering as a space waiter (no lost wake-up).
        barrier::light();
        let above = shared.marks.is_above();
        if !above && !shared.space.has_waiters_after_barrier() {
            // Nobody can be waiting for this release and no mark can be crossed
            // downwards: no look at the producer's cache line at all.
            return;
        }
        self.release_slow(above, new_free);
    }

    /// The rest of a release when a producer waits for room or the queue is above high
    /// water: re-evaluate the marks and wake the waiters that this release may satisfy.
    #[cold]
    fn release_slow(&mut self, above: bool, new_free: u64) {
        let shared = &*self.shared;
        let level = shared.tail.load(Ordering::Acquire).saturating_sub(new_free);
        let transition = above && shared.marks.update(level);
        // A blocked producer waits for level <= wake_level (and a water-mark waiter for
        // a transition), so other releases cannot satisfy any waiter: skip the wake-up.
        // `level` may be stale-low (older tail), which only errs towards waking.
        // Under DropOldest a producer may wait for this release to evict: always wake.
        if transition {
            // A new store ("above" cleared) since the barrier in `release`: notify with
            // a barrier of its own, for `wait_below_low` waiters.
            shared.space.notify();
        } else if (level <= shared.wake_level || self.drop_oldest) && shared.space.has_waiters_after_barrier()
        {
            // The barrier for this check was issued in `release`, after the `free` store.
            shared.space.wake_all();
        }
    }

    /// Whether the stream has ended: producers closed and nothing left, or we closed.
    fn at_end(&mut self) -> bool {
        if self.closed {
            return true;
        }
        if !self.shared.producers_closed.load(Ordering::Acquire) {
            return false;
        }
        // The producer publishes its last frame before setting the flag (Release), so
        // after seeing the flag, a fresh tail is final.
        self.tail_cache = self.shared.tail.load(Ordering::Acquire);
        let head = if self.drop_oldest {
            self.shared.head.load(Ordering::Acquire)
        } else {
            self.head
        };
        head == self.tail_cache
    }

    fn has_data(&self) -> bool {
        let head = if self.drop_oldest {
            self.shared.head.load(Ordering::Acquire)
        } else {
            self.head
        };
        self.shared.tail.load(Ordering::Acquire) != head
    }

    /// Waits until a frame is available (Ok) or the stream ended / the deadline passed.
    fn wait(
        &mut self,
        deadline: Option<Instant>,
        interrupt: Option<&Interrupt>,
    ) -> Result<(), PopTimeoutError> {
        loop {
            if self.has_data() {
                return Ok(());
            }
            if self.at_end() {
                return Err(PopTimeoutError::Disconnected);
            }
            let shared = Arc::clone(&self.shared);
            let head_is_shared = self.drop_oldest;
            let local_head = self.head;
            let _watching = interrupt.map(|i| i.watch(Shared::waker(&shared)));
            let triggered = || interrupt.is_some_and(Interrupt::is_triggered);
            let ready = shared.data.wait_until(deadline, || {
                let head = if head_is_shared {
                    shared.head.load(Ordering::Acquire)
                } else {
                    local_head
                };
                shared.tail.load(Ordering::Acquire) != head
                    || shared.producers_closed.load(Ordering::Acquire)
                    || shared.consumer_closed.load(Ordering::Acquire)
                    || triggered()
            });
            if self.has_data() {
                return Ok(());
            }
            if self.at_end() {
                return Err(PopTimeoutError::Disconnected);
            }
            if triggered() {
                return Err(PopTimeoutError::Interrupted);
            }
            if !ready {
                return Err(PopTimeoutError::Timeout);
            }
        }
    }

    /// Takes the oldest frame (copied out), if one is queued now.
    pub fn try_pop(&mut self) -> Result<Frame, TryPopError> {
        match self.try_peek() {
            Ok(f) => Ok(Frame {
                info: f.info(),
                data: f.data().to_vec(),
            }),
            Err(e) => Err(e),
        }
    }

    /// Takes the oldest frame, waiting for one until the stream ends.
    pub fn pop(&mut self) -> Result<Frame, PopError> {
        loop {
            self.wait(None, None).map_err(|_| PopError)?;
            match self.try_pop() {
                Ok(f) => return Ok(f),
                Err(TryPopError::Disconnected) => return Err(PopError),
                Err(TryPopError::Empty) => continue,
            }
        }
    }

    /// Takes the oldest frame, waiting at most `timeout`.
    pub fn pop_timeout(&mut self, timeout: Duration) -> Result<Frame, PopTimeoutError> {
        self.pop_with(Wait::Timeout(timeout), None)
    }

    /// Takes the oldest frame, waiting as `wait` says (`Configured` waits for ever,
    /// `Never` gives `Timeout` at once when nothing is queued), cut short by `interrupt`.
    pub fn pop_with(&mut self, wait: Wait, interrupt: Option<&Interrupt>) -> Result<Frame, PopTimeoutError> {
        let deadline = match wait.deadline(None) {
            None => Some(Instant::now()),
            Some(d) => d,
        };
        loop {
            self.wait(deadline, interrupt)?;
            match self.try_pop() {
                Ok(f) => return Ok(f),
                Err(TryPopError::Disconnected) => return Err(PopTimeoutError::Disconnected),
                // Evicted between the wait and the claim (DropOldest): wait again.
                Err(_) => continue,
            }
        }
    }

    /// Takes up to `max_frames` frames totalling at most `max_bytes` payload bytes (the
    /// first frame is taken whatever its size), copied out, without waiting.
    pub fn pop_batch(&mut self, max_frames: usize, max_bytes: usize) -> Result<Vec<Frame>, TryPopError> {
        let batch = self.try_peek_batch(max_frames, max_bytes)?;
        Ok(batch
            .iter()
            .map(|(info, d)| Frame {
                info,
                data: d.to_vec(),
            })
            .collect())
    }

    /// Reads the oldest frame in place, if one is queued now; its space is released when
    /// the returned view is dropped.
    pub fn try_peek(&mut self) -> Result<FrameRef<'_>, TryPopError> {
        match self.claim_one() {
            Some((pos, len)) => Ok(FrameRef {
                consumer: self,
                pos,
                len,
            }),
            None if self.at_end() => Err(TryPopError::Disconnected),
            None => Err(TryPopError::Empty),
        }
    }

    /// Reads up to `max_frames` frames / `max_bytes` payload bytes in place, without
    /// waiting. Released together when the batch is dropped.
    pub fn try_peek_batch(&mut self, max_frames: usize, max_bytes: usize) -> Result<Batch<'_>, TryPopError> {
        let mut slots = std::mem::take(&mut self.spare_slots);
        slots.clear();
        let bytes = self.claim(max_frames, max_bytes as u64, &mut slots);
        if slots.is_empty() {
            self.spare_slots = slots;
            return Err(if self.at_end() {
                TryPopError::Disconnected
            } else {
                TryPopError::Empty
            });
        }
        Ok(Batch {
            consumer: self,
            slots,
            bytes,
        })
    }

    /// Claims up to `max_frames` frames / `max_bytes` payload bytes in place (the first
    /// frame whatever its size) for a caller that releases them itself, in order and
    /// possibly a part at a time, with [`release_claimed`](Self::release_claimed): the
    /// writer's compression pipeline, which keeps frames claimed across rounds. Not for
    /// DropOldest queues (an eviction moves the head under a claim), and not to be mixed
    /// with `try_peek`/`Batch` on the same queue while claims are outstanding (their
    /// release gives back everything claimed).
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn claim_detached(
        &mut self,
        max_frames: usize,
        max_bytes: usize,
        out: &mut Vec<Claimed>,
    ) -> Result<(), TryPopError> {
        debug_assert!(
            !self.drop_oldest,
            "detached claims need a head only the consumer moves"
        );
        let mut slots = std::mem::take(&mut self.spare_slots);
        slots.clear();
        self.claim(max_frames, max_bytes as u64, &mut slots);
        if slots.is_empty() {
            self.spare_slots = slots;
            return Err(if self.at_end() {
                TryPopError::Disconnected
            } else {
                TryPopError::Empty
            });
        }
        for (pos, h) in slots.drain(..) {
            // SAFETY: the slot is claimed (published, not released); `Claimed::data`
            // documents how long the pointer stays valid.
            let data = unsafe { payload(&self.shared.mem, pos, h.len) };
            out.push(Claimed {
                info: info_of(&h),
                data: data.as_ptr(),
                len: h.len as usize,
                end: pos + slot_size(h.len as u64),
            });
        }
        self.spare_slots = slots;
        Ok(())
    }

    /// Releases the frames claimed with [`claim_detached`](Self::claim_detached) up to
    /// ring position `end` (a [`Claimed::end`]; every frame claimed before it is released
    /// too): `frames` and `bytes` count them.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn release_claimed(&mut self, end: u64, frames: u64, bytes: u64) {
        debug_assert!(!self.drop_oldest && end > self.free_pos && end <= self.head);
        self.release_to(end, frames, bytes);
    }

    /// Waits up to `timeout` (for ever if `None`) for at least one frame, then reads a
    /// batch in place as [`try_peek_batch`](Self::try_peek_batch) does.
    pub fn peek_batch_timeout(
        &mut self,
        max_frames: usize,
        max_bytes: usize,
        timeout: Option<Duration>,
    ) -> Result<Batch<'_>, PopTimeoutError> {
        let wait = timeout.map_or(Wait::Forever, Wait::Timeout);
        self.peek_batch_with(max_frames, max_bytes, wait, None)
    }

    /// As [`peek_batch_timeout`](Self::peek_batch_timeout), waiting as `wait` says and
    /// cut short by `interrupt`.
    pub fn peek_batch_with(
        &mut self,
        max_frames: usize,
        max_bytes: usize,
        wait: Wait,
        interrupt: Option<&Interrupt>,
    ) -> Result<Batch<'_>, PopTimeoutError> {
        let deadline = match wait.deadline(None) {
            None => Some(Instant::now()),
            Some(d) => d,
        };
        loop {
            self.wait(deadline, interrupt)?;
            if self.has_data() {
                break;
            }
        }
        self.try_peek_batch(max_frames, max_bytes).map_err(|e| match e {
            TryPopError::Disconnected => PopTimeoutError::Disconnected,
            _ => PopTimeoutError::Timeout,
        })
    }

    /// Removes and returns the drop records (gaps) for sequence numbers below
    /// `before_seq`: call it when a frame's sequence jumps, or with `u64::MAX` at end of
    /// stream, to learn what was dropped and why.
    pub fn take_gaps(&mut self, before_seq: u64) -> Vec<Gap> {
        let mut out = Vec::new();
        lock(&self.shared.gaps).take_before(before_seq, &mut out);
        out
    }

    /// Whether the producer side has closed and every frame has been taken.
    pub fn is_finished(&mut self) -> bool {
        self.at_end()
    }

    /// Closes the consumer side: later pushes return `Closed`, blocked producers wake,
    /// and frames still queued are counted as discarded. Idempotent.
    pub fn close(&mut self) {
        self.close_with(false);
    }

    /// Closes because the stage behind the queue failed: producers see `Failed`.
    #[allow(dead_code)] // used by the writer engine
    pub(crate) fn close_failed(&mut self) {
        self.close_with(true);
    }

    fn close_with(&mut self, failed: bool) {
        if self.closed {
            return;
        }
        let shared = &*self.shared;
        if failed {
            shared.failed.store(true, Ordering::Release);
        }
        shared.consumer_closed.store(true, Ordering::Release);
        self.closed = true;
        // Wake producers first, then count what they can no longer add to.
        shared.space.notify();
        shared.data.notify();
        let queued = shared.queued_frames();
        shared.cc.discarded.store(
            shared.cc.discarded.load(Ordering::Relaxed) + queued,
            Ordering::Release,
        );
    }

    /// Whether the queue is above high water now.
    pub fn is_above_high_water(&self) -> bool {
        self.shared.marks.is_above()
    }

    #[cfg_attr(loom, allow(dead_code))] // used by the writer, which loom builds leave out
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The water-mark eventfd (see [`Producer::water_mark_fd`](crate::Producer::water_mark_fd)).
    pub fn water_mark_fd(&self) -> Option<std::os::fd::RawFd> {
        self.shared.marks.fd()
    }

    /// A snapshot of the queue's counters.
    pub fn stats(&self) -> QueueStats {
        self.shared.stats()
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.close();
    }
}

impl Iterator for Consumer {
    type Item = Frame;

    /// Blocks for the next frame; `None` at end of stream.
    fn next(&mut self) -> Option<Frame> {
        self.pop().ok()
    }
}
