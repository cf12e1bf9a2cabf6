//! A log of dropped sequence ranges, so whoever drains the queue (the writer) can record
//! each gap with its reason. Only the drop path and a consumer that saw a sequence jump
//! touch it; contiguous drops of one reason merge into one entry, so it holds at most
//! one entry per run of queued frames.

use std::collections::VecDeque;

use crate::queue::config::DropReason;

/// A run of consecutive sequence numbers dropped for one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// First dropped sequence number.
    pub first_seq: u64,
    /// How many consecutive frames were dropped.
    pub count: u64,
    /// Why.
    pub reason: DropReason,
    /// Host time of the first drop (CLOCK_MONOTONIC ns).
    pub host_ts_ns: u64,
}

#[derive(Default)]
pub(crate) struct GapLog {
    entries: VecDeque<Gap>,
}

impl GapLog {
    /// Logs one dropped sequence number. Entries stay sorted by sequence: under
    /// DropOldest a refused newest frame can be logged before older frames are evicted.
    pub(crate) fn record(&mut self, seq: u64, reason: DropReason, host_ts_ns: u64) {
        // Almost always an append; otherwise find the place from the back.
        let mut at = self.entries.len();
        while at > 0 && self.entries[at - 1].first_seq > seq {
            at -= 1;
        }
        if at > 0 {
            let prev = &mut self.entries[at - 1];
            if prev.reason == reason && prev.first_seq + prev.count == seq {
                prev.count += 1;
                // The grown entry may now touch the next one.
                if at < self.entries.len() {
                    let next = self.entries[at];
                    let prev = &mut self.entries[at - 1];
                    if next.reason == prev.reason && prev.first_seq + prev.count == next.first_seq {
                        prev.count += next.count;
                        self.entries.remove(at);
                    }
                }
                return;
            }
        }
        if at < self.entries.len() {
            let next = &mut self.entries[at];
            if next.reason == reason && seq + 1 == next.first_seq {
                next.first_seq = seq;
                next.count += 1;
                next.host_ts_ns = next.host_ts_ns.min(host_ts_ns);
                return;
            }
        }
        self.entries.insert(
            at,
            Gap {
                first_seq: seq,
                count: 1,
                reason,
                host_ts_ns,
            },
        );
    }

    /// Removes and returns the gaps that start before `seq`.
    pub(crate) fn take_before(&mut self, seq: u64, out: &mut Vec<Gap>) {
        while let Some(g) = self.entries.front() {
            if g.first_seq >= seq {
                break;
            }
            out.push(*g);
            self.entries.pop_front();
        }
    }
}
