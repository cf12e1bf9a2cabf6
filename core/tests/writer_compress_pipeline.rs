//! The compression pipeline (F9): the zstd workers compress a stream of frames while the
//! writer thread writes the ones already done. Order is kept across many batches and
//! several workers, a write failure with frames in the compressors still accounts for
//! every frame and leaves a valid file, `flush` waits for frames still being
//! compressed, and frames are stored raw while their queue is above high water (unless
//! `raw_when_behind(false)`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use streamq::reader::Reader;
use streamq::testing::{Fault, FaultInjector};
use streamq::{PushError, StreamConfig, Writer, WriterConfig};

/// xorshift bytes: `entropy_bits` of randomness per byte (8 = incompressible).
fn noise(seed: u64, len: usize, entropy_bits: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mask = ((1u16 << entropy_bits) - 1) as u8;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x as u8) & mask
        })
        .collect()
}

/// Frame `seq` of stream `stream`: tiny (stored raw), incompressible (stored raw) or
/// compressible, of varying sizes, all different.
fn mixed_frame(stream: u64, seq: u64) -> Vec<u8> {
    let seed = stream << 32 | seq;
    match seq % 7 {
        0 => noise(seed, (seq % 60) as usize + 1, 8),
        1 => noise(seed, 3_000 + (seq as usize * 37) % 9_000, 8),
        _ => noise(seed, 1_000 + (seq as usize * 131) % 40_000, 2),
    }
}

#[test]
fn order_is_kept_across_many_batches_with_several_workers() {
    const STREAMS: u64 = 3;
    const FRAMES: u64 = 400;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("order.sqcap");
    // 16 KiB writes × 4 workers: the pipeline holds a few frames at a time, so the run
    // is hundreds of batches with jobs finishing out of order.
    let writer = Writer::start(
        WriterConfig::capture_file(&path)
            .zstd(1)
            .compress_workers(4)
            .max_write_bytes(16 << 10)
            .raw_when_behind(false),
    )
    .unwrap();
    let producers: Vec<_> = (0..STREAMS)
        .map(|s| {
            writer
                .add_stream(StreamConfig::new(format!("s{s}"), "x").capacity(1 << 20))
                .unwrap()
        })
        .collect();
    std::thread::scope(|scope| {
        for (s, mut p) in producers.into_iter().enumerate() {
            scope.spawn(move || {
                for seq in 0..FRAMES {
                    assert_eq!(p.push(&mixed_frame(s as u64, seq)).unwrap().seq(), seq);
                }
            });
        }
    });
    let report = writer.close().unwrap();
    assert_eq!(report.frames_written, STREAMS * FRAMES);
    assert_eq!(report.frames_failed, 0);
    assert!(
        report.frames_compressed > 0 && report.frames_stored_raw > 0,
        "{report:?}"
    );
    assert_eq!(
        report.frames_compressed + report.frames_stored_raw,
        STREAMS * FRAMES
    );

    let r = Reader::open(&path).unwrap();
    assert!(r.verify().is_ok());
    // File order: each stream's records in sequence order, every frame intact.
    let mut next = vec![0u64; STREAMS as usize];
    let mut compressed = 0;
    for f in r.frames() {
        let s = f.stream_id as usize;
        assert_eq!(f.seq, next[s], "stream {s} out of order in the file");
        next[s] += 1;
        assert_eq!(
            f.data().unwrap().as_ref(),
            mixed_frame(s as u64, f.seq).as_slice()
        );
        compressed += f.is_compressed() as u64;
    }
    assert_eq!(next, vec![FRAMES; STREAMS as usize]);
    assert_eq!(compressed, report.frames_compressed);
}

/// Fails every write from the `nth` frame write on (the file header and the stream
/// definition are writes 0 and 1).
struct FailFrom {
    writes: AtomicUsize,
    nth: usize,
}

impl FaultInjector for FailFrom {
    fn before_write(&self, _offset: u64, _len: usize) -> Fault {
        if self.writes.fetch_add(1, Ordering::SeqCst) >= self.nth + 2 {
            Fault::Error(libc::EIO)
        } else {
            Fault::None
        }
    }
}

fn failure_while_compressing(direct_io: bool, nth: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fail.sqcap");
    let inj = Arc::new(FailFrom {
        writes: AtomicUsize::new(0),
        nth,
    });
    // Level 9 and 4 workers over a 256 KiB budget: when a write fails, the pipeline
    // holds frames being compressed and frames done but not yet written.
    let writer = Writer::start(
        WriterConfig::capture_file(&path)
            .zstd(9)
            .compress_workers(4)
            .max_write_bytes(64 << 10)
            .raw_when_behind(false)
            .direct_io(direct_io)
            .fault_injector(inj),
    )
    .unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("s", "x").capacity(4 << 20))
        .unwrap();
    let mut pushed = 0u64;
    loop {
        match p.push(&noise(pushed, 30_000, 3)) {
            Ok(_) => pushed += 1,
            Err(PushError::Failed) => break,
            Err(e) => panic!("unexpected {e}"),
        }
        assert!(pushed < 100_000, "the failure never reached the producer");
    }
    let e = writer.close().unwrap_err();
    assert_eq!(e.error.raw_os_error(), Some(libc::EIO));
    let report = &e.report;
    assert_eq!(
        report.frames_written + report.frames_failed + report.frames_dropped(),
        pushed,
        "every accepted frame is written or failed: {report:?}"
    );
    assert!(report.frames_failed > 0);
    let r = Reader::open(&path).unwrap();
    let v = r.verify();
    assert_eq!(v.corrupt, 0, "{v:?}");
    assert_eq!(
        v.frames, report.frames_written,
        "what is reported written is on file"
    );
    for (i, f) in r.frames().enumerate() {
        assert_eq!(f.seq, i as u64);
        assert_eq!(f.data().unwrap().as_ref(), noise(f.seq, 30_000, 3).as_slice());
    }
}

