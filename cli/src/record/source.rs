//! The source of `streamq record`: one producer thread per stream, pushing synthetic,
//! pooled or replayed frames at their due time (or as fast as the engine takes them),
//! and Ctrl-C handling.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use streamq::{Interrupt, Producer, PushError, PushOptions};
use streamq_cli::synthetic::{Generator, StreamSpec};
use streamq_cli::units::human_bytes;

use super::args::{Args, Rate};
use crate::common::Failure;

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

/// Ctrl-C (and SIGTERM) stop the sources; the capture is then closed cleanly.
pub fn install_signal_handlers() {
    let handler = on_signal as extern "C" fn(libc::c_int);
    // SAFETY: the handler only stores to an atomic and calls signal(), both
    // async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
    }
}

/// Whether Ctrl-C (or SIGTERM) arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// What one producer thread did.
#[derive(Default)]
pub struct SourceResult {
    /// Frames the source produced and offered to the engine.
    pub offered: u64,
    /// Offers refused (`fail-fast` policy, ring full): the source discarded them.
    pub refused: u64,
    /// Why it stopped early.
    pub error: Option<String>,
    /// Push latencies in frame order (`--latencies-out`).
    pub latencies_ns: Vec<u64>,
}

/// Where a source thread gets its frames.
pub enum FrameSource {
    /// Synthesise frame n when it is due.
    Generate(Generator),
    /// Cycle frames made before the start (`--frame-pool`, `--replay`).
    Pool(Vec<Vec<u8>>),
}

/// Every stream's frame source: the replayed frames (one stream only), a pool of
/// generated frames, or the generator itself. Pools are made here, before the clock
/// starts: their cost is not part of the recording.
pub fn frame_sources(
    args: &Args,
    specs: &[StreamSpec],
    mut replay: Option<Vec<Vec<u8>>>,
) -> Vec<FrameSource> {
    specs
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
        .collect()
}

/// What one source thread is told to do.
pub struct SourcePlan {
    pub spec: StreamSpec,
    pub frames: FrameSource,
    /// Frames to offer.
    pub count: u64,
    pub rate: Rate,
    /// Time zero of the device timestamps.
    pub start: Instant,
    /// Record each push's latency (`--latencies-out`).
    pub record_latencies: bool,
}

/// A running source thread.
pub struct Source {
    pub spec: StreamSpec,
    /// Frames it was told to offer.
    pub frames: u64,
    handle: JoinHandle<SourceResult>,
}

impl Source {
    /// Starts the thread feeding `producer`. `stop` ends every source early (set by a
    /// source that failed, or on Ctrl-C); `interrupt` wakes pushes blocked on a full ring.
    pub fn spawn(
        producer: Producer,
        plan: SourcePlan,
        stop: &Arc<AtomicBool>,
        interrupt: &Interrupt,
    ) -> Result<Source, Failure> {
        let spec = plan.spec.clone();
        let frames = plan.count;
        let (stop, interrupt) = (Arc::clone(stop), interrupt.clone());
        let handle = std::thread::Builder::new()
            .name(format!("source-{}", spec.kind))
            .spawn(move || produce(producer, plan, &stop, &interrupt))
            .map_err(|e| Failure::fail(format!("cannot start a source thread: {e}")))?;
        Ok(Source { spec, frames, handle })
    }

    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the thread; a panic is reported as the source's error.
    pub fn join(self) -> (StreamSpec, u64, SourceResult) {
        let r = self.handle.join().unwrap_or_else(|_| SourceResult {
            error: Some(format!("the {} source thread panicked", self.spec.kind)),
            ..SourceResult::default()
        });
        (self.spec, self.frames, r)
    }
}

fn produce(
    mut producer: Producer,
    plan: SourcePlan,
    stop: &AtomicBool,
    interrupt: &Interrupt,
) -> SourceResult {
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
        if stop.load(Ordering::Relaxed) || interrupted() {
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
        let t0 = plan.record_latencies.then(Instant::now);
        let pushed = producer.push_with(frame, &PushOptions::new().device_ts_ns(ts).interrupt(interrupt));
        if let Some(t0) = t0 {
            r.latencies_ns
                .push(u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX));
        }
        match pushed {
            Ok(_) => r.offered += 1,
            Err(PushError::WouldBlock | PushError::Timeout) => {
                r.offered += 1;
                r.refused += 1;
            }
            // Ctrl-C or another source's failure woke a blocked push: the frame was
            // neither taken nor refused.
            Err(PushError::Closed | PushError::Interrupted) => break,
            Err(PushError::Failed) => {
                r.error = Some("the writer failed".into());
                stop.store(true, Ordering::Relaxed);
                break;
            }
            Err(e) => {
                r.error = Some(format!("stream {}: {e}", spec.kind));
                stop.store(true, Ordering::Relaxed);
                break;
            }
        }
    }
    producer.close();
    r
}

/// `--replay`: the file's consecutive `frame_size` chunks (at most 4096).
pub fn load_replay(path: &Path, frame_size: usize, streams: usize) -> Result<Vec<Vec<u8>>, Failure> {
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

/// `--latencies-out`: one latency in ns per line.
pub fn write_latencies(path: &Path, ns: &[u64]) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for v in ns {
        writeln!(out, "{v}")?;
    }
    out.flush()
}
