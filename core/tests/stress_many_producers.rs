//! Stress: 4 producers × many frames of random sizes through a small ring. The consumer
//! checks every producer's own sequence and a content checksum: no loss, duplication or
//! reordering under Block; exact drop counts under the drop policies.
//!
//! Frame count per producer: 10^6 in release builds (`cargo test --release`, what
//! `make test` runs), 10^5 in debug builds to keep `cargo test` quick.

use std::collections::HashMap;

use streamq::{OverflowPolicy, QueueConfig, queue};

const PRODUCERS: u32 = 4;
const FRAMES: u32 = if cfg!(debug_assertions) {
    100_000
} else {
    1_000_000
};

/// Frame layout: producer id (4 bytes), per-producer index (4 bytes), payload whose
/// bytes derive from both, then a 4-byte checksum of everything before it.
fn make_frame(producer: u32, index: u32, buf: &mut Vec<u8>) {
    let mut x = (producer as u64) << 32 | index as u64;
    x ^= x >> 17;
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let len = 12 + (x % 700) as usize;
    buf.clear();
    buf.extend_from_slice(&producer.to_le_bytes());
    buf.extend_from_slice(&index.to_le_bytes());
    for i in 0..len - 12 {
        buf.push((x >> (i % 56)) as u8 ^ i as u8);
    }
    let sum = crc32c::crc32c(buf);
    buf.extend_from_slice(&sum.to_le_bytes());
}

fn check_frame(data: &[u8]) -> (u32, u32) {
    assert!(data.len() >= 12, "short frame");
    let (body, sum) = data.split_at(data.len() - 4);
    assert_eq!(
        crc32c::crc32c(body),
        u32::from_le_bytes(sum.try_into().unwrap()),
        "corrupt frame"
    );
    (
        u32::from_le_bytes(data[0..4].try_into().unwrap()),
        u32::from_le_bytes(data[4..8].try_into().unwrap()),
    )
}

fn run(policy: OverflowPolicy) -> (streamq::QueueStats, HashMap<u32, Vec<u32>>, u64) {
    let (tx, mut rx) = queue(QueueConfig::new(64 * 1024).policy(policy)).unwrap();
    let tx = tx.into_shared();
    let handles: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut dropped = 0u64;
                for i in 0..FRAMES {
                    make_frame(p, i, &mut buf);
                    if !tx.push(&buf).unwrap().is_queued() {
                        dropped += 1;
                    }
                }
                dropped
            })
        })
        .collect();
    drop(tx);
    let mut seen: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut last_seq = None;
    while let Ok(batch) = rx.peek_batch_timeout(64, 1 << 20, None) {
        for (info, data) in batch.iter() {
            if let Some(prev) = last_seq {
                assert!(info.seq > prev, "global sequence goes forward");
            }
            last_seq = Some(info.seq);
            let (p, i) = check_frame(data);
            seen.entry(p).or_default().push(i);
        }
    }
    let refused_by_producers: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    (rx.stats(), seen, refused_by_producers)
}

#[test]
fn stress_block_policy_loses_duplicates_and_reorders_nothing() {
    let (stats, seen, dropped) = run(OverflowPolicy::Block);
    assert_eq!(dropped, 0);
    assert_eq!(stats.frames_dropped(), 0);
    for p in 0..PRODUCERS {
        let got = &seen[&p];
        assert_eq!(got.len(), FRAMES as usize, "producer {p}");
        assert!(
            got.iter().enumerate().all(|(k, &i)| k as u32 == i),
            "producer {p} in order, no dup"
        );
    }
    assert_eq!(stats.frames_popped, (PRODUCERS * FRAMES) as u64);
}

fn check_drops(policy: OverflowPolicy) {
    let (stats, seen, dropped_newest_seen_by_producers) = run(policy);
    let delivered: u64 = seen.values().map(|v| v.len() as u64).sum();
    assert_eq!(
        delivered + stats.frames_dropped(),
        (PRODUCERS * FRAMES) as u64,
        "{stats:?}"
    );
    assert_eq!(stats.frames_dropped_newest, dropped_newest_seen_by_producers);
    for (p, got) in &seen {
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "producer {p}: increasing, no duplicates"
        );
    }
}

#[test]
fn stress_drop_newest_counts_every_drop_exactly() {
    check_drops(OverflowPolicy::DropNewest);
}

#[test]
fn stress_drop_oldest_counts_every_drop_exactly() {
    check_drops(OverflowPolicy::DropOldest);
}
