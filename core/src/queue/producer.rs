//! The producer side: copying `push`, zero-copy `reserve` → fill → `commit`.

use std::cell::Cell;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use crate::clock::{HostClock, monotonic_ns};
use crate::queue::config::{DropReason, OverflowPolicy};
use crate::queue::error::{CommitError, PushError, ReserveError, WaitError};
use crate::wait::{Interrupt, PushOptions, Wait};

use crate::barrier;
use crate::queue::shared::Shared;
use crate::queue::slot::{SlotHeader, payload_mut, read_header, slot_size, write_header};
use crate::queue::stats::{LatencySampler, QueueStats, bump, bump_shared};
use crate::sync::{Arc, Mutex, Ordering, lock};

/// What happened to a pushed frame. Must be looked at: under a drop policy the frame may
/// have been dropped.
#[must_use = "a frame may have been dropped by the overflow policy"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// The frame is queued with this sequence number.
    Queued {
        /// Sequence number given to the frame.
        seq: u64,
    },
    /// The queue was full and the policy dropped this frame (counted as
    /// [`DropReason::Newest`]).
    Dropped {
        /// Sequence number given to the dropped frame (a gap in the sequence).
        seq: u64,
    },
}

impl Pushed {
    /// The sequence number the frame received, queued or dropped.
    pub fn seq(&self) -> u64 {
        match *self {
            Pushed::Queued { seq } | Pushed::Dropped { seq } => seq,
        }
    }

    /// Whether the frame was queued.
    pub fn is_queued(&self) -> bool {
        matches!(self, Pushed::Queued { .. })
    }
}

/// How long an operation may wait for room, resolved against the queue's configuration.
#[derive(Clone, Copy)]
pub(crate) enum RoomWait {
    /// Never wait (`WouldBlock` at once).
    No,
    /// Until this instant (`Timeout` after).
    Until(Instant),
    /// Until room appears or the queue closes.
    Forever,
    /// Do not wait here and do not count a refusal: the caller (a shared handle) waits
    /// for room outside its lock and retries.
    Outside,
}

