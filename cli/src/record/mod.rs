//! `streamq record`: a synthetic Kinect-style sensor through the real engine.

use streamq::{PushOptions};
use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use streamq::writer::{Fault, FaultInjector};
use streamq::{
    FsyncPolicy, LatencySummary, OverflowPolicy, PushError, StreamConfig, StreamProducer, Writer,
    WriterConfig, WriterReport,
};
use streamq_cli::synthetic::{Generator, Kind, StreamSpec};
use streamq_cli::units::{has_time_unit, human_bytes, parse_duration, parse_size};

use crate::common::{CmdResult, EXIT_FAIL, EXIT_OK, Failure, round3};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rate {
    /// Pace frames to the wall clock, like a camera.
    Real,
    /// Push as fast as the engine accepts them.
    Max,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Wait for room in the stream's ring (nothing is lost).
    Block,
    /// Refuse the frame at once when the ring is full (the source discards it, counted).
    Fail,
    /// Drop the new frame when the ring is full (a GAP record in the file).
    DropNewest,
    /// Evict the oldest unwritten frames to make room (GAP records in the file).
    DropOldest,
}

impl From<Policy> for OverflowPolicy {
    fn from(p: Policy) -> OverflowPolicy {
        match p {
            Policy::Block => OverflowPolicy::Block,
            Policy::Fail => OverflowPolicy::FailFast,
            Policy::DropNewest => OverflowPolicy::DropNewest,
            Policy::DropOldest => OverflowPolicy::DropOldest,
        }
    }
}

/// `--compress`: the zstd level, if any.
#[derive(Clone, Copy, Debug)]
pub struct Compression(Option<i32>);

fn parse_compress(s: &str) -> Result<Compression, String> {
    match s {
        "none" | "off" => Ok(Compression(None)),
        "zstd" => Ok(Compression(Some(1))),
        _ => match s.strip_prefix("zstd:") {
            Some(l) => match l.parse::<i32>() {
                Ok(l) if (1..=22).contains(&l) => Ok(Compression(Some(l))),
                _ => Err(format!("zstd level must be 1..=22, got '{l}'")),
            },
            None => Err(format!(
                "unknown compression '{s}' (use none, zstd or zstd:LEVEL)"
            )),
        },
    }
}

fn parse_fsync(s: &str) -> Result<FsyncPolicy, String> {
    match s {
        "never" | "close" | "on-close" => Ok(FsyncPolicy::OnClose),
        "always" => Ok(FsyncPolicy::Always),
        _ if has_time_unit(s) => {
            let d = parse_duration(s)?;
            if d.is_zero() {
                return Err("fsync interval must be positive".into());
            }
            Ok(FsyncPolicy::Every(d))
        }
        _ => match parse_size(s)? {
            0 => Err("fsync byte interval must be positive".into()),
            n => Ok(FsyncPolicy::EveryBytes(n)),
        },
    }
}

/// `--streams`: the synthetic streams, in order.
#[derive(Clone, Debug)]
pub struct StreamList(Vec<Kind>);

fn parse_streams(s: &str) -> Result<StreamList, String> {
    let mut v = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let k = Kind::parse(part)?;
        if v.contains(&k) {
            return Err(format!("stream '{k}' given twice"));
        }
        v.push(k);
    }
    if v.is_empty() {
        return Err("no stream given".into());
    }
    Ok(StreamList(v))
}

fn parse_fps(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 1e6 => Ok(v),
        _ => Err(format!(
            "'{s}' is not a frame rate (a positive number up to 1000000)"
        )),
    }
}

#[derive(clap::Args, Debug)]
#[command(after_long_help = "\
Streams (--streams, comma-separated; each has its own producer thread, rate, ring and
sequence numbers, all in ONE capture):
  depth  --fps × --frame-size, 16-bit depth in mm (smooth surfaces + sensor noise)
  color  --fps × ≈1.3 × --frame-size, RGB8
  ir     --fps × --frame-size / 2, 16-bit intensity
  imu    1600 Hz × 32 bytes (accel, gyro, temperature, counter)
Frame n of each stream is derived from n alone and timestamped (push_at) with its due
time in ns from the start, so `streamq verify --check-synthetic` can regenerate and
compare every frame.

