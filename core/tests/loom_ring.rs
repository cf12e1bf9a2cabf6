//! Loom models of the ring protocol: wake-ups (data and space), close in both directions,
//! shared producers, DropOldest evictions racing the consumer, and the water-mark wait.
//!
//! Each handshake pairs a frequent side (publish, release: `barrier::light`) with a rare
//! side (a waiter registering, the producer going above high water: `barrier::heavy`).
//! Under loom both are SeqCst fences, so these models check that the barriers sit in the
//! right places and that the release fast path (which skips the wake-up and the marks
//! when nobody waits and the queue is not above high water) loses nothing. On Linux the
//! light side is a compiler fence and the heavy side membarrier(PRIVATE_EXPEDITED),
//! which gives the same store→load ordering between the two sides (see `barrier.rs`).
//!
//! Under `cfg(loom)` ring capacities round to 8 bytes, the ring is a heap block and there
//! is no eventfd; a frame of at most 8 bytes takes a 40-byte slot, so a ring of 80 bytes
//! holds exactly two. Loom reports a lost wake-up as a deadlock. Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test -p streamq --release --test loom_ring --target-dir target/loom
//! ```
#![cfg(loom)]

use loom::thread;
use streamq::Wait;
use streamq::{OverflowPolicy, PopError, PushError, Pushed, QueueConfig, TryPopError, queue};

/// Ring bytes of one frame of 1..=8 payload bytes.
const SLOT: usize = 40;

/// A small ring without the costly extras: no prefault, no latency histogram, water
/// marks off (high 0 never triggers).
fn config(slots: usize, policy: OverflowPolicy) -> QueueConfig {
    QueueConfig::new(slots * SLOT)
        .policy(policy)
        .prefault(false)
        .record_latency(false)
        .high_water(0)
        .low_water(0)
}

/// The payload of frame `k` of producer `p`.
fn frame(p: u8, k: u8) -> [u8; 4] {
    [p, k, p ^ 0x5A, k ^ 0xA5]
}

#[test]
fn loom_spsc_block_three_frames_through_a_two_frame_ring_arrive_in_order() {
    loom::model(|| {
        let (mut tx, mut rx) = queue(config(2, OverflowPolicy::Block)).unwrap();
        let producer = thread::spawn(move || {
            for k in 0..3 {
                // The third push waits for the consumer to free a slot (space wake-up).
                assert_eq!(tx.push(&frame(0, k)), Ok(Pushed::Queued { seq: k as u64 }));
            }
            // Dropping the producer ends the stream.
        });
        for k in 0..3u8 {
            // Each pop may wait for the producer (data wake-up).
            let f = rx.pop().unwrap();
            assert_eq!(f.info.seq, k as u64);
            assert_eq!(f.data, frame(0, k));
        }
        assert_eq!(rx.pop(), Err(PopError));
        producer.join().unwrap();
        let s = rx.stats();
        assert_eq!(
            (s.frames_pushed, s.frames_popped, s.frames_queued, s.level_bytes),
            (3, 3, 0, 0)
        );
    });
}

#[test]
fn loom_consumer_close_wakes_a_producer_blocked_in_push() {
    loom::model(|| {
        let (mut tx, mut rx) = queue(config(1, OverflowPolicy::Block)).unwrap();
        assert!(tx.push(&frame(0, 0)).unwrap().is_queued()); // the ring is now full
        let producer = thread::spawn(move || {
            // Blocks (nothing is ever popped) until the close; or sees it at once.
            let r = tx.push(&frame(0, 1));
            (r, tx.is_closed())
        });
        rx.close();
        assert_eq!(producer.join().unwrap(), (Err(PushError::Closed), true));
        let s = rx.stats();
        assert_eq!((s.frames_pushed, s.frames_discarded, s.frames_queued), (1, 1, 0));
    });
}

#[test]
fn loom_producer_drop_wakes_a_consumer_blocked_in_pop_after_the_queued_frames() {
    loom::model(|| {
        let (mut tx, mut rx) = queue(config(2, OverflowPolicy::Block)).unwrap();
        let producer = thread::spawn(move || {
            assert!(tx.push(&frame(0, 0)).unwrap().is_queued());
            drop(tx);
        });
        assert_eq!(rx.pop().unwrap().data, frame(0, 0));
        assert_eq!(rx.pop(), Err(PopError));
        assert_eq!(rx.try_pop(), Err(TryPopError::Disconnected));
        assert!(rx.is_finished());
        producer.join().unwrap();
    });
}

