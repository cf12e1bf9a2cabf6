//! `streamq verify`: check every record of a capture.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;
use streamq::reader::{Reader, VerifyReport};
use streamq_cli::synthetic::{Generator, StreamSpec};
use streamq_cli::units::human_bytes;

use crate::common::{CmdResult, EXIT_FAIL, EXIT_OK, open_capture, round3};

/// Most problems listed (human output and JSON `errors`).
const SHOWN_ERRORS: usize = 20;

#[derive(clap::Args, Debug)]
#[command(after_long_help = "\
Checks every record's CRC32C, that every compressed frame decodes to its stated size,
per-stream sequence continuity (every missing sequence number must be covered by a GAP
record, i.e. dropped by policy and counted), and the trailer's totals.

A crash leaves a torn tail: it is reported as truncated bytes, never as corruption, and
the file still reads up to its last complete record (`streamq recover` makes it a cleanly
closed file again).

Several PATHs are the segments of one capture, in order (a shell glob such as
cap-*.sqcap works). The base name of a segmented capture (cap.sqcap for
cap-000000.sqcap, cap-000001.sqcap …) expands to its segments.

Exit status:
  0  the capture is intact: every record valid, closed cleanly, no unexplained holes
  1  damage found: corrupt records, undecodable frames, unexplained missing frames,
     a torn tail or a missing trailer (an unrecovered crash), a damaged file header,
     or (with --check-synthetic) a frame that differs from the generator's
  2  usage error, a file that cannot be read, or a file that is not a streamq capture

With --json the last line of stdout is one JSON object: frames, bytes, stored_bytes,
corrupt, corrupt_bytes, bad_frames, gaps, dropped, truncated_bytes, unexplained_missing,
first_seq, last_seq, clean_close, ok, streams (per-stream array) and errors.")]
pub struct Args {
    /// Capture file(s): one file, or the segments of one capture in order.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print a JSON report (last line of stdout) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also regenerate every frame of streams recorded by `streamq record` (synthetic
    /// source) and compare bit-exact.
    #[arg(long)]
    pub check_synthetic: bool,
}

/// Per stream: (frames checked, frames that differ or do not decode).
type SynthCounts = BTreeMap<u16, (u64, u64)>;

fn check_synthetic(reader: &Reader, errors: &mut Vec<String>) -> SynthCounts {
    let mut gens: BTreeMap<u16, Generator> = BTreeMap::new();
    for s in reader.streams() {
        if let Some(d) = &s.def
            && let Some(spec) = StreamSpec::from_metadata(&d.name, &d.metadata)
        {
            gens.insert(s.id, Generator::new(spec));
        }
    }
    let mut counts = SynthCounts::new();
    let mut buf = Vec::new();
    for f in reader.frames() {
        let Some(g) = gens.get(&f.stream_id) else { continue };
        let c = counts.entry(f.stream_id).or_default();
        c.0 += 1;
        let n = g.spec().index_of_ts(f.device_ts_ns);
        buf.resize(g.spec().frame_bytes, 0);
        g.fill(g.spec().content_index(n), &mut buf);
        let same = match f.data() {
            Ok(d) => *d == buf[..],
            Err(_) => false,
        };
        if !same {
            c.1 += 1;
            if errors.len() < SHOWN_ERRORS {
                errors.push(format!(
                    "stream {} seq {}: content differs from the synthetic generator's frame {n}",
                    f.stream_id, f.seq
                ));
            }
        }
    }
    counts
}

fn opt(v: Option<u64>) -> serde_json::Value {
    v.map_or(serde_json::Value::Null, |v| json!(v))
}

pub fn run(args: Args) -> CmdResult {
    let (reader, paths) = match open_capture(&args.paths) {
        Ok(x) => x,
        Err(f) if f.code == EXIT_FAIL && args.json => {
            // A streamq capture whose file header is damaged: still a damage report.
            let mut o = json!({
                "event": "verify",
                "ok": false,
                "paths": args.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                "header_damaged": true,
                "error": f.msg,
                "clean_close": false,
                "first_seq": null,
                "last_seq": null,
                "streams": [],
            });
            for k in [
                "segments",
                "records",
                "frames",
                "bytes",
                "stored_bytes",
                "corrupt",
                "corrupt_bytes",
                "bad_frames",
                "gaps",
                "dropped",
                "truncated_bytes",
                "unexplained_missing",
            ] {
                o[k] = json!(0);
            }
            println!("{o}");
            return Err(f);
        }
        Err(f) => return Err(f),
    };
    let report = reader.verify();
    let mut synth_errors = Vec::new();
    let synth = args
        .check_synthetic
        .then(|| check_synthetic(&reader, &mut synth_errors));
    let mismatched: u64 = synth.as_ref().map_or(0, |s| s.values().map(|c| c.1).sum());
    let ok = report.is_ok() && mismatched == 0;
    let name = if paths.len() == 1 {
        paths[0].display().to_string()
    } else {
        format!("{} … ({} segments)", paths[0].display(), paths.len())
    };
    if args.json {
        print_json(&report, &paths, synth.as_ref(), &synth_errors, ok);
    } else {
        print_text(&name, &report, synth.as_ref(), &synth_errors, ok);
    }
    Ok(if ok { EXIT_OK } else { EXIT_FAIL })
}

