//! Property: random frames (0 B … 4 MiB, random compressibility) through every sink and
//! option read back bit-exact with the same sequence numbers and timestamps.

use std::sync::{Arc, Mutex};
use streamq::PushOptions;

use proptest::prelude::*;
use streamq::reader::Reader;
use streamq::writer::SinkEvent;
use streamq::{FsyncPolicy, StreamConfig, Writer, WriterConfig};

#[derive(Debug, Clone)]
struct FrameSpec {
    len: usize,
    /// 0 = incompressible noise, 1 = runs, 2 = all one byte.
    kind: u8,
    seed: u64,
    ts: u64,
}

fn bytes(f: &FrameSpec) -> Vec<u8> {
    let mut x = f.seed | 1;
    (0..f.len)
        .map(|i| match f.kind {
            0 => {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            }
            1 => ((i / 97) as u64 ^ f.seed) as u8,
            _ => f.seed as u8,
        })
        .collect()
}

fn frames() -> impl Strategy<Value = Vec<FrameSpec>> {
    let len = prop_oneof![
        4 => 0usize..2048,
        3 => 2048usize..200_000,
        1 => 200_000usize..=4 << 20,
    ];
    prop::collection::vec(
        (len, 0u8..3, any::<u64>(), any::<u64>()).prop_map(|(len, kind, seed, ts)| FrameSpec {
            len,
            kind,
            seed,
            ts,
        }),
        1..24,
    )
}

#[derive(Debug, Clone, Copy)]
enum Sink {
    File {
        zstd: bool,
        direct: bool,
        segmented: bool,
        fsync_always: bool,
        in_flight: usize,
    },
    Directory,
    Callback,
}

fn sinks() -> impl Strategy<Value = Sink> {
    prop_oneof![
        6 => (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), 0usize..=3)
            .prop_map(|(zstd, direct, segmented, fsync_always, in_flight)| Sink::File {
                zstd,
                direct,
                segmented,
                fsync_always,
                in_flight
            }),
        1 => Just(Sink::Directory),
        1 => Just(Sink::Callback),
    ]
}

fn run(specs: &[FrameSpec], sink: Sink) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqcap");
    let got = Arc::new(Mutex::new(Vec::new()));
    let cfg = match sink {
        Sink::File {
            zstd,
            direct,
            segmented,
            fsync_always,
            in_flight,
        } => {
            let mut c = WriterConfig::capture_file(&path)
                .direct_io(direct)
                .writes_in_flight(in_flight)
                .max_write_bytes(1 << 20);
            if zstd {
                c = c.zstd(1).compress_workers(2);
            }
            if segmented {
                c = c.segment_bytes(3 << 20);
            }
            if fsync_always {
                c = c.fsync(FsyncPolicy::Always);
            }
            c
        }
        Sink::Directory => WriterConfig::directory(dir.path().join("frames")),
        Sink::Callback => {
            let g = Arc::clone(&got);
            WriterConfig::callback(move |ev| {
                if let SinkEvent::Frame(f) = ev {
                    g.lock()
                        .unwrap()
                        .push((f.info.seq, f.info.device_ts_ns, f.data.to_vec()));
                }
                Ok(())
            })
        }
    };
    let writer = Writer::start(cfg).unwrap();
    let mut p = writer
        .add_stream(StreamConfig::new("s", "x").capacity(12 << 20))
        .unwrap();
    for f in specs {
        assert!(
            p.push_with(&bytes(f), &PushOptions::new().device_ts_ns(f.ts))
                .unwrap()
                .is_queued()
        );
    }
    drop(p);
    let report = writer.close().unwrap();
    assert_eq!(report.frames_written, specs.len() as u64);

    let read: Vec<(u64, u64, Vec<u8>)> = match sink {
        Sink::File { segmented, .. } => {
            let r = if segmented {
                let paths: Vec<_> = report.segments.iter().map(|s| s.path.clone()).collect();
                Reader::open_segments(&paths).unwrap()
            } else {
                Reader::open(&path).unwrap()
            };
            let v = r.verify();
            assert!(v.is_ok(), "{v:?}");
            r.frames()
                .map(|f| (f.seq, f.device_ts_ns, f.data().unwrap().into_owned()))
                .collect()
        }
        Sink::Directory => (0..specs.len() as u64)
            .map(|seq| {
                let d = std::fs::read(dir.path().join("frames").join(format!("frame-{seq:06}.raw"))).unwrap();
                (seq, specs[seq as usize].ts, d)
            })
            .collect(),
        Sink::Callback => got.lock().unwrap().clone(),
    };
    assert_eq!(read.len(), specs.len());
    for (i, (f, (seq, ts, data))) in specs.iter().zip(read).enumerate() {
        assert_eq!(seq, i as u64);
        assert_eq!(ts, f.ts);
        assert!(
            data == bytes(f),
            "frame {i} ({} bytes, kind {}) differs",
            f.len,
            f.kind
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_frames_through_every_sink_read_back_bit_exact(specs in frames(), sink in sinks()) {
        run(&specs, sink);
    }
}