impl RoomWait {
    fn deadline(self) -> Option<Instant> {
        match self {
            RoomWait::Until(d) => Some(d),
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn resolve(wait: Wait, configured: Option<Duration>) -> RoomWait {
        match wait.deadline(configured) {
            None => RoomWait::No,
            Some(None) => RoomWait::Forever,
            Some(Some(d)) => RoomWait::Until(d),
        }
    }
}

/// The producer's private state. Only one thread touches it at a time: the owner of a
/// [`Producer`], or whoever holds a [`SharedProducer`]'s lock.
pub(crate) struct ProducerCore {
    pub(crate) shared: Arc<Shared>,
    tail: u64,
    free_cache: u64,
    next_seq: u64,
    closed: bool,
    clock: HostClock,
    lat: LatencySampler,
    /// Start time of the push or reservation in progress if it is timed, else 0.
    op_start: u64,
    /// Whether the push or reservation in progress left the fast path (waited, evicted,
    /// dropped): such pushes are always timed.
    op_slow: bool,
    /// The stream this producer feeds, for a writer stream.
    pub(crate) stream_id: Option<u16>,
}

/// Under DropOldest, the longest a producer waits for the consumer to finish reading
/// the oldest frame in place before it drops the new frame instead.
const DROP_OLDEST_MAX_WAIT: Duration = Duration::from_millis(2);

/// The producer merges its private latency histogram into the shared one this often
/// (and whenever stats are read or the producer closes).
const HIST_FLUSH_SAMPLES: u64 = 1 << 16;
const HIST_FLUSH_NS: u64 = 100_000_000;

impl ProducerCore {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        ProducerCore {
            shared,
            tail: 0,
            free_cache: 0,
            next_seq: 0,
            closed: false,
            clock: HostClock::new(),
            lat: LatencySampler::new(),
            op_start: 0,
            op_slow: false,
            stream_id: None,
        }
    }

    /// Starts timing a push or reservation of `len` bytes if the sampler wants it;
    /// returns the clock reading taken (0 if none).
    #[inline]
    fn begin_op(&mut self, len: usize, need_clock: bool) -> u64 {
        let timed = self.shared.record_latency && self.lat.wants(len);
        let now = if timed || need_clock { self.clock.now() } else { 0 };
        self.op_start = if timed { now } else { 0 };
        self.op_slow = false;
        now
    }

    /// The operation in progress leaves the fast path: time it from here if it was not
    /// timed from its start.
    #[cold]
    fn enter_slow_path(&mut self) {
        self.op_slow = true;
        if self.shared.record_latency && self.op_start == 0 {
            self.op_start = self.clock.now();
        }
    }

    fn check_open(&self) -> Result<(), ReserveError> {
        // Both flags sit on one read-mostly cache line: two L1 loads on the fast path.
        if self.closed || self.shared.producers_closed.load(Ordering::Relaxed) {
            return Err(ReserveError::Closed);
        }
        if self.shared.is_closed_for_producers() {
            return Err(if self.shared.failed.load(Ordering::Acquire) {
                ReserveError::Failed
            } else {
                ReserveError::Closed
            });
        }
        Ok(())
    }

    /// Whether `need` bytes fit, refreshing the cached consumer position if needed.
    #[inline]
    fn fits(&mut self, need: u64) -> bool {
        let sh = &*self.shared;
        if self.tail + need - self.free_cache > sh.capacity {
            self.free_cache = sh.free.load(Ordering::Acquire);
            if self.tail + need - self.free_cache > sh.capacity {
                return false;
            }
        }
        sh.max_frames == u64::MAX || sh.queued_frames() < sh.max_frames
    }

    /// Finds room for a `len`-byte frame, applying the overflow policy. On success the
    /// slot starts at `self.tail`.
    #[inline]
    pub(crate) fn make_room(
        &mut self,
        len: usize,
        wait: RoomWait,
        interrupt: Option<&Interrupt>,
    ) -> Result<(), ReserveError> {
        self.check_open()?;
        let max = self.shared.max_frame_len;
        if len > max {
            return Err(ReserveError::TooLarge { len, max });
        }
        let need = slot_size(len as u64);
        if self.fits(need) {
            return Ok(());
        }
        self.make_room_when_full(len, need, wait, interrupt)
    }

    /// [`make_room`](Self::make_room) when the frame does not fit: the overflow policy.
    /// Out of line, so the fast path stays small enough to inline into every push.
    #[cold]
    #[inline(never)]
    fn make_room_when_full(
        &mut self,
        len: usize,
        need: u64,
        wait: RoomWait,
        interrupt: Option<&Interrupt>,
    ) -> Result<(), ReserveError> {
        self.enter_slow_path();
        match self.shared.policy {
            OverflowPolicy::FailFast => self.refuse(ReserveError::WouldBlock),
            OverflowPolicy::Block => {
                match wait {
                    RoomWait::No => return self.refuse(ReserveError::WouldBlock),
                    RoomWait::Outside => return Err(ReserveError::WouldBlock),
                    RoomWait::Until(_) | RoomWait::Forever => {}
                }
                let ok = Shared::wait_for_room(&self.shared, need, wait.deadline(), interrupt);
                self.check_open()?;
                if ok && self.fits(need) {
                    Ok(())
                } else if interrupt.is_some_and(Interrupt::is_triggered) {
                    // The caller was asked to stop waiting: not a refusal by the queue.
                    Err(ReserveError::Interrupted)
                } else {
                    self.refuse(ReserveError::Timeout)
                }
            }
            OverflowPolicy::DropNewest => Err(self.drop_newest(len)),
            OverflowPolicy::DropOldest => {
                if self.evict_for(need) {
                    return Ok(());
                }
                // Only a frame the consumer is reading in place stands in the way. Its
                // hold is a copy or a write call; wait for it briefly rather than drop
                // the newest frame — never longer than DROP_OLDEST_MAX_WAIT.
                let deadline = Instant::now() + DROP_OLDEST_MAX_WAIT;
                let shared = Arc::clone(&self.shared);
                shared.space.wait_until(Some(deadline), || {
                    !lock(&shared.evict).held || shared.is_closed_for_producers()
                });
                self.check_open()?;
                if self.evict_for(need) {
                    Ok(())
                } else {
                    Err(self.drop_newest(len))
                }
            }
        }
    }

    fn refuse(&mut self, e: ReserveError) -> Result<(), ReserveError> {
        bump_shared(&self.shared.pc.refused, 1);
        Err(e)
    }

    /// Gives the refused frame a sequence number and counts it as dropped.
    #[cold]
    fn drop_newest(&mut self, len: usize) -> ReserveError {
        let seq = self.next_seq;
        self.next_seq += 1;
        let now = self.clock.now();
        lock(&self.shared.gaps).record(seq, DropReason::Newest, now);
        let pc = &self.shared.pc;
        bump(&pc.dropped_newest, 1);
        bump(&pc.bytes_dropped, len as u64);
        bump(&pc.bytes_pushed, len as u64);
        // `pushed` last: readers that balance the books see the drop counted first.
        pc.pushed
            .store(pc.pushed.load(Ordering::Relaxed) + 1, Ordering::Release);
        ReserveError::Dropped { seq }
    }

    /// DropOldest: evicts unclaimed frames from the head until `need` bytes fit. Returns
    /// false when that is impossible because the consumer holds the space.
    #[cold]
    fn evict_for(&mut self, need: u64) -> bool {
        let shared = Arc::clone(&self.shared);
        let state = lock(&shared.evict);
        if state.held {
            // The space behind the consumer's claimed frames cannot be reused until it
            // releases them; evicting newer frames would lose them and still not help.
            return false;
        }
        let mut head = shared.head.load(Ordering::Acquire);
        // The level is about to fall: note it for the peak (see `peak_level`).
        let level = self.tail.saturating_sub(shared.free.load(Ordering::Acquire));
        if level > shared.pc.peak_level.load(Ordering::Relaxed) {
            shared.pc.peak_level.store(level, Ordering::Relaxed);
        }
        let now = self.clock.now();
        let mut evicted = 0u64;
        let mut evicted_bytes = 0u64;
        {
            let mut gaps = lock(&shared.gaps);
            while self.tail + need - head > shared.capacity
                || (shared.max_frames != u64::MAX && shared.queued_frames() - evicted >= shared.max_frames)
            {
                if head == self.tail {
                    break;
                }
                // SAFETY: [head, tail) are published frames no consumer has claimed, and
                // we hold the evict lock, so no one reads or frees them concurrently.
                let h = unsafe { read_header(&shared.mem, head) };
                gaps.record(h.seq, DropReason::Oldest, now);
                head += slot_size(h.len as u64);
                evicted += 1;
                evicted_bytes += h.len as u64;
            }
        }
        if evicted > 0 {
            let pc = &shared.pc;
            bump(&pc.bytes_dropped, evicted_bytes);
            pc.dropped_oldest.store(
                pc.dropped_oldest.load(Ordering::Relaxed) + evicted,
                Ordering::Release,
            );
            shared.head.store(head, Ordering::Release);
            shared.free.store(head, Ordering::Release);
            self.free_cache = head;
        }
        drop(state);
        self.fits(need)
    }

    /// Publishes the slot at `self.tail` holding `len` payload bytes.
    #[inline]
    pub(crate) fn publish(&mut self, len: usize, device_ts: Option<u64>, host_ts: u64) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let header = SlotHeader {
            len: len as u32,
            flags: 0,
            seq,
            device_ts: device_ts.unwrap_or(host_ts),
            host_ts,
        };
        let shared = &*self.shared;
        // SAFETY: make_room reserved [tail, tail + slot) for us; it is unpublished.
        unsafe { write_header(&shared.mem, self.tail, header) };
        self.tail += slot_size(len as u64);
        shared.tail.store(self.tail, Ordering::Release);
        let pc = &shared.pc;
        bump(&pc.bytes_pushed, len as u64);
        pc.pushed
            .store(pc.pushed.load(Ordering::Relaxed) + 1, Ordering::Release);
        shared.data.notify();

        // `level` is an upper bound (the cached `free` may be old). Look at the consumer's
        // position only when the true level may have reached high water while the queue
        // is not yet "above" (once above, only the consumer's releases can change the
        // state). So a producer that stays ahead of high water reads the consumer's cache
        // line about once per lap of the ring, not per frame. (The peak level is taken
        // where the level falls instead: see `peak_level` in stats.rs.)
        let level = self.tail - self.free_cache;
        if level >= shared.marks.rise_at && !shared.marks.is_above() {
            self.free_cache = shared.free.load(Ordering::Acquire);
            let level = self.tail - self.free_cache;
            if shared.marks.update(level) && shared.marks.is_above() {
                // `level` may be stale: the consumer may have drained the ring since our
                // `free` load and, not yet seeing "above", skipped its update. Re-check
                // (only ever downwards). This heavy barrier (once per transition) pairs
                // with the light one in Consumer::release: store free; light; load above.
                barrier::heavy();
                self.free_cache = shared.free.load(Ordering::Acquire);
                if shared.marks.fall_to(self.tail - self.free_cache) {
                    shared.space.notify();
                }
            }
        }
        if shared.record_latency {
            self.record_latency(len, host_ts);
        }
        seq
    }

