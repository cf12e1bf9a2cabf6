//! Each overflow policy: Block, FailFast, DropNewest, DropOldest — drops counted by
//! reason, gap records match, nothing lost silently.

use std::time::{Duration, Instant};
use streamq::{PushOptions, Wait};

use streamq::{DropReason, OverflowPolicy, PushError, Pushed, QueueConfig, ReserveError, queue};

fn filled(policy: OverflowPolicy) -> (streamq::Producer, streamq::Consumer, u64) {
    let (mut tx, rx) = queue(QueueConfig::new(4096).policy(policy)).unwrap();
    // 400-byte frames take 432 ring bytes: fill exactly to the brim, whatever the policy.
    let mut n = 0;
    while rx.stats().level_bytes + 432 <= 4096 {
        assert!(tx.try_push(&[n as u8; 400]).unwrap().is_queued());
        n += 1;
    }
    (tx, rx, n)
}

#[test]
fn fail_fast_returns_would_block_and_keeps_queued_frames() {
    let (mut tx, mut rx, n) = filled(OverflowPolicy::FailFast);
    assert_eq!(tx.push(&[0u8; 400]), Err(PushError::WouldBlock));
    assert!(matches!(tx.reserve(400), Err(ReserveError::WouldBlock)));
    let s = rx.stats();
    assert_eq!(s.frames_dropped(), 0);
    assert!(s.pushes_refused >= 2);
    let got: Vec<u64> = std::iter::from_fn(|| rx.try_pop().ok())
        .map(|f| f.info.seq)
        .collect();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
}

#[test]
fn block_times_out_then_succeeds_once_the_consumer_frees_room() {
    let (mut tx, mut rx, _) = filled(OverflowPolicy::Block);
    let t0 = Instant::now();
    assert_eq!(
        tx.push_with(
            &[0u8; 400],
            &PushOptions::new().wait(Wait::Timeout(Duration::from_millis(30)))
        ),
        Err(PushError::Timeout)
    );
    assert!(t0.elapsed() >= Duration::from_millis(30));
    let t = std::thread::spawn(move || {
        let r = tx.push(&[9u8; 400]); // waits for room, no timeout
        (r, tx.stats())
    });
    while rx.stats().waiting_producers == 0 {
        std::thread::yield_now();
    }
    rx.pop().unwrap();
    let (r, stats) = t.join().unwrap();
    assert!(matches!(r, Ok(Pushed::Queued { .. })));
    assert!(stats.blocked_ns > 0);
    assert_eq!(stats.frames_dropped(), 0);
}

#[test]
fn block_with_a_configured_timeout_applies_it_to_push() {
    let (mut tx, _rx) = queue(QueueConfig::new(4096).block_timeout(Some(Duration::from_millis(10)))).unwrap();
    while tx.try_push(&[0u8; 1000]).is_ok() {}
    assert_eq!(tx.push(&[0u8; 1000]), Err(PushError::Timeout));
    assert!(matches!(tx.reserve(1000), Err(ReserveError::Timeout)));
}

#[test]
fn drop_newest_refuses_new_frames_and_records_their_sequence_as_a_gap() {
    let (mut tx, mut rx, n) = filled(OverflowPolicy::DropNewest);
    for k in 0..3 {
        assert_eq!(tx.push(&[0u8; 400]), Ok(Pushed::Dropped { seq: n + k }));
    }
    assert!(matches!(tx.reserve(400), Err(ReserveError::Dropped { seq }) if seq == n + 3));
    rx.pop().unwrap();
    assert_eq!(tx.push(b"after").unwrap(), Pushed::Queued { seq: n + 4 });
    let s = rx.stats();
    assert_eq!(s.frames_dropped_newest, 4);
    assert_eq!(s.frames_dropped_oldest, 0);
    let frames: Vec<u64> = std::iter::from_fn(|| rx.try_pop().ok())
        .map(|f| f.info.seq)
        .collect();
    assert_eq!(*frames.last().unwrap(), n + 4);
    let gaps = rx.take_gaps(u64::MAX);
    assert_eq!(gaps.len(), 1);
    assert_eq!(
        (gaps[0].first_seq, gaps[0].count, gaps[0].reason),
        (n, 4, DropReason::Newest)
    );
}

