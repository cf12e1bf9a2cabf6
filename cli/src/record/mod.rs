//! `streamq record`: a synthetic Kinect-style sensor through the real engine.
//!
//! * [`args`]: the command line (clap struct; option values parsed by core).
//! * [`setup`]: the writer and its streams, and the effective configuration.
//! * [`source`]: one producer thread per stream; Ctrl-C.
//! * [`monitor`]: progress bar and `--json` progress lines while recording.
//! * [`summary`]: the text or JSON summary at the end.

mod args;
mod monitor;
mod setup;
mod source;
mod summary;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use streamq::{Interrupt, WriterReport};
use streamq_cli::synthetic::StreamSpec;
use streamq_cli::units::human_bytes;

pub use args::Args;
use setup::Recording;
use source::{Source, SourcePlan, SourceResult};
use summary::{ProcessUsage, Summary};

use crate::common::{CmdResult, EXIT_FAIL, EXIT_OK, Failure};

/// What to record, checked before anything is opened.
struct Plan {
    specs: Vec<StreamSpec>,
    /// Recording time: frames of a stream = seconds × its rate.
    seconds: f64,
    /// Ring budget per stream (`--capacity`).
    capacity: usize,
    /// `--replay`: the file's frames.
    replay: Option<Vec<Vec<u8>>>,
}

impl Plan {
    fn new(args: &Args) -> Result<Plan, Failure> {
        let frame_size = usize::try_from(args.frame_size.bytes())
            .map_err(|_| Failure::usage("--frame-size is too large"))?;
        if frame_size > u32::MAX as usize {
            return Err(Failure::usage("--frame-size must be below 4 GiB"));
        }
        let capacity =
            usize::try_from(args.capacity.bytes()).map_err(|_| Failure::usage("--capacity is too large"))?;
        let specs: Vec<StreamSpec> = args
            .streams
            .0
            .iter()
            .map(|&k| StreamSpec::new(k, frame_size, args.fps))
            .collect();
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
            Some(path) => Some(source::load_replay(path, frame_size, specs.len())?),
            None => None,
        };
        if args.keep_segments.is_some() && args.segment_size.is_none() && args.segment_duration.is_none() {
            return Err(Failure::usage(
                "--keep-segments needs --segment-size or --segment-duration",
            ));
        }
        let seconds = match args.frames {
            Some(n) => n as f64 / args.fps,
            None => args.duration.as_secs_f64(),
        };
        Ok(Plan {
            specs,
            seconds,
            capacity,
            replay,
        })
    }
}

pub fn run(args: Args) -> CmdResult {
    let mut plan = Plan::new(&args)?;
    source::install_signal_handlers();
    let Recording {
        writer,
        producers,
        writer_options,
        stream_options,
        segments_deleted,
    } = setup::start(&args, &plan.specs, plan.capacity)?;

    let frame_sources = source::frame_sources(&args, &plan.specs, plan.replay.take());
    let stop = Arc::new(AtomicBool::new(false));
    let interrupt = Interrupt::new();
    let start = Instant::now();
    let mut sources = Vec::new();
    for (i, ((spec, producer), frames)) in plan.specs.iter().zip(producers).zip(frame_sources).enumerate() {
        let plan = SourcePlan {
            spec: spec.clone(),
            frames,
            count: (plan.seconds * spec.hz).round().max(0.0) as u64,
            rate: args.rate,
            start,
            record_latencies: i == 0 && args.latencies_out.is_some(),
        };
        match Source::spawn(producer, plan, &stop, &interrupt) {
            Ok(s) => sources.push(s),
            Err(f) => {
                // Stop the sources already running before the writer closes.
                stop.store(true, Ordering::Relaxed);
                interrupt.trigger();
                return Err(f);
            }
        }
    }
    monitor::watch(&args, &writer, &sources, start, &stop, &interrupt);
    let results: Vec<(StreamSpec, u64, SourceResult)> = sources.into_iter().map(Source::join).collect();

    let (report, error) = close(&writer);
    let seconds = start.elapsed().as_secs_f64();
    let mut error = error.or_else(|| results.iter().find_map(|(_, _, r)| r.error.clone()));
    if let (Some(path), Some((_, _, r))) = (&args.latencies_out, results.first())
        && let Err(e) = source::write_latencies(path, &r.latencies_ns)
    {
        error.get_or_insert(format!("cannot write {}: {e}", path.display()));
    }
    Summary {
        args: &args,
        report: &report,
        results: &results,
        error: error.as_deref(),
        interrupted: source::interrupted(),
        seconds,
        segments_deleted: segments_deleted.load(Ordering::Relaxed),
        usage: ProcessUsage::now(),
        writer_options: &writer_options,
        stream_options: &stream_options,
    }
    .print();
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

/// Closes the writer: its report, and the first error if it failed.
fn close(writer: &streamq::Writer) -> (WriterReport, Option<String>) {
    match writer.close() {
        Ok(r) => (r, None),
        Err(e) => (*e.report, Some(e.error.to_string())),
    }
}