    /// Ends the timing of the push or reservation just published (see `LatencySampler`).
    #[inline]
    fn record_latency(&mut self, len: usize, host_ts: u64) {
        let start = self.op_start;
        if start == 0 {
            self.lat.skip();
            return;
        }
        // A reservation's host time is read at commit: it is the end time too.
        let end = if host_ts == start || host_ts == 0 {
            self.clock.now()
        } else {
            host_ts
        };
        let ns = end.saturating_sub(start);
        if self.op_slow {
            self.lat.record_slow(ns);
        } else {
            self.lat.record_fast(ns, len);
        }
        if self.lat.pending() >= HIST_FLUSH_SAMPLES
            || end.saturating_sub(self.lat.flushed_at) >= HIST_FLUSH_NS
        {
            self.flush_latency(end);
        }
    }

    #[cold]
    pub(crate) fn flush_latency(&mut self, now: u64) {
        if self.lat.has_pending() {
            let mut shared = lock(&self.shared.latency);
            self.lat.merge_into(&mut shared, now);
        } else {
            self.lat.flushed_at = now;
        }
    }

    pub(crate) fn push(
        &mut self,
        data: &[u8],
        device_ts: Option<u64>,
        wait: RoomWait,
        interrupt: Option<&Interrupt>,
    ) -> Result<Pushed, PushError> {
        let need_host = self.shared.host_timestamps || device_ts.is_none();
        let started = self.begin_op(data.len(), need_host);
        match self.make_room(data.len(), wait, interrupt) {
            Ok(()) => {}
            Err(ReserveError::Dropped { seq }) => return Ok(Pushed::Dropped { seq }),
            Err(e) => return Err(reserve_to_push(e)),
        }
        // SAFETY: make_room reserved the slot at tail for us.
        let dst = unsafe { payload_mut(&self.shared.mem, self.tail, data.len()) };
        crate::queue::frame_copy::copy_frame(dst, data, self.shared.stream_large_frames);
        let host_ts = if need_host { started } else { 0 };
        Ok(Pushed::Queued {
            seq: self.publish(data.len(), device_ts, host_ts),
        })
    }

