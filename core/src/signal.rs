//! Sleeping and waking without a lock on the fast path.
//!
//! A side that changes state (publishes a frame, frees space, closes) calls
//! [`Signal::notify`]: a light barrier ([`barrier::light`], a compiler fence when
//! membarrier is available), then one load of the waiter count — no lock, no syscall
//! and no hardware fence, unless someone sleeps. A side that must wait registers itself
//! under the mutex, issues the heavy barrier ([`barrier::heavy`]) once, re-checks its
//! condition and only then sleeps. The two barriers make it impossible for the
//! notifier to miss a registered waiter while the waiter misses the state change (the
//! store-buffering pattern). The waiter stays counted until it returns, so one heavy
//! barrier covers every later re-check of the same wait. loom checks the protocol with
//! both barriers as SeqCst fences.

use std::time::Instant;

use crate::barrier;
use crate::sync::{AtomicUsize, Condvar, Mutex, Ordering, lock};

/// A wait/notify point for one kind of event (data available, space available).
pub(crate) struct Signal {
    waiters: AtomicUsize,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Signal {
    pub(crate) fn new() -> Self {
        barrier::init();
        Signal {
            waiters: AtomicUsize::new(0),
            lock: Mutex::new(()),
            cv: Condvar::new(),
        }
    }

    /// Threads sleeping (or about to) on this signal now.
    pub(crate) fn waiters(&self) -> usize {
        self.waiters.load(Ordering::Acquire)
    }

    /// Wakes every waiter. Call after making the state change visible.
    #[inline]
    pub(crate) fn notify(&self) {
        barrier::light();
        if self.has_waiters_after_barrier() {
            self.wake_all();
        }
    }

    /// Whether anyone sleeps (or is about to). Only meaningful right after the caller's
    /// state store and a [`barrier::light`] (or stronger): that is what pairs with the
    /// waiter's heavy barrier. Lets a caller that issued one barrier for several checks
    /// skip [`notify`](Self::notify)'s own.
    #[inline]
    pub(crate) fn has_waiters_after_barrier(&self) -> bool {
        self.waiters.load(Ordering::Relaxed) > 0
    }

    /// Wakes every waiter (the slow half of [`notify`](Self::notify)).
    #[cold]
    pub(crate) fn wake_all(&self) {
        // Taking the lock orders this wake-up after a waiter's re-check: the waiter holds
        // the lock from registration until the condvar releases it atomically.
        drop(lock(&self.lock));
        self.cv.notify_all();
    }

    /// Blocks until `ready()` is true (returns true) or `deadline` passes (returns
    /// false). `ready` is evaluated with the signal's lock held; it must be cheap and must
    /// not block.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>, mut ready: impl FnMut() -> bool) -> bool {
        if ready() {
            return true;
        }
        let mut guard = lock(&self.lock);
        self.waiters.fetch_add(1, Ordering::SeqCst);
        barrier::heavy();
        let result = loop {
            if ready() {
                break true;
            }
            match deadline {
                None => {
                    guard = match self.cv.wait(guard) {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    };
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break ready();
                    }
                    guard = match self.cv.wait_timeout(guard, d - now) {
                        Ok((g, _)) => g,
                        Err(p) => p.into_inner().0,
                    };
                }
            }
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        result
    }
}
