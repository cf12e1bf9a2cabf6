//! High and low water marks in bytes, with hysteresis: once the queued bytes reach the
//! high mark the queue is "above high water" until they fall to the low mark.
//!
//! Transitions are observable three ways: the configured callback (run on the thread
//! whose push or pop caused the transition), a blocking wait
//! ([`Producer::wait_below_low`](crate::Producer::wait_below_low)), and a pollable
//! eventfd that becomes readable on every transition (for epoll / asyncio loops).

use std::os::fd::{AsRawFd, RawFd};

use crate::queue::config::WaterMarkCallback;
use crate::sync::{AtomicBool, AtomicU64, Ordering};

/// A water-mark transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaterMarkEvent {
    /// The queued bytes reached the high mark.
    AboveHigh {
        /// Queued bytes when the transition was seen.
        level: usize,
    },
    /// The queued bytes fell to the low mark.
    BelowLow {
        /// Queued bytes when the transition was seen.
        level: usize,
    },
}

/// Shared water-mark state of one queue.
pub(crate) struct WaterMarks {
    pub(crate) high: u64,
    pub(crate) low: u64,
    /// The level at which "above" can start: `high`, or `u64::MAX` when the marks are
    /// off (`high == 0`), so the producer's one comparison also covers that case.
    pub(crate) rise_at: u64,
    above: AtomicBool,
    transitions: AtomicU64,
    event_fd: Option<EventFd>,
    callback: Option<WaterMarkCallback>,
}

impl WaterMarks {
    pub(crate) fn new(high: usize, low: usize, callback: Option<WaterMarkCallback>) -> std::io::Result<Self> {
        Ok(WaterMarks {
            high: high as u64,
            low: low as u64,
            rise_at: if high == 0 { u64::MAX } else { high as u64 },
            above: AtomicBool::new(false),
            transitions: AtomicU64::new(0),
            event_fd: EventFd::new()?,
            callback,
        })
    }

    /// Whether the queue is above high water right now.
    #[inline]
    pub(crate) fn is_above(&self) -> bool {
        self.above.load(Ordering::Acquire)
    }

    pub(crate) fn transitions(&self) -> u64 {
        self.transitions.load(Ordering::Relaxed)
    }

    pub(crate) fn fd(&self) -> Option<RawFd> {
        self.event_fd.as_ref().map(|e| e.fd.as_raw_fd())
    }

    /// Clears the eventfd's readiness after a poll reported it readable.
    pub(crate) fn clear_event(&self) {
        if let Some(fd) = &self.event_fd {
            fd.drain();
        }
    }

    /// Re-evaluates the state for `level` queued bytes; returns true on a transition.
    /// Called after every push and every release. A stale `level` can only delay a
    /// transition until the next push or pop re-evaluates it.
    #[inline]
    pub(crate) fn update(&self, level: u64) -> bool {
        let above = self.above.load(Ordering::Relaxed);
        if !above && level >= self.high && self.high > 0 {
            self.transition(
                false,
                WaterMarkEvent::AboveHigh {
                    level: level as usize,
                },
            )
        } else if above && level <= self.low {
            self.transition(
                true,
                WaterMarkEvent::BelowLow {
                    level: level as usize,
                },
            )
        } else {
            false
        }
    }

    /// Only the downward transition, for a re-check with a level that may be stale
    /// (too high): it must never push the state up.
    pub(crate) fn fall_to(&self, level: u64) -> bool {
        if level <= self.low && level < self.high && self.above.load(Ordering::Relaxed) {
            self.transition(
                true,
                WaterMarkEvent::BelowLow {
                    level: level as usize,
                },
            )
        } else {
            false
        }
    }

    #[cold]
    fn transition(&self, from: bool, event: WaterMarkEvent) -> bool {
        if self
            .above
            .compare_exchange(from, !from, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        self.transitions.fetch_add(1, Ordering::Relaxed);
        if let Some(fd) = &self.event_fd {
            fd.signal();
        }
        if let Some(cb) = &self.callback {
            // A panicking user callback must not poison the queue's own state, which is
            // consistent at this point; the panic is contained here.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(event)));
        }
        true
    }
}

/// A Linux eventfd: readable after at least one transition since the last read.
struct EventFd {
    fd: std::os::fd::OwnedFd,
}

impl EventFd {
    #[cfg(all(target_os = "linux", not(loom)))]
    fn new() -> std::io::Result<Option<Self>> {
        use std::os::fd::FromRawFd;
        // SAFETY: eventfd has no memory-safety preconditions.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fd was just created and is owned by nobody else.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        Ok(Some(EventFd { fd }))
    }

    #[cfg(not(all(target_os = "linux", not(loom))))]
    fn new() -> std::io::Result<Option<Self>> {
        Ok(None)
    }

    fn drain(&self) {
        let mut buf: u64 = 0;
        // SAFETY: reads at most 8 bytes into a valid u64 from our own non-blocking
        // eventfd; EAGAIN (nothing pending) is fine, the call only resets readiness.
        unsafe {
            libc::read(self.fd.as_raw_fd(), (&mut buf as *mut u64).cast(), 8);
        }
    }

    fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to our own eventfd. A full counter
        // (EAGAIN) still leaves the descriptor readable, which is all we promise.
        unsafe {
            libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8);
        }
    }
}
