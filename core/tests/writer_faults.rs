//! F10: ENOSPC, EIO, short writes and failed syncs stop the writer cleanly: the error
//! reaches the producer on its next push, the error callback and close(); the file
//! stays valid up to its last complete record; nothing is reported as written that
//! is not on file.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use streamq::reader::Reader;
use streamq::testing::{Fault, FaultInjector};
use streamq::{PushError, StreamConfig, Writer, WriterConfig};

/// Fails the `nth` frame write (counting from 0, after the header write) with `fault`.
struct FailNth {
    writes: AtomicUsize,
    nth: usize,
    fault: Fault,
    fail_sync: Option<i32>,
}

impl FaultInjector for FailNth {
    fn before_write(&self, _offset: u64, _len: usize) -> Fault {
        let n = self.writes.fetch_add(1, Ordering::SeqCst);
        // Write 0 is the file header; count frame writes from 1.
        if n > self.nth { self.fault } else { Fault::None }
    }
    fn before_sync(&self) -> Option<i32> {
        self.fail_sync
    }
}

struct Outcome {
    pushes_until_failed: usize,
    close_error: streamq::CloseError,
    callback_errors: usize,
    file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn run(fault: Fault, nth: usize, fail_sync: Option<i32>) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.sqcap");
    let errors = Arc::new(AtomicUsize::new(0));
    let e2 = Arc::clone(&errors);
    let inj = Arc::new(FailNth {
        writes: AtomicUsize::new(0),
        nth,
        fault,
        fail_sync,
    });
    let cfg = WriterConfig::capture_file(&file)
        .fault_injector(inj)
        .max_write_bytes(64 * 1024)
        .fsync(if fail_sync.is_some() {
            streamq::FsyncPolicy::Always
        } else {
            streamq::FsyncPolicy::OnClose
        })
        .on_error(move |_| {
            e2.fetch_add(1, Ordering::SeqCst);
        });
    let writer = Writer::start(cfg).unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("s", "x").capacity(1 << 20))
        .unwrap();
    let mut pushes = 0;
    loop {
        match p.push(&[pushes as u8; 20_000]) {
            Ok(_) => pushes += 1,
            Err(PushError::Failed) => break,
            Err(e) => panic!("unexpected {e}"),
        }
        assert!(pushes < 1_000_000, "the failure never reached the producer");
    }
    assert_eq!(
        p.push(b"again"),
        Err(PushError::Failed),
        "and on every push after"
    );
    let close_error = writer.close().unwrap_err();
    Outcome {
        pushes_until_failed: pushes,
        close_error,
        callback_errors: errors.load(Ordering::SeqCst),
        file,
        _dir: dir,
    }
}

fn check_file_valid_up_to_written(o: &Outcome) {
    let r = Reader::open(&o.file).unwrap();
    let v = r.verify();
    assert_eq!(v.corrupt, 0, "{v:?}");
    assert!(!v.clean_close);
    assert_eq!(
        v.frames, o.close_error.report.frames_written,
        "everything reported written is on file"
    );
    let seqs: Vec<u64> = r.frames().map(|f| f.seq).collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    for f in r.frames() {
        assert!(
            f.data().unwrap().iter().all(|&b| b == f.seq as u8),
            "frame {} intact",
            f.seq
        );
    }
}

fn check_accounting(o: &Outcome) {
    let r = &o.close_error.report;
    assert_eq!(
        r.frames_written + r.frames_failed + r.frames_dropped(),
        o.pushes_until_failed as u64,
        "every accepted frame is written or counted as failed: {r:?}"
    );
    assert!(r.frames_failed > 0);
    assert_eq!(o.callback_errors, 1, "the error callback runs once");
}

#[test]
fn enospc_stops_the_writer_and_reaches_producer_callback_and_close() {
    let o = run(Fault::Error(libc::ENOSPC), 5, None);
    assert_eq!(o.close_error.error.raw_os_error(), Some(libc::ENOSPC));
    assert!(
        o.close_error.to_string().contains("No space left"),
        "{}",
        o.close_error
    );
    check_accounting(&o);
    check_file_valid_up_to_written(&o);
}

#[test]
fn eio_stops_the_writer_cleanly() {
    let o = run(Fault::Error(libc::EIO), 3, None);
    assert_eq!(o.close_error.error.raw_os_error(), Some(libc::EIO));
    check_accounting(&o);
    check_file_valid_up_to_written(&o);
}

#[test]
fn a_short_write_is_cut_back_to_the_last_complete_record() {
    let o = run(Fault::Short(30_001), 4, None);
    assert_eq!(o.close_error.error.raw_os_error(), Some(libc::ENOSPC));
    check_accounting(&o);
    check_file_valid_up_to_written(&o);
}