Sizes: 900KiB, 256MiB, 1GiB, 1.5MB, 4096. Durations: 10s, 500ms, 2m, 1h.
--fsync: never|close (sync on close only), always (after every write), a size such as
64MiB (after that many bytes), or a duration such as 20ms (at least that often).
--capacity is the ring budget of each stream (the IMU stream uses at most 16 MiB).

With --json, stdout gets one JSON object per line: {\"event\":\"progress\",...} at least
every --progress-interval (default 500ms) with frames_pushed, frames_written, durable_seq
(highest sequence number of stream 0 known to be on disk) …, and as the last line
{\"event\":\"summary\",...} with frames_pushed, frames_written, frames_dropped,
frames_refused, frames_failed, bytes_written, seconds (first frame to closed and synced),
mb_per_s, compression_ratio,
push_latency_us {p50,p99,p999,max} (worst stream), peak_queue_bytes (sum over streams),
error (null or text) and per-stream objects under \"streams\".

Ctrl-C stops the source early and closes the capture cleanly.
Exit status: 0 when the capture was written and closed (drops by policy are reported,
not errors), 1 when the writer failed (the file is valid up to its last complete
record), 2 on a usage error.")]
pub struct Args {
    /// Output capture file (with --segment-size: the base name of the segments).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Frames per second of the camera streams (depth, color, ir).
    #[arg(long, default_value = "30", value_parser = parse_fps)]
    pub fps: f64,
    /// Depth frame size; the other streams derive theirs from it.
    #[arg(long, default_value = "900KiB", value_parser = parse_size)]
    pub frame_size: u64,
    /// How long to record (frames = duration × rate).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Record exactly this many frames of the first stream instead (the duration is
    /// FRAMES / --fps; other streams keep their rates over that time).
    #[arg(long, value_name = "FRAMES", conflicts_with = "duration")]
    pub frames: Option<u64>,
    /// Cycle N frames generated before the start instead of synthesising each frame:
    /// for benchmarks, where the synthetic source must not be the bottleneck. Frame n
    /// then carries frame n % N's content (recorded in the stream metadata, so
    /// `verify --check-synthetic` still checks every byte).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub frame_pool: Option<u64>,
    /// Replay frames from FILE instead of synthesising them: consecutive --frame-size
    /// chunks (at most 4096, a trailing partial chunk ignored), cycled. One stream only;
    /// for recording your own sensor's bytes, or a benchmark's exact frames.
    #[arg(long, value_name = "FILE", conflicts_with = "frame_pool")]
    pub replay: Option<PathBuf>,
    /// With --segment-size/--segment-duration: keep only the newest K finished segments,
    /// deleting older ones as new ones finish (a rolling recording of bounded disk use).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep_segments: Option<u32>,
    /// Write the first stream's push latencies (ns, one per line, in frame order, as the
    /// source measured them around each push) to FILE.
    #[arg(long, value_name = "FILE")]
    pub latencies_out: Option<PathBuf>,
    /// Pace frames to the wall clock (real) or push as fast as possible (max).
    #[arg(long, value_enum, default_value_t = Rate::Real)]
    pub rate: Rate,
    /// Compression: none, zstd (level 1) or zstd:LEVEL (1–22).
    #[arg(long, default_value = "none", value_parser = parse_compress)]
    pub compress: Compression,
    /// What to do when a stream's ring is full.
    #[arg(long, value_enum, default_value_t = Policy::Block)]
    pub policy: Policy,
    /// Ring budget per stream.
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    pub capacity: u64,
    /// When to fsync: never|close, always, BYTES (e.g. 64MiB) or a duration (e.g. 20ms).
    #[arg(long, default_value = "close", value_parser = parse_fsync)]
    pub fsync: FsyncPolicy,
    /// Start a new segment file after this many bytes (PATH-000000.ext, PATH-000001.ext …).
    #[arg(long, value_parser = parse_size)]
    pub segment_size: Option<u64>,
    /// Start a new segment file after this long.
    #[arg(long, value_parser = parse_duration)]
    pub segment_duration: Option<Duration>,
    /// Compress every frame, also while the ring is above high water (by default frames
    /// are then stored raw, since the compressors are behind).
    #[arg(long)]
    pub always_compress: bool,
    /// zstd worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
    pub compress_workers: Option<u64>,
    /// O_DIRECT writes kept in flight while the next batch is prepared (0 = write
    /// synchronously from the writer thread).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=64))]
    pub writes_in_flight: u64,
    /// The most bytes the writer hands the disk in one write call (e.g. 4MiB; default
    /// 8MiB). O_DIRECT stages at most 2 MiB per write whatever this says.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_write_bytes: Option<u64>,
    /// Reserve disk space this far ahead of the end of the file (0 = off).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub preallocate: Option<u64>,
    /// Streams to record: depth, color, ir, imu (comma-separated).
    #[arg(long, default_value = "depth", value_parser = parse_streams)]
    pub streams: StreamList,
    /// JSON lines on stdout: progress events, then a summary as the last line.
    #[arg(long)]
    pub json: bool,
    /// Interval of --json progress lines.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    pub progress_interval: Duration,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Simulate a slow disk: hold each write as long as this many bytes per second
    /// allow (e.g. 10MB), to see back-pressure and drop policies at work.
    #[arg(long, value_name = "BYTES_PER_S", value_parser = parse_size)]
    pub throttle: Option<u64>,
}

/// `--throttle`: each write call takes at least `len / rate` seconds.
struct Throttle {
    bytes_per_s: f64,
}

impl FaultInjector for Throttle {
    fn before_write(&self, _offset: u64, len: usize) -> Fault {
        std::thread::sleep(Duration::from_secs_f64(len as f64 / self.bytes_per_s));
        Fault::None
    }
}

/// Set by SIGINT / SIGTERM: stop producing and close cleanly.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(sig: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    // A second signal terminates the usual way.
    // SAFETY: signal() is async-signal-safe; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
    }
}

