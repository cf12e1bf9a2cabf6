//! What `streamq_producer` (a queue's producer end) and `streamq_stream` (a writer's
//! stream) share: pushes, and reservations that live between two C calls.
//!
//! Both wrap the engine's `SharedProducer` (an `Arc<Mutex<..>>` underneath), so any
//! number of threads may push through one handle at once. A reservation holds the
//! handle's lock from `reserve` to `commit`/`abort`, and the lock must be released by the
//! thread that took it: pending reservations are therefore kept in a thread-local list,
//! keyed by a per-handle id. A commit from another thread finds nothing there and returns
//! `STREAMQ_RESULT_NO_RESERVATION` instead of unlocking someone else's lock.

use std::cell::RefCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use streamq_core::{
    OverflowPolicy, PushError, Pushed, QueueStats, SharedProducer, SharedReservation, WaitError,
};

use crate::args::{Timeout, write};
use crate::result::{Error, Res, err, streamq_result};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) struct Prod {
    id: u64,
    inner: SharedProducer,
    closed: AtomicBool,
    /// The queue's policy is `FailFast`: pushes must never wait. (Works around the
    /// engine's `SharedProducer::push`, which waits for room under `FailFast` as it does
    /// under `Block`; see the C-ABI report.)
    fail_fast: bool,
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
        // SAFETY: `owner` came from `Box::into_raw` in `Prod::reserve` and is freed only
        // here; the only borrow of it (`res`) was dropped just above.
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

/// Turns a push result into a C result, writing the sequence number for queued and
/// dropped frames.
unsafe fn pushed(r: Result<Pushed, PushError>, seq_out: *mut u64) -> Res {
    match r? {
        Pushed::Queued { seq } => {
            // SAFETY: `seq_out` is NULL or writable, per the export's contract.
            unsafe { write(seq_out, seq) };
            Ok(())
        }
        Pushed::Dropped { seq } => {
            // SAFETY: as above (documented exception: written on STREAMQ_DROPPED).
            unsafe { write(seq_out, seq) };
            err(
                streamq_result::Dropped,
                format!("queue full: frame {seq} dropped by the overflow policy"),
            )
        }
    }
}

impl Prod {
    pub(crate) fn new(inner: SharedProducer, policy: OverflowPolicy) -> Self {
        Prod {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            inner,
            closed: AtomicBool::new(false),
            fail_fast: policy == OverflowPolicy::FailFast,
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

    fn not_busy(&self) -> Res {
        if self.has_pending() { Err(busy()) } else { Ok(()) }
    }

    /// # Safety
    /// `seq_out` must be NULL or valid for a write.
    pub(crate) unsafe fn push(
        &self,
        data: &[u8],
        ts: Option<u64>,
        wait: Option<Timeout>,
        seq_out: *mut u64,
    ) -> Res {
        // Pushing while this thread holds the handle's lock (a reservation) would deadlock.
        self.not_busy()?;
        let r = match (wait, ts) {
            (_, None) if self.fail_fast => self.inner.try_push(data),
            (None, None) => self.inner.push(data),
            (None, Some(ts)) => self.inner.push_at(data, ts),
            (Some(Timeout::NoWait), _) => self.inner.try_push(data),
            (Some(Timeout::For(d)), _) => self.inner.push_timeout(data, d),
            (Some(Timeout::Forever), _) => self.inner.push_timeout(data, Duration::MAX),
        };
        // SAFETY: forwarded contract on `seq_out`.
        unsafe { pushed(r, seq_out) }
    }

    /// Reserves `len` bytes; returns where to write them.
    pub(crate) fn reserve(&self, len: usize) -> Res<*mut u8> {
        self.not_busy()?;
        let owner = NonNull::from(Box::leak(Box::new(self.inner.clone())));
        // SAFETY: `owner` is a live heap allocation freed only by `Pending::drop`, after
        // the reservation borrowing it; it is never moved or mutably borrowed meanwhile.
        let producer: &'static SharedProducer = unsafe { owner.as_ref() };
        match producer.reserve(len) {
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

    /// Publishes this thread's reservation on the handle.
    ///
    /// # Safety
    /// `seq_out` must be NULL or valid for a write.
    pub(crate) unsafe fn commit(&self, ts: Option<u64>, seq_out: *mut u64) -> Res {
        let Some(mut p) = self.take_pending() else {
            return err(
                streamq_result::NoReservation,
                "no reservation pending on this handle from this thread",
            );
        };
        let res = p
            .res
            .take()
            .ok_or_else(|| Error::new(streamq_result::NoReservation, "reservation already used"))?;
        let seq = match ts {
            Some(ts) => res.commit_at(ts),
            None => res.commit(),
        };
        drop(p);
        // SAFETY: forwarded contract on `seq_out`.
        unsafe { write(seq_out, seq) };
        Ok(())
    }

    pub(crate) fn abort(&self) -> Res {
        match self.take_pending() {
            Some(p) => {
                drop(p);
                Ok(())
            }
            None => err(
                streamq_result::NoReservation,
                "no reservation pending on this handle from this thread",
            ),
        }
    }

    /// Ends the stream for every handle of the queue; aborts this thread's reservation.
    pub(crate) fn close(&self) -> Res {
        drop(self.take_pending());
        if self.closed.swap(true, Ordering::AcqRel) {
            return err(streamq_result::Closed, "already closed");
        }
        self.inner.close();
        Ok(())
    }

    pub(crate) fn stats(&self) -> Res<QueueStats> {
        self.not_busy()?;
        Ok(self.inner.stats())
    }

    pub(crate) fn max_frame_len(&self) -> Res<usize> {
        self.not_busy()?;
        Ok(self.inner.max_frame_len())
    }

    pub(crate) fn wait_below_low(&self, t: Timeout) -> Res {
        self.not_busy()?;
        let r = match t {
            Timeout::Forever => self.inner.wait_below_low(None),
            Timeout::For(d) => self.inner.wait_below_low(Some(d)),
            Timeout::NoWait => {
                if self.inner.is_above_high_water() {
                    Err(WaitError::Timeout)
                } else {
                    Ok(())
                }
            }
        };
        Ok(r?)
    }

    pub(crate) fn inner(&self) -> Res<&SharedProducer> {
        self.not_busy()?;
        Ok(&self.inner)
    }
}

impl Drop for Prod {
    fn drop(&mut self) {
        // A reservation this thread still holds is aborted (it holds the lock). One held
        // by another thread keeps its own producer clone; it ends when that thread
        // commits, aborts or exits.
        drop(self.take_pending());
    }
}
