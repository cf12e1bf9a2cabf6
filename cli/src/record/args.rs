//! `streamq record`'s command line: the clap struct and its value parsers.
//!
//! Every engine option is read by core's own parsers (`FromStr` of [`ByteSize`],
//! [`Compression`], [`FsyncPolicy`], [`OverflowPolicy`], and [`parse_duration`]), so a
//! spelling means here what it means in C, Python and Rust, and a bad value is reported
//! with core's message. Only what the engine has no notion of (the synthetic streams, the
//! camera frame rate) is parsed here.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValue, StringValueParser, TypedValueParser};
use streamq::{ByteSize, Compression, FsyncPolicy, OptionTextError, OverflowPolicy, parse_duration};
use streamq_cli::synthetic::Kind;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rate {
    /// Pace frames to the wall clock, like a camera.
    Real,
    /// Push as fast as the engine accepts them.
    Max,
}

impl Rate {
    /// The value's name on the command line (and in the capture's metadata and JSON).
    pub fn name(self) -> &'static str {
        match self {
            Rate::Real => "real",
            Rate::Max => "max",
        }
    }
}

/// `--streams`: the synthetic streams, in order.
#[derive(Clone, Debug)]
pub struct StreamList(pub Vec<Kind>);

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

/// `--max-write-rate` / `--throttle`: core's size text, in bytes per second. Zero is
/// refused here, a usage error (exit 2) as `--throttle 0` always was, rather than by
/// `Writer::start`, whose refusals are run-time failures (exit 1); the words are core's.
fn parse_write_rate(s: &str) -> Result<ByteSize, String> {
    let rate: ByteSize = s.parse().map_err(|e: OptionTextError| e.to_string())?;
    if rate.bytes() == 0 {
        return Err("max_write_rate must be positive (bytes per second, e.g. 10MB)".into());
    }
    Ok(rate)
}

/// `--policy`: core's [`OverflowPolicy`] text, with the canonical spellings (and their
/// help) listed in `--help`. The names the CLI always accepted (`block`, `fail`,
/// `drop-newest`, `drop-oldest`) all parse; `fail-fast` is the canonical form of `fail`.
#[derive(Clone, Copy, Debug)]
struct PolicyParser;

impl TypedValueParser for PolicyParser {
    type Value = OverflowPolicy;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<OverflowPolicy, clap::Error> {
        StringValueParser::new()
            .try_map(|s| s.parse::<OverflowPolicy>())
            .parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            [
                PossibleValue::new("block").help("Wait for room in the stream's ring (nothing is lost)"),
                PossibleValue::new("fail-fast").alias("fail").help(
                    "Refuse the frame at once when the ring is full (the source discards it, \
                     counted; also spelled fail)",
                ),
                PossibleValue::new("drop-newest")
                    .help("Drop the new frame when the ring is full (a GAP record in the file)"),
                PossibleValue::new("drop-oldest")
                    .help("Evict the oldest unwritten frames to make room (GAP records in the file)"),
            ]
            .into_iter(),
        ))
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
Frame n of each stream is derived from n alone and pushed with its due time in ns from
the start as its device timestamp, so `streamq verify --check-synthetic` can regenerate
and compare every frame.

Option values are read by the engine's own parsers, as in every streamq binding:
Sizes: 900KiB, 256MiB, 1GiB, 1.5MB, 4096. Durations: 10s, 500ms, 2m, 1h.
--compress: none, zstd (= zstd:1) or zstd:LEVEL (1–22).
--fsync: close (also never, on-close: sync on close only), always (after every write),
every:SIZE such as every:64MiB (after that many bytes) or every:DURATION such as
every:20ms (at least that often); a bare 64MiB or 20ms means the same.
--policy: block, fail-fast (also fail), drop-newest, drop-oldest.
--capacity is the ring budget of each stream (the IMU stream uses at most 16 MiB).
--max-write-rate (alias --throttle) limits the capture file's writes to that many bytes
per second on average: leaves disk bandwidth to others, or shows back-pressure and the
drop policies at work, as a slow disk would.

With --json, stdout gets one JSON object per line: {\"event\":\"progress\",...} at least
every --progress-interval (default 500ms) with frames_pushed, frames_written, durable_seq
(highest sequence number of stream 0 known to be on disk) …, and as the last line
{\"event\":\"summary\",...} with frames_pushed, frames_written, frames_dropped,
frames_refused, frames_failed, bytes_written, seconds (first frame to closed and synced),
mb_per_s, compression_ratio,
push_latency_us {p50,p99,p999,max} (worst stream), peak_queue_bytes (sum over streams),
error (null or text), options (the writer's effective configuration, each value in the
engine's canonical text: compression \"zstd:3\", fsync \"every:64MiB\" …) and per-stream
objects under \"streams\" (each with its own options: capacity, policy …).

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
    #[arg(long, value_name = "BYTES", default_value_t = ByteSize(900 << 10))]
    pub frame_size: ByteSize,
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
    #[arg(long, visible_alias = "compression", value_name = "COMPRESSION", default_value_t = Compression::None)]
    pub compress: Compression,
    /// What to do when a stream's ring is full.
    #[arg(long, default_value_t = OverflowPolicy::Block, value_parser = PolicyParser)]
    pub policy: OverflowPolicy,
    /// Ring budget per stream.
    #[arg(long, value_name = "BYTES", default_value_t = ByteSize(256 << 20))]
    pub capacity: ByteSize,
    /// When to fsync: close (also never), always, every:BYTES (e.g. every:64MiB) or
    /// every:DURATION (e.g. every:20ms); a bare 64MiB or 20ms is accepted too.
    #[arg(long, value_name = "WHEN", default_value_t = FsyncPolicy::OnClose)]
    pub fsync: FsyncPolicy,
    /// Start a new segment file after this many bytes (PATH-000000.ext, PATH-000001.ext …).
    #[arg(long, visible_alias = "segment-bytes", value_name = "BYTES")]
    pub segment_size: Option<ByteSize>,
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
    #[arg(long, value_name = "BYTES")]
    pub max_write_bytes: Option<ByteSize>,
    /// Reserve disk space this far ahead of the end of the file (0 = off).
    #[arg(long, value_name = "BYTES")]
    pub preallocate: Option<ByteSize>,
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
    /// Write-rate limit: the capture file's writes average at most this many bytes per
    /// second (e.g. 10MB; default: no limit). Leaves disk bandwidth to others, or shows
    /// back-pressure and the drop policies at work, as a slow disk would. --throttle is
    /// the older name of the same option.
    #[arg(
        long = "max-write-rate",
        visible_alias = "throttle",
        value_name = "BYTES_PER_S",
        value_parser = parse_write_rate
    )]
    pub max_write_rate: Option<ByteSize>,
}