#[test]
fn an_error_on_the_first_frame_write_leaves_a_valid_empty_capture() {
    let o = run(Fault::Error(libc::EIO), 0, None);
    assert_eq!(o.close_error.report.frames_written, 0);
    check_accounting(&o);
    check_file_valid_up_to_written(&o);
}

#[test]
fn a_failed_fsync_is_an_error_too() {
    let o = run(Fault::None, 0, Some(libc::EIO));
    assert_eq!(o.close_error.error.raw_os_error(), Some(libc::EIO));
    assert_eq!(o.callback_errors, 1);
}

#[test]
fn an_unwritable_path_fails_at_start_with_a_clear_error() {
    let e = Writer::start(WriterConfig::capture_file("/nonexistent-dir/x.sqcap"))
        .err()
        .unwrap();
    assert!(e.to_string().contains("/nonexistent-dir/x.sqcap"), "{e}");
    assert!(Writer::start(WriterConfig::capture_file("/tmp/x.sqcap").zstd(99)).is_err());
}

#[test]
fn a_failing_callback_sink_stops_the_writer() {
    let calls = Arc::new(AtomicU64::new(0));
    let c2 = Arc::clone(&calls);
    let writer = Writer::start(WriterConfig::callback(move |_| {
        if c2.fetch_add(1, Ordering::SeqCst) >= 10 {
            Err("network down".into())
        } else {
            Ok(())
        }
    }))
    .unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("s", "x").capacity(1 << 20))
        .unwrap();
    let mut n = 0u64;
    while p.push(&[0u8; 100]).is_ok() {
        n += 1;
    }
    let e = writer.close().unwrap_err();
    assert!(e.to_string().contains("network down"));
    assert_eq!(e.report.frames_written + e.report.frames_failed, n);
}

#[test]
fn frames_a_callback_sink_took_before_it_failed_count_as_written() {
    // The callback holds its first frame until 50 more are queued, so the writer's next
    // write carries many frames; the callback takes 9 of them, then fails. Exactly the
    // 10 frames it accepted are written, every other one failed.
    let (queued_tx, queued_rx) = std::sync::mpsc::channel::<()>();
    let queued_rx = Mutex::new(queued_rx);
    let accepted = Arc::new(AtomicU64::new(0));
    let a2 = Arc::clone(&accepted);
    let writer = Writer::start(WriterConfig::callback(move |ev| {
        if matches!(ev, streamq::writer::SinkEvent::Gap { .. }) {
            return Ok(());
        }
        let k = a2.load(Ordering::SeqCst);
        if k == 0 {
            queued_rx.lock().unwrap().recv().unwrap();
        }
        if k >= 10 {
            return Err("network down".into());
        }
        a2.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }))
    .unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("s", "x").capacity(1 << 20))
        .unwrap();
    for _ in 0..51 {
        let _ = p.push(&[7u8; 100]).unwrap();
    }
    queued_tx.send(()).unwrap();
    let mut n = 51u64;
    while p.push(&[7u8; 100]).is_ok() {
        n += 1;
    }
    let e = writer.close().unwrap_err();
    assert!(e.to_string().contains("network down"), "{e}");
    assert_eq!(accepted.load(Ordering::SeqCst), 10);
    assert_eq!(e.report.frames_written, 10, "{:?}", e.report);
    assert_eq!(e.report.frames_failed, n - 10, "{:?}", e.report);
}

/// A real full disk: a 4 MiB tmpfs. Needs root (mount); CI runs as root.
#[test]
fn a_real_full_disk_is_reported_and_the_file_stays_valid() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        // SAFETY: geteuid has no preconditions.
        assert_ne!(unsafe { libc::geteuid() }, 0, "root could not mount a tmpfs");
        eprintln!("skipping the real full-disk case: mounting a tmpfs needs root");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    let file = mnt.join("full.sqcap");
    let seen = Arc::new(Mutex::new(None));
    let s2 = Arc::clone(&seen);
    let writer = Writer::start(
        WriterConfig::capture_file(&file)
            .preallocate(0)
            .on_error(move |e| *s2.lock().unwrap() = Some(e.to_string())),
    )
    .unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("s", "x").capacity(1 << 20))
        .unwrap();
    let mut pushes = 0u64;
    loop {
        match p.push(&[(pushes % 251) as u8; 100_000]) {
            Ok(_) => pushes += 1,
            Err(PushError::Failed) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(pushes < 10_000);
    }
    let e = writer.close().unwrap_err();
    assert_eq!(e.error.raw_os_error(), Some(libc::ENOSPC), "{e}");
    assert!(
        seen.lock()
            .unwrap()
            .as_deref()
            .unwrap_or("")
            .contains("No space left")
    );
    let r = Reader::open(&file).unwrap();
    let v = r.verify();
    assert_eq!(v.corrupt, 0);
    assert_eq!(v.frames, e.report.frames_written);
    assert!(v.frames > 10, "most of 4 MiB was used");
    assert_eq!(e.report.frames_written + e.report.frames_failed, pushes);
}
