//! F4: limits are in bytes, not objects; a 4-byte frame costs its real footprint, and a
//! frame-count cap can be added on top.

use streamq::{OverflowPolicy, QueueConfig, queue};

#[test]
fn f4_capacity_counts_bytes_including_headers() {
    let (mut tx, rx) = queue(QueueConfig::new(4096).policy(OverflowPolicy::FailFast)).unwrap();
    // A 4-byte frame takes a 32-byte header + 8 aligned bytes = 40 ring bytes.
    let mut n = 0;
    while tx.try_push(&[1, 2, 3, 4]).is_ok() {
        n += 1;
    }
    assert_eq!(n, 4096 / 40);
    assert_eq!(rx.stats().level_bytes, (4096 / 40) * 40);
    // Large frames: the same budget holds far fewer of them.
    let (mut tx, _rx) = queue(QueueConfig::new(64 * 1024).policy(OverflowPolicy::FailFast)).unwrap();
    let mut big = 0;
    while tx.try_push(&[0u8; 16 * 1024]).is_ok() {
        big += 1;
    }
    assert_eq!(
        big, 3,
        "three 16 KiB frames plus headers fit in 64 KiB, four do not"
    );
}

#[test]
fn f4_water_marks_are_in_bytes() {
    let (mut tx, rx) = queue(QueueConfig::new(64 * 1024).high_water(10_000).low_water(1_000)).unwrap();
    for _ in 0..9 {
        tx.push(&[0u8; 1000]).unwrap().seq();
    }
    assert!(!rx.is_above_high_water(), "9 × 1032 bytes < 10 000");
    tx.push(&[0u8; 1000]).unwrap().seq();
    assert!(rx.is_above_high_water(), "10 × 1032 bytes ≥ 10 000");
}

#[test]
fn f4_an_optional_frame_count_cap_applies_as_well() {
    let (mut tx, mut rx) = queue(
        QueueConfig::new(1 << 20)
            .max_frames(10)
            .policy(OverflowPolicy::FailFast),
    )
    .unwrap();
    let mut n = 0;
    while tx.try_push(&[0u8; 4]).is_ok() {
        n += 1;
    }
    assert_eq!(n, 10);
    rx.pop().unwrap();
    assert!(tx.try_push(&[0u8; 4]).is_ok());
}