#[test]
fn loom_producer_close_wakes_a_consumer_blocked_in_pop_on_an_empty_ring() {
    loom::model(|| {
        let (mut tx, mut rx) = queue(config(1, OverflowPolicy::Block)).unwrap();
        let producer = thread::spawn(move || {
            tx.close();
            (tx.push(b"late"), tx)
        });
        assert_eq!(rx.pop(), Err(PopError));
        let (late, _tx) = producer.join().unwrap();
        assert_eq!(late, Err(PushError::Closed));
    });
}

#[test]
fn loom_two_shared_producers_deliver_all_frames_in_per_producer_order() {
    loom::model(|| {
        let (tx, mut rx) = queue(config(2, OverflowPolicy::Block)).unwrap();
        let tx = tx.into_shared();
        let handles: Vec<_> = (0..2u8)
            .map(|p| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for k in 0..2 {
                        assert!(tx.push(&frame(p, k)).unwrap().is_queued());
                    }
                })
            })
            .collect();
        drop(tx);
        let mut next = [0u8; 2];
        let mut last_seq = None;
        for _ in 0..4 {
            let f = rx.pop().unwrap();
            let (p, k) = (f.data[0], f.data[1]);
            assert_eq!(f.data, frame(p, k), "intact content");
            assert_eq!(k, next[p as usize], "producer {p} out of order");
            next[p as usize] += 1;
            assert!(
                last_seq.is_none_or(|l| f.info.seq > l),
                "sequence numbers increase"
            );
            last_seq = Some(f.info.seq);
        }
        // The last clone is gone once both threads finish: end of stream.
        assert_eq!(rx.pop(), Err(PopError));
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(next, [2, 2]);
    });
}

#[test]
fn loom_drop_oldest_evictions_racing_peeks_keep_frames_intact_and_books_balanced() {
    loom::model(|| {
        let (mut tx, mut rx) = queue(config(2, OverflowPolicy::DropOldest)).unwrap();
        // Frame k carries sequence number k whether it is queued or dropped.
        for k in 0..2u8 {
            assert_eq!(tx.push(&frame(0, k)), Ok(Pushed::Queued { seq: k as u64 }));
        }
        let producer = thread::spawn(move || {
            // The ring is full: each push evicts the oldest unread frame, or is dropped
            // itself if the consumer is reading.
            let mut results = Vec::new();
            for k in 2..4u8 {
                let r = tx.push(&frame(0, k)).unwrap();
                assert_eq!(r.seq(), k as u64);
                results.push(r);
            }
            results
        });
        let mut seen = Vec::new();
        for _ in 0..2 {
            if let Ok(view) = rx.try_peek() {
                let seq = view.info().seq;
                assert_eq!(
                    view.data(),
                    frame(0, seq as u8),
                    "frame {seq} overwritten while read"
                );
                thread::yield_now();
                assert_eq!(
                    view.data(),
                    frame(0, seq as u8),
                    "frame {seq} overwritten while read"
                );
                seen.push(seq);
            }
        }
        let results = producer.join().unwrap();
        while let Ok(f) = rx.try_pop() {
            assert_eq!(f.data, frame(0, f.info.seq as u8));
            seen.push(f.info.seq);
        }
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "seen out of order: {seen:?}"
        );
        let s = rx.stats();
        assert_eq!(s.frames_pushed, 4);
        assert_eq!(s.frames_popped, seen.len() as u64);
        assert_eq!(s.frames_queued, 0);
        assert_eq!(
            s.frames_pushed,
            s.frames_popped + s.frames_dropped_newest + s.frames_dropped_oldest
        );
        let newest = results.iter().filter(|r| !r.is_queued()).count() as u64;
        assert_eq!(s.frames_dropped_newest, newest);
        // Every sequence number is either seen or reported as a gap, never both.
        let mut accounted: Vec<u64> = seen.clone();
        for g in rx.take_gaps(u64::MAX) {
            accounted.extend(g.first_seq..g.first_seq + g.count);
        }
        accounted.sort_unstable();
        assert_eq!(accounted, [0, 1, 2, 3], "seen {seen:?}");
        assert!(s.level_bytes <= s.capacity_bytes);
    });
}