#[test]
fn a_write_failure_with_frames_in_the_compressors_accounts_for_every_frame() {
    failure_while_compressing(false, 0);
    failure_while_compressing(false, 5);
    // O_DIRECT: the failure happens on an I/O thread, after the write was accepted.
    failure_while_compressing(true, 3);
}

#[test]
fn flush_waits_for_frames_still_in_the_compressors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flush.sqcap");
    // Level 19 takes tens of milliseconds per frame: flush() comes while most frames
    // are queued for or inside the workers.
    let writer = Writer::start(
        WriterConfig::capture_file(&path)
            .zstd(19)
            .compress_workers(2)
            .raw_when_behind(false),
    )
    .unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("s", "x").capacity(16 << 20))
        .unwrap();
    for round in 0..2u64 {
        for seq in round * 10..round * 10 + 10 {
            assert!(p.push(&noise(seq, 200_000, 4)).unwrap().is_queued());
        }
        writer.flush().unwrap();
        let written = (round + 1) * 10;
        assert_eq!(
            writer.stats().frames_written,
            written,
            "flush returned before every frame was written"
        );
        // And they are on the file, readable while the capture is still open.
        let r = Reader::open(&path).unwrap();
        assert_eq!(r.frames().count() as u64, written);
        assert!(r.frames().all(|f| f.is_compressed()));
    }
    drop(p);
    let report = writer.close().unwrap();
    assert_eq!((report.frames_written, report.frames_compressed), (20, 20));
}

/// Holds the first frame write (len ≥ 512: not the file header or the stream
/// definition) until released, so the test can fill the queue meanwhile.
struct HoldFirstFrameWrite {
    held: Mutex<bool>,
    reached: std::sync::mpsc::SyncSender<()>,
    release: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl FaultInjector for HoldFirstFrameWrite {
    fn before_write(&self, _offset: u64, len: usize) -> Fault {
        let mut held = self.held.lock().unwrap();
        if len >= 512 && !*held {
            *held = true;
            self.reached.send(()).unwrap();
            self.release.lock().unwrap().recv().unwrap();
        }
        Fault::None
    }
}

/// Fills a 1 MiB queue above high water while the writer is held in its first write,
/// then lets it go; returns the report and how many frames the file stores raw.
fn fill_while_held(raw_when_behind: bool) -> (streamq::WriterReport, u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("behind.sqcap");
    let (reached_tx, reached_rx) = std::sync::mpsc::sync_channel(1);
    let (release_tx, release_rx) = std::sync::mpsc::channel();
    let inj = Arc::new(HoldFirstFrameWrite {
        held: Mutex::new(false),
        reached: reached_tx,
        release: Mutex::new(release_rx),
    });
    // Buffered writes: the fault hook runs on the writer thread, so holding it holds
    // the writer.
    let writer = Writer::start(
        WriterConfig::capture_file(&path)
            .zstd(1)
            .compress_workers(2)
            .max_write_bytes(32 << 10)
            .direct_io(false)
            .raw_when_behind(raw_when_behind)
            .fault_injector(inj),
    )
    .unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("s", "x").capacity(1 << 20))
        .unwrap();
    let frame = |seq: u64| noise(seq, 20_000, 4);
    let mut seq = 0u64;
    assert!(p.push(&frame(seq)).unwrap().is_queued());
    seq += 1;
    reached_rx.recv().unwrap();
    // The writer is inside its first frame write: fill the queue until it is full.
    loop {
        match p.try_push(&frame(seq)) {
            Ok(_) => seq += 1,
            Err(PushError::WouldBlock) => break,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(p.stats().above_high_water);
    release_tx.send(()).unwrap();
    drop(p);
    let report = writer.close().unwrap();
    assert_eq!(report.frames_written, seq);
    let r = Reader::open(&path).unwrap();
    assert!(r.verify().is_ok());
    let mut raw = 0;
    for f in r.frames() {
        assert_eq!(f.data().unwrap().as_ref(), frame(f.seq).as_slice());
        raw += !f.is_compressed() as u64;
    }
    (report, raw)
}

#[test]
fn frames_are_stored_raw_while_the_queue_is_above_high_water() {
    let (report, raw) = fill_while_held(true);
    assert!(
        raw > 0,
        "frames claimed above high water are stored raw: {report:?}"
    );
    assert!(
        report.frames_compressed > 0,
        "the first frame, claimed below high water, is compressed"
    );
    assert_eq!(report.frames_stored_raw, raw);
    assert_eq!(report.frames_compressed + raw, report.frames_written);

    let (report, raw) = fill_while_held(false);
    assert_eq!(
        raw, 0,
        "raw_when_behind(false) compresses every frame: {report:?}"
    );
    assert_eq!(report.frames_compressed, report.frames_written);
}
