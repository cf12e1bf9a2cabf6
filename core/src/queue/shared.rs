//! The state a queue's producer and consumer handles share.
//!
//! Ring positions are byte counts since creation (u64, never wrap in practice); the ring
//! memory reduces them modulo the capacity. Three positions divide the ring:
//!
//! ```text
//!   free ≤ head ≤ tail
//!   [free, head)  claimed by the consumer and not yet released (or evicted)
//!   [head, tail)  published frames not yet claimed
//!   [tail, free + capacity)  space the producer may fill
//! ```
//!
//! `tail` is written only by the producer (Release) and `free` only by the consumer
//! (Release), so the single-producer path needs no lock. Under `DropOldest` the producer
//! must also move `head` (eviction); there claims, releases and evictions take the short
//! `evict` lock — never held across I/O.

use std::time::Instant;

use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;

use crate::memory::RingMemory;
use crate::queue::config::OverflowPolicy;
use crate::queue::error::WaitError;
use crate::queue::gaps::GapLog;
use crate::queue::stats::{ConsumerCounters, LatencySummary, ProducerCounters, QueueStats, bump_shared};
use crate::queue::watermark::WaterMarks;
use crate::signal::Signal;
use crate::sync::{Arc, AtomicBool, AtomicU64, Mutex, Ordering, lock};
use crate::wait::{Interrupt, Wait, Wake};

/// Consumer claims as seen by the eviction path (DropOldest only).
#[derive(Default)]
pub(crate) struct EvictState {
    /// Whether the consumer holds claimed, unreleased frames (their space cannot be
    /// reused until it releases them).
    pub(crate) held: bool,
}

pub(crate) struct Shared {
    pub(crate) mem: RingMemory,
    pub(crate) capacity: u64,
    pub(crate) max_frame_len: usize,
    /// Large frames are copied in with streaming stores (`frame_copy`): the ring is too
    /// big to stay in cache.
    pub(crate) stream_large_frames: bool,
    pub(crate) max_frames: u64,
    /// A producer blocked for room is woken only once the level is at or below this
    /// (capacity − capacity/8): it then pushes a run of frames instead of being woken
    /// for every single frame the consumer frees.
    pub(crate) wake_level: u64,
    pub(crate) policy: OverflowPolicy,
    pub(crate) block_timeout: Option<std::time::Duration>,
    pub(crate) record_latency: bool,
    pub(crate) host_timestamps: bool,

    pub(crate) tail: CachePadded<AtomicU64>,
    pub(crate) head: CachePadded<AtomicU64>,
    pub(crate) free: CachePadded<AtomicU64>,
    pub(crate) evict: Mutex<EvictState>,

    pub(crate) producers_closed: AtomicBool,
    pub(crate) consumer_closed: AtomicBool,
    /// Set with `consumer_closed` when the consumer stopped because of an error.
    pub(crate) failed: AtomicBool,

    /// Notified when frames are published or producers close. Shared between the queues
    /// of one writer, so its thread can sleep on all its streams at once.
    pub(crate) data: Arc<Signal>,
    /// Notified when space is released, the level falls, or the consumer closes.
    pub(crate) space: Signal,

    pub(crate) marks: WaterMarks,
    pub(crate) gaps: Mutex<GapLog>,
    pub(crate) latency: Mutex<Histogram<u64>>,
    pub(crate) pc: CachePadded<ProducerCounters>,
    pub(crate) cc: CachePadded<ConsumerCounters>,
}

impl Shared {
    /// Bytes in the ring now (headers and padding included).
    pub(crate) fn level(&self) -> u64 {
        let free = self.free.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        tail.saturating_sub(free)
    }

    /// Frames queued now (published, not yet taken or dropped).
    pub(crate) fn queued_frames(&self) -> u64 {
        let pushed = self.pc.pushed.load(Ordering::Acquire);
        let dropped =
            self.pc.dropped_newest.load(Ordering::Acquire) + self.pc.dropped_oldest.load(Ordering::Acquire);
        let gone = self.cc.popped.load(Ordering::Acquire) + self.cc.discarded.load(Ordering::Acquire);
        pushed.saturating_sub(dropped).saturating_sub(gone)
    }

    /// Whether `need` more ring bytes (one more frame) fit right now, from the shared
    /// positions (used by waiters, which hold no producer state).
    pub(crate) fn room_for(&self, need: u64) -> bool {
        self.level() + need <= self.capacity && self.queued_frames() < self.max_frames
    }

