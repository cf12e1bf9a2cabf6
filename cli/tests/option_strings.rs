//! Option text means the same through the command line as through core: `record` parses
//! every engine option with core's parsers and reports the effective configuration with
//! core's `describe()`, so the same strings give the same configuration (and a bad string
//! core's message). Also: the spellings the CLI always accepted still parse, and
//! `--throttle` / `--max-write-rate` limit the write rate.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::Value;
use streamq::{
    ByteSize, Compression, FsyncPolicy, OverflowPolicy, StreamConfig, WriterConfig, parse_duration,
};

/// Records a few small frames with `extra` options and returns the summary.
fn record_short(path: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--frames", "3", "--frame-size", "4KiB", "--rate", "max"];
    args.extend_from_slice(extra);
    let s = record(path, &args);
    assert_eq!(s["frames_written"], 3, "{s}");
    s
}

/// `describe()` output as the JSON object the CLI prints.
fn described(options: &[(&'static str, String)]) -> Value {
    Value::Object(
        options
            .iter()
            .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
            .collect(),
    )
}

#[test]
fn the_same_strings_give_the_same_configuration_as_core() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opts.sqcap");
    let s = record_short(
        &path,
        &[
            "--compress",
            "zstd:3",
            "--fsync",
            "every:64MiB",
            "--policy",
            "drop-oldest",
            "--capacity",
            "256MiB",
        ],
    );
    let writer = &s["options"];
    let stream = &s["streams"][0]["options"];
    assert_eq!(writer["compression"], "zstd:3", "{s}");
    assert_eq!(writer["fsync"], "every:64MiB", "{s}");
    assert_eq!(stream["policy"], "drop-oldest", "{s}");
    assert_eq!(stream["capacity"], "256MiB", "{s}");

    // The same strings through core's parsers, into core's configs: every option the
    // CLI reports is what core reports for them (the CLI also sets writes_in_flight 2
    // and raw_when_behind true, both core's defaults).
    let core_writer = WriterConfig::capture_file(&path)
        .compression("zstd:3".parse::<Compression>().unwrap())
        .fsync("every:64MiB".parse::<FsyncPolicy>().unwrap())
        .writes_in_flight(2)
        .raw_when_behind(true);
    assert_eq!(*writer, described(&core_writer.describe()));
    let core_stream = StreamConfig::new("depth", "depth/u16")
        .capacity("256MiB".parse::<ByteSize>().unwrap().bytes() as usize)
        .policy("drop-oldest".parse::<OverflowPolicy>().unwrap());
    assert_eq!(*stream, described(&core_stream.describe()));

    // The capture holds what the options say.
    let o = streamq(["verify", path.to_str().unwrap(), "--json", "--check-synthetic"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(last_json(&o)["compression_ratio"].as_f64().unwrap() > 1.0);
}

#[test]
fn older_spellings_still_parse_to_the_canonical_values() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str, &str, &str); 9] = [
        (&["--compress", "zstd"], "writer", "compression", "zstd:1"),
        (&["--compress", "off"], "writer", "compression", "none"),
        (&["--fsync", "64MiB"], "writer", "fsync", "every:64MiB"),
        (&["--fsync", "20ms"], "writer", "fsync", "every:20ms"),
        (&["--fsync", "never"], "writer", "fsync", "close"),
        (&["--policy", "fail"], "stream", "policy", "fail-fast"),
        (&["--policy", "fail-fast"], "stream", "policy", "fail-fast"),
        (&["--policy", "block"], "stream", "policy", "block"),
        (&["--capacity", "1.5MB"], "stream", "capacity", "1500000"),
    ];
    for (i, (args, scope, key, want)) in cases.iter().enumerate() {
        let s = record_short(&dir.path().join(format!("old{i}.sqcap")), args);
        let got = match *scope {
            "writer" => &s["options"][key],
            _ => &s["streams"][0]["options"][key],
        };
        assert_eq!(got, want, "{args:?}: {s}");
    }
    // The defaults, printed by core.
    let s = record_short(&dir.path().join("defaults.sqcap"), &[]);
    assert_eq!(s["options"]["compression"], "none");
    assert_eq!(s["options"]["fsync"], "close");
    assert_eq!(s["options"]["max_write_rate"], "none");
    assert_eq!(s["streams"][0]["options"]["policy"], "block");
    assert_eq!(s["streams"][0]["options"]["capacity"], "256MiB");
    // Every summary key there was before the options is still there.
    for key in [
        "frames_pushed",
        "frames_refused",
        "push_latency_us",
        "error",
        "streams",
    ] {
        assert!(s.get(key).is_some(), "summary lacks {key}: {s}");
    }
}

/// The size and duration forms the CLI's own parsers accepted (their unit tests, moved
/// here when the parsers were replaced by core's) mean the same through core.
#[test]
fn sizes_and_durations_the_cli_accepted_mean_the_same() {
    let size = |s: &str| s.parse::<ByteSize>().map(ByteSize::bytes);
    assert_eq!(size("900KiB"), Ok(900 * 1024));
    assert_eq!(size("256MiB"), Ok(256 << 20));
    assert_eq!(size("1GiB"), Ok(1 << 30));
    assert_eq!(size("4096"), Ok(4096));
    assert_eq!(size("1.5MB"), Ok(1_500_000));
    assert_eq!(size("64k"), Ok(65536));
    assert!(size("12 parsecs").is_err());
    assert!(size("").is_err());
    assert!(size("MiB").is_err());

    assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
    assert!(parse_duration("3 fortnights").is_err());
    assert!(streamq::has_time_unit("20ms"));
    assert!(!streamq::has_time_unit("64MiB"));
    assert!(!streamq::has_time_unit("4096"));

    // And through the command line: a size and a duration in those forms record.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forms.sqcap");
    let s = record(
        &path,
        &[
            "--frame-size",
            "64k",
            "--duration",
            "100ms",
            "--fps",
            "30",
            "--rate",
            "max",
        ],
    );
    assert_eq!(s["frames_written"], 3, "{s}");
    assert_eq!(s["bytes_written"], 3 * 65536, "{s}");
}