fn print_json(
    r: &VerifyReport,
    paths: &[PathBuf],
    synth: Option<&SynthCounts>,
    synth_errors: &[String],
    ok: bool,
) {
    let streams: Vec<_> = r
        .per_stream
        .iter()
        .map(|s| {
            let mut o = json!({
                "id": s.stream_id,
                "name": s.name,
                "frames": s.frames,
                "bytes": s.bytes,
                "stored_bytes": s.stored_bytes,
                "gaps": s.gaps,
                "dropped": s.dropped,
                "unexplained_missing": s.unexplained_missing,
                "first_seq": opt(s.first_seq),
                "last_seq": opt(s.last_seq),
            });
            if let Some(c) = synth.and_then(|m| m.get(&s.stream_id)) {
                o["synthetic_checked"] = json!(c.0);
                o["synthetic_mismatched"] = json!(c.1);
            }
            o
        })
        .collect();
    let mut errors: Vec<&String> = r.errors.iter().take(SHOWN_ERRORS).collect();
    errors.extend(
        synth_errors
            .iter()
            .take(SHOWN_ERRORS.saturating_sub(errors.len())),
    );
    let mut o = json!({
        "event": "verify",
        "ok": ok,
        "paths": paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "segments": r.segments,
        "records": r.records,
        "frames": r.frames,
        "bytes": r.bytes,
        "stored_bytes": r.stored_bytes,
        "compression_ratio": if r.stored_bytes > 0 { round3(r.bytes as f64 / r.stored_bytes as f64) } else { 1.0 },
        "corrupt": r.corrupt,
        "corrupt_bytes": r.corrupt_bytes,
        "bad_frames": r.bad_frames,
        "gaps": r.gaps,
        "dropped": r.dropped,
        "truncated_bytes": r.truncated_bytes,
        "unexplained_missing": r.unexplained_missing,
        "first_seq": opt(r.first_seq),
        "last_seq": opt(r.last_seq),
        "clean_close": r.clean_close,
        "streams": streams,
        "errors": errors,
        "error_count": r.errors.len() + synth_errors.len(),
    });
    if let Some(s) = synth {
        o["synthetic_checked"] = json!(s.values().map(|c| c.0).sum::<u64>());
        o["synthetic_mismatched"] = json!(s.values().map(|c| c.1).sum::<u64>());
    }
    println!("{o}");
}

fn seq_range(first: Option<u64>, last: Option<u64>) -> String {
    match (first, last) {
        (Some(a), Some(b)) => format!("seq {a}..={b}"),
        _ => "no frames".to_string(),
    }
}

fn print_text(name: &str, r: &VerifyReport, synth: Option<&SynthCounts>, synth_errors: &[String], ok: bool) {
    let status = if ok { "OK" } else { "DAMAGED" };
    println!(
        "{name}: {status}: {} frames ({}), {} segment(s), {}",
        r.frames,
        human_bytes(r.bytes),
        r.segments,
        if r.clean_close {
            "closed cleanly"
        } else {
            "NOT closed cleanly"
        }
    );
    for s in &r.per_stream {
        let mut line = format!(
            "  stream {} {}: {} frames, {}, {} gap record(s) covering {} dropped",
            s.stream_id,
            if s.name.is_empty() { "?" } else { &s.name },
            s.frames,
            seq_range(s.first_seq, s.last_seq),
            s.gaps,
            s.dropped
        );
        if s.unexplained_missing > 0 {
            line.push_str(&format!(
                ", {} MISSING without a gap record",
                s.unexplained_missing
            ));
        }
        if let Some((checked, bad)) = synth.and_then(|m| m.get(&s.stream_id)) {
            line.push_str(&format!(", synthetic content: {checked} checked, {bad} differ"));
        }
        println!("{line}");
    }
    if r.corrupt > 0 || r.bad_frames > 0 {
        println!(
            "  corrupt: {} damaged record(s) ({} bytes skipped), {} undecodable frame(s)",
            r.corrupt, r.corrupt_bytes, r.bad_frames
        );
    }
    if r.truncated_bytes > 0 || !r.clean_close {
        println!(
            "  truncated: {} byte(s) of torn tail{} — `streamq recover` makes it a clean file",
            r.truncated_bytes,
            if r.clean_close {
                ""
            } else {
                ", no trailer (not closed cleanly)"
            }
        );
    }
    let total = r.errors.len() + synth_errors.len();
    for e in r.errors.iter().chain(synth_errors).take(SHOWN_ERRORS) {
        println!("  problem: {e}");
    }
    if total > SHOWN_ERRORS {
        println!("  … and {} more problem(s)", total - SHOWN_ERRORS);
    }
}