    /// Publishes the first `len` bytes reserved at `tail` with timestamp `ts` (the host
    /// clock's if none): what both reservation types' commits do.
    fn commit_reserved(&mut self, len: usize, ts: Option<u64>) -> u64 {
        let host = if self.shared.host_timestamps || ts.is_none() {
            self.clock.now()
        } else {
            0
        };
        self.publish(len, ts, host)
    }

    pub(crate) fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.flush_latency(monotonic_ns());
            self.shared.producers_closed.store(true, Ordering::Release);
            self.shared.data.notify();
        }
    }
}

impl Drop for ProducerCore {
    fn drop(&mut self) {
        self.close();
    }
}

fn reserve_to_push(e: ReserveError) -> PushError {
    match e {
        ReserveError::WouldBlock => PushError::WouldBlock,
        ReserveError::Timeout => PushError::Timeout,
        ReserveError::Closed => PushError::Closed,
        ReserveError::Failed => PushError::Failed,
        ReserveError::Interrupted => PushError::Interrupted,
        ReserveError::TooLarge { len, max } => PushError::TooLarge { len, max },
        // Handled by the caller before conversion.
        ReserveError::Dropped { .. } => PushError::WouldBlock,
    }
}

/// The producer handle of a queue, or of one stream of a [`Writer`](crate::Writer) —
/// the same type either way. Lock-free: `push` and `reserve`/`commit` take no lock unless
/// they must wait, drop or evict.
///
/// One entry point pushes: [`push_with`](Self::push_with) takes [`PushOptions`] (device
/// timestamp, how long to wait, an [`Interrupt`]); [`push`](Self::push) and
/// [`try_push`](Self::try_push) are its two common forms.
///
/// A `Producer` may move to another thread (`Send`) but not be shared (`!Sync`). For
/// several producing threads, turn it into a [`SharedProducer`] with
/// [`Producer::into_shared`]. Dropping it (or calling [`close`](Producer::close)) ends
/// the stream: the consumer drains what is queued, then sees end of stream.
pub struct Producer {
    core: ProducerCore,
    _not_sync: PhantomData<Cell<()>>,
}