    /// Blocks until `need` bytes fit or the consumer closes; false on timeout or
    /// interrupt. Adds the time spent to the blocked counter (several shared-producer
    /// threads may wait at once, hence the atomic add).
    pub(crate) fn wait_for_room(
        this: &Arc<Shared>,
        need: u64,
        deadline: Option<Instant>,
        interrupt: Option<&Interrupt>,
    ) -> bool {
        let started = Instant::now();
        let _watching = interrupt.map(|i| i.watch(Shared::waker(this)));
        let triggered = || interrupt.is_some_and(Interrupt::is_triggered);
        let ok = this.space.wait_until(deadline, || {
            (this.room_for(need) && this.level() <= this.wake_level)
                || this.is_closed_for_producers()
                || triggered()
        });
        bump_shared(&this.pc.blocked_ns, started.elapsed().as_nanos() as u64);
        ok && !triggered()
    }

    /// Blocks until the queue is not above high water.
    pub(crate) fn wait_below_low(
        this: &Arc<Shared>,
        wait: Wait,
        interrupt: Option<&Interrupt>,
    ) -> Result<(), WaitError> {
        // `Never` is a wait whose deadline has already passed: one check, no sleep.
        let deadline = wait.deadline(None).unwrap_or_else(|| Some(Instant::now()));
        let _watching = interrupt.map(|i| i.watch(Shared::waker(this)));
        let triggered = || interrupt.is_some_and(Interrupt::is_triggered);
        let ok = this.space.wait_until(deadline, || {
            !this.marks.is_above() || this.is_closed_for_producers() || triggered()
        });
        if this.is_closed_for_producers() {
            Err(WaitError::Closed)
        } else if ok && !this.marks.is_above() {
            Ok(())
        } else if triggered() {
            Err(WaitError::Interrupted)
        } else {
            Err(WaitError::Timeout)
        }
    }

    #[cfg_attr(loom, allow(dead_code))] // used by the writer, which loom builds leave out
    /// Whether published frames wait to be claimed.
    pub(crate) fn has_unclaimed(&self) -> bool {
        self.head.load(Ordering::Acquire) < self.tail.load(Ordering::Acquire)
    }

    #[cfg_attr(loom, allow(dead_code))] // used by the writer, which loom builds leave out
    /// Ends the stream from the consumer's side of the application (a writer closing):
    /// later pushes return `Closed`, queued frames are still drained.
    pub(crate) fn close_producers(&self) {
        self.producers_closed.store(true, Ordering::Release);
        self.data.notify();
        self.space.notify();
    }

    pub(crate) fn is_closed_for_producers(&self) -> bool {
        self.consumer_closed.load(Ordering::Acquire)
    }

    pub(crate) fn stats(&self) -> QueueStats {
        let pc = &self.pc;
        let cc = &self.cc;
        let r = |a: &AtomicU64| a.load(Ordering::Acquire);
        let latency = LatencySummary::from_histogram(&lock(&self.latency));
        QueueStats {
            frames_pushed: r(&pc.pushed),
            frames_popped: r(&cc.popped),
            frames_dropped_newest: r(&pc.dropped_newest),
            frames_dropped_oldest: r(&pc.dropped_oldest),
            frames_discarded: r(&cc.discarded),
            frames_queued: self.queued_frames(),
            bytes_pushed: r(&pc.bytes_pushed),
            bytes_popped: r(&cc.bytes_popped),
            bytes_dropped: r(&pc.bytes_dropped),
            pushes_refused: r(&pc.refused),
            level_bytes: self.level(),
            peak_level_bytes: r(&pc.peak_level).max(r(&cc.peak_level)).max(self.level()),
            capacity_bytes: self.capacity,
            water_mark_transitions: self.marks.transitions(),
            above_high_water: self.marks.is_above(),
            waiting_producers: self.space.waiters() as u64,
            blocked_ns: r(&pc.blocked_ns),
            push_latency: latency,
        }
    }
}

impl Shared {
    /// What an [`Interrupt`] wakes for a wait on this queue.
    pub(crate) fn waker(this: &Arc<Shared>) -> std::sync::Arc<dyn Wake> {
        std::sync::Arc::new(QueueWaker(Arc::clone(this)))
    }
}

/// Wakes whoever sleeps on one queue (for an [`Interrupt`]): waiters for room or for the
/// water marks sleep on `space`, consumers on `data`.
struct QueueWaker(Arc<Shared>);

impl Wake for QueueWaker {
    fn wake(&self) {
        self.0.space.wake_all();
        self.0.data.wake_all();
    }
}
