//! The Rust half of `make -C tests/c bench-c`: pushes 900 KiB frames through a 64 MiB
//! queue drained by a consumer thread (zero-copy batches), exactly as
//! `bench/c/bench_push.c` does through the C ABI, and prints `MBps <figure>`.
//!
//! `cargo run --release -p streamq-bench-programs --bin push_baseline -- [frames]`

use std::time::Instant;

use streamq::{OverflowPolicy, PopTimeoutError, QueueConfig};

const FRAME: usize = 900 << 10;

fn main() {
    let frames: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let (mut tx, mut rx) =
        streamq::queue(QueueConfig::new(64 << 20).policy(OverflowPolicy::Block)).expect("queue");
    let frame = vec![0x5au8; FRAME];
    let started = Instant::now();
    let consumer = std::thread::spawn(move || {
        let mut bytes = 0u64;
        loop {
            match rx.peek_batch_timeout(16, usize::MAX, None) {
                Ok(batch) => bytes += batch.payload_bytes(),
                Err(PopTimeoutError::Disconnected) => break bytes,
                Err(PopTimeoutError::Timeout) => continue,
                Err(e) => panic!("consumer: {e}"),
            }
        }
    });
    for _ in 0..frames {
        assert!(tx.push(&frame).expect("push").is_queued());
    }
    drop(tx);
    let bytes = consumer.join().expect("consumer");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(bytes, (frames * FRAME) as u64);
    println!("MBps {:.1}", bytes as f64 / 1e6 / secs);
}
