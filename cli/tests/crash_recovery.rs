//! SIGKILL a recording at random moments: the file always opens, the damage is a torn
//! tail (never corruption), every frame up to the durable mark reported before the kill
//! is there bit-exact, and `recover` makes a clean file that keeps them all.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use streamq::reader::Reader;
use streamq_cli::synthetic::{Generator, Kind, StreamSpec};

const TRIALS: u64 = 20;

/// splitmix64: the kill moment of trial `n`, deterministic.
fn kill_after_ms(trial: u64) -> u64 {
    let mut z = trial.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    50 + z % 551
}

struct Trial {
    /// Per stream: the last durable seq reported before the kill.
    durable: Vec<Option<u64>>,
    progress_lines: usize,
}

fn record_and_kill(path: &std::path::Path, streams: &str, after: Duration) -> Trial {
    let mut child = Command::new(BIN)
        .args([
            "record",
            path.to_str().unwrap(),
            "--rate",
            "real",
            "--fps",
            "100",
            "--frame-size",
            "64KiB",
            "--duration",
            "30s",
            "--fsync",
            "20ms",
            "--capacity",
            "16MiB",
            "--json",
            "--progress-interval",
            "20ms",
            "--streams",
            streams,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn streamq record");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + after;
    let mut durable: Vec<Option<u64>> = Vec::new();
    let mut progress_lines = 0;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        match rx.recv_timeout(deadline - now) {
            Ok(line) => {
                let v: serde_json::Value = serde_json::from_str(&line).expect("progress line is JSON");
                assert_eq!(v["event"], "progress", "{line}");
                progress_lines += 1;
                let mut ds: Vec<Option<u64>> = v["durable_seqs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64())
                    .collect();
                // `durable_seq` (writer.durable_seq(0)) is read just after the per-stream
                // snapshot, so it may be newer.
                let d0 = v["durable_seq"].as_u64();
                assert!(d0 >= ds[0], "{line}");
                ds[0] = d0;
                // durable marks only grow
                for (i, d) in ds.iter().enumerate() {
                    if let (Some(Some(old)), Some(new)) = (durable.get(i), d) {
                        assert!(new >= old, "durable seq went back");
                    }
                }
                durable = ds;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => break,
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("recorder exited early"),
        }
    }
    // SAFETY: killing the child we spawned.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    assert_eq!(rc, 0);
    let status = child.wait().unwrap();
    assert!(!status.success());
    drop(rx);
    reader.join().unwrap();
    Trial {
        durable,
        progress_lines,
    }
}

/// Every frame of every stream up to its durable mark is present and bit-exact.
fn check_durable_frames(path: &std::path::Path, kinds: &[Kind], t: &Trial, when: &str) -> u64 {
    let r = Reader::open(path).unwrap_or_else(|e| panic!("{when}: reader cannot open: {e}"));
    let mut checked = 0;
    for (id, kind) in kinds.iter().enumerate() {
        let Some(Some(durable)) = t.durable.get(id) else {
            continue;
        };
        let g = Generator::new(StreamSpec::new(*kind, 64 * 1024, 100.0));
        let mut want = 0u64;
        for f in r.iter_stream(id as u16) {
            if f.seq > *durable {
                break;
            }
            assert_eq!(
                f.seq, want,
                "{when}: stream {kind}: frame {want} missing below durable mark {durable}"
            );
            assert_eq!(
                *f.data().unwrap(),
                g.frame(f.seq)[..],
                "{when}: stream {kind} seq {} differs",
                f.seq
            );
            assert_eq!(f.device_ts_ns, g.spec().ts_of_index(f.seq));
            want += 1;
            checked += 1;
        }
        assert_eq!(
            want,
            durable + 1,
            "{when}: stream {kind}: frames {want}..={durable} missing"
        );
    }
    checked
}

#[test]
fn sigkill_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut with_durable = 0;
    let mut total_checked = 0;
    for trial in 0..TRIALS {
        let (streams, kinds): (&str, Vec<Kind>) = if trial % 4 == 3 {
            ("depth,color,imu", vec![Kind::Depth, Kind::Color, Kind::Imu])
        } else {
            ("depth", vec![Kind::Depth])
        };
        let path = dir.path().join(format!("crash-{trial}.sqcap"));
        let after = Duration::from_millis(kill_after_ms(trial));
        let t = record_and_kill(&path, streams, after);
        eprintln!(
            "trial {trial}: {:?} lines {} durable {:?}",
            after, t.progress_lines, t.durable
        );
        if t.durable.first().copied().flatten().is_some() {
            with_durable += 1;
        }
        let what = format!(
            "trial {trial} ({streams}, killed after {after:?}, {} progress lines)",
            t.progress_lines
        );

        // verify opens it: exit 1 (torn tail / no trailer), truncated not corrupt.
        let o = streamq(["verify", path.to_str().unwrap(), "--json", "--check-synthetic"]);
        assert_no_panic(&o, &what);
        let code = o.status.code().unwrap();
        assert!(
            code == 0 || code == 1,
            "{what}: verify exit {code}: {}",
            stderr(&o)
        );
        let v = last_json(&o);
        assert_eq!(v["corrupt"], 0, "{what}: {v}");
        assert_eq!(v["bad_frames"], 0, "{what}: {v}");
        assert_eq!(v["unexplained_missing"], 0, "{what}: {v}");
        assert_eq!(v["synthetic_mismatched"], 0, "{what}: {v}");
        assert_eq!(v["clean_close"], false, "{what}: {v}");
        let frames_before = v["frames"].as_u64().unwrap();
        let o = streamq(["info", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{what}: info: {}", stderr(&o));

        total_checked += check_durable_frames(&path, &kinds, &t, &format!("{what}, before recover"));

        // recover: a clean file that keeps every frame.
        let o = streamq(["recover", path.to_str().unwrap(), "--json"]);
        assert_eq!(o.status.code(), Some(0), "{what}: recover: {}", stderr(&o));
        let rec = last_json(&o);
        assert_eq!(rec["already_clean"], false);
        assert_eq!(rec["corrupt_regions"], 0, "{what}: {rec}");
        let o = streamq(["verify", path.to_str().unwrap(), "--json", "--check-synthetic"]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{what}: verify after recover: {}",
            stdout(&o)
        );
        let v = last_json(&o);
        assert_eq!(v["clean_close"], true);
        assert_eq!(v["truncated_bytes"], 0);
        assert_eq!(
            v["frames"].as_u64().unwrap(),
            frames_before,
            "{what}: recover lost frames"
        );
        check_durable_frames(&path, &kinds, &t, &format!("{what}, after recover"));
        // idempotent
        let o = streamq(["recover", path.to_str().unwrap(), "--json"]);
        assert_eq!(last_json(&o)["already_clean"], true);
        let _ = std::fs::remove_file(&path);
    }
    // Most kill moments are well after the first fsync (20 ms cadence).
    assert!(
        with_durable >= TRIALS / 2,
        "only {with_durable} trials saw a durable mark"
    );
    assert!(total_checked > 0);
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "crash test took {:?}",
        started.elapsed()
    );
}
