//! What `streamq record` prints at the end: a text summary, or with `--json` the
//! `{"event":"summary",...}` line (also the JSON helpers the progress lines share).

use std::io::Write;

use serde_json::{Map, Value, json};
use streamq::writer::StreamReport;
use streamq::{LatencySummary, WriterReport};
use streamq_cli::synthetic::StreamSpec;
use streamq_cli::units::human_bytes;

use super::args::Args;
use super::setup::Described;
use super::source::SourceResult;
use crate::common::round3;

/// Writes one line to stdout; `false` once stdout is gone (the recording goes on).
pub fn emit(line: &Value) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|_| out.flush()).is_ok()
}

/// Options as a JSON object of canonical strings (`{"compression": "zstd:3", …}`).
pub fn options_json(options: &[(&'static str, String)]) -> Value {
    Value::Object(
        options
            .iter()
            .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    )
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
    // Built by mutation: the type is non_exhaustive (fields it may gain stay default).
    ls.fold(LatencySummary::default(), |mut a, l| {
        a.count += l.count;
        a.p50 = a.p50.max(l.p50);
        a.p90 = a.p90.max(l.p90);
        a.p99 = a.p99.max(l.p99);
        a.p999 = a.p999.max(l.p999);
        a.max = a.max.max(l.max);
        a.mean = a.mean.max(l.mean);
        a
    })
}

/// Over all streams: (frames pushed, bytes queued now, sum of the peak queue levels).
pub fn totals(r: &WriterReport) -> (u64, u64, u64) {
    let pushed = r.streams.iter().map(|s| s.queue.frames_pushed).sum();
    let level = r.streams.iter().map(|s| s.queue.level_bytes).sum();
    let peak = r.streams.iter().map(|s| s.queue.peak_level_bytes).sum();
    (pushed, level, peak)
}

/// CPU time and peak memory of this process so far.
pub struct ProcessUsage {
    cpu_seconds: f64,
    max_rss_bytes: u64,
}

impl ProcessUsage {
    pub fn now() -> ProcessUsage {
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

/// Everything the summary reports.
pub struct Summary<'a> {
    pub args: &'a Args,
    pub report: &'a WriterReport,
    /// Per stream: its spec, the frames planned, what its source did.
    pub results: &'a [(StreamSpec, u64, SourceResult)],
    pub error: Option<&'a str>,
    pub interrupted: bool,
    /// First frame to the end of close (everything written and synced): the time a
    /// caller waits, without the set-up before the first frame (ring prefault).
    pub seconds: f64,
    pub segments_deleted: u64,
    pub usage: ProcessUsage,
    /// The writer's effective configuration (`WriterConfig::describe`).
    pub writer_options: &'a Described,
    /// Each stream's (`StreamConfig::describe`), in stream order.
    pub stream_options: &'a [Described],
}

impl Summary<'_> {
    /// Prints the summary: one JSON line with `--json`, text otherwise.
    pub fn print(&self) {
        if self.args.json {
            emit(&self.json());
        } else {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout
                .write_all(self.text().as_bytes())
                .and_then(|_| stdout.flush());
        }
    }

    fn mb_per_s(&self, bytes: u64) -> f64 {
        if self.seconds > 0.0 {
            bytes as f64 / 1e6 / self.seconds
        } else {
            0.0
        }
    }

    fn refused(&self) -> u64 {
        self.results.iter().map(|(_, _, r)| r.refused).sum()
    }

    /// The files written: PATH, or the segments.
    fn files(&self) -> Vec<String> {
        if self.report.segments.is_empty() {
            vec![self.args.path.display().to_string()]
        } else {
            self.report
                .segments
                .iter()
                .map(|s| s.path.display().to_string())
                .collect()
        }
    }

    fn stream_json(&self, i: usize, s: &StreamReport) -> Value {
        let (spec, planned, r) = &self.results[i];
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
            "mb_per_s": round3(self.mb_per_s(s.bytes_written)),
            "push_latency_us": latency_us(&s.queue.push_latency),
            "blocked_ms": round3(s.queue.blocked_ns as f64 / 1e6),
            "peak_queue_bytes": s.queue.peak_level_bytes,
            "capacity_bytes": s.queue.capacity_bytes,
            "durable_seq": s.durable_seq,
            "last_seq": s.last_seq,
            "options": self.stream_options.get(i).map_or(Value::Null, |o| options_json(o)),
        })
    }

    fn json(&self) -> Value {
        let report = self.report;
        let (pushed, _, peak) = totals(report);
        let lat = worst(report.streams.iter().map(|s| s.queue.push_latency));
        let streams: Vec<Value> = report
            .streams
            .iter()
            .take(self.results.len())
            .enumerate()
            .map(|(i, s)| self.stream_json(i, s))
            .collect();
        json!({
            "event": "summary",
            "path": self.args.path.display().to_string(),
            "files": self.files(),
            "rate": self.args.rate.name(),
            "interrupted": self.interrupted,
            "frames_pushed": pushed,
            "frames_written": report.frames_written,
            "frames_dropped": report.frames_dropped(),
            "frames_dropped_newest": report.frames_dropped_newest,
            "frames_dropped_oldest": report.frames_dropped_oldest,
            "frames_refused": self.refused(),
            "frames_failed": report.frames_failed,
            "bytes_written": report.bytes_written,
            "stored_bytes": report.stored_bytes,
            "seconds": round3(self.seconds),
            "mb_per_s": round3(self.mb_per_s(report.bytes_written)),
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
            "segments_deleted": self.segments_deleted,
            "frame_pool": self.args.frame_pool,
            "cpu_seconds": round3(self.usage.cpu_seconds),
            "max_rss_bytes": self.usage.max_rss_bytes,
            "error": self.error,
            "options": options_json(self.writer_options),
            "streams": streams,
        })
    }

    fn text(&self) -> String {
        let report = self.report;
        let (pushed, _, _) = totals(report);
        let refused = self.refused();
        let mut out = format!(
            "recorded {} frame(s), {} in {:.2} s ({:.1} MB/s) to {}{}\n",
            report.frames_written,
            human_bytes(report.bytes_written),
            self.seconds,
            self.mb_per_s(report.bytes_written),
            self.files().join(", "),
            if self.interrupted { " (interrupted)" } else { "" }
        );
        if self.args.compress.zstd_level().is_some() {
            out.push_str(&format!(
                "  compression: ratio {:.2} ({} stored), {} frame(s) compressed, {} stored raw\n",
                report.compression_ratio,
                human_bytes(report.stored_bytes),
                report.frames_compressed,
                report.frames_stored_raw
            ));
        }
        for (s, (spec, _, r)) in report.streams.iter().zip(self.results) {
            out.push_str(&stream_text(s, spec, r));
        }
        out.push_str(&format!(
            "  frames pushed {pushed}, written {}, dropped {}, refused {refused}, failed {}; {} write(s), {} fsync(s)\n",
            report.frames_written,
            report.frames_dropped(),
            report.frames_failed,
            report.writes,
            report.syncs
        ));
        if let Some(e) = self.error {
            out.push_str(&format!("  error: {e}\n"));
        }
        out
    }
}

fn stream_text(s: &StreamReport, spec: &StreamSpec, r: &SourceResult) -> String {
    let l = &s.queue.push_latency;
    format!(
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
    )
}
