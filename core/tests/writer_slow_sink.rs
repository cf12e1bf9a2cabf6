//! A slow sink (throttled to ~10 MB/s) under each policy: Block keeps memory within
//! budget and loses nothing; the drop policies write gap records whose counts equal the
//! drop counters. And two streams side by side: one dropping oldest, one blocking.

use std::sync::Arc;
use std::time::Duration;

use streamq::reader::Reader;
use streamq::testing::{Fault, FaultInjector};
use streamq::{OverflowPolicy, PushError, StreamConfig, Writer, WriterConfig};

/// Makes every write take as long as it would at `bytes_per_s` (a slow disk or network;
/// the sleep models the device, it synchronises nothing).
struct Throttle {
    bytes_per_s: f64,
}

impl FaultInjector for Throttle {
    fn before_write(&self, _offset: u64, len: usize) -> Fault {
        std::thread::sleep(Duration::from_secs_f64(len as f64 / self.bytes_per_s));
        Fault::None
    }
}

const FRAME: usize = 100_000;
const FRAMES: u64 = 150; // 15 MB offered as fast as possible to a 10 MB/s sink
const CAPACITY: usize = 2 << 20;

fn frame(seq: u64) -> Vec<u8> {
    vec![(seq % 251) as u8; FRAME]
}

fn record(policy: OverflowPolicy) -> (streamq::WriterReport, u64, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slow.sqcap");
    let writer = Writer::start(
        WriterConfig::capture_file(&path)
            .max_write_bytes(512 * 1024)
            .fault_injector(Arc::new(Throttle { bytes_per_s: 10e6 })),
    )
    .unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("depth", "x").capacity(CAPACITY).policy(policy))
        .unwrap();
    let mut refused = 0;
    for seq in 0..FRAMES {
        match p.push(&frame(seq)) {
            Ok(_) => {}
            Err(PushError::WouldBlock) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    drop(p);
    (writer.close().unwrap(), refused, path, dir)
}

fn gaps_in_file(path: &std::path::Path) -> (u64, u64) {
    let r = Reader::open(path).unwrap();
    let v = r.verify();
    assert!(v.is_ok() || v.unexplained_missing == 0, "{v:?}");
    assert_eq!(v.unexplained_missing, 0, "every hole has a gap record");
    (v.dropped, v.frames)
}

#[test]
fn slow_sink_block_loses_nothing_and_stays_within_budget() {
    let (report, refused, path, _d) = record(OverflowPolicy::Block);
    assert_eq!(refused, 0);
    assert_eq!(report.frames_written, FRAMES);
    assert_eq!(report.frames_dropped() + report.frames_failed, 0);
    let q = &report.streams[0].queue;
    assert!(q.peak_level_bytes <= CAPACITY as u64);
    assert!(q.blocked_ns > 0, "the producer had to wait for the slow sink");
    assert_eq!(gaps_in_file(&path), (0, FRAMES));
}

#[test]
fn slow_sink_drop_newest_gap_records_equal_the_drop_counter() {
    let (report, _, path, _d) = record(OverflowPolicy::DropNewest);
    let dropped = report.frames_dropped_newest;
    assert!(dropped > 0, "the sink was too slow: something was dropped");
    assert_eq!(report.frames_written + dropped, FRAMES);
    assert_eq!(gaps_in_file(&path), (dropped, report.frames_written));
}

#[test]
fn slow_sink_drop_oldest_gap_records_equal_the_drop_counter() {
    let (report, _, path, _d) = record(OverflowPolicy::DropOldest);
    let dropped = report.frames_dropped();
    assert!(dropped > 0);
    assert_eq!(report.frames_written + dropped, FRAMES);
    assert_eq!(gaps_in_file(&path), (dropped, report.frames_written));
    // Drop-oldest keeps the newest: the last frame made it.
    let r = Reader::open(&path).unwrap();
    assert_eq!(r.frames().last().unwrap().seq, FRAMES - 1);
}

#[test]
fn slow_sink_fail_fast_hands_every_refusal_back_to_the_caller() {
    let (report, refused, path, _d) = record(OverflowPolicy::FailFast);
    assert!(refused > 0);
    assert_eq!(report.frames_written + refused, FRAMES);
    assert_eq!(
        report.frames_dropped(),
        0,
        "refusals are not drops: the caller kept the frame"
    );
    assert_eq!(gaps_in_file(&path).1, report.frames_written);
}

#[test]
fn a_dropping_stream_beside_a_blocking_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.sqcap");
    let writer = Writer::start(
        WriterConfig::capture_file(&path)
            .max_write_bytes(256 * 1024)
            .fault_injector(Arc::new(Throttle { bytes_per_s: 10e6 })),
    )
    .unwrap();
    let mut preview = writer
        .add_stream(
            StreamConfig::new("preview", "x")
                .capacity(1 << 20)
                .policy(OverflowPolicy::DropOldest),
        )
        .unwrap();
    let mut imu = writer
        .add_stream(
            StreamConfig::new("imu", "x")
                .capacity(64 * 1024)
                .policy(OverflowPolicy::Block),
        )
        .unwrap();
    let t1 = std::thread::spawn(move || {
        for seq in 0..120u64 {
            preview.push(&frame(seq)).unwrap().seq();
        }
    });
    let t2 = std::thread::spawn(move || {
        for seq in 0..5000u64 {
            assert!(imu.push(&seq.to_le_bytes().repeat(4)).unwrap().is_queued());
        }
    });
    t1.join().unwrap();
    t2.join().unwrap();
    let report = writer.close().unwrap();
    let (pv, im) = (&report.streams[0], &report.streams[1]);
    assert_eq!(im.frames_written, 5000, "the blocking stream loses nothing");
    assert_eq!(im.frames_dropped(), 0);
    assert!(pv.frames_dropped() > 0);
    assert_eq!(pv.frames_written + pv.frames_dropped(), 120);
    let r = Reader::open(&path).unwrap();
    let v = r.verify();
    assert_eq!(v.unexplained_missing, 0);
    let s0 = v.per_stream.iter().find(|s| s.stream_id == 0).unwrap();
    let s1 = v.per_stream.iter().find(|s| s.stream_id == 1).unwrap();
    assert_eq!(
        s0.dropped,
        pv.frames_dropped(),
        "preview gap records equal its drop counter"
    );
    assert_eq!(s1.dropped, 0);
    assert_eq!(s1.frames, 5000);
    for (k, f) in r.iter_stream(1).enumerate() {
        assert_eq!(&f.data().unwrap()[..], &(k as u64).to_le_bytes().repeat(4)[..]);
    }
}
