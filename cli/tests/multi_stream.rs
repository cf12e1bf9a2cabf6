//! `record --streams depth,color,imu`: several streams at their own rates in one capture.

mod common;

use common::*;
use streamq::reader::Reader;
use streamq_cli::synthetic::{Generator, Kind, StreamSpec};

#[test]
fn depth_color_imu_at_real_rate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("multi.sqcap");
    let s = record(
        &path,
        &[
            "--streams",
            "depth,color,imu",
            "--duration",
            "2s",
            "--frame-size",
            "64KiB",
            "--rate",
            "real",
        ],
    );
    let streams = s["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 3);
    let names: Vec<&str> = streams.iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["depth", "color", "imu"]);
    assert_eq!(streams[0]["frames_written"], 60);
    assert_eq!(streams[1]["frames_written"], 60);
    assert_eq!(streams[2]["frames_written"], 3200);
    for st in streams {
        assert!(st["push_latency_us"]["p99"].is_number());
        assert_eq!(st["frames_dropped"], 0);
    }
    let secs = s["seconds"].as_f64().unwrap();
    assert!((1.9..6.0).contains(&secs), "real rate: {secs} s");

    // verify: each stream complete, no unexplained holes, content bit-exact
    let o = streamq(["verify", path.to_str().unwrap(), "--json", "--check-synthetic"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = last_json(&o);
    assert_eq!(v["frames"], 60 + 60 + 3200);
    assert_eq!(v["unexplained_missing"], 0);
    assert_eq!(v["synthetic_mismatched"], 0);
    let per: Vec<_> = v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["name"].clone(), x["frames"].clone()))
        .collect();
    assert_eq!(per.len(), 3);
    for x in v["streams"].as_array().unwrap() {
        assert_eq!(x["unexplained_missing"], 0);
        assert_eq!(x["first_seq"], 0);
    }
    let text = stdout(&streamq(["verify", path.to_str().unwrap()]));
    for n in ["depth", "color", "imu"] {
        assert!(text.contains(n), "{text}");
    }

    // info lists the three streams with media types and rates
    let i = last_json(&streamq(["info", path.to_str().unwrap(), "--json"]));
    let ist = i["streams"].as_array().unwrap();
    assert_eq!(ist[1]["media_type"], "color/rgb8");
    assert_eq!(ist[2]["media_type"], "imu/f32x6");
    let imu_fps = ist[2]["fps"].as_f64().unwrap();
    assert!((imu_fps - 1600.0).abs() < 1.0, "imu rate {imu_fps}");

    // The reader: merged timestamps non-decreasing, every stream 0..n without holes,
    // content equal to the generator's.
    let r = Reader::open(&path).unwrap();
    let mut prev = 0u64;
    let mut n = 0;
    for f in r.iter_merged() {
        assert!(
            f.device_ts_ns >= prev,
            "merged order goes back at stream {} seq {}",
            f.stream_id,
            f.seq
        );
        prev = f.device_ts_ns;
        n += 1;
    }
    assert_eq!(n, 3320);
    for (id, kind, count) in [
        (0u16, Kind::Depth, 60u64),
        (1, Kind::Color, 60),
        (2, Kind::Imu, 3200),
    ] {
        let g = Generator::new(StreamSpec::new(kind, 64 * 1024, 30.0));
        let seqs: Vec<u64> = r.iter_stream(id).map(|f| f.seq).collect();
        assert_eq!(seqs, (0..count).collect::<Vec<_>>(), "stream {kind}");
        let f = r.seek_seq(id, count / 2).next().unwrap();
        assert_eq!(*f.data().unwrap(), g.frame(count / 2)[..]);
        assert_eq!(f.device_ts_ns, g.spec().ts_of_index(count / 2));
    }
    // cat by stream name
    let o = streamq(["cat", path.to_str().unwrap(), "--stream", "imu", "--seq", "1600"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        o.stdout,
        Generator::new(StreamSpec::new(Kind::Imu, 0, 30.0)).frame(1600)
    );
    let o = streamq(["cat", path.to_str().unwrap(), "--stream", "1", "--seq", "7"]);
    assert_eq!(
        o.stdout.len(),
        StreamSpec::new(Kind::Color, 64 * 1024, 30.0).frame_bytes
    );
}

#[test]
fn four_streams_at_max_rate_with_compression() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("four.sqcap");
    let s = record(
        &path,
        &[
            "--streams",
            "depth,color,ir,imu",
            "--duration",
            "500ms",
            "--frame-size",
            "32KiB",
            "--rate",
            "max",
            "--compress",
            "zstd",
        ],
    );
    assert_eq!(s["streams"].as_array().unwrap().len(), 4);
    assert_eq!(s["frames_written"], 15 * 3 + 800);
    let o = streamq(["verify", path.to_str().unwrap(), "--json", "--check-synthetic"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = last_json(&o);
    assert_eq!(v["synthetic_checked"], 15 * 3 + 800);
    assert_eq!(v["synthetic_mismatched"], 0);
    let out = dir.path().join("x");
    let o = streamq([
        "extract",
        path.to_str().unwrap(),
        out.to_str().unwrap(),
        "--stream",
        "ir",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(std::fs::read_dir(out.join("ir")).unwrap().count(), 15);
    assert!(!out.join("depth").exists());
}
