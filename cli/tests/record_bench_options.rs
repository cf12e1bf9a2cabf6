//! `record` options made for benchmarks and long recordings: an exact frame count,
//! a pool of pre-generated frames, rolling segments and a push-latency dump.

mod common;

use common::*;
use streamq::reader::Reader;

#[test]
fn frames_gives_an_exact_count_and_pool_content_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pool.sqcap");
    let lat = dir.path().join("lat.txt");
    let s = record(
        &path,
        &[
            "--frame-size",
            "64KiB",
            "--frames",
            "37",
            "--rate",
            "max",
            "--frame-pool",
            "4",
            "--latencies-out",
            lat.to_str().unwrap(),
        ],
    );
    assert_eq!(s["frames_written"], 37, "{s}");
    assert_eq!(s["frame_pool"], 4);
    assert!(s["cpu_seconds"].as_f64().unwrap() > 0.0, "{s}");
    assert!(s["max_rss_bytes"].as_u64().unwrap() > 0, "{s}");

    // One latency per frame, each a plausible number of nanoseconds.
    let lines: Vec<u64> = std::fs::read_to_string(&lat)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(lines.len(), 37);
    assert!(lines.iter().all(|&ns| ns > 0 && ns < 60_000_000_000));

    // Frame n carries frame n % 4's content, and verify knows it from the metadata.
    let r = Reader::open(&path).unwrap();
    let frames: Vec<Vec<u8>> = r.frames().map(|f| f.data().unwrap().to_vec()).collect();
    assert_eq!(frames.len(), 37);
    assert_eq!(frames[0], frames[4]);
    assert_eq!(frames[5], frames[33]);
    assert_ne!(frames[0], frames[1]);
    let o = streamq(["verify", path.to_str().unwrap(), "--json", "--check-synthetic"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = last_json(&o);
    assert_eq!(v["frames"], 37);
}

#[test]
fn keep_segments_deletes_the_oldest_and_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roll.sqcap");
    let s = record(
        &path,
        &[
            "--frame-size",
            "64KiB",
            "--frames",
            "600",
            "--rate",
            "max",
            "--frame-pool",
            "2",
            "--segment-size",
            "1MiB",
            "--keep-segments",
            "2",
        ],
    );
    assert_eq!(s["frames_written"], 600, "{s}");
    // 39 MB in writes of at most 8 MiB: a rotation after each of at least 5 writes.
    let segments = s["segments"].as_u64().unwrap();
    assert!(segments > 3, "{s}");
    assert_eq!(s["segments_deleted"].as_u64().unwrap(), segments - 2);
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left.len(), 2, "{left:?}");
    // The two newest remain, and each is a complete capture.
    let newest: Vec<String> = s["files"].as_array().unwrap()[segments as usize - 2..]
        .iter()
        .map(|p| {
            std::path::Path::new(p.as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(left, newest);
    for f in &left {
        let o = streamq(["verify", dir.path().join(f).to_str().unwrap(), "--json"]);
        assert_eq!(o.status.code(), Some(0), "{f}: {}", stdout(&o));
    }
}

#[test]
fn bad_bench_options_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.sqcap");
    let p = path.to_str().unwrap();
    for args in [
        vec!["record", p, "--keep-segments", "2"],
        vec!["record", p, "--segment-size", "1MiB", "--keep-segments", "0"],
        vec!["record", p, "--frame-pool", "0"],
        vec!["record", p, "--frame-pool", "100000"],
        vec!["record", p, "--frames", "10", "--duration", "1s"],
        vec!["record", p, "--frames", "-3"],
    ] {
        let o = streamq(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_no_panic(&o, &format!("{args:?}"));
        assert!(!path.exists(), "{args:?} created the file");
    }
}

#[test]
fn replay_cycles_the_files_frames() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("frames.bin");
    // Three 4 KiB frames and a partial fourth, which is ignored.
    let mut bytes = Vec::new();
    for i in 0..3u8 {
        bytes.extend(std::iter::repeat_n(i + 1, 4096));
    }
    bytes.extend([9u8; 100]);
    std::fs::write(&src, &bytes).unwrap();
    let path = dir.path().join("replay.sqcap");
    let s = record(
        &path,
        &[
            "--frame-size",
            "4KiB",
            "--frames",
            "7",
            "--rate",
            "max",
            "--replay",
            src.to_str().unwrap(),
        ],
    );
    assert_eq!(s["frames_written"], 7, "{s}");
    let r = Reader::open(&path).unwrap();
    let got: Vec<Vec<u8>> = r.frames().map(|f| f.data().unwrap().to_vec()).collect();
    for (n, f) in got.iter().enumerate() {
        assert_eq!(f, &bytes[(n % 3) * 4096..(n % 3 + 1) * 4096], "frame {n}");
    }
    // Not the synthetic generator's frames: --check-synthetic has nothing to check.
    let o = streamq(["verify", path.to_str().unwrap(), "--json", "--check-synthetic"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    let p = dir.path().join("x.sqcap");
    let ps = p.to_str().unwrap();
    let tiny = dir.path().join("tiny.bin");
    std::fs::write(&tiny, [0u8; 10]).unwrap();
    for args in [
        vec!["record", ps, "--replay", "/nonexistent/frames.bin"],
        vec![
            "record",
            ps,
            "--frame-size",
            "4KiB",
            "--replay",
            tiny.to_str().unwrap(),
        ],
        vec![
            "record",
            ps,
            "--frame-size",
            "4KiB",
            "--streams",
            "depth,imu",
            "--replay",
            src.to_str().unwrap(),
        ],
        vec![
            "record",
            ps,
            "--frame-pool",
            "2",
            "--replay",
            src.to_str().unwrap(),
        ],
        vec!["record", ps, "--replay", dir.path().to_str().unwrap()],
    ] {
        let o = streamq(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_no_panic(&o, &format!("{args:?}"));
        assert!(!p.exists(), "{args:?} created the file");
    }
}

#[test]
fn max_write_bytes_is_passed_to_the_writer_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small_writes.sqcap");
    let s = record(
        &path,
        &[
            "--frame-size",
            "96KiB",
            "--frames",
            "40",
            "--rate",
            "max",
            "--max-write-bytes",
            "64KiB",
        ],
    );
    assert_eq!(s["frames_written"], 40, "{s}");
    let o = streamq(["verify", path.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(last_json(&o)["frames"], 40);

    // Below one block: refused with one clear line, nothing recorded as a success.
    let bad = dir.path().join("bad.sqcap");
    let o = streamq([
        "record",
        bad.to_str().unwrap(),
        "--frames",
        "3",
        "--max-write-bytes",
        "1KiB",
        "-q",
    ]);
    assert_no_panic(&o, "record --max-write-bytes 1KiB");
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("max_write_bytes must be at least 4096"),
        "{}",
        stderr(&o)
    );
}