impl Producer {
    pub(crate) fn new(shared: Arc<Shared>, stream_id: Option<u16>) -> Self {
        let mut core = ProducerCore::new(shared);
        core.stream_id = stream_id;
        Producer {
            core,
            _not_sync: PhantomData,
        }
    }

    /// The stream's id in its capture, for a writer stream; `None` for a bare queue.
    pub fn stream_id(&self) -> Option<u16> {
        self.core.stream_id
    }

    /// Copies `data` into the queue as one frame timestamped with the host clock. Under
    /// `Block` waits for room as the queue is configured; under the drop policies the
    /// result says whether the frame was queued or dropped.
    #[inline]
    pub fn push(&mut self, data: &[u8]) -> Result<Pushed, PushError> {
        self.push_with(data, &PushOptions::new())
    }

    /// As [`push`](Self::push), but never waits: under `Block`, a full queue gives
    /// `WouldBlock`.
    #[inline]
    pub fn try_push(&mut self, data: &[u8]) -> Result<Pushed, PushError> {
        self.push_with(data, &PushOptions::new().wait(Wait::Never))
    }

    /// Copies `data` into the queue as one frame, with a device timestamp, a wait and an
    /// interrupt from `options`.
    #[inline]
    pub fn push_with(&mut self, data: &[u8], options: &PushOptions<'_>) -> Result<Pushed, PushError> {
        let wait = RoomWait::resolve(options.wait, self.core.shared.block_timeout);
        self.core
            .push(data, options.device_ts_ns, wait, options.interrupt)
    }

