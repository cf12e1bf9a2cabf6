//! Bench peer: the Rust recorder people write without streamq.
//!
//! Setup, and why it is the idiomatic one:
//! - The capture thread hands each frame to a writer thread through
//!   `crossbeam_channel::bounded(cap)`: the standard bounded MPMC channel of the Rust
//!   ecosystem. `send` blocks when the channel is full, which is the back-pressure a user
//!   wants instead of unbounded memory.
//! - A camera SDK lends the frame (`&[u8]` in a callback) and reuses its buffer, so the
//!   frame is copied into an owned `Vec<u8>` (`to_vec()`) before it is sent: one allocation
//!   and one memcpy per frame, the same copy streamq's `push` makes into its ring.
//! - `cap` is in frames (channels count items, not bytes): by default the number of frames
//!   that fit streamq's default ring budget (256 MiB), capped at 65536, so both hold about
//!   the same bytes in flight. `--queue-frames N` overrides it.
//! - The writer thread writes through `BufWriter::new(File)`: its default 8 KiB buffer
//!   coalesces small frames, and a write larger than the buffer bypasses it, so 900 KiB
//!   frames go straight to `write(2)`. Buffered (page cache) I/O, as std does.
//! - The run ends durably like `streamq record` does: `flush()` then `sync_all()` (fsync)
//!   before the clock stops.
//!
//! Usage (the common peer CLI; the last stdout line is one JSON object):
//!   peer-crossbeam-bufwriter --pool frames.bin --frame-size BYTES --frames N --fps F
//!       --out PATH [--latencies-out FILE] [--queue-frames N]
//!   peer-crossbeam-bufwriter --memcpy [--frame-size BYTES]
//!
//! `--memcpy` measures the machine's memory-copy limits for the bench: bandwidth of one
//! large copy (256 MiB to 256 MiB, best of 5) and the time of one frame's copy from an
//! 8-frame pool into a 256 MiB ring at rolling offsets (what a ring push copies), back to
//! back and paced at 30 fps (cold caches, as a camera's pushes are).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const RING_BUDGET: usize = 256 << 20;

struct Args {
    pool: Option<PathBuf>,
    frame_size: usize,
    frames: u64,
    fps: f64,
    out: Option<PathBuf>,
    latencies_out: Option<PathBuf>,
    queue_frames: Option<usize>,
    memcpy: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        pool: None,
        frame_size: 921_600,
        frames: 0,
        fps: 0.0,
        out: None,
        latencies_out: None,
        queue_frames: None,
        memcpy: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--memcpy" {
            a.memcpy = true;
            continue;
        }
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--pool" => a.pool = Some(v.into()),
            "--frame-size" => a.frame_size = num(&v)? as usize,
            "--frames" => a.frames = num(&v)? as u64,
            "--fps" => a.fps = num(&v)?,
            "--out" => a.out = Some(v.into()),
            "--latencies-out" => a.latencies_out = Some(v.into()),
            "--queue-frames" => a.queue_frames = Some(num(&v)? as usize),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if a.frame_size == 0 {
        return Err("--frame-size must be positive".into());
    }
    Ok(a)
}

/// Nearest-rank percentile of sorted values.
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

fn memcpy_probe(frame_size: usize) -> String {
    // Bandwidth: one large copy, both buffers touched first (no page faults timed).
    let big = RING_BUDGET;
    let src = vec![0x5au8; big];
    let mut dst = vec![0u8; big];
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        dst.copy_from_slice(std::hint::black_box(&src));
        std::hint::black_box(&mut dst);
        best = best.min(t.elapsed().as_secs_f64());
    }
    let bandwidth = big as f64 / 1e6 / best;
    // One frame: pool frame k % 8 into a 256 MiB ring at rolling offsets.
    let pool: Vec<Vec<u8>> = (0..8u8).map(|k| vec![k; frame_size]).collect();
    let slots = (big / frame_size).max(1);
    let mut ns = Vec::new();
    let iters = (4 * slots).clamp(1000, 20_000);
    for n in 0..iters {
        let off = (n % slots) * frame_size;
        let t = Instant::now();
        dst[off..off + frame_size].copy_from_slice(std::hint::black_box(&pool[n % 8]));
        std::hint::black_box(&mut dst);
        ns.push(t.elapsed().as_nanos() as f64);
    }
    ns.sort_by(f64::total_cmp);
    // The same copy paced like a camera (one per 33 ms, caches and TLB cold in between):
    // what one push costs at 30 fps. 300 copies (10 s), so its p99.9 means something.
    let mut paced = Vec::new();
    let start = Instant::now();
    for n in 0..300usize {
        let due = start + Duration::from_nanos(n as u64 * 1_000_000_000 / 30);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait); // the camera's pacing, not synchronisation
        }
        let off = ((n * 7) % slots) * frame_size;
        let t = Instant::now();
        dst[off..off + frame_size].copy_from_slice(std::hint::black_box(&pool[n % 8]));
        std::hint::black_box(&mut dst);
        paced.push(t.elapsed().as_nanos() as f64);
    }
    paced.sort_by(f64::total_cmp);
    format!(
        "{{\"memcpy_mb_s\": {:.1}, \"frame_bytes\": {}, \"frame_copies\": {}, \
         \"frame_copy_us\": {{\"p50\": {}, \"p99\": {}, \"min\": {}, \"mean\": {}}}, \
         \"frame_copy_paced_30fps_us\": {{\"copies\": {}, \"p50\": {}, \"p99\": {}, \"p999\": {}, \"max\": {}}}}}",
        bandwidth,
        frame_size,
        ns.len(),
        round3(pct(&ns, 0.5) / 1e3),
        round3(pct(&ns, 0.99) / 1e3),
        round3(ns[0] / 1e3),
        round3(ns.iter().sum::<f64>() / ns.len() as f64 / 1e3),
        paced.len(),
        round3(pct(&paced, 0.5) / 1e3),
        round3(pct(&paced, 0.99) / 1e3),
        round3(pct(&paced, 0.999) / 1e3),
        round3(paced.last().copied().unwrap_or(0.0) / 1e3),
    )
}

