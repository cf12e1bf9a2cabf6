//! Missing, empty, random, truncated and bit-flipped inputs: a one-line error or a
//! damage report and a non-zero exit — never a panic.

mod common;

use std::path::Path;

use common::*;

/// Runs verify, info, cat and recover (on a copy) on `path`; returns verify's exit code.
fn run_all(path: &Path, what: &str) -> i32 {
    let p = path.to_str().unwrap();
    let v = streamq(["verify", p, "--json"]);
    assert_no_panic(&v, &format!("verify {what}"));
    let code = v.status.code().unwrap();
    assert!(code == 0 || code == 1 || code == 2, "verify {what}: exit {code}");
    if code == 2 {
        assert_eq!(stderr(&v).lines().count(), 1, "verify {what}: {}", stderr(&v));
        assert!(stderr(&v).starts_with("streamq: "), "{}", stderr(&v));
    } else {
        // A damage report: the JSON summary is the last line.
        let j = last_json(&v);
        assert_eq!(j["ok"], code == 0, "{what}: {j}");
    }
    for args in [
        vec!["info", p],
        vec!["info", p, "--json"],
        vec!["cat", p, "--seq", "3"],
        vec!["verify", p],
    ] {
        let o = streamq(&args);
        assert_no_panic(&o, &format!("{args:?} {what}"));
        if o.status.code() != Some(0) {
            let err = stderr(&o);
            assert!(
                err.lines().count() <= 1 && (err.is_empty() || err.starts_with("streamq: ")),
                "{args:?} {what}: {err}"
            );
        }
    }
    let copy = path.with_extension("copy");
    if path.exists() {
        std::fs::copy(path, &copy).unwrap();
        let o = streamq(["recover", copy.to_str().unwrap()]);
        assert_no_panic(&o, &format!("recover {what}"));
        if o.status.code() == Some(0) {
            // a recovered file opens and has no torn tail
            let o = streamq(["verify", copy.to_str().unwrap(), "--json"]);
            assert_no_panic(&o, &format!("verify after recover {what}"));
            if o.status.code() != Some(2) {
                assert_eq!(last_json(&o)["truncated_bytes"], 0, "{what}");
            }
        } else {
            assert_eq!(stderr(&o).lines().count(), 1, "recover {what}: {}", stderr(&o));
        }
        let _ = std::fs::remove_file(&copy);
    }
    code
}

#[test]
fn missing_empty_random_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.sqcap");
    let o = streamq(["verify", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "streamq: cannot open {}: No such file or directory\n",
            missing.display()
        )
    );
    for cmd in ["info", "recover"] {
        let o = streamq([cmd, missing.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        assert_eq!(stderr(&o).lines().count(), 1);
    }
    let o = streamq(["cat", missing.to_str().unwrap(), "--seq", "0"]);
    assert_eq!(o.status.code(), Some(2));

    let empty = dir.path().join("empty.sqcap");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(run_all(&empty, "empty"), 2);
    assert!(stderr(&streamq(["verify", empty.to_str().unwrap()])).contains("empty"));

    let random = dir.path().join("random.sqcap");
    let mut x = 0x1234_5678_9abc_def0u64;
    let bytes: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&random, &bytes).unwrap();
    assert_eq!(run_all(&random, "random"), 2);
    assert!(stderr(&streamq(["info", random.to_str().unwrap()])).contains("not a streamq capture"));

    let o = streamq(["verify", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a directory"));
    // usage errors
    assert_eq!(streamq(["verify"]).status.code(), Some(2));
    assert_eq!(
        streamq(["record", "x.sqcap", "--frame-size", "lots"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        streamq(["record", "x.sqcap", "--streams", "depth,sonar"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        streamq(["record", "x.sqcap", "--compress", "zstd:99"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        streamq(["record", "x.sqcap", "--fsync", "sometimes"])
            .status
            .code(),
        Some(2)
    );
    let o = streamq([
        "record",
        dir.path().join("no/such/dir/x.sqcap").to_str().unwrap(),
        "--duration",
        "100ms",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert_no_panic(&o, "record into a missing directory");
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

#[test]
fn truncated_and_bit_flipped_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("good.sqcap");
    record(
        &path,
        &[
            "--fps",
            "20",
            "--frame-size",
            "8KiB",
            "--duration",
            "500ms",
            "--rate",
            "max",
            "--streams",
            "depth,imu",
        ],
    );
    let good = std::fs::read(&path).unwrap();
    let len = good.len();
    assert_eq!(run_all(&path, "intact"), 0);

    // Truncations: inside the magic, inside the header, inside records, in the trailer.
    let bad = dir.path().join("bad.sqcap");
    let mut cuts = vec![
        1,
        7,
        8,
        20,
        40,
        100,
        200,
        len / 3,
        len / 2,
        len - 100,
        len - 17,
        len - 1,
    ];
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts {
        std::fs::write(&bad, &good[..cut]).unwrap();
        let code = run_all(&bad, &format!("truncated to {cut}"));
        assert_ne!(code, 0, "a file truncated to {cut} of {len} bytes passed verify");
        if cut > 200 {
            // A torn tail: truncated, not corrupt.
            let j = last_json(&streamq(["verify", bad.to_str().unwrap(), "--json"]));
            assert_eq!(j["corrupt"], 0, "cut {cut}: {j}");
            assert_eq!(j["clean_close"], false);
        }
    }

    // Bit flips all over the file.
    let mut flips = 0;
    for k in 0..24 {
        let pos = (k * 7919 + 13) % len;
        let mut b = good.clone();
        b[pos] ^= 1 << (k % 8);
        std::fs::write(&bad, &b).unwrap();
        let code = run_all(&bad, &format!("bit flip at {pos}"));
        if code != 0 {
            flips += 1;
        }
    }
    // Padding bytes are not covered by any CRC, so a few flips may be harmless; most
    // must be caught.
    assert!(flips >= 18, "only {flips}/24 bit flips detected");

    // A flip inside a frame payload is reported as corrupt (not truncated), and the
    // other frames still read.
    let r = streamq::reader::Reader::open(&path).unwrap();
    let f = r.seek_seq(0, 4).next().unwrap();
    let at = f.payload_offset() as usize + 100;
    drop(r);
    let mut b = good.clone();
    b[at] ^= 0x10;
    std::fs::write(&bad, &b).unwrap();
    let o = streamq(["verify", bad.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let j = last_json(&o);
    assert!(j["corrupt"].as_u64().unwrap() >= 1, "{j}");
    assert_eq!(j["truncated_bytes"], 0);
    let o = streamq(["cat", bad.to_str().unwrap(), "--seq", "4"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("streamq: "), "{}", stderr(&o));
    let o = streamq(["cat", bad.to_str().unwrap(), "--seq", "5"]);
    assert_eq!(o.status.code(), Some(0));
}