fn install_signal_handlers() {
    let handler = on_signal as extern "C" fn(libc::c_int);
    // SAFETY: the handler only stores to an atomic and calls signal(), both
    // async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
    }
}

/// What one producer thread did.
#[derive(Default)]
struct SourceResult {
    /// Frames the source produced and offered to the engine.
    offered: u64,
    /// Offers refused (`fail` policy, ring full): the source discarded them.
    refused: u64,
    /// Why it stopped early.
    error: Option<String>,
    /// Push latencies in frame order (`--latencies-out`).
    latencies_ns: Vec<u64>,
}

struct Source {
    spec: StreamSpec,
    frames: u64,
    handle: JoinHandle<SourceResult>,
}

/// Where a source thread gets its frames.
enum FrameSource {
    /// Synthesise frame n when it is due.
    Generate(Generator),
    /// Cycle frames made before the start (`--frame-pool`).
    Pool(Vec<Vec<u8>>),
}

/// What one source thread is told to do.
struct SourcePlan {
    spec: StreamSpec,
    frames: FrameSource,
    count: u64,
    rate: Rate,
    start: Instant,
    /// Record each push's latency (`--latencies-out`).
    record_latencies: bool,
}

fn produce(mut producer: StreamProducer, plan: SourcePlan, stop: Arc<AtomicBool>) -> SourceResult {
    let mut r = SourceResult::default();
    let spec = &plan.spec;
    let mut buf = match &plan.frames {
        FrameSource::Generate(_) => vec![0u8; spec.frame_bytes],
        FrameSource::Pool(_) => Vec::new(),
    };
    if plan.record_latencies {
        r.latencies_ns = Vec::with_capacity(usize::try_from(plan.count).unwrap_or(0).min(1 << 26));
    }
    for n in 0..plan.count {
        if stop.load(Ordering::Relaxed) || INTERRUPTED.load(Ordering::Relaxed) {
            break;
        }
        let ts = spec.ts_of_index(n);
        let frame: &[u8] = match &plan.frames {
            FrameSource::Generate(g) => {
                g.fill(n, &mut buf);
                &buf
            }
            FrameSource::Pool(pool) => &pool[(n % pool.len() as u64) as usize],
        };
        if plan.rate == Rate::Real {
            let due = plan.start + Duration::from_nanos(ts);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        r.offered += 1;
        let t0 = plan.record_latencies.then(Instant::now);
        let pushed = producer.push_with(frame, &PushOptions::new().device_ts_ns(ts));
        if let Some(t0) = t0 {
            r.latencies_ns
                .push(u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX));
        }
        match pushed {
            Ok(_) => {}
            Err(PushError::WouldBlock | PushError::Timeout) => r.refused += 1,
            Err(PushError::Closed) => {
                r.offered -= 1;
                break;
            }
            Err(PushError::Failed) => {
                r.offered -= 1;
                r.error = Some("the writer failed".into());
                stop.store(true, Ordering::Relaxed);
                break;
            }
            Err(e) => {
                r.offered -= 1;
                r.error = Some(format!("stream {}: {e}", spec.kind));
                stop.store(true, Ordering::Relaxed);
                break;
            }
        }
    }
    producer.close();
    r
}

