//! Frames through the writer into a capture file (several streams, compression,
//! segments) read back bit-exact by the reader; directory and callback sinks.

use std::sync::{Arc, Mutex};
use streamq::PushOptions;

use streamq::reader::Reader;
use streamq::writer::SinkEvent;
use streamq::{OverflowPolicy, StreamConfig, Writer, WriterConfig};

fn frame(stream: u16, seq: u64, len: usize) -> Vec<u8> {
    // Depth-like: slowly varying 16-bit values, so zstd finds something to do.
    (0..len)
        .map(|i| ((i / 7) as u64 ^ seq.wrapping_mul(31) ^ stream as u64) as u8)
        .collect()
}

#[test]
fn three_streams_from_three_threads_read_back_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cap.sqcap");
    let writer = Writer::start(WriterConfig::capture_file(&path).metadata("sensor", "test")).unwrap();
    let specs = [
        ("depth", 200usize, 60_000usize),
        ("color", 150, 90_000),
        ("imu", 3000, 32),
    ];
    let handles: Vec<_> = specs
        .iter()
        .map(|&(name, n, len)| {
            let mut p = writer
                .add_stream(StreamConfig::new(name, "test/bytes").capacity(1 << 20))
                .unwrap();
            let id = p.stream_id().expect("a writer stream has an id");
            std::thread::spawn(move || {
                for seq in 0..n as u64 {
                    let ts = seq * 1_000_000 + id as u64;
                    assert!(
                        p.push_with(&frame(id, seq, len), &PushOptions::new().device_ts_ns(ts))
                            .unwrap()
                            .is_queued()
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let report = writer.close().unwrap();
    assert_eq!(report.frames_written, 200 + 150 + 3000);
    assert_eq!(report.frames_dropped() + report.frames_failed, 0);

    let r = Reader::open(&path).unwrap();
    assert!(r.is_clean());
    assert_eq!(r.streams().len(), 3);
    for (id, &(name, n, len)) in specs.iter().enumerate() {
        let s = r.stream(id as u16).unwrap();
        assert_eq!(s.def.as_ref().unwrap().name, name);
        assert_eq!(s.frames, n as u64);
        let mut expect = 0;
        for f in r.iter_stream(id as u16) {
            assert_eq!(f.seq, expect, "{name}: no holes");
            assert_eq!(f.device_ts_ns, expect * 1_000_000 + id as u64);
            assert_eq!(&f.data().unwrap()[..], &frame(id as u16, expect, len)[..]);
            expect += 1;
        }
        assert_eq!(expect, n as u64);
    }
    let mut last = 0;
    let mut count = 0;
    for f in r.iter_merged() {
        assert!(f.device_ts_ns >= last, "merged iteration is in timestamp order");
        last = f.device_ts_ns;
        count += 1;
    }
    assert_eq!(count, 3350);
    let v = r.verify();
    assert!(v.is_ok(), "{v:?}");
}

#[test]
fn compressed_capture_reads_back_and_reports_a_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.sqcap");
    let writer = Writer::start(WriterConfig::capture_file(&path).zstd(3).compress_workers(2)).unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("depth", "depth/u16").capacity(16 << 20))
        .unwrap();
    for seq in 0..100 {
        p.push(&frame(0, seq, 300_000)).unwrap().seq();
    }
    drop(p);
    let report = writer.close().unwrap();
    assert_eq!(report.frames_written, 100);
    assert!(report.frames_compressed > 0);
    assert!(
        report.compression_ratio > 2.0,
        "ratio {}",
        report.compression_ratio
    );
    let r = Reader::open(&path).unwrap();
    for (seq, f) in r.frames().enumerate() {
        assert_eq!(&f.data().unwrap()[..], &frame(0, seq as u64, 300_000)[..]);
    }
    assert!(r.verify().is_ok());
}

#[test]
fn segments_rotate_and_read_back_as_one_capture() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("seg.sqcap");
    let done = Arc::new(Mutex::new(Vec::new()));
    let d2 = Arc::clone(&done);
    let writer = Writer::start(
        WriterConfig::capture_file(&base)
            .segment_bytes(1 << 20)
            .max_write_bytes(256 * 1024)
            .on_segment(move |s| d2.lock().unwrap().push(s.clone())),
    )
    .unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("depth", "x").capacity(4 << 20))
        .unwrap();
    for seq in 0..100 {
        p.push(&frame(0, seq, 100_000)).unwrap().seq();
    }
    drop(p);
    let report = writer.close().unwrap();
    let segs = done.lock().unwrap().clone();
    assert!(segs.len() >= 5, "{} segments", segs.len());
    assert_eq!(report.segments.len(), segs.len());
    let paths: Vec<_> = segs.iter().map(|s| s.path.clone()).collect();
    for (i, s) in segs.iter().enumerate() {
        assert_eq!(s.index as usize, i);
        assert!(
            Reader::open(&s.path).unwrap().is_clean(),
            "each segment is a complete file"
        );
    }
    let r = Reader::open_segments(&paths).unwrap();
    let seqs: Vec<u64> = r.frames().map(|f| f.seq).collect();
    assert_eq!(seqs, (0..100).collect::<Vec<_>>());
    // The segment opened ahead but never used is removed.
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, segs.len());
}

