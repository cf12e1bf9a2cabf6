//! Asymmetric store→load barriers for the ring's Dekker-style handshakes.
//!
//! Every handshake in the queue has a *frequent* side that runs once per frame (a
//! producer publishing, a consumer releasing) and a *rare* side that runs once per
//! sleep or per water-mark transition (a waiter registering, the producer going above
//! high water). Each side stores its own flag and then loads the other's; a full barrier
//! between the store and the load on *both* sides makes it impossible for both loads to
//! miss both stores (the store-buffering pattern).
//!
//! A SeqCst fence per frame costs more than the rest of a small push: it waits for the
//! store buffer to drain, including the store that just took a cache line away from the
//! other core. So the frequent side calls [`light`] and the rare side calls [`heavy`]:
//!
//! * On Linux, once `membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)` succeeded,
//!   [`light`] is a compiler fence only and [`heavy`] is
//!   `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which makes every running thread of
//!   the process execute a full memory barrier before it returns (a thread that is not
//!   running has passed one by being switched out). Whatever point of the light side's
//!   `store; load` that barrier lands on, either the light side's load comes after the
//!   heavy side's store, or the light side's store is visible before the heavy side's
//!   load. This is the kernel-documented use of membarrier, as in liburcu and folly's
//!   `asymmetricLightBarrier`/`asymmetricHeavyBarrier`. It costs about a microsecond,
//!   paid only on the way to sleep.
//! * Elsewhere (no membarrier, registration refused, loom models) both are
//!   `fence(SeqCst)`: the symmetric protocol that the loom models check.
//!
//! The choice is made once per process, before the first queue exists, and never changes.

#[cfg(not(all(target_os = "linux", not(loom))))]
use crate::sync::{Ordering, fence};

#[cfg(all(target_os = "linux", not(loom)))]
mod imp {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicBool, Ordering, compiler_fence, fence};

    /// Whether membarrier is registered for this process (set once, in `init`).
    static ASYMMETRIC: AtomicBool = AtomicBool::new(false);
    static INIT: OnceLock<()> = OnceLock::new();

    fn membarrier(cmd: libc::c_int) -> libc::c_long {
        // SAFETY: membarrier takes two integer arguments (cmd, flags) and touches no
        // user memory; an unsupported command returns an error, it cannot misbehave.
        unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0 as libc::c_uint) }
    }

    pub(super) fn init() {
        INIT.get_or_init(|| {
            let supported = membarrier(libc::MEMBARRIER_CMD_QUERY);
            let wanted = libc::MEMBARRIER_CMD_PRIVATE_EXPEDITED as libc::c_long;
            if supported >= 0
                && supported & wanted != 0
                && membarrier(libc::MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0
            {
                // Every queue handle is created after this store and reaches other
                // threads through an Arc handed over by a happens-before edge (thread
                // spawn, channel, lock), so all of them see the final value.
                ASYMMETRIC.store(true, Ordering::Relaxed);
            }
        });
    }

    #[inline(always)]
    pub(super) fn light() {
        if ASYMMETRIC.load(Ordering::Relaxed) {
            // Keeps the compiler from moving the side's load above its store; the
            // hardware reordering is undone by the heavy side's membarrier.
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    #[cold]
    pub(super) fn heavy() {
        // Orders this thread's own store before its load in any case.
        fence(Ordering::SeqCst);
        if !ASYMMETRIC.load(Ordering::Relaxed) || membarrier(libc::MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0 {
            return;
        }
        // A forked child inherits the queues but not the registration: register again.
        // If even that fails, the light sides are unprotected: stop rather than risk a
        // lost wake-up.
        let ok = membarrier(libc::MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0
            && membarrier(libc::MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0;
        assert!(
            ok,
            "streamq: membarrier failed after registration: {}",
            std::io::Error::last_os_error()
        );
    }

    pub(super) fn is_asymmetric() -> bool {
        ASYMMETRIC.load(Ordering::Relaxed)
    }
}

#[cfg(not(all(target_os = "linux", not(loom))))]
mod imp {
    pub(super) fn init() {}

    #[inline(always)]
    pub(super) fn light() {
        super::fence(super::Ordering::SeqCst);
    }

    pub(super) fn heavy() {
        super::fence(super::Ordering::SeqCst);
    }

    pub(super) fn is_asymmetric() -> bool {
        false
    }
}

/// Chooses the barrier kind for this process; call before creating anything that uses
/// [`light`] or [`heavy`] (every `Signal` and queue constructor does).
pub(crate) fn init() {
    imp::init();
}

/// The frequent side's barrier between its store and its load (see the module docs).
#[inline(always)]
pub(crate) fn light() {
    imp::light();
}

/// The rare side's barrier between its store and its load (see the module docs).
#[inline]
pub(crate) fn heavy() {
    imp::heavy();
}

/// Whether [`light`] is a compiler fence only (membarrier in use).
#[allow(dead_code)] // reported by tests and benches
pub(crate) fn is_asymmetric() -> bool {
    imp::is_asymmetric()
}

#[cfg(all(test, not(loom)))]
mod tests {
    #[test]
    fn barriers_can_be_called_in_any_order() {
        super::init();
        super::light();
        super::heavy();
        super::heavy();
        super::light();
    }
}
