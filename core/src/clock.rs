//! The host clock used to timestamp frames: `CLOCK_MONOTONIC` in nanoseconds, the same
//! clock every process on the machine sees, so captures from several processes line up.

/// Nanoseconds of `CLOCK_MONOTONIC` (time since boot, not counting suspend on Linux).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux,
    // so the call cannot fail and only writes `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    debug_assert_eq!(rc, 0);
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// Nanoseconds since the Unix epoch (wall clock), for file creation times.
pub fn unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// A per-producer reader of `CLOCK_MONOTONIC` for per-frame timestamps, at about 10 ns
/// a read instead of ~26 ns for `clock_gettime`.
///
/// It reads the CPU's invariant time-stamp counter through `quanta` (which checks that
/// the TSC is invariant and calibrates it against `CLOCK_MONOTONIC` once per process,
/// falling back to `CLOCK_MONOTONIC` itself where the TSC is unusable) and adds the
/// scaled ticks to an anchor taken with `clock_gettime`. The anchor is renewed every
/// millisecond, so the calibration error never accumulates past that interval (tens of
/// nanoseconds), and results are clamped so that one producer's timestamps never go
/// backwards. Timestamps therefore stay comparable with other processes' monotonic
/// clocks, as [`monotonic_ns`] promises.
pub(crate) struct HostClock {
    #[cfg(not(loom))]
    clock: quanta::Clock,
    #[cfg(not(loom))]
    anchor_raw: u64,
    #[cfg(not(loom))]
    anchor_ns: u64,
    /// Raw ticks after the anchor at which it is renewed (about 1 ms).
    #[cfg(not(loom))]
    renew_after: u64,
    /// Nanoseconds per 2^32 raw ticks (quanta's calibration, read once).
    #[cfg(not(loom))]
    ns_per_2_32_ticks: u64,
    last: u64,
}

impl HostClock {
    /// Anchor renewal interval.
    #[cfg(not(loom))]
    const RENEW_NS: u64 = 1_000_000;

    pub(crate) fn new() -> Self {
        #[cfg(not(loom))]
        {
            let clock = quanta::Clock::new();
            // Ticks per RENEW_NS, from the calibrated scale (raw ns when quanta fell back).
            let probe: u64 = 1 << 32;
            let ns = clock.delta_as_nanos(0, probe).max(1);
            let renew_after =
                ((probe as u128 * Self::RENEW_NS as u128) / ns as u128).clamp(1, u64::MAX as u128) as u64;
            let mut c = HostClock {
                clock,
                anchor_raw: 0,
                anchor_ns: 0,
                renew_after,
                ns_per_2_32_ticks: ns,
                last: 0,
            };
            c.renew();
            c
        }
        #[cfg(loom)]
        {
            HostClock { last: 0 }
        }
    }

    /// `CLOCK_MONOTONIC` now, in nanoseconds (never less than the previous result).
    #[inline]
    pub(crate) fn now(&mut self) -> u64 {
        #[cfg(not(loom))]
        {
            let raw = self.clock.raw();
            // A raw value before the anchor (another core's counter) wraps to a huge
            // distance and renews the anchor too.
            if raw.wrapping_sub(self.anchor_raw) >= self.renew_after {
                return self.renew();
            }
            // One multiply instead of a second call into quanta; the tick count is below
            // `renew_after` (~1 ms), so the product cannot overflow 128 bits.
            let ticks = raw.wrapping_sub(self.anchor_raw);
            let t = self.anchor_ns + ((ticks as u128 * self.ns_per_2_32_ticks as u128) >> 32) as u64;
            let t = t.max(self.last);
            self.last = t;
            t
        }
        #[cfg(loom)]
        {
            let t = monotonic_ns().max(self.last);
            self.last = t;
            t
        }
    }

    #[cfg(not(loom))]
    #[cold]
    fn renew(&mut self) -> u64 {
        // The anchor's tick count is the midpoint of two reads around clock_gettime.
        let r0 = self.clock.raw();
        let ns = monotonic_ns();
        let r1 = self.clock.raw();
        self.anchor_raw = r0 + r1.wrapping_sub(r0) / 2;
        self.anchor_ns = ns;
        let t = ns.max(self.last);
        self.last = t;
        t
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn host_clock_tracks_clock_monotonic_and_never_goes_back() {
        let mut c = HostClock::new();
        let mut prev = 0;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(30) {
            let before = monotonic_ns();
            let t = c.now();
            let after = monotonic_ns();
            assert!(t >= prev, "went back: {t} < {prev}");
            // Within a few microseconds of the system clock read around it.
            assert!(t + 5_000 >= before && t <= after + 5_000, "{before} {t} {after}");
            prev = t;
        }
    }
}
