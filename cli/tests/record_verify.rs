//! Record a short capture, then verify, info, cat and extract it.

mod common;

use common::*;
use streamq::reader::Reader;
use streamq_cli::synthetic::{Generator, Kind, StreamSpec};

#[test]
fn record_then_verify_info_cat_extract() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cap.sqcap");
    let s = record(
        &path,
        &[
            "--fps",
            "30",
            "--frame-size",
            "64KiB",
            "--duration",
            "1s",
            "--rate",
            "max",
        ],
    );
    for key in [
        "frames_pushed",
        "frames_written",
        "frames_dropped",
        "bytes_written",
        "seconds",
        "mb_per_s",
        "peak_queue_bytes",
        "compression_ratio",
        "frames_failed",
    ] {
        assert!(s[key].is_number(), "summary lacks {key}: {s}");
    }
    for key in ["p50", "p99", "p999", "max"] {
        assert!(
            s["push_latency_us"][key].is_number(),
            "push_latency_us.{key}: {s}"
        );
    }
    assert!(s["error"].is_null());
    assert_eq!(s["frames_written"], 30);
    assert_eq!(s["frames_pushed"], 30);
    assert_eq!(s["frames_dropped"], 0);
    assert_eq!(s["bytes_written"], 30 * 65536);
    assert_eq!(s["streams"][0]["name"], "depth");

    // verify
    let o = streamq(["verify", path.to_str().unwrap(), "--json", "--check-synthetic"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = last_json(&o);
    assert_eq!(v["frames"], s["frames_written"]);
    assert_eq!(v["corrupt"], 0);
    assert_eq!(v["truncated_bytes"], 0);
    assert_eq!(v["unexplained_missing"], 0);
    assert_eq!(v["clean_close"], true);
    assert_eq!(v["first_seq"], 0);
    assert_eq!(v["last_seq"], 29);
    assert_eq!(v["synthetic_mismatched"], 0);
    assert_eq!(v["synthetic_checked"], 30);
    assert_eq!(v["streams"][0]["frames"], 30);
    // text form too
    let o = streamq(["verify", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("OK"), "{}", stdout(&o));

    // info
    let o = streamq(["info", path.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let i = last_json(&o);
    assert_eq!(i["clean_close"], true);
    assert_eq!(i["streams"][0]["frames"], 30);
    assert_eq!(i["streams"][0]["media_type"], "depth/u16");
    assert_eq!(i["streams"][0]["metadata"]["width"], "256");
    let fps = i["streams"][0]["fps"].as_f64().unwrap();
    assert!((fps - 30.0).abs() < 0.01, "fps {fps}");
    let o = streamq(["info", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("depth"));

    // cat == the reader's bytes == the generator's frame
    let reader = Reader::open(&path).unwrap();
    let want = reader.seek_seq(0, 5).next().unwrap().data().unwrap().into_owned();
    let o = streamq(["cat", path.to_str().unwrap(), "--seq", "5"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(o.stdout, want);
    let g = Generator::new(StreamSpec::new(Kind::Depth, 64 * 1024, 30.0));
    assert_eq!(o.stdout, g.frame(5));
    let o = streamq(["cat", path.to_str().unwrap(), "--seq", "5", "--stream", "depth"]);
    assert_eq!(o.stdout, want);
    let o = streamq(["synth", "--seq", "5", "--frame-size", "64KiB"]);
    assert_eq!(o.stdout, want);
    // a frame that is not there, a stream that is not there
    let o = streamq(["cat", path.to_str().unwrap(), "--seq", "999"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let o = streamq(["cat", path.to_str().unwrap(), "--seq", "1", "--stream", "sonar"]);
    assert_eq!(o.status.code(), Some(2));

    // extract
    let out = dir.path().join("frames");
    let o = streamq(["extract", path.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut files: Vec<_> = std::fs::read_dir(out.join("depth"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 30);
    assert_eq!(files[0].file_name().unwrap(), "frame-000000.raw");
    assert_eq!(std::fs::read(out.join("depth/frame-000005.raw")).unwrap(), want);

    // recover on a clean file changes nothing
    let before = std::fs::read(&path).unwrap();
    let o = streamq(["recover", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("already closed cleanly"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn zstd_compresses_like_depth() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.sqcap");
    let s = record(
        &path,
        &[
            "--fps",
            "30",
            "--frame-size",
            "256KiB",
            "--duration",
            "1s",
            "--rate",
            "max",
            "--compress",
            "zstd:1",
        ],
    );
    let ratio = s["compression_ratio"].as_f64().unwrap();
    assert!(ratio > 1.5 && ratio < 10.0, "ratio {ratio}");
    assert!((s["stored_bytes"].as_u64().unwrap() as f64) < s["bytes_written"].as_u64().unwrap() as f64 / 1.5);
    let o = streamq(["verify", path.to_str().unwrap(), "--json", "--check-synthetic"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = last_json(&o);
    assert_eq!(v["frames"], 30);
    assert_eq!(v["synthetic_mismatched"], 0);
    // cat decompresses
    let o = streamq(["cat", path.to_str().unwrap(), "--seq", "3"]);
    let g = Generator::new(StreamSpec::new(Kind::Depth, 256 * 1024, 30.0));
    assert_eq!(o.stdout, g.frame(3));
}

#[test]
fn segments_by_base_name_and_by_list() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("seg.sqcap");
    let s = record(
        &base,
        &[
            "--fps",
            "50",
            "--frame-size",
            "64KiB",
            "--duration",
            "1s",
            "--rate",
            "max",
            "--segment-size",
            "1MiB",
        ],
    );
    let files: Vec<String> = s["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    assert!(files.len() >= 2, "expected several segments: {s}");
    assert!(files[0].ends_with("seg-000000.sqcap"), "{files:?}");
    // by base name
    let o = streamq(["verify", base.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = last_json(&o);
    assert_eq!(v["frames"], 50);
    assert_eq!(v["segments"].as_u64().unwrap() as usize, files.len());
    // by explicit list
    let mut args = vec!["verify".to_string(), "--json".into()];
    args.extend(files.iter().cloned());
    let o = streamq(&args);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(last_json(&o)["frames"], 50);
    let mut args = vec!["info".to_string(), "--json".into()];
    args.extend(files.iter().cloned());
    let o = streamq(&args);
    assert_eq!(o.status.code(), Some(0));
    let i = last_json(&o);
    assert_eq!(i["segments"].as_array().unwrap().len(), files.len());
    assert_eq!(i["streams"][0]["frames"], 50);
    // cat across segments: the last frame
    let o = streamq(["cat", base.to_str().unwrap(), "--seq", "49"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        o.stdout,
        Generator::new(StreamSpec::new(Kind::Depth, 65536, 50.0)).frame(49)
    );
}

#[test]
fn json_progress_lines_then_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqcap");
    let o = streamq([
        "record",
        path.to_str().unwrap(),
        "--fps",
        "30",
        "--frame-size",
        "16KiB",
        "--duration",
        "1200ms",
        "--rate",
        "real",
        "--fsync",
        "50ms",
        "--json",
        "--progress-interval",
        "200ms",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let progress: Vec<_> = lines.iter().filter(|l| l["event"] == "progress").collect();
    assert!(progress.len() >= 4, "{out}");
    assert!(
        progress
            .iter()
            .all(|p| p["frames_pushed"].is_number() && p.get("durable_seq").is_some())
    );
    assert!(progress.iter().any(|p| p["durable_seq"].is_number()), "{out}");
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "summary");
    assert_eq!(last["frames_written"], 36);
    // real rate: ~1.2 s, not instant
    let secs = last["seconds"].as_f64().unwrap();
    assert!(secs > 1.0 && secs < 5.0, "{secs}");
}

#[test]
fn drop_policy_counts_match_gaps() {
    // A ring too small for the rate at --rate max with drop-newest: whatever is
    // dropped shows up as gap records, nothing is unexplained.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sqcap");
    let s = record(
        &path,
        &[
            "--fps",
            "200",
            "--frame-size",
            "256KiB",
            "--duration",
            "1s",
            "--rate",
            "max",
            "--policy",
            "drop-newest",
            "--capacity",
            "1MiB",
            "--throttle",
            "10MB",
        ],
    );
    let written = s["frames_written"].as_u64().unwrap();
    let dropped = s["frames_dropped"].as_u64().unwrap();
    assert_eq!(written + dropped, 200, "{s}");
    assert!(
        dropped > 0 && written > 0,
        "a 10 MB/s disk cannot take 50 MiB/s: {s}"
    );
    let o = streamq(["verify", path.to_str().unwrap(), "--json", "--check-synthetic"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = last_json(&o);
    assert_eq!(v["frames"].as_u64().unwrap(), written);
    assert_eq!(v["dropped"].as_u64().unwrap(), dropped);
    assert_eq!(v["unexplained_missing"], 0);
    assert_eq!(v["synthetic_mismatched"], 0);
}

#[test]
fn fail_policy_refusals_are_counted_and_content_still_checks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.sqcap");
    let s = record(
        &path,
        &[
            "--fps",
            "200",
            "--frame-size",
            "256KiB",
            "--duration",
            "1s",
            "--rate",
            "max",
            "--policy",
            "fail",
            "--capacity",
            "1MiB",
            "--throttle",
            "10MB",
        ],
    );
    let written = s["frames_written"].as_u64().unwrap();
    let refused = s["frames_refused"].as_u64().unwrap();
    assert_eq!(written + refused, 200, "{s}");
    assert!(refused > 0, "{s}");
    // Refused frames never got a sequence number: no gap, and the content check maps
    // each frame back to its source index through its timestamp.
    let o = streamq(["verify", path.to_str().unwrap(), "--json", "--check-synthetic"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = last_json(&o);
    assert_eq!(v["frames"].as_u64().unwrap(), written);
    assert_eq!(v["synthetic_mismatched"], 0);
}
