//! Quick probe: 900 KiB frames as fast as possible into one capture file.
//! `cargo run --release -p streamq --example writer_probe -- PATH GIB [direct|buffered]`
use std::time::Instant;

use streamq::{StreamConfig, Writer, WriterConfig};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .cloned()
        .unwrap_or("/work/main/target/probe.sqcap".into());
    let gib: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let direct = args.get(3).is_none_or(|s| s != "buffered");
    let frame = vec![7u8; 900 * 1024];
    let n = (gib * (1u64 << 30) as f64 / frame.len() as f64) as u64;
    let mw: usize = std::env::var("MW")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8 << 20);
    let writer = Writer::start(
        WriterConfig::capture_file(&path)
            .direct_io(direct)
            .max_write_bytes(mw),
    )
    .unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("depth", "x").capacity(256 << 20))
        .unwrap();
    let t0 = Instant::now();
    for _ in 0..n {
        p.push(&frame).unwrap().seq();
    }
    let st = p.stats();
    drop(p);
    let r = writer.close().unwrap();
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "direct={direct} frames={} {:.0} MB/s push p50={}us p99={}us p999={}us max={}us blocked={:.2}s",
        r.frames_written,
        r.bytes_written as f64 / 1e6 / secs,
        st.push_latency.p50 / 1000,
        st.push_latency.p99 / 1000,
        st.push_latency.p999 / 1000,
        st.push_latency.max / 1000,
        st.blocked_ns as f64 / 1e9
    );
    let _ = std::fs::remove_file(&path);
}
