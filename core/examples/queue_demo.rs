//! Pushes 300 depth-camera-sized frames (900 KiB each) from a producer thread to a
//! consumer thread through a 64 MiB `streamq` queue, as fast as possible, checks every
//! frame and prints the queue's statistics.
//!
//! ```text
//! cargo run --release -p streamq --example queue_demo
//! ```

use std::time::Instant;

use streamq::{OverflowPolicy, PopTimeoutError, QueueConfig, QueueStats, ReserveError};

const FRAMES: u64 = 300;
const FRAME_LEN: usize = 900 << 10;
const RING: usize = 64 << 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = QueueConfig::new(RING).policy(OverflowPolicy::Block);
    let (mut producer, mut consumer) = streamq::queue(config)?;

    let started = Instant::now();
    let producer_thread = std::thread::spawn(move || -> Result<QueueStats, ReserveError> {
        for seq in 0..FRAMES {
            // Zero-copy: fill the frame in place, like a camera SDK writing into our buffer.
            let mut slot = producer.reserve(FRAME_LEN)?;
            slot.fill(seq as u8);
            slot[..8].copy_from_slice(&seq.to_le_bytes());
            slot.commit();
        }
        let stats = producer.stats();
        drop(producer); // end of stream
        Ok(stats)
    });

    // Consumer: claim batches in place (zero copy) and release each when done with it.
    let mut frames = 0u64;
    let mut bytes = 0u64;
    loop {
        let batch = match consumer.peek_batch_timeout(16, usize::MAX, None) {
            Ok(batch) => batch,
            Err(PopTimeoutError::Disconnected) => break, // producer closed, all drained
            Err(PopTimeoutError::Timeout) => continue,
            Err(e) => return Err(e.into()),
        };
        for (info, data) in batch.iter() {
            let seq = u64::from_le_bytes(data[..8].try_into()?);
            assert_eq!(seq, frames, "frames arrive in order");
            assert_eq!(info.seq, frames, "sequence numbers are contiguous");
            assert_eq!(data.len(), FRAME_LEN);
            assert!(data[8..].iter().all(|&b| b == seq as u8), "frame {seq} is intact");
            bytes += data.len() as u64;
            frames += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let pstats = producer_thread.join().expect("producer thread panicked")?;
    let stats = consumer.stats();

    println!(
        "streamq queue demo: {FRAMES} frames of {} KiB through a {} MiB ring",
        FRAME_LEN >> 10,
        RING >> 20
    );
    println!(
        "  received         {frames} frames, {:.1} MiB, in order and intact",
        bytes as f64 / (1 << 20) as f64
    );
    println!(
        "  elapsed          {:.3} s ({:.0} MB/s, {:.0} frames/s)",
        secs,
        bytes as f64 / secs / 1e6,
        frames as f64 / secs
    );
    println!(
        "  pushed / popped  {} / {}",
        stats.frames_pushed, stats.frames_popped
    );
    println!(
        "  dropped          {} (newest {}, oldest {})",
        stats.frames_dropped(),
        stats.frames_dropped_newest,
        stats.frames_dropped_oldest
    );
    println!(
        "  peak level       {:.1} MiB of {} MiB",
        stats.peak_level_bytes as f64 / (1 << 20) as f64,
        stats.capacity_bytes >> 20
    );
    println!("  water marks      {} transitions", stats.water_mark_transitions);
    println!("  producer blocked {:.1} ms", stats.blocked_ns as f64 / 1e6);
    let l = pstats.push_latency;
    println!(
        "  push latency     p50 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, max {:.1} us ({} samples)",
        l.p50 as f64 / 1e3,
        l.p99 as f64 / 1e3,
        l.p999 as f64 / 1e3,
        l.max as f64 / 1e3,
        l.count
    );
    if frames != FRAMES {
        return Err(format!("expected {FRAMES} frames, received {frames}").into());
    }
    Ok(())
}
