//! The Rust side of `bench/python_bench.py`: writes N pre-generated 900 KiB frames to a
//! capture file as fast as it can, exactly as the Python benchmark does from Python
//! (one stream, 256 MiB ring, block policy, no compression, fsync on close), and prints
//! one JSON line with the writer report's figures.
//!
//! ```text
//! cargo run --release -p streamq-bench-programs --bin writer_baseline -- PATH FRAMES
//! ```

use std::time::Instant;
use streamq::PushOptions;

use streamq::{StreamConfig, Writer, WriterConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: writer_baseline PATH FRAMES")?;
    let frames: u64 = args.next().ok_or("usage: writer_baseline PATH FRAMES")?.parse()?;
    const FRAME: usize = 640 * 720 * 2;
    // Eight distinct frames, as the Python side cycles through eight numpy arrays.
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let pool: Vec<Vec<u8>> = (0..8)
        .map(|_| {
            (0..FRAME)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect()
        })
        .collect();
    let writer = Writer::start(WriterConfig::capture_file(&path))?;
    let mut depth = writer.add_stream(
        StreamConfig::new("depth", "depth/u16")
            .metadata("width", "640")
            .metadata("height", "720")
            .capacity(256 << 20),
    )?;
    let epoch = Instant::now();
    for i in 0..frames {
        let ts = epoch.elapsed().as_nanos() as u64;
        let _ = depth.push_with(&pool[(i % 8) as usize], &PushOptions::new().device_ts_ns(ts))?;
    }
    let stats = depth.stats();
    drop(depth);
    let report = writer.close()?;
    assert_eq!(report.frames_written, frames);
    println!(
        "{{\"mb_per_s\": {:.3}, \"frames\": {}, \"seconds\": {:.6}, \"bytes\": {}, \"push_p50_us\": {:.1}, \"push_p99_us\": {:.1}}}",
        report.mb_per_s(),
        report.frames_written,
        report.seconds,
        report.bytes_written,
        stats.push_latency.p50 as f64 / 1e3,
        stats.push_latency.p99 as f64 / 1e3
    );
    Ok(())
}