/// Writes one line to stdout; `false` once stdout is gone (the recording goes on).
fn emit(line: &Value) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|_| out.flush()).is_ok()
}

fn latency_us(l: &LatencySummary) -> Value {
    let us = |ns: u64| round3(ns as f64 / 1000.0);
    json!({
        "count": l.count,
        "p50": us(l.p50),
        "p90": us(l.p90),
        "p99": us(l.p99),
        "p999": us(l.p999),
        "max": us(l.max),
        "mean": us(l.mean),
    })
}

/// Per-percentile worst over several summaries (an upper bound for the whole run).
fn worst(ls: impl Iterator<Item = LatencySummary>) -> LatencySummary {
    ls.fold(LatencySummary::default(), |a, l| LatencySummary {
        count: a.count + l.count,
        p50: a.p50.max(l.p50),
        p90: a.p90.max(l.p90),
        p99: a.p99.max(l.p99),
        p999: a.p999.max(l.p999),
        max: a.max.max(l.max),
        mean: a.mean.max(l.mean),
    })
}

fn totals(r: &WriterReport) -> (u64, u64, u64) {
    let pushed = r.streams.iter().map(|s| s.queue.frames_pushed).sum();
    let level = r.streams.iter().map(|s| s.queue.level_bytes).sum();
    let peak = r.streams.iter().map(|s| s.queue.peak_level_bytes).sum();
    (pushed, level, peak)
}