    /// Reserves room for a frame of `len` bytes, written in place through the returned
    /// [`Reservation`] and published by its `commit`. Waits like [`push`](Self::push).
    pub fn reserve(&mut self, len: usize) -> Result<Reservation<'_>, ReserveError> {
        self.reserve_with(len, &PushOptions::new())
    }

    /// As [`reserve`](Self::reserve), never waiting.
    pub fn try_reserve(&mut self, len: usize) -> Result<Reservation<'_>, ReserveError> {
        self.reserve_with(len, &PushOptions::new().wait(Wait::Never))
    }

    /// As [`reserve`](Self::reserve), waiting and interruptible as `options` say; its
    /// timestamp, if any, is the one [`Reservation::commit`] gives the frame.
    pub fn reserve_with(
        &mut self,
        len: usize,
        options: &PushOptions<'_>,
    ) -> Result<Reservation<'_>, ReserveError> {
        let wait = RoomWait::resolve(options.wait, self.core.shared.block_timeout);
        self.core.begin_op(len, false);
        self.core.make_room(len, wait, options.interrupt)?;
        Ok(Reservation {
            core: &mut self.core,
            len,
            device_ts_ns: options.device_ts_ns,
        })
    }

    /// Largest frame (payload bytes) this queue accepts.
    pub fn max_frame_len(&self) -> usize {
        self.core.shared.max_frame_len
    }

    /// Ends the stream for every producer handle. Later pushes return `Closed`.
    pub fn close(&mut self) {
        self.core.close();
    }

    /// Whether pushes would now return `Closed` or `Failed` (this stream was closed, or
    /// the consumer is gone).
    pub fn is_closed(&self) -> bool {
        self.core.closed || self.core.shared.is_closed_for_producers()
    }

    /// Blocks until the queue is not above high water (returns at once if it is not).
    /// `Wait::Configured` and `Wait::Forever` wait for ever.
    pub fn wait_below_low(&self, wait: Wait, interrupt: Option<&Interrupt>) -> Result<(), WaitError> {
        Shared::wait_below_low(&self.core.shared, wait, interrupt)
    }

    /// Whether the queue is above high water now.
    pub fn is_above_high_water(&self) -> bool {
        self.core.shared.marks.is_above()
    }

    /// A descriptor that polls readable after each water-mark transition (Linux eventfd).
    /// After it polls readable, call [`clear_water_mark_event`](Self::clear_water_mark_event)
    /// then read [`is_above_high_water`](Self::is_above_high_water). Owned by the queue:
    /// do not close it.
    pub fn water_mark_fd(&self) -> Option<std::os::fd::RawFd> {
        self.core.shared.marks.fd()
    }

    /// Resets the water-mark descriptor's readiness.
    pub fn clear_water_mark_event(&self) {
        self.core.shared.marks.clear_event();
    }

    /// A snapshot of the queue's counters (this producer's latency samples included).
    pub fn stats(&mut self) -> QueueStats {
        self.core.flush_latency(monotonic_ns());
        self.core.shared.stats()
    }

    /// Makes this producer shareable between threads (each push then takes a short lock).
    pub fn into_shared(self) -> SharedProducer {
        SharedProducer {
            inner: Arc::new(Mutex::new(self.core)),
        }
    }
}

/// A space reserved in the ring for one frame, written in place. Publish it with
/// [`commit`](Self::commit); dropping it (or [`abort`](Self::abort)) discards it and
/// gives the space back without using a sequence number.
pub struct Reservation<'a> {
    core: &'a mut ProducerCore,
    len: usize,
    device_ts_ns: Option<u64>,
}

impl Reservation<'_> {
    /// Publishes the frame with the timestamp given at reservation (the host clock's if
    /// none); returns its sequence number.
    pub fn commit(self) -> u64 {
        self.core.commit_reserved(self.len, self.device_ts_ns)
    }

    /// Publishes the frame with a caller-supplied device timestamp (ns).
    pub fn commit_at(self, device_ts_ns: u64) -> u64 {
        self.core.commit_reserved(self.len, Some(device_ts_ns))
    }

    /// Publishes only the first `len` bytes (for producers that learn the size while
    /// writing); the rest of the reservation is given back.
    pub fn commit_len(self, len: usize, device_ts_ns: Option<u64>) -> Result<u64, CommitError> {
        let reserved = self.len;
        if len > reserved {
            return Err(CommitError::TooLong { len, reserved });
        }
        Ok(self.core.commit_reserved(len, device_ts_ns.or(self.device_ts_ns)))
    }

    /// Discards the reservation.
    pub fn abort(self) {}

    /// Reserved length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the reservation is for an empty frame.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl std::ops::Deref for Reservation<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the slot at tail is reserved for this reservation, which borrows the
        // producer mutably, so no other reference to these bytes exists.
        unsafe { payload_mut(&self.core.shared.mem, self.core.tail, self.len) }
    }
}

