//! F2: memory can never grow past the configured byte budget, whatever the policy and
//! whatever the caller does with "full".

use streamq::{OverflowPolicy, PushError, QueueConfig, queue};

const CAP: usize = 64 * 1024;

fn hammer(policy: OverflowPolicy) -> streamq::QueueStats {
    let (mut tx, rx) = queue(QueueConfig::new(CAP).policy(policy)).unwrap();
    // Nobody consumes; the producer keeps pushing and ignores every "full".
    for i in 0..3_000usize {
        let len = (i * 131) % 3000;
        match tx.try_push(&vec![1u8; len]) {
            Ok(_) | Err(PushError::WouldBlock) => {}
            Err(e) => panic!("unexpected {e}"),
        }
        assert!(rx.stats().level_bytes <= CAP as u64);
    }
    rx.stats()
}

#[test]
fn f2_level_never_exceeds_the_budget_under_any_policy() {
    for policy in [
        OverflowPolicy::Block,
        OverflowPolicy::FailFast,
        OverflowPolicy::DropNewest,
        OverflowPolicy::DropOldest,
    ] {
        let s = hammer(policy);
        assert!(
            s.peak_level_bytes <= CAP as u64,
            "{policy:?}: peak {}",
            s.peak_level_bytes
        );
        assert!(
            s.peak_level_bytes > CAP as u64 / 2,
            "{policy:?}: the ring was really filled"
        );
        // Every frame is accounted for: queued or counted as dropped, or refused back to
        // the caller.
        assert_eq!(
            s.frames_pushed,
            s.frames_popped + s.frames_dropped() + s.frames_queued,
            "{policy:?}: {s:?}"
        );
        match policy {
            OverflowPolicy::Block | OverflowPolicy::FailFast => assert!(s.pushes_refused > 0),
            OverflowPolicy::DropNewest => assert!(s.frames_dropped_newest > 0),
            OverflowPolicy::DropOldest => assert!(s.frames_dropped_oldest > 0),
        }
    }
}

#[test]
fn f2_the_process_does_not_grow_while_a_full_queue_is_pushed_forever() {
    // RSS check: pushing 2 GiB of frames into a 1 MiB queue nobody drains leaves the
    // process's resident memory where it was.
    fn rss_kib() -> u64 {
        let s = std::fs::read_to_string("/proc/self/status").unwrap();
        s.lines()
            .find(|l| l.starts_with("VmRSS:"))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    }
    let (mut tx, _rx) = queue(QueueConfig::new(1 << 20).policy(OverflowPolicy::DropOldest)).unwrap();
    let frame = vec![3u8; 64 * 1024];
    for _ in 0..1000 {
        tx.push(&frame).unwrap().seq();
    }
    let before = rss_kib();
    for _ in 0..32_000 {
        tx.push(&frame).unwrap().seq();
    }
    let after = rss_kib();
    assert!(
        after < before + 8 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
}