pub fn run(args: Args) -> CmdResult {
    let frame_size =
        usize::try_from(args.frame_size).map_err(|_| Failure::usage("--frame-size is too large"))?;
    if frame_size > u32::MAX as usize {
        return Err(Failure::usage("--frame-size must be below 4 GiB"));
    }
    let capacity = usize::try_from(args.capacity).map_err(|_| Failure::usage("--capacity is too large"))?;
    let specs: Vec<StreamSpec> = args
        .streams
        .0
        .iter()
        .map(|&k| StreamSpec::new(k, frame_size, args.fps))
        .collect();
    let secs = match args.frames {
        Some(n) => n as f64 / args.fps,
        None => args.duration.as_secs_f64(),
    };
    if let Some(pool) = args.frame_pool {
        let bytes: u64 = specs.iter().map(|s| s.frame_bytes as u64 * pool).sum();
        if bytes > 1 << 30 {
            return Err(Failure::usage(format!(
                "--frame-pool {pool} would hold {} of frames; use a smaller pool",
                human_bytes(bytes)
            )));
        }
    }
    let specs: Vec<StreamSpec> = specs
        .into_iter()
        .map(|s| s.with_frame_pool(args.frame_pool))
        .collect();
    let replay = match &args.replay {
        Some(path) => Some(load_replay(path, frame_size, specs.len())?),
        None => None,
    };
    if args.keep_segments.is_some() && args.segment_size.is_none() && args.segment_duration.is_none() {
        return Err(Failure::usage(
            "--keep-segments needs --segment-size or --segment-duration",
        ));
    }

    let mut config = WriterConfig::capture_file(&args.path)
        .metadata("recorder", concat!("streamq-cli ", env!("CARGO_PKG_VERSION")))
        .metadata("source", "synthetic")
        .metadata("rate", if args.rate == Rate::Real { "real" } else { "max" })
        .fsync(args.fsync);
    if let Some(level) = args.compress.0 {
        config = config.zstd(level);
    }
    config = config.writes_in_flight(args.writes_in_flight as usize);
    config = config.raw_when_behind(!args.always_compress);
    if let Some(n) = args.compress_workers {
        config = config.compress_workers(n as usize);
    }
    if let Some(b) = args.max_write_bytes {
        config = config.max_write_bytes(usize::try_from(b).unwrap_or(usize::MAX));
    }
    if let Some(b) = args.preallocate {
        config = config.preallocate(b);
    }
    if let Some(b) = args.segment_size {
        config = config.segment_bytes(b);
    }
    if let Some(d) = args.segment_duration {
        config = config.segment_duration(d);
    }
    let deleted = Arc::new(AtomicU64::new(0));
    if let Some(keep) = args.keep_segments {
        let finished = Mutex::new(VecDeque::<PathBuf>::new());
        let deleted = Arc::clone(&deleted);
        config = config.on_segment(move |seg| {
            let mut finished = finished.lock().unwrap_or_else(|p| p.into_inner());
            finished.push_back(seg.path.clone());
            while finished.len() > keep as usize {
                if let Some(old) = finished.pop_front() {
                    match std::fs::remove_file(&old) {
                        Ok(()) => {
                            deleted.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => eprintln!("streamq: cannot delete old segment {}: {e}", old.display()),
                    }
                }
            }
        });
    }
    match args.throttle {
        Some(0) => return Err(Failure::usage("--throttle must be positive")),
        Some(rate) => {
            config = config.fault_injector(Arc::new(Throttle {
                bytes_per_s: rate as f64,
            }))
        }
        None => {}
    }
    install_signal_handlers();
    let writer = Writer::start(config)
        .map_err(|e| Failure::fail(format!("cannot record to {}: {e}", args.path.display())))?;
    let mut producers = Vec::new();
    for spec in &specs {
        let cap = if spec.kind == Kind::Imu {
            capacity.min(16 << 20)
        } else {
            capacity
        };
        let mut sc = StreamConfig::new(spec.kind.name(), spec.kind.media_type())
            .capacity(cap)
            .policy(args.policy.into());
        match &args.replay {
            // Not the synthetic generator's frames: no `generator` key, so
            // `verify --check-synthetic` leaves the stream alone.
            Some(path) => sc = sc.metadata("source", format!("replay of {}", path.display())),
            None => {
                for (k, v) in spec.metadata() {
                    sc = sc.metadata(k, v);
                }
            }
        }
        let p = writer
            .add_stream(sc)
            .map_err(|e| Failure::usage(format!("stream {}: {e}", spec.kind)))?;
        if spec.frame_bytes > p.max_frame_len() {
            return Err(Failure::usage(format!(
                "stream {}: frames of {} do not fit a ring of {} (largest frame {}); raise --capacity",
                spec.kind,
                human_bytes(spec.frame_bytes as u64),
                human_bytes(cap as u64),
                human_bytes(p.max_frame_len() as u64)
            )));
        }
        producers.push(p);
    }

    // Pools are made before the clock starts: their cost is not part of the recording.
    let mut replay = replay;
    let mut frame_sources: Vec<FrameSource> = specs
        .iter()
        .map(|spec| {
            if let Some(frames) = replay.take() {
                return FrameSource::Pool(frames);
            }
            let g = Generator::new(spec.clone());
            match args.frame_pool {
                Some(n) => FrameSource::Pool((0..n).map(|k| g.frame(k)).collect()),
                None => FrameSource::Generate(g),
            }
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut sources = Vec::new();
    for (i, (spec, producer)) in specs.iter().zip(producers).enumerate() {
        let frames = (secs * spec.hz).round().max(0.0) as u64;
        let plan = SourcePlan {
            spec: spec.clone(),
            frames: frame_sources.remove(0),
            count: frames,
            rate: args.rate,
            start,
            record_latencies: i == 0 && args.latencies_out.is_some(),
        };
        let stop = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name(format!("source-{}", spec.kind))
            .spawn(move || produce(producer, plan, stop))
            .map_err(|e| Failure::fail(format!("cannot start a source thread: {e}")))?;
        sources.push(Source {
            spec: spec.clone(),
            frames,
            handle,
        });
    }

    let total0 = sources.first().map_or(0, |s| s.frames);
    let bar = (!args.quiet && std::io::stderr().is_terminal() && secs > 2.0).then(|| {
        let b = ProgressBar::with_draw_target(Some(total0), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b
    });

    // Monitor: progress bar and JSON progress lines until every source is done.
    let mut json_ok = args.json;
    let tick = args
        .progress_interval
        .min(Duration::from_millis(100))
        .max(Duration::from_millis(5));
    let mut last_emit = Instant::now();
    let (mut prev_t, mut prev_frames, mut prev_bytes) = (Instant::now(), 0u64, 0u64);
    let (mut fps, mut mbps) = (0.0f64, 0.0f64);
    loop {
        let done = sources.iter().all(|s| s.handle.is_finished());
        if !done {
            std::thread::sleep(tick);
        }
        let now = Instant::now();
        let want_json = json_ok && (now - last_emit >= args.progress_interval || done);
        if bar.is_some() || want_json {
            let st = writer.stats();
            let (pushed, level, _) = totals(&st);
            let frames0 = st.streams.first().map_or(0, |s| s.frames_written);
            let dt = (now - prev_t).as_secs_f64();
            if dt >= 0.5 {
                fps = (frames0 - prev_frames) as f64 / dt;
                mbps = (st.bytes_written - prev_bytes) as f64 / 1e6 / dt;
                (prev_t, prev_frames, prev_bytes) = (now, frames0, st.bytes_written);
            }
            if let Some(b) = &bar {
                b.set_position(st.streams.first().map_or(0, |s| s.queue.frames_pushed));
                let cap: u64 = st.streams.iter().map(|s| s.queue.capacity_bytes).sum();
                b.set_message(format!(
                    "{fps:.1} fps {mbps:.1} MB/s queue {} ({:.0}%)",
                    human_bytes(level),
                    if cap > 0 {
                        level as f64 * 100.0 / cap as f64
                    } else {
                        0.0
                    }
                ));
            }
            if want_json {
                last_emit = now;
                let line = json!({
                    "event": "progress",
                    "t": round3((now - start).as_secs_f64()),
                    "frames_pushed": pushed,
                    "frames_written": st.frames_written,
                    "frames_dropped": st.frames_dropped(),
                    "frames_failed": st.frames_failed,
                    "bytes_written": st.bytes_written,
                    "stored_bytes": st.stored_bytes,
                    "fps": round3(fps),
                    "mb_per_s": round3(mbps),
                    "queue_bytes": level,
                    "durable_seq": writer.durable_seq(0),
                    "durable_seqs": st.streams.iter().map(|s| s.durable_seq).collect::<Vec<_>>(),
                    "error": st.error,
                });
                json_ok = emit(&line);
            }
        }
        if INTERRUPTED.load(Ordering::Relaxed) {
            stop.store(true, Ordering::Relaxed);
        }
        if done {
            break;
        }
    }
    let mut results = Vec::new();
    for s in sources {
        let r = s.handle.join().unwrap_or_else(|_| SourceResult {
            error: Some(format!("the {} source thread panicked", s.spec.kind)),
            ..SourceResult::default()
        });
        results.push((s.spec, s.frames, r));
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let (report, error) = match writer.close() {
        Ok(r) => (r, None),
        Err(e) => {
            let msg = e.error.to_string();
            (*e.report, Some(msg))
        }
    };
    let closed_after = start.elapsed();
    let mut error = error.or_else(|| results.iter().find_map(|(_, _, r)| r.error.clone()));
    if let (Some(path), Some((_, _, r))) = (&args.latencies_out, results.first())
        && let Err(e) = write_latencies(path, &r.latencies_ns)
    {
        error.get_or_insert(format!("cannot write {}: {e}", path.display()));
    }
    let interrupted = INTERRUPTED.load(Ordering::Relaxed);
    let extra = Extra {
        seconds: closed_after.as_secs_f64(),
        segments_deleted: deleted.load(Ordering::Relaxed),
        usage: ProcessUsage::now(),
    };
    summarize(&args, &report, &results, error.as_deref(), interrupted, &extra);
    match error {
        Some(e) => {
            if !args.json {
                eprintln!("streamq: recording to {} failed: {e}", args.path.display());
            }
            Ok(EXIT_FAIL)
        }
        None => Ok(EXIT_OK),
    }
}

/// `--replay`: the file's consecutive `frame_size` chunks.
fn load_replay(path: &std::path::Path, frame_size: usize, streams: usize) -> Result<Vec<Vec<u8>>, Failure> {
    if streams != 1 {
        return Err(Failure::usage(
            "--replay records one stream; give one in --streams",
        ));
    }
    if frame_size == 0 {
        return Err(Failure::usage("--replay needs a --frame-size above 0"));
    }
    let meta =
        std::fs::metadata(path).map_err(|e| Failure::usage(format!("--replay {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(Failure::usage(format!(
            "--replay {}: not a regular file",
            path.display()
        )));
    }
    let want = (frame_size as u64).saturating_mul(4096).min(meta.len());
    if want < frame_size as u64 {
        return Err(Failure::usage(format!(
            "--replay {}: {} holds no whole frame of {}",
            path.display(),
            human_bytes(meta.len()),
            human_bytes(frame_size as u64)
        )));
    }
    let mut data = vec![0u8; (want / frame_size as u64 * frame_size as u64) as usize];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut data))
        .map_err(|e| Failure::usage(format!("--replay {}: {e}", path.display())))?;
    Ok(data.chunks_exact(frame_size).map(<[u8]>::to_vec).collect())
}

fn write_latencies(path: &std::path::Path, ns: &[u64]) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for v in ns {
        writeln!(out, "{v}")?;
    }
    out.flush()
}

/// CPU time and peak memory of this process so far.
struct ProcessUsage {
    cpu_seconds: f64,
    max_rss_bytes: u64,
}

impl ProcessUsage {
    fn now() -> ProcessUsage {
        // SAFETY: getrusage writes a plain C struct we own; a zeroed rusage is valid.
        let ru = unsafe {
            let mut ru: libc::rusage = std::mem::zeroed();
            if libc::getrusage(libc::RUSAGE_SELF, &mut ru) != 0 {
                return ProcessUsage {
                    cpu_seconds: 0.0,
                    max_rss_bytes: 0,
                };
            }
            ru
        };
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        ProcessUsage {
            cpu_seconds: secs(ru.ru_utime) + secs(ru.ru_stime),
            // Linux reports ru_maxrss in KiB.
            max_rss_bytes: u64::try_from(ru.ru_maxrss).unwrap_or(0) * 1024,
        }
    }
}

/// Figures of the run beyond the writer's report.
struct Extra {
    /// First frame to the end of close.
    seconds: f64,
    segments_deleted: u64,
    usage: ProcessUsage,
}

fn summarize(
    args: &Args,
    report: &WriterReport,
    results: &[(StreamSpec, u64, SourceResult)],
    error: Option<&str>,
    interrupted: bool,
    extra: &Extra,
) {
    let (pushed, _, peak) = totals(report);
    let refused: u64 = results.iter().map(|(_, _, r)| r.refused).sum();
    let lat = worst(report.streams.iter().map(|s| s.queue.push_latency));
    // From the first frame to the end of close (everything written and synced): the
    // time a caller waits, without the set-up before the first frame (ring prefault).
    let seconds = extra.seconds;
    let mb_per_s = if seconds > 0.0 {
        report.bytes_written as f64 / 1e6 / seconds
    } else {
        0.0
    };
    let files: Vec<String> = if report.segments.is_empty() {
        vec![args.path.display().to_string()]
    } else {
        report
            .segments
            .iter()
            .map(|s| s.path.display().to_string())
            .collect()
    };
    if args.json {
        let streams: Vec<Value> = report
            .streams
            .iter()
            .zip(results)
            .map(|(s, (spec, planned, r))| {
                json!({
                    "id": s.id,
                    "name": s.name,
                    "media_type": spec.kind.media_type(),
                    "frame_bytes": spec.frame_bytes,
                    "hz": spec.hz,
                    "frames_planned": planned,
                    "frames_offered": r.offered,
                    "frames_pushed": s.queue.frames_pushed,
                    "frames_written": s.frames_written,
                    "frames_dropped": s.frames_dropped(),
                    "frames_dropped_newest": s.frames_dropped_newest,
                    "frames_dropped_oldest": s.frames_dropped_oldest,
                    "frames_refused": r.refused,
                    "frames_failed": s.frames_failed,
                    "bytes_written": s.bytes_written,
                    "mb_per_s": round3(if seconds > 0.0 { s.bytes_written as f64 / 1e6 / seconds } else { 0.0 }),
                    "push_latency_us": latency_us(&s.queue.push_latency),
                    "blocked_ms": round3(s.queue.blocked_ns as f64 / 1e6),
                    "peak_queue_bytes": s.queue.peak_level_bytes,
                    "capacity_bytes": s.queue.capacity_bytes,
                    "durable_seq": s.durable_seq,
                    "last_seq": s.last_seq,
                })
            })
            .collect();
        let line = json!({
            "event": "summary",
            "path": args.path.display().to_string(),
            "files": files,
            "rate": if args.rate == Rate::Real { "real" } else { "max" },
            "interrupted": interrupted,
            "frames_pushed": pushed,
            "frames_written": report.frames_written,
            "frames_dropped": report.frames_dropped(),
            "frames_dropped_newest": report.frames_dropped_newest,
            "frames_dropped_oldest": report.frames_dropped_oldest,
            "frames_refused": refused,
            "frames_failed": report.frames_failed,
            "bytes_written": report.bytes_written,
            "stored_bytes": report.stored_bytes,
            "seconds": round3(seconds),
            "mb_per_s": round3(mb_per_s),
            "writer_seconds": round3(report.seconds),
            "compression_ratio": round3(report.compression_ratio),
            "frames_compressed": report.frames_compressed,
            "frames_stored_raw": report.frames_stored_raw,
            "push_latency_us": latency_us(&lat),
            "write_latency_us": latency_us(&report.write_latency),
            "writes": report.writes,
            "syncs": report.syncs,
            "peak_queue_bytes": peak,
            "durable_seq": report.streams.first().and_then(|s| s.durable_seq),
            "segments": report.segments.len(),
            "segments_deleted": extra.segments_deleted,
            "frame_pool": args.frame_pool,
            "cpu_seconds": round3(extra.usage.cpu_seconds),
            "max_rss_bytes": extra.usage.max_rss_bytes,
            "error": error,
            "streams": streams,
        });
        emit(&line);
        return;
    }
    let mut out = String::new();
    out.push_str(&format!(
        "recorded {} frame(s), {} in {:.2} s ({:.1} MB/s) to {}{}\n",
        report.frames_written,
        human_bytes(report.bytes_written),
        seconds,
        mb_per_s,
        files.join(", "),
        if interrupted { " (interrupted)" } else { "" }
    ));
    if args.compress.0.is_some() {
        out.push_str(&format!(
            "  compression: ratio {:.2} ({} stored), {} frame(s) compressed, {} stored raw\n",
            report.compression_ratio,
            human_bytes(report.stored_bytes),
            report.frames_compressed,
            report.frames_stored_raw
        ));
    }
    for (s, (spec, _, r)) in report.streams.iter().zip(results) {
        let l = &s.queue.push_latency;
        out.push_str(&format!(
            "  {:<5} {} × {} @ {} Hz: pushed {}, written {}, dropped {}, refused {}, failed {}; \
             push latency p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs; peak queue {}\n",
            s.name,
            s.frames_written,
            human_bytes(spec.frame_bytes as u64),
            spec.hz,
            s.queue.frames_pushed,
            s.frames_written,
            s.frames_dropped(),
            r.refused,
            s.frames_failed,
            l.p50 as f64 / 1e3,
            l.p99 as f64 / 1e3,
            l.p999 as f64 / 1e3,
            l.max as f64 / 1e3,
            human_bytes(s.queue.peak_level_bytes)
        ));
    }
    out.push_str(&format!(
        "  frames pushed {pushed}, written {}, dropped {}, refused {refused}, failed {}; {} write(s), {} fsync(s)\n",
        report.frames_written,
        report.frames_dropped(),
        report.frames_failed,
        report.writes,
        report.syncs
    ));
    if let Some(e) = error {
        out.push_str(&format!("  error: {e}\n"));
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes()).and_then(|_| stdout.flush());
}