impl std::ops::DerefMut for Reservation<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in deref; `&mut self` makes this the only live view.
        unsafe { payload_mut(&self.core.shared.mem, self.core.tail, self.len) }
    }
}

/// A [`Producer`] that many threads may use at once (`Send + Sync + Clone`), made with
/// [`Producer::into_shared`]; the same calls with `&self`. Each push takes a short lock
/// around the copy; a `Block` wait happens outside the lock, so a waiting thread never
/// holds up another's timeout. A reservation holds the lock until it is committed or
/// dropped. Frames from one handle stay in order; sequence numbers are shared by all.
/// The stream ends when the last clone is dropped or any clone closes.
#[derive(Clone)]
pub struct SharedProducer {
    inner: Arc<Mutex<ProducerCore>>,
}

impl SharedProducer {
    /// As [`Producer::stream_id`].
    pub fn stream_id(&self) -> Option<u16> {
        lock(&self.inner).stream_id
    }

    /// As [`Producer::push`].
    pub fn push(&self, data: &[u8]) -> Result<Pushed, PushError> {
        self.push_with(data, &PushOptions::new())
    }

    /// As [`Producer::try_push`].
    pub fn try_push(&self, data: &[u8]) -> Result<Pushed, PushError> {
        self.push_with(data, &PushOptions::new().wait(Wait::Never))
    }

    /// As [`Producer::push_with`].
    pub fn push_with(&self, data: &[u8], options: &PushOptions<'_>) -> Result<Pushed, PushError> {
        let mut wait = None;
        loop {
            let mut core = lock(&self.inner);
            let w = *wait.get_or_insert_with(|| RoomWait::resolve(options.wait, core.shared.block_timeout));
            // Only Block waits, and it waits outside the lock; other policies answer now.
            let blocking = core.shared.policy == OverflowPolicy::Block && !matches!(w, RoomWait::No);
            let here = if blocking { RoomWait::Outside } else { RoomWait::No };
            match core.push(data, options.device_ts_ns, here, None) {
                Err(PushError::WouldBlock) if blocking => {
                    let shared = Arc::clone(&core.shared);
                    drop(core);
                    wait_outside(&shared, data.len(), w, options.interrupt).map_err(reserve_to_push)?;
                }
                other => return other,
            }
        }
    }

