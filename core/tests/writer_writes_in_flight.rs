//! O_DIRECT writes in flight: frames count as written only when their write has
//! returned; a write that fails in flight turns everything not yet stored into failed
//! frames, and the file still ends on a complete record. (That staged bytes leave the
//! caller free while writes are in flight is proved in `writer/direct_io.rs`'s unit
//! tests, where the writer thread's idle settling cannot interfere.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use streamq::reader::Reader;
use streamq::testing::{Fault, FaultInjector};
use streamq::{PushError, StreamConfig, Writer, WriterConfig};

/// Holds every write after the first `free` until the test opens the gate.
struct Gate {
    free: usize,
    writes: AtomicUsize,
    open: Mutex<bool>,
    opened: Condvar,
    /// Writes that reached the gate (so the test knows a write is in flight).
    arrived: Mutex<usize>,
    arrival: Condvar,
}

impl Gate {
    fn new(free: usize) -> Arc<Gate> {
        Arc::new(Gate {
            free,
            writes: AtomicUsize::new(0),
            open: Mutex::new(false),
            opened: Condvar::new(),
            arrived: Mutex::new(0),
            arrival: Condvar::new(),
        })
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    fn wait_arrivals(&self, n: usize) {
        let mut a = self.arrived.lock().unwrap();
        while *a < n {
            a = self.arrival.wait(a).unwrap();
        }
    }
}

impl FaultInjector for Gate {
    fn before_write(&self, _offset: u64, _len: usize) -> Fault {
        if self.writes.fetch_add(1, Ordering::SeqCst) >= self.free {
            *self.arrived.lock().unwrap() += 1;
            self.arrival.notify_all();
            let mut open = self.open.lock().unwrap();
            while !*open {
                open = self.opened.wait(open).unwrap();
            }
        }
        Fault::None
    }
}

struct OpenOnDrop(Arc<Gate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

fn direct_supported(dir: &std::path::Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_DIRECT)
        .open(dir.join("probe"))
        .is_ok()
}

#[test]
fn frames_count_as_written_only_when_their_write_returns() {
    let dir = tempfile::tempdir().unwrap();
    if !direct_supported(dir.path()) {
        eprintln!("skipping: the temp dir's file system has no O_DIRECT");
        return;
    }
    let path = dir.path().join("gate.sqcap");
    // Write 0 is the file header; every write after it waits at the gate.
    let gate = Gate::new(1);
    let writer = Writer::start(
        WriterConfig::capture_file(&path)
            .writes_in_flight(2)
            .max_write_bytes(1 << 20)
            .fault_injector(Arc::clone(&gate) as Arc<dyn FaultInjector>),
    )
    .unwrap();
    // A failed assertion must not leave the writer stuck at the gate.
    let _opener = OpenOnDrop(Arc::clone(&gate));
    let mut p = writer
        .add_stream(StreamConfig::new("s", "x").capacity(16 << 20))
        .unwrap();
    let frame = |i: u64| vec![(i % 251) as u8; 1 << 20];
    assert!(p.push(&frame(0)).unwrap().is_queued());
    // A write holding frame 0's bytes (or the first part of them) waits at the gate.
    gate.wait_arrivals(1);
    let st = writer.stats();
    assert_eq!(
        st.frames_written, 0,
        "nothing counts as written while its write is in flight"
    );
    assert_eq!(st.frames_failed, 0);
    gate.open();
    for i in 1..8 {
        assert!(p.push(&frame(i)).unwrap().is_queued());
    }
    writer.flush().unwrap();
    assert_eq!(
        writer.stats().frames_written,
        8,
        "flush waits for writes in flight"
    );
    drop(p);
    let report = writer.close().unwrap();
    assert_eq!(report.frames_written, 8);
    let r = Reader::open(&path).unwrap();
    let v = r.verify();
    assert!(v.clean_close && v.corrupt == 0, "{v:?}");
    for f in r.frames() {
        assert!(f.data().unwrap().iter().all(|&b| b == (f.seq % 251) as u8));
    }
}

/// Fails the write with index `nth` (0 is the header) with EIO.
struct FailNth {
    nth: usize,
    writes: AtomicUsize,
}

impl FaultInjector for FailNth {
    fn before_write(&self, _offset: u64, _len: usize) -> Fault {
        if self.writes.fetch_add(1, Ordering::SeqCst) == self.nth {
            Fault::Error(libc::EIO)
        } else {
            Fault::None
        }
    }
}

#[test]
fn a_write_failing_in_flight_fails_what_is_not_stored_and_the_file_stays_valid() {
    for in_flight in [0, 1, 2, 4] {
        for nth in [1, 2, 5] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.sqcap");
            let writer = Writer::start(
                WriterConfig::capture_file(&path)
                    .writes_in_flight(in_flight)
                    .max_write_bytes(256 << 10)
                    .fault_injector(Arc::new(FailNth {
                        nth,
                        writes: AtomicUsize::new(0),
                    })),
            )
            .unwrap();
            let mut p = writer
                .add_stream(StreamConfig::new("s", "x").capacity(4 << 20))
                .unwrap();
            let mut pushed = 0u64;
            loop {
                match p.push(&vec![(pushed % 251) as u8; 100_000]) {
                    Ok(_) => pushed += 1,
                    Err(PushError::Failed) => break,
                    Err(e) => panic!("{e}"),
                }
                assert!(pushed < 100_000, "the failure never reached the producer");
            }
            let e = writer.close().unwrap_err();
            let r = &e.report;
            assert_eq!(e.error.raw_os_error(), Some(libc::EIO), "{e}");
            assert_eq!(
                r.frames_written + r.frames_failed,
                pushed,
                "in_flight {in_flight}, nth {nth}: every frame written or failed: {r:?}"
            );
            assert!(r.frames_failed > 0);
            let reader = Reader::open(&path).unwrap();
            let v = reader.verify();
            assert_eq!(v.corrupt, 0, "in_flight {in_flight}, nth {nth}: {v:?}");
            assert_eq!(
                v.frames, r.frames_written,
                "in_flight {in_flight}, nth {nth}: what counts as written is on file"
            );
            let seqs: Vec<u64> = reader.frames().map(|f| f.seq).collect();
            assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
            for f in reader.frames() {
                assert!(f.data().unwrap().iter().all(|&b| b == (f.seq % 251) as u8));
            }
        }
    }
}

#[test]
fn too_many_writes_in_flight_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = Writer::start(WriterConfig::capture_file(dir.path().join("x.sqcap")).writes_in_flight(65))
        .err()
        .unwrap();
    assert!(e.to_string().contains("writes_in_flight"), "{e}");
}