fn load_pool(path: &PathBuf, frame_size: usize) -> Result<Vec<Vec<u8>>, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let pool: Vec<Vec<u8>> = data.chunks_exact(frame_size).map(<[u8]>::to_vec).collect();
    if pool.is_empty() {
        return Err(format!("{}: shorter than one frame", path.display()));
    }
    Ok(pool)
}

fn run(a: &Args) -> Result<String, String> {
    let pool = load_pool(a.pool.as_ref().ok_or("--pool is required")?, a.frame_size)?;
    let out = a.out.as_ref().ok_or("--out is required")?;
    let cap = a
        .queue_frames
        .unwrap_or((RING_BUDGET / a.frame_size).clamp(1, 65_536));
    let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(cap);
    let file = File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;

    let start = Instant::now();
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut w = BufWriter::new(file);
        for frame in rx {
            w.write_all(&frame)?;
        }
        w.flush()?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    });

    let mut lat = Vec::with_capacity(a.frames as usize);
    let mut late = 0u64;
    let period = if a.fps > 0.0 { 1.0 / a.fps } else { 0.0 };
    for n in 0..a.frames {
        let frame: &[u8] = &pool[(n % pool.len() as u64) as usize];
        if period > 0.0 {
            let due = start + Duration::from_secs_f64(n as f64 * period);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let t0 = Instant::now();
        if tx.send(frame.to_vec()).is_err() {
            break; // the writer thread died: its error is reported below
        }
        let t1 = Instant::now();
        lat.push((t1 - t0).as_nanos() as f64);
        if period > 0.0 && t1 > start + Duration::from_secs_f64((n + 1) as f64 * period) {
            late += 1;
        }
    }
    drop(tx);
    writer
        .join()
        .map_err(|_| "writer thread panicked".to_string())?
        .map_err(|e| format!("{}: {e}", out.display()))?;
    let seconds = start.elapsed().as_secs_f64();

    if let Some(p) = &a.latencies_out {
        let bytes: Vec<u8> = lat.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let frames = lat.len() as u64;
    let bytes = frames * a.frame_size as u64;
    lat.sort_by(f64::total_cmp);
    Ok(format!(
        "{{\"peer\": \"rust_crossbeam_bufwriter\", \"frames\": {frames}, \"bytes\": {bytes}, \
         \"seconds\": {}, \"mb_per_s\": {}, \"push_us\": {{\"p50\": {}, \"p99\": {}, \
         \"p999\": {}, \"max\": {}}}, \"late_frames\": {late}, \"drops\": 0, \
         \"queue_frames\": {cap}}}",
        round3(seconds),
        round3(bytes as f64 / 1e6 / seconds),
        round3(pct(&lat, 0.5) / 1e3),
        round3(pct(&lat, 0.99) / 1e3),
        round3(pct(&lat, 0.999) / 1e3),
        round3(lat.last().copied().unwrap_or(0.0) / 1e3),
    ))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("peer-crossbeam-bufwriter: {e}");
            return ExitCode::from(2);
        }
    };
    let res = if args.memcpy {
        Ok(memcpy_probe(args.frame_size))
    } else {
        run(&args)
    };
    match res {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("peer-crossbeam-bufwriter: {e}");
            ExitCode::FAILURE
        }
    }
}