/// `record ARGS…` must fail before recording: exit 2, one line on stderr that carries
/// `want` (core's message), no file.
fn assert_bad_value(dir: &Path, args: &[&str], want: &str) {
    let path = dir.join("bad.sqcap");
    let mut all = vec!["record", path.to_str().unwrap(), "-q"];
    all.extend_from_slice(args);
    let o = streamq(&all);
    assert_no_panic(&o, &format!("{args:?}"));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("streamq: invalid value"), "{args:?}: {err}");
    assert!(err.contains(want), "{args:?}: {err:?} lacks {want:?}");
    assert!(!path.exists(), "{args:?} created the file");
}

#[test]
fn bad_values_are_one_line_with_cores_message_and_the_usage_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let msg = |e: streamq::OptionTextError| e.to_string();
    // (flag, bad value, core's message for that value)
    let cases = [
        (
            "--compress",
            "lz4",
            msg("lz4".parse::<Compression>().unwrap_err()),
        ),
        (
            "--compress",
            "zstd:30",
            msg("zstd:30".parse::<Compression>().unwrap_err()),
        ),
        (
            "--fsync",
            "sometimes",
            msg("sometimes".parse::<FsyncPolicy>().unwrap_err()),
        ),
        (
            "--fsync",
            "every:0",
            msg("every:0".parse::<FsyncPolicy>().unwrap_err()),
        ),
        (
            "--policy",
            "leaky",
            msg("leaky".parse::<OverflowPolicy>().unwrap_err()),
        ),
        (
            "--capacity",
            "12parsecs",
            msg("12parsecs".parse::<ByteSize>().unwrap_err()),
        ),
        ("--frame-size", "MiB", msg("MiB".parse::<ByteSize>().unwrap_err())),
        (
            "--segment-size",
            "1XB",
            msg("1XB".parse::<ByteSize>().unwrap_err()),
        ),
        (
            "--duration",
            "3fortnights",
            msg(parse_duration("3fortnights").unwrap_err()),
        ),
    ];
    for (flag, value, want) in &cases {
        assert_bad_value(d, &[flag, value], want);
    }
    // Not a core option, the same one-line form.
    assert_bad_value(d, &["--rate", "fast"], "possible values: real, max");
}

#[test]
fn throttle_and_max_write_rate_are_one_option() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for flag in ["--throttle", "--max-write-rate"] {
        assert_bad_value(
            d,
            &[flag, "abc"],
            &"abc".parse::<ByteSize>().unwrap_err().to_string(),
        );
        assert_bad_value(d, &[flag, "12parsecs"], "unknown size unit");
        assert_bad_value(d, &[flag, "0"], "max_write_rate must be positive");
    }
    // Both names at once: one option given twice, a usage error.
    let p = d.join("twice.sqcap");
    let o = streamq([
        "record",
        p.to_str().unwrap(),
        "--throttle",
        "1MB",
        "--max-write-rate",
        "1MB",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!p.exists());

    // --help documents it as a write-rate limit, with --throttle as its other name.
    let help = stdout(&streamq(["record", "--help"]));
    assert!(help.contains("--max-write-rate <BYTES_PER_S>"), "{help}");
    assert!(help.contains("Write-rate limit"), "{help}");
    assert!(help.contains("--throttle"), "{help}");
}

#[test]
fn throttle_and_max_write_rate_limit_the_write_rate() {
    // 10 frames of 256 KiB in writes of at most 256 KiB at 2 MB/s: each write waits
    // until the ones before it would have finished at that rate, so the last starts
    // ≥ 9 × 262144 / 2e6 ≈ 1.18 s after the first.
    let dir = tempfile::tempdir().unwrap();
    for flag in ["--throttle", "--max-write-rate"] {
        let path = dir.path().join(format!("slow{flag}.sqcap"));
        let s = record(
            &path,
            &[
                "--frames",
                "10",
                "--frame-size",
                "256KiB",
                "--rate",
                "max",
                "--max-write-bytes",
                "256KiB",
                flag,
                "2MB",
            ],
        );
        assert_eq!(s["options"]["max_write_rate"], "2000000", "{s}");
        assert_eq!(s["frames_written"], 10, "{s}");
        let secs = s["seconds"].as_f64().unwrap();
        assert!(secs >= 1.1, "{flag} 2MB: 2.6 MB written in {secs} s");
        assert!(secs < 30.0, "{flag} 2MB: {secs} s");
        let o = streamq(["verify", path.to_str().unwrap(), "--json", "--check-synthetic"]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    }
    // Without a limit the same recording is not held back that long.
    let s = record(
        &dir.path().join("fast.sqcap"),
        &[
            "--frames",
            "10",
            "--frame-size",
            "256KiB",
            "--rate",
            "max",
            "--max-write-bytes",
            "256KiB",
        ],
    );
    assert_eq!(s["options"]["max_write_rate"], "none", "{s}");
    let secs = s["seconds"].as_f64().unwrap();
    assert!(secs < 1.1, "unthrottled: {secs} s");
}
