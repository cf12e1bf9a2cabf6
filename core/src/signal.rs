//! Sleeping and waking without a lock on the fast path.
//!
//! A side that changes state (publishes a frame, frees space, closes) calls
//! [`Signal::notify`]: a SeqCst fence, then one load of the waiter count — no lock, no
//! syscall, unless someone sleeps. A side that must wait registers itself under the
//! mutex, fences, re-checks its condition and only then sleeps. The two fences make it
//! impossible for the notifier to miss a registered waiter while the waiter misses the
//! state change (the store-buffering pattern; loom checks it, it models SeqCst fences).

use std::time::Instant;

use crate::sync::{AtomicUsize, Condvar, Mutex, Ordering, fence, lock};

/// A wait/notify point for one kind of event (data available, space available).
pub(crate) struct Signal {
    waiters: AtomicUsize,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Signal {
    pub(crate) fn new() -> Self {
        Signal { waiters: AtomicUsize::new(0), lock: Mutex::new(()), cv: Condvar::new() }
    }

    /// Threads sleeping (or about to) on this signal now.
    pub(crate) fn waiters(&self) -> usize {
        self.waiters.load(Ordering::Acquire)
    }

    /// Wakes every waiter. Call after making the state change visible.
    #[inline]
    pub(crate) fn notify(&self) {
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::Relaxed) > 0 {
            self.notify_slow();
        }
    }

    #[cold]
    fn notify_slow(&self) {
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
        fence(Ordering::SeqCst);
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
