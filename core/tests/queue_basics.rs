//! Push / reserve / commit / abort / pop / peek / batch on one thread.

use std::time::Duration;
use streamq::PushOptions;

use streamq::{CommitError, PushError, Pushed, QueueConfig, ReserveError, TryPopError, queue};

#[test]
fn push_then_pop_keeps_bytes_sequence_and_timestamps() {
    let (mut tx, mut rx) = queue(QueueConfig::new(1 << 16)).unwrap();
    assert_eq!(tx.push(b"abc").unwrap(), Pushed::Queued { seq: 0 });
    assert_eq!(
        tx.push_with(b"defg", &PushOptions::new().device_ts_ns(1234))
            .unwrap(),
        Pushed::Queued { seq: 1 }
    );
    let a = rx.pop().unwrap();
    assert_eq!(a.data, b"abc");
    assert_eq!(a.info.seq, 0);
    assert_eq!(
        a.info.device_ts_ns, a.info.host_ts_ns,
        "no device time given: host time used"
    );
    let b = rx.pop().unwrap();
    assert_eq!(
        (b.data.as_slice(), b.info.seq, b.info.device_ts_ns),
        (&b"defg"[..], 1, 1234)
    );
    assert!(b.info.host_ts_ns >= a.info.host_ts_ns);
    assert_eq!(rx.try_pop(), Err(TryPopError::Empty));
}

#[test]
fn zero_length_and_largest_frames_are_accepted() {
    let (mut tx, mut rx) = queue(QueueConfig::new(4096)).unwrap();
    let max = tx.max_frame_len();
    assert_eq!(max, 4096 - 32);
    tx.push(b"").unwrap().seq();
    let big = vec![7u8; max];
    tx.push(&[]).unwrap().seq();
    assert_eq!(rx.pop().unwrap().data.len(), 0);
    assert_eq!(rx.pop().unwrap().data.len(), 0);
    tx.push(&big).unwrap().seq();
    assert_eq!(rx.pop().unwrap().data, big);
}

#[test]
fn a_frame_that_can_never_fit_is_refused_with_its_size() {
    let (mut tx, _rx) = queue(QueueConfig::new(4096)).unwrap();
    let max = tx.max_frame_len();
    let err = tx.push(&vec![0u8; max + 1]).unwrap_err();
    assert_eq!(err, PushError::TooLarge { len: max + 1, max });
    assert!(err.to_string().contains("can never fit"));
    assert!(matches!(tx.reserve(1 << 30), Err(ReserveError::TooLarge { .. })));
}

#[test]
fn reserve_commit_writes_in_place() {
    let (mut tx, mut rx) = queue(QueueConfig::new(1 << 16)).unwrap();
    let mut r = tx.reserve(5).unwrap();
    assert_eq!(r.len(), 5);
    r.copy_from_slice(b"hello");
    assert_eq!(r.commit_at(99), 0);
    let f = rx.try_peek().unwrap();
    assert_eq!(f.data(), b"hello");
    assert_eq!(f.info().device_ts_ns, 99);
}

#[test]
fn abort_gives_space_back_without_using_a_sequence_number() {
    let (mut tx, mut rx) = queue(QueueConfig::new(4096)).unwrap();
    for _ in 0..100 {
        let mut r = tx.reserve(2000).unwrap();
        r[0] = 1;
        r.abort();
    }
    {
        let _r = tx.reserve(10).unwrap(); // going out of scope is an abort too
    }
    assert_eq!(tx.push(b"x").unwrap(), Pushed::Queued { seq: 0 });
    assert_eq!(rx.pop().unwrap().info.seq, 0);
    assert_eq!(rx.stats().frames_pushed, 1);
}

#[test]
fn commit_len_publishes_a_prefix_and_refuses_more_than_reserved() {
    let (mut tx, mut rx) = queue(QueueConfig::new(1 << 16)).unwrap();
    let mut r = tx.reserve(100).unwrap();
    r[..3].copy_from_slice(b"abc");
    r.commit_len(3, None).unwrap();
    assert_eq!(rx.pop().unwrap().data, b"abc");
    let r = tx.reserve(10).unwrap();
    assert_eq!(
        r.commit_len(11, None),
        Err(CommitError::TooLong {
            len: 11,
            reserved: 10
        })
    );
}

