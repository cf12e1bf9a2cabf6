//! While `streamq record` runs: the progress bar on a terminal, the `--json` progress
//! lines, and turning Ctrl-C into a stop of every source.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use streamq::{Interrupt, Writer, WriterReport};
use streamq_cli::units::human_bytes;

use super::args::Args;
use super::source::{Source, interrupted};
use super::summary::{emit, totals};
use crate::common::round3;

/// Frame and byte rates over the last half second or more.
struct Rates {
    at: Instant,
    frames: u64,
    bytes: u64,
    fps: f64,
    mbps: f64,
}

impl Rates {
    fn update(&mut self, now: Instant, st: &WriterReport) {
        let frames0 = st.streams.first().map_or(0, |s| s.frames_written);
        let dt = (now - self.at).as_secs_f64();
        if dt >= 0.5 {
            self.fps = (frames0 - self.frames) as f64 / dt;
            self.mbps = (st.bytes_written - self.bytes) as f64 / 1e6 / dt;
            (self.at, self.frames, self.bytes) = (now, frames0, st.bytes_written);
        }
    }
}

/// A progress bar on stderr, for runs longer than 2 s on a terminal without `--quiet`.
fn progress_bar(args: &Args, seconds: f64, frames: u64) -> Option<ProgressBar> {
    (!args.quiet && std::io::stderr().is_terminal() && seconds > 2.0).then(|| {
        let b = ProgressBar::with_draw_target(Some(frames), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b
    })
}

fn draw(bar: &ProgressBar, st: &WriterReport, rates: &Rates) {
    let (_, level, _) = totals(st);
    bar.set_position(st.streams.first().map_or(0, |s| s.queue.frames_pushed));
    let cap: u64 = st.streams.iter().map(|s| s.queue.capacity_bytes).sum();
    bar.set_message(format!(
        "{:.1} fps {:.1} MB/s queue {} ({:.0}%)",
        rates.fps,
        rates.mbps,
        human_bytes(level),
        if cap > 0 {
            level as f64 * 100.0 / cap as f64
        } else {
            0.0
        }
    ));
}

/// One `{"event":"progress",...}` line; `false` once stdout is gone.
fn emit_progress(writer: &Writer, st: &WriterReport, rates: &Rates, t: Duration) -> bool {
    let (pushed, level, _) = totals(st);
    emit(&json!({
        "event": "progress",
        "t": round3(t.as_secs_f64()),
        "frames_pushed": pushed,
        "frames_written": st.frames_written,
        "frames_dropped": st.frames_dropped(),
        "frames_failed": st.frames_failed,
        "bytes_written": st.bytes_written,
        "stored_bytes": st.stored_bytes,
        "fps": round3(rates.fps),
        "mb_per_s": round3(rates.mbps),
        "queue_bytes": level,
        "durable_seq": writer.durable_seq(0),
        "durable_seqs": st.streams.iter().map(|s| s.durable_seq).collect::<Vec<_>>(),
        "error": st.error,
    }))
}

/// Watches the sources until every one is done: progress bar, `--json` progress lines
/// (the last one once they are done), and on Ctrl-C or a source's failure (`stop`) it
/// stops them all, waking pushes blocked on a full ring through `interrupt`.
pub fn watch(
    args: &Args,
    writer: &Writer,
    sources: &[Source],
    start: Instant,
    stop: &Arc<AtomicBool>,
    interrupt: &Interrupt,
) {
    let (secs, frames0) = (
        sources.first().map_or(0.0, |s| s.frames as f64 / s.spec.hz),
        sources.first().map_or(0, |s| s.frames),
    );
    let bar = progress_bar(args, secs, frames0);
    let mut json_ok = args.json;
    let tick = args
        .progress_interval
        .min(Duration::from_millis(100))
        .max(Duration::from_millis(5));
    let mut last_emit = Instant::now();
    let mut rates = Rates {
        at: Instant::now(),
        frames: 0,
        bytes: 0,
        fps: 0.0,
        mbps: 0.0,
    };
    loop {
        let done = sources.iter().all(Source::is_finished);
        if !done {
            std::thread::sleep(tick);
        }
        let now = Instant::now();
        let want_json = json_ok && (now - last_emit >= args.progress_interval || done);
        if bar.is_some() || want_json {
            let st = writer.stats();
            rates.update(now, &st);
            if let Some(b) = &bar {
                draw(b, &st, &rates);
            }
            if want_json {
                last_emit = now;
                json_ok = emit_progress(writer, &st, &rates, now - start);
            }
        }
        if interrupted() {
            stop.store(true, Ordering::Relaxed);
        }
        if stop.load(Ordering::Relaxed) && !interrupt.is_triggered() {
            interrupt.trigger();
        }
        if done {
            break;
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
}
