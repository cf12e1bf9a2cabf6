//! A log of dropped sequence ranges, so whoever drains the queue (the writer) can record
//! each gap with its reason. Only the drop path and a consumer that saw a sequence jump
//! touch it; contiguous drops of one reason merge into one entry, so it holds at most
//! one entry per run of queued frames.

use std::collections::VecDeque;

use crate::config::DropReason;

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
    pub host_time_ns: u64,
}

#[derive(Default)]
pub(crate) struct GapLog {
    entries: VecDeque<Gap>,
}

impl GapLog {
    pub(crate) fn record(&mut self, seq: u64, reason: DropReason, host_time_ns: u64) {
        if let Some(last) = self.entries.back_mut()
            && last.reason == reason
            && last.first_seq + last.count == seq
        {
            last.count += 1;
            return;
        }
        self.entries.push_back(Gap { first_seq: seq, count: 1, reason, host_time_ns });
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