    /// As [`Producer::reserve`]; the returned guard holds this handle's lock until it is
    /// committed or dropped. Never waits with the lock held: under `Block` it waits for
    /// room first.
    pub fn reserve(&self, len: usize) -> Result<SharedReservation<'_>, ReserveError> {
        self.reserve_with(len, &PushOptions::new())
    }

    /// As [`Producer::try_reserve`].
    pub fn try_reserve(&self, len: usize) -> Result<SharedReservation<'_>, ReserveError> {
        self.reserve_with(len, &PushOptions::new().wait(Wait::Never))
    }

    /// As [`Producer::reserve_with`].
    pub fn reserve_with(
        &self,
        len: usize,
        options: &PushOptions<'_>,
    ) -> Result<SharedReservation<'_>, ReserveError> {
        let mut wait = None;
        loop {
            let mut core = lock(&self.inner);
            let w = *wait.get_or_insert_with(|| RoomWait::resolve(options.wait, core.shared.block_timeout));
            core.begin_op(len, false);
            let blocking = core.shared.policy == OverflowPolicy::Block && !matches!(w, RoomWait::No);
            match core.make_room(len, if blocking { RoomWait::Outside } else { RoomWait::No }, None) {
                Ok(()) => {
                    return Ok(SharedReservation {
                        core,
                        len,
                        device_ts_ns: options.device_ts_ns,
                    });
                }
                Err(ReserveError::WouldBlock) if blocking => {
                    let shared = Arc::clone(&core.shared);
                    drop(core);
                    wait_outside(&shared, len, w, options.interrupt)?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// As [`Producer::close`].
    pub fn close(&self) {
        lock(&self.inner).close();
    }

    /// As [`Producer::is_closed`].
    pub fn is_closed(&self) -> bool {
        let c = lock(&self.inner);
        c.closed || c.shared.is_closed_for_producers()
    }

    /// As [`Producer::max_frame_len`].
    pub fn max_frame_len(&self) -> usize {
        lock(&self.inner).shared.max_frame_len
    }

    /// As [`Producer::wait_below_low`] (waits without holding the handle's lock).
    pub fn wait_below_low(&self, wait: Wait, interrupt: Option<&Interrupt>) -> Result<(), WaitError> {
        let shared = Arc::clone(&lock(&self.inner).shared);
        Shared::wait_below_low(&shared, wait, interrupt)
    }

    /// As [`Producer::is_above_high_water`].
    pub fn is_above_high_water(&self) -> bool {
        lock(&self.inner).shared.marks.is_above()
    }

    /// As [`Producer::water_mark_fd`].
    pub fn water_mark_fd(&self) -> Option<std::os::fd::RawFd> {
        lock(&self.inner).shared.marks.fd()
    }

    /// As [`Producer::clear_water_mark_event`].
    pub fn clear_water_mark_event(&self) {
        lock(&self.inner).shared.marks.clear_event();
    }

    /// As [`Producer::stats`].
    pub fn stats(&self) -> QueueStats {
        let mut c = lock(&self.inner);
        c.flush_latency(monotonic_ns());
        c.shared.stats()
    }
}

/// Waits for room without holding a shared handle's lock (`Block` policy). A timeout
/// counts as a refusal; an interrupt does not (the queue refused nothing).
fn wait_outside(
    shared: &Arc<Shared>,
    len: usize,
    wait: RoomWait,
    interrupt: Option<&Interrupt>,
) -> Result<(), ReserveError> {
    if Shared::wait_for_room(shared, slot_size(len as u64), wait.deadline(), interrupt) {
        Ok(())
    } else if interrupt.is_some_and(Interrupt::is_triggered) {
        Err(ReserveError::Interrupted)
    } else {
        bump_shared(&shared.pc.refused, 1);
        Err(ReserveError::Timeout)
    }
}

/// A reservation made through a [`SharedProducer`]; holds the handle's lock.
pub struct SharedReservation<'a> {
    core: crate::sync::MutexGuard<'a, ProducerCore>,
    len: usize,
    device_ts_ns: Option<u64>,
}

impl SharedReservation<'_> {
    /// Publishes the frame with the timestamp given at reservation (the host clock's if
    /// none); returns its sequence number.
    pub fn commit(mut self) -> u64 {
        self.core.commit_reserved(self.len, self.device_ts_ns)
    }

    /// Publishes the frame with a caller-supplied device timestamp (ns).
    pub fn commit_at(mut self, device_ts_ns: u64) -> u64 {
        self.core.commit_reserved(self.len, Some(device_ts_ns))
    }

    /// Publishes only the first `len` bytes (for producers that learn the size while
    /// writing); the rest of the reservation is given back.
    pub fn commit_len(mut self, len: usize, device_ts_ns: Option<u64>) -> Result<u64, CommitError> {
        let reserved = self.len;
        if len > reserved {
            return Err(CommitError::TooLong { len, reserved });
        }
        Ok(self.core.commit_reserved(len, device_ts_ns.or(self.device_ts_ns)))
    }

    /// Discards the reservation.
    pub fn abort(self) {}

    /// Reserved length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the reservation is for an empty frame.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl std::ops::Deref for SharedReservation<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the reserved slot at tail belongs to the lock holder, which we are.
        unsafe { payload_mut(&self.core.shared.mem, self.core.tail, self.len) }
    }
}

impl std::ops::DerefMut for SharedReservation<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in deref, and `&mut self` makes this view unique.
        unsafe { payload_mut(&self.core.shared.mem, self.core.tail, self.len) }
    }
}