#[test]
fn loom_wait_below_low_wakes_when_the_consumer_drains() {
    loom::model(|| {
        // High water at two frames (a full ring), low water at none.
        let cfg = config(2, OverflowPolicy::Block).high_water(2 * SLOT).low_water(0);
        let (mut tx, mut rx) = queue(cfg).unwrap();
        for k in 0..2 {
            assert!(tx.push(&frame(0, k)).unwrap().is_queued());
        }
        assert!(tx.is_above_high_water());
        let waiter = thread::spawn(move || {
            let r = tx.wait_below_low(Wait::Forever, None);
            (r, tx.is_above_high_water())
        });
        for _ in 0..2 {
            rx.pop().unwrap();
        }
        assert_eq!(waiter.join().unwrap(), (Ok(()), false));
    });
}

/// The producer itself crosses high water and then waits for low water, while the
/// consumer drains concurrently — the usual "pause the source" loop. Deadlocks today:
/// the producer reads `free` (ring full), the consumer then drains both frames and skips
/// the water-mark update because "above" is not set yet, then the producer sets "above"
/// from its stale level — and nobody ever clears it.
#[test]
fn loom_a_producer_waiting_below_low_after_its_own_pushes_is_woken() {
    loom::model(|| {
        let cfg = config(2, OverflowPolicy::Block).high_water(2 * SLOT).low_water(0);
        let (mut tx, mut rx) = queue(cfg).unwrap();
        let producer = thread::spawn(move || {
            for k in 0..2 {
                assert!(tx.push(&frame(0, k)).unwrap().is_queued());
            }
            tx.wait_below_low(Wait::Forever, None)
        });
        for _ in 0..2 {
            rx.pop().unwrap();
        }
        assert_eq!(producer.join().unwrap(), Ok(()));
        assert!(!rx.is_above_high_water(), "the ring is empty");
    });
}

/// A producer blocked for room while the queue is above high water: the consumer's
/// releases must both wake it (space) and bring the marks down (the release slow path
/// taken only when someone waits or the queue is above). Checks the peak level too.
#[test]
fn loom_a_producer_blocked_above_high_water_is_woken_and_the_marks_fall() {
    loom::model(|| {
        let cfg = config(2, OverflowPolicy::Block).high_water(2 * SLOT).low_water(0);
        let (mut tx, mut rx) = queue(cfg).unwrap();
        let producer = thread::spawn(move || {
            for k in 0..3 {
                // The third push finds the ring full (and above high water) and waits.
                assert_eq!(tx.push(&frame(0, k)), Ok(Pushed::Queued { seq: k as u64 }));
            }
        });
        for k in 0..3u8 {
            let f = rx.pop().unwrap();
            assert_eq!((f.info.seq, f.data), (k as u64, frame(0, k).to_vec()));
        }
        assert_eq!(rx.pop(), Err(PopError));
        producer.join().unwrap();
        assert!(!rx.is_above_high_water(), "the ring is empty");
        let s = rx.stats();
        assert_eq!((s.frames_pushed, s.frames_popped, s.level_bytes), (3, 3, 0));
        // At least one frame was queued at some point and never more than two fit.
        assert!(
            s.peak_level_bytes >= SLOT as u64 && s.peak_level_bytes <= 2 * SLOT as u64,
            "peak {}",
            s.peak_level_bytes
        );
        // Every rise above high water was followed by the fall (the ring ends empty).
        assert_eq!(s.water_mark_transitions % 2, 0);
    });
}

/// A consumer that releases while a producer is between "no room" and registering as a
/// waiter: the release takes its fast path only if it cannot miss the registration.
/// Uses a reservation (the zero-copy path) for the blocked frame.
#[test]
fn loom_a_reservation_waiting_for_room_is_woken_by_a_release() {
    loom::model(|| {
        let (mut tx, mut rx) = queue(config(1, OverflowPolicy::Block)).unwrap();
        assert!(tx.push(&frame(0, 0)).unwrap().is_queued()); // full
        let producer = thread::spawn(move || {
            let mut r = tx.reserve(4).unwrap();
            r.copy_from_slice(&frame(0, 1));
            r.commit()
        });
        let first = rx.try_peek().map(|f| f.info().seq);
        assert_eq!(first, Ok(0)); // released when the view drops
        assert_eq!(producer.join().unwrap(), 1);
        assert_eq!(rx.pop().unwrap().data, frame(0, 1));
        assert_eq!(rx.pop(), Err(PopError));
    });
}