#[test]
fn directory_sink_writes_one_file_per_frame() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("frames");
    let writer = Writer::start(WriterConfig::directory(&out).io_workers(2)).unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("depth", "x").capacity(4 << 20))
        .unwrap();
    for seq in 0..50 {
        p.push(&frame(0, seq, 10_000)).unwrap().seq();
    }
    drop(p);
    assert_eq!(writer.close().unwrap().frames_written, 50);
    for seq in 0..50u64 {
        let data = std::fs::read(out.join(format!("frame-{seq:06}.raw"))).unwrap();
        assert_eq!(data, frame(0, seq, 10_000));
    }
}

#[test]
fn callback_sink_sees_every_frame_and_gap() {
    let seen = Arc::new(Mutex::new((Vec::new(), 0u64)));
    let s2 = Arc::clone(&seen);
    let writer = Writer::start(WriterConfig::callback(move |ev| {
        let mut s = s2.lock().unwrap();
        match ev {
            SinkEvent::Frame(f) => s.0.push((f.info.seq, f.data.to_vec())),
            SinkEvent::Gap { gap, stream, .. } => {
                assert_eq!(stream, "s", "gap events name their stream");
                s.1 += gap.count
            }
            _ => {}
        }
        Ok(())
    }))
    .unwrap();
    let mut p = writer
        .add_stream(
            StreamConfig::new("s", "x")
                .capacity(64 * 1024)
                .policy(OverflowPolicy::DropNewest),
        )
        .unwrap();
    let mut dropped = 0;
    for seq in 0..2000 {
        if !p.push(&frame(0, seq, 1000)).unwrap().is_queued() {
            dropped += 1;
        }
    }
    drop(p);
    let report = writer.close().unwrap();
    let s = seen.lock().unwrap();
    assert_eq!(s.0.len() as u64 + s.1, 2000);
    assert_eq!(s.1, dropped);
    assert_eq!(report.frames_dropped_newest, dropped);
    for (seq, data) in &s.0 {
        assert_eq!(data, &frame(0, *seq, 1000));
    }
}

#[test]
fn flush_returns_after_everything_pushed_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.sqcap");
    let writer =
        Writer::start(WriterConfig::capture_file(&path).fsync(streamq::FsyncPolicy::EveryBytes(1 << 20)))
            .unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("s", "x").capacity(4 << 20))
        .unwrap();
    for seq in 0..20 {
        p.push(&frame(0, seq, 50_000)).unwrap().seq();
    }
    writer.flush().unwrap();
    let st = writer.stats();
    assert_eq!(st.frames_written, 20);
    assert_eq!(writer.durable_seq(0), Some(19), "flush syncs under a sync policy");
    // The frames are readable by another reader now, before close (no trailer yet).
    let r = Reader::open(&path).unwrap();
    assert_eq!(r.frame_count(), 20);
    drop(p);
    writer.close().unwrap();
}

#[test]
fn a_stream_added_while_recording_is_captured() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.sqcap");
    let writer = Writer::start(WriterConfig::capture_file(&path)).unwrap();
    let mut a = writer
        .add_stream(StreamConfig::new("a", "x").capacity(1 << 20))
        .unwrap();
    for seq in 0..10 {
        a.push(&frame(0, seq, 1000)).unwrap().seq();
    }
    writer.flush().unwrap();
    let mut b = writer
        .add_stream(StreamConfig::new("b", "x").capacity(1 << 20))
        .unwrap();
    for seq in 0..10 {
        a.push(&frame(0, 10 + seq, 1000)).unwrap().seq();
        b.push(&frame(1, seq, 500)).unwrap().seq();
    }
    drop((a, b));
    let report = writer.close().unwrap();
    assert_eq!(report.streams.len(), 2);
    assert_eq!(report.streams[1].frames_written, 10);
    let r = Reader::open(&path).unwrap();
    assert_eq!(r.stream(0).unwrap().frames, 20);
    assert_eq!(r.stream(1).unwrap().frames, 10);
    assert!(r.verify().is_ok());
}

#[test]
fn pushes_after_close_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Writer::start(WriterConfig::capture_file(dir.path().join("c.sqcap"))).unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("s", "x").capacity(1 << 20))
        .unwrap();
    p.push(b"one").unwrap().seq();
    let report = writer.close().unwrap();
    assert_eq!(report.frames_written, 1);
    assert_eq!(p.push(b"two"), Err(streamq::PushError::Closed));
}

/// With `raw_when_behind(false)` every frame is compressed, also while the producer
/// keeps the small ring above high water (by default those would be stored raw).
#[test]
fn raw_when_behind_false_compresses_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.sqcap");
    let writer = Writer::start(WriterConfig::capture_file(&path).zstd(3).raw_when_behind(false)).unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("s", "x").capacity(1 << 20))
        .unwrap();
    let frames: Vec<Vec<u8>> = (0..60u8).map(|i| vec![i % 7; 200_000]).collect();
    for f in &frames {
        assert!(p.push(f).unwrap().is_queued());
    }
    drop(p);
    let r = writer.close().unwrap();
    assert_eq!(
        (r.frames_written, r.frames_compressed, r.frames_stored_raw),
        (60, 60, 0)
    );
    let back: Vec<Vec<u8>> = Reader::open(&path)
        .unwrap()
        .frames()
        .map(|f| f.data().unwrap().to_vec())
        .collect();
    assert_eq!(back, frames);
}
