//! `streamq info`: what a capture holds.

use std::path::PathBuf;

use serde_json::json;
use streamq::reader::{Reader, StreamInfo};
use streamq_cli::units::human_bytes;

use crate::common::{CmdResult, EXIT_OK, kv_json, open_capture, round3};

#[derive(clap::Args, Debug)]
#[command(after_long_help = "\
Shows the file header (format version, creation time, metadata), each stream (id, name,
media type, metadata, frames, bytes, dropped frames, first/last sequence number,
duration from the device timestamps and the resulting rate), whether the capture was
closed cleanly, and its segment files. It reads the index of a cleanly closed file
without touching the frames; a crashed file is scanned (use `verify` to check every
record).

Exit status: 0 when the capture could be opened, 1 when its header is damaged, 2 on a
usage error, an unreadable file or a file that is not a streamq capture.")]
pub struct Args {
    /// Capture file(s): one file, or the segments of one capture in order.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Seconds between the first and last device timestamps.
fn duration_s(s: &StreamInfo) -> f64 {
    match (s.first_device_ts_ns, s.last_device_ts_ns) {
        (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
        _ => 0.0,
    }
}

/// Frames per second from the timestamps (frames − 1 intervals over the duration).
fn fps(s: &StreamInfo) -> f64 {
    let d = duration_s(s);
    if d > 0.0 && s.frames > 1 {
        (s.frames - 1) as f64 / d
    } else {
        0.0
    }
}

fn unix_time(ns: u64) -> String {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm), UTC.
    let secs = ns / 1_000_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn run(args: Args) -> CmdResult {
    let (reader, _) = open_capture(&args.paths)?;
    if args.json {
        print_json(&reader);
    } else {
        print_text(&reader);
    }
    Ok(EXIT_OK)
}

fn opt(v: Option<u64>) -> serde_json::Value {
    v.map_or(serde_json::Value::Null, |v| json!(v))
}

fn print_json(reader: &Reader) {
    let first = reader.segment_infos().next();
    let streams: Vec<_> = reader
        .streams()
        .iter()
        .map(|s| {
            let (name, media, meta) = match &s.def {
                Some(d) => (json!(d.name), json!(d.media_type), kv_json(&d.metadata)),
                None => (serde_json::Value::Null, serde_json::Value::Null, json!({})),
            };
            json!({
                "id": s.id,
                "name": name,
                "media_type": media,
                "metadata": meta,
                "frames": s.frames,
                "bytes": s.bytes,
                "stored_bytes": s.stored_bytes,
                "gap_records": s.gap_records,
                "dropped": s.dropped,
                "first_seq": opt(s.first_seq),
                "last_seq": opt(s.last_seq),
                "first_ts_ns": opt(s.first_device_ts_ns),
                "last_ts_ns": opt(s.last_device_ts_ns),
                "duration_s": round3(duration_s(s)),
                "fps": round3(fps(s)),
            })
        })
        .collect();
    let segments: Vec<_> = reader
        .segment_infos()
        .map(|g| {
            json!({
                "path": g.path.display().to_string(),
                "bytes": g.file_len,
                "clean_close": g.clean_close,
                "indexed": g.indexed,
                "truncated_bytes": g.truncated_bytes,
                "damaged_regions": g.damaged_regions,
            })
        })
        .collect();
    let o = json!({
        "event": "info",
        "version": first.map(|g| format!("{}.{}", g.header.version, g.header.minor_version)),
        "created_unix_ns": first.map(|g| g.header.created_unix_ns),
        "metadata": first.map_or(json!({}), |g| kv_json(&g.header.metadata)),
        "clean_close": reader.is_clean(),
        "frames": reader.frame_count(),
        "bytes": reader.streams().iter().map(|s| s.bytes).sum::<u64>(),
        "stored_bytes": reader.streams().iter().map(|s| s.stored_bytes).sum::<u64>(),
        "streams": streams,
        "segments": segments,
    });
    println!("{o}");
}

fn print_text(reader: &Reader) {
    let segs: Vec<_> = reader.segment_infos().collect();
    if let Some(g) = segs.first() {
        println!("capture:   {}", g.path.display());
        println!("format:    {}.{}", g.header.version, g.header.minor_version);
        println!("created:   {}", unix_time(g.header.created_unix_ns));
        for (k, v) in &g.header.metadata {
            println!("  {k} = {v}");
        }
    }
    let bytes: u64 = reader.streams().iter().map(|s| s.bytes).sum();
    let stored: u64 = reader.streams().iter().map(|s| s.stored_bytes).sum();
    println!(
        "frames:    {} ({} raw, {} stored{})",
        reader.frame_count(),
        human_bytes(bytes),
        human_bytes(stored),
        if stored > 0 && stored < bytes {
            format!(", ratio {:.2}", bytes as f64 / stored as f64)
        } else {
            String::new()
        }
    );
    println!(
        "closed:    {}",
        if reader.is_clean() {
            "cleanly"
        } else {
            "NOT cleanly (crashed or still being written; `streamq recover` fixes it)"
        }
    );
    println!("streams:   {}", reader.streams().len());
    for s in reader.streams() {
        let (name, media) = match &s.def {
            Some(d) => (d.name.as_str(), d.media_type.as_str()),
            None => ("(undefined)", "?"),
        };
        let seqs = match (s.first_seq, s.last_seq) {
            (Some(a), Some(b)) => format!("seq {a}..={b}"),
            _ => "no frames".into(),
        };
        println!(
            "  [{}] {name} ({media}): {} frames, {}, {}, {} dropped in {} gap record(s), {:.3} s, {:.2} fps",
            s.id,
            s.frames,
            human_bytes(s.bytes),
            seqs,
            s.dropped,
            s.gap_records,
            duration_s(s),
            fps(s)
        );
        if let Some(d) = &s.def
            && !d.metadata.is_empty()
        {
            let kv: Vec<String> = d.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("      {}", kv.join(" "));
        }
    }
    println!("segments:  {}", segs.len());
    for g in segs {
        let mut line = format!(
            "  {} ({}, {})",
            g.path.display(),
            human_bytes(g.file_len),
            if g.clean_close {
                "clean"
            } else {
                "not closed cleanly"
            }
        );
        if g.truncated_bytes > 0 {
            line.push_str(&format!(", torn tail {} bytes", g.truncated_bytes));
        }
        if g.damaged_regions > 0 {
            line.push_str(&format!(", {} damaged region(s)", g.damaged_regions));
        }
        println!("{line}");
    }
}
