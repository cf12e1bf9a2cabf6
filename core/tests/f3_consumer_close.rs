//! F3: closing the consumer side makes every producer call return Closed promptly and
//! wakes blocked producers.

use std::sync::{Arc, Barrier};

use streamq::{OverflowPolicy, PushError, QueueConfig, ReserveError, queue};

#[test]
fn f3_consumer_close_wakes_blocked_producers_and_refuses_later_pushes() {
    let (tx, mut rx) = queue(QueueConfig::new(4096).policy(OverflowPolicy::Block)).unwrap();
    let tx = tx.into_shared();
    // Fill the ring so every further push blocks.
    while tx.try_push(&[0u8; 500]).is_ok() {}
    let n = 4;
    let started = Arc::new(Barrier::new(n + 1));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let tx = tx.clone();
            let started = Arc::clone(&started);
            std::thread::spawn(move || {
                started.wait();
                tx.push(&[1u8; 500]) // blocks: the queue is full and has no timeout
            })
        })
        .collect();
    started.wait();
    // Close only once all four are really asleep waiting for room.
    while rx.stats().waiting_producers < n as u64 {
        std::thread::yield_now();
    }
    rx.close();
    for h in handles {
        assert_eq!(h.join().unwrap(), Err(PushError::Closed));
    }
    assert_eq!(tx.push(b"x"), Err(PushError::Closed));
    assert!(matches!(tx.reserve(1), Err(ReserveError::Closed)));
    assert!(tx.is_closed());
}

#[test]
fn f3_dropping_the_consumer_closes_it_and_counts_discarded_frames() {
    let (mut tx, rx) = queue(QueueConfig::new(1 << 16)).unwrap();
    for _ in 0..5 {
        tx.push(b"abc").unwrap().seq();
    }
    drop(rx);
    assert_eq!(tx.push(b"x"), Err(PushError::Closed));
    let s = tx.stats();
    assert_eq!(s.frames_discarded, 5);
    assert_eq!(
        s.frames_pushed,
        s.frames_popped + s.frames_dropped() + s.frames_discarded + s.frames_queued
    );
}

#[test]
fn f3_a_single_blocked_producer_wakes_on_close() {
    let (mut tx, mut rx) = queue(QueueConfig::new(4096)).unwrap();
    while tx.try_push(&[0u8; 1000]).is_ok() {}
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        ready_tx.send(()).unwrap();
        let r = tx.reserve(1000).map(|r| r.commit());
        (r, tx.stats().blocked_ns)
    });
    ready_rx.recv().unwrap();
    while rx.stats().waiting_producers == 0 {
        std::thread::yield_now();
    }
    rx.close();
    let (r, _) = t.join().unwrap();
    assert_eq!(r, Err(ReserveError::Closed));
}