#[test]
fn drop_oldest_evicts_unread_frames_and_keeps_the_newest() {
    let (mut tx, mut rx, n) = filled(OverflowPolicy::DropOldest);
    for _ in 0..3 {
        assert!(tx.push(&[0xAB; 400]).unwrap().is_queued());
    }
    let s = rx.stats();
    assert_eq!(s.frames_dropped_oldest, 3);
    let seqs: Vec<u64> = std::iter::from_fn(|| rx.try_pop().ok())
        .map(|f| f.info.seq)
        .collect();
    assert_eq!(
        seqs,
        (3..n + 3).collect::<Vec<_>>(),
        "the three oldest were evicted"
    );
    let gaps = rx.take_gaps(u64::MAX);
    assert_eq!(gaps.len(), 1);
    assert_eq!(
        (gaps[0].first_seq, gaps[0].count, gaps[0].reason),
        (0, 3, DropReason::Oldest)
    );
    let s = rx.stats();
    assert_eq!(
        s.frames_pushed,
        s.frames_popped + s.frames_dropped() + s.frames_queued
    );
}

#[test]
fn drop_oldest_never_evicts_a_frame_the_consumer_is_reading() {
    let (mut tx, mut rx, _) = filled(OverflowPolicy::DropOldest);
    let peeked = rx.try_peek().unwrap();
    let seq = peeked.info().seq;
    let before = peeked.data().to_vec();
    // The consumer holds the oldest frame, so its space cannot be reused: the new frame
    // is dropped (counted as newest), and the frame being read stays intact.
    let r = tx.push(&[0xFF; 400]).unwrap();
    assert!(matches!(r, Pushed::Dropped { .. }));
    assert_eq!(peeked.data(), &before[..]);
    assert_eq!(peeked.info().seq, seq);
    drop(peeked);
    assert!(tx.push(&[0xEE; 400]).unwrap().is_queued());
    let s = rx.stats();
    assert_eq!(s.frames_dropped_newest, 1);
    assert_eq!(
        s.frames_pushed,
        s.frames_popped + s.frames_dropped() + s.frames_queued
    );
}

#[test]
fn gaps_are_reported_in_order_and_merged_per_run() {
    let (mut tx, mut rx) = queue(QueueConfig::new(4096).policy(OverflowPolicy::DropNewest)).unwrap();
    let mut expect = Vec::new();
    let mut seq = 0;
    for round in 0..5 {
        while tx.try_push(&[0u8; 900]).unwrap().is_queued() {
            seq += 1;
        }
        let first = seq;
        seq += 1;
        for _ in 0..round {
            assert!(!tx.push(&[0u8; 900]).unwrap().is_queued());
            seq += 1;
        }
        expect.push((first, round + 1));
        while rx.try_pop().is_ok() {}
    }
    let gaps: Vec<(u64, u64)> = rx
        .take_gaps(u64::MAX)
        .iter()
        .map(|g| (g.first_seq, g.count))
        .collect();
    assert_eq!(gaps, expect);
}

#[test]
fn a_shared_producer_under_fail_fast_never_waits() {
    let (tx, _rx) = queue(QueueConfig::new(4096).policy(OverflowPolicy::FailFast)).unwrap();
    let tx = tx.into_shared();
    while tx.try_push(&[0u8; 1000]).is_ok() {}
    // Each of these used to wait for room under FailFast.
    assert_eq!(tx.push(&[0u8; 1000]), Err(PushError::WouldBlock));
    assert_eq!(
        tx.push_with(&[0u8; 1000], &PushOptions::new().device_ts_ns(5)),
        Err(PushError::WouldBlock)
    );
    assert_eq!(
        tx.push_with(
            &[0u8; 1000],
            &PushOptions::new().wait(Wait::Timeout(Duration::from_secs(60)))
        ),
        Err(PushError::WouldBlock)
    );
    assert!(matches!(tx.reserve(1000), Err(ReserveError::WouldBlock)));
    assert!(matches!(tx.try_reserve(1000), Err(ReserveError::WouldBlock)));
}

#[test]
fn a_shared_producer_under_block_times_out_outside_its_lock() {
    let (tx, _rx) = queue(QueueConfig::new(4096)).unwrap();
    let tx = tx.into_shared();
    while tx.try_push(&[0u8; 1000]).is_ok() {}
    assert!(matches!(
        tx.reserve_with(
            1000,
            &PushOptions::new().wait(Wait::Timeout(Duration::from_millis(10)))
        ),
        Err(ReserveError::Timeout)
    ));
    assert_eq!(
        tx.push_with(
            &[0u8; 1000],
            &PushOptions::new()
                .device_ts_ns(1)
                .wait(Wait::Timeout(Duration::from_millis(10)))
        ),
        Err(PushError::Timeout)
    );
    assert_eq!(
        tx.push_with(
            &[0u8; 1000],
            &PushOptions::new().device_ts_ns(1).wait(Wait::Never)
        ),
        Err(PushError::WouldBlock)
    );
}