#[test]
fn frames_crossing_the_end_of_the_ring_stay_contiguous() {
    let (mut tx, mut rx) = queue(QueueConfig::new(4096)).unwrap();
    // Sizes chosen so slots land across the wrap point many times.
    for i in 0..2000u32 {
        let len = (i as usize * 37) % 1500;
        let data: Vec<u8> = (0..len).map(|j| (j as u32 ^ i) as u8).collect();
        tx.push(&data).unwrap().seq();
        let f = rx.try_peek().unwrap();
        assert_eq!(f.data(), &data[..], "frame {i}");
    }
}

#[test]
fn batches_respect_frame_and_byte_limits() {
    let (mut tx, mut rx) = queue(QueueConfig::new(1 << 16)).unwrap();
    for i in 0..10u8 {
        tx.push(&[i; 100]).unwrap().seq();
    }
    let b = rx.pop_batch(3, usize::MAX).unwrap();
    assert_eq!(b.iter().map(|f| f.info.seq).collect::<Vec<_>>(), [0, 1, 2]);
    let b = rx.pop_batch(100, 250).unwrap();
    assert_eq!(b.len(), 2, "250 bytes hold two 100-byte frames");
    let b = rx.pop_batch(100, 10).unwrap();
    assert_eq!(b.len(), 1, "the first frame is always taken");
    {
        let batch = rx.try_peek_batch(100, usize::MAX).unwrap();
        assert_eq!(batch.len(), 4);
        assert_eq!(batch.payload_bytes(), 400);
        let seqs: Vec<u64> = batch.iter().map(|(i, _)| i.seq).collect();
        assert_eq!(seqs, [6, 7, 8, 9]);
    }
    assert_eq!(rx.try_peek_batch(1, 1).err(), Some(TryPopError::Empty));
    assert_eq!(rx.stats().frames_popped, 10);
}

#[test]
fn pop_timeout_times_out_on_an_empty_queue() {
    let (_tx, mut rx) = queue(QueueConfig::new(4096)).unwrap();
    assert_eq!(
        rx.pop_timeout(Duration::from_millis(20)),
        Err(streamq::PopTimeoutError::Timeout)
    );
}

#[test]
fn producer_drop_ends_the_stream_after_the_queued_frames() {
    let (mut tx, mut rx) = queue(QueueConfig::new(4096)).unwrap();
    tx.push(b"a").unwrap().seq();
    tx.push(b"b").unwrap().seq();
    drop(tx);
    let got: Vec<Vec<u8>> = rx.by_ref().map(|f| f.data).collect();
    assert_eq!(got, [b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(rx.try_pop(), Err(TryPopError::Disconnected));
    assert!(rx.is_finished());
}

#[test]
fn producer_close_is_seen_by_blocked_consumer() {
    let (mut tx, mut rx) = queue(QueueConfig::new(4096)).unwrap();
    let t = std::thread::spawn(move || rx.pop());
    tx.close();
    assert_eq!(t.join().unwrap(), Err(streamq::PopError));
    assert_eq!(tx.push(b"late"), Err(PushError::Closed));
}

#[test]
fn invalid_configurations_are_refused_with_a_reason() {
    let e = queue(QueueConfig::new(0)).err().unwrap();
    assert!(e.to_string().contains("capacity"));
    let e = queue(QueueConfig::new(4096).high_water(100).low_water(200))
        .err()
        .unwrap();
    assert!(e.to_string().contains("low water"));
    let e = queue(QueueConfig::new(4096).high_water(1 << 20)).err().unwrap();
    assert!(e.to_string().contains("high water"));
    assert!(queue(QueueConfig::new(4096).max_frames(0)).is_err());
}

#[test]
fn capacity_is_rounded_up_to_whole_pages() {
    let c = QueueConfig::new(1000);
    assert_eq!(c.effective_capacity(), 4096);
    let (_tx, rx) = queue(c).unwrap();
    assert_eq!(rx.stats().capacity_bytes, 4096);
}
