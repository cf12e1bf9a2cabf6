//! Not a peer: streamq's engine through its Rust API, fed from the same frame pool as the
//! peers, with the peers' CLI and JSON line (so every frame's push latency is recorded).
//!
//! Setup: exactly `streamq record`'s defaults — `Writer` on a capture file (O_DIRECT
//! coalesced writes, fsync on close), one stream `depth`, 256 MiB ring, block policy —
//! and frame n = pool[n % 8] pushed with `push_at` (a copy into the ring), paced like a
//! camera when `--fps` > 0. `seconds` runs from before the first push to the end of
//! `Writer::close` (everything written and fsynced).
//!
//!   streamq-engine-pool --pool frames.bin --frame-size BYTES --frames N --fps F --out PATH
//!       [--latencies-out FILE]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use streamq::{StreamConfig, Writer, WriterConfig};

fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn run() -> Result<String, Box<dyn std::error::Error>> {
    let (mut pool, mut frame_size, mut frames, mut fps, mut out, mut lat_out) = (
        None::<PathBuf>,
        921_600usize,
        0u64,
        0f64,
        None::<PathBuf>,
        None::<PathBuf>,
    );
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--pool" => pool = Some(v.into()),
            "--frame-size" => frame_size = v.parse()?,
            "--frames" => frames = v.parse()?,
            "--fps" => fps = v.parse()?,
            "--out" => out = Some(v.into()),
            "--latencies-out" => lat_out = Some(v.into()),
            _ => return Err(format!("unknown option {flag}").into()),
        }
    }
    let data = std::fs::read(pool.ok_or("--pool is required")?)?;
    let pool: Vec<&[u8]> = data.chunks_exact(frame_size.max(1)).collect();
    if pool.is_empty() {
        return Err("the pool is shorter than one frame".into());
    }
    let writer = Writer::start(WriterConfig::capture_file(out.ok_or("--out is required")?))?;
    let mut depth = writer.add_stream(StreamConfig::new("depth", "depth/u16").capacity(256 << 20))?;

    let period = if fps > 0.0 { 1.0 / fps } else { 0.0 };
    let mut lat = Vec::with_capacity(frames as usize);
    let mut late = 0u64;
    let start = Instant::now();
    for n in 0..frames {
        if period > 0.0 {
            let due = start + Duration::from_secs_f64(n as f64 * period);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let t0 = Instant::now();
        // Block policy: a push waits for room and is never dropped (drops are counted below).
        let _ = depth.push_at(
            pool[(n % pool.len() as u64) as usize],
            (t0 - start).as_nanos() as u64,
        )?;
        let t1 = Instant::now();
        lat.push((t1 - t0).as_nanos() as f64);
        if period > 0.0 && t1 > start + Duration::from_secs_f64((n + 1) as f64 * period) {
            late += 1;
        }
    }
    drop(depth);
    let report = writer.close().map_err(|e| e.error.to_string())?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(p) = lat_out {
        let bytes: Vec<u8> = lat.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(p, bytes)?;
    }
    lat.sort_by(f64::total_cmp);
    let bytes = report.bytes_written;
    Ok(format!(
        "{{\"peer\": \"streamq_engine_pool\", \"frames\": {}, \"bytes\": {bytes}, \"seconds\": {}, \
         \"mb_per_s\": {}, \"push_us\": {{\"p50\": {}, \"p99\": {}, \"p999\": {}, \"max\": {}}}, \
         \"late_frames\": {late}, \"drops\": {}}}",
        report.frames_written,
        round3(seconds),
        round3(bytes as f64 / 1e6 / seconds),
        round3(pct(&lat, 0.5) / 1e3),
        round3(pct(&lat, 0.99) / 1e3),
        round3(pct(&lat, 0.999) / 1e3),
        round3(lat.last().copied().unwrap_or(0.0) / 1e3),
        report.frames_dropped() + report.frames_failed,
    ))
}

fn main() -> ExitCode {
    match run() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("streamq-engine-pool: {e}");
            ExitCode::FAILURE
        }
    }
}
