//! Hostile input: random files and mutated valid files must never panic the
//! reader (open, iterate, data, seek, verify, recover), and damage is reported.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use streamq::DropReason;
use streamq::reader::{Reader, ReaderError, recover};
use streamq::testing::format::*;

fn valid_capture(finish: bool) -> Vec<u8> {
    let mut b = CaptureBuilder::with_checkpoint_bytes(
        Vec::new(),
        &FileHeader::new(7, vec![("k".into(), "v".into())]),
        300,
    )
    .unwrap();
    b.add_stream(&StreamDef::new(1, "depth", "depth/u16")).unwrap();
    b.add_stream(&StreamDef::new(2, "color", "color/rgb8")).unwrap();
    for seq in 0..12u64 {
        let p: Vec<u8> = (0..(16 + seq as usize * 5))
            .map(|i| (i as u64 * 31 + seq) as u8)
            .collect();
        b.add_frame(&FrameMeta::raw(1, seq, seq * 10, seq * 10, p.len()), &p)
            .unwrap();
        if seq == 6 {
            b.add_gap(&Gap {
                stream_id: 2,
                first_seq: 6,
                count: 1,
                reason: DropReason::Newest,
                host_ts_ns: 61,
            })
            .unwrap();
            continue;
        }
        let raw = vec![seq as u8; 200];
        let z = zstd::bulk::compress(&raw, 1).unwrap();
        let meta = FrameMeta {
            stream_id: 2,
            seq,
            device_ts_ns: seq * 10 + 5,
            host_ts_ns: seq * 10 + 5,
            flags: FLAG_COMPRESSED_ZSTD,
            raw_len: 200,
        };
        b.add_frame(&meta, &z).unwrap();
    }
    if finish {
        b.finish(1000).unwrap()
    } else {
        b.into_inner_unfinished()
    }
}

fn clean() -> &'static [u8] {
    static C: OnceLock<Vec<u8>> = OnceLock::new();
    C.get_or_init(|| valid_capture(true))
}

fn unfinished() -> &'static [u8] {
    static C: OnceLock<Vec<u8>> = OnceLock::new();
    C.get_or_init(|| valid_capture(false))
}

fn dir() -> &'static Path {
    static D: OnceLock<tempfile::TempDir> = OnceLock::new();
    D.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn tmp_file(bytes: &[u8]) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let p = dir().join(format!("f{}", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Exercises every read path; panics only on a broken invariant.
fn exercise(path: &Path) {
    let Ok(r) = Reader::open(path) else { return };
    let mut n = 0usize;
    for f in r.frames() {
        let _ = f.data();
        let _ = f.crc_ok();
        assert!(f.raw_payload().len() as u64 <= f.record_len());
        n += 1;
    }
    assert_eq!(n, r.frame_count());
    let _ = r.records().count();
    let _ = r.gaps().count();
    assert_eq!(r.iter_merged().count(), n);
    let per_stream: usize = r.streams().iter().map(|s| r.iter_stream(s.id).count()).sum();
    assert_eq!(per_stream, n);
    let _ = r.seek_seq(1, 5).count();
    let _ = r.seek_time(50).count();
    let v = r.verify();
    assert!(v.errors.len() <= streamq::reader::MAX_ERRORS + 1);
    if v.is_ok() {
        assert!(r.is_clean());
    }
}

/// Recovery never panics; afterwards a file with a readable header is clean.
fn recover_and_check(path: &Path) {
    match recover(path) {
        Ok(rep) => {
            let r = Reader::open(path).expect("recovered file opens");
            assert!(r.is_clean(), "recovered file is clean: {rep:?}");
            let v = r.verify();
            assert!(v.clean_close);
            assert_eq!(v.truncated_bytes, 0);
            exercise(path);
            assert!(recover(path).unwrap().already_clean);
        }
        Err(ReaderError::NotACaptureFile { .. } | ReaderError::UnsupportedVersion { .. }) => {
            assert!(Reader::open(path).is_err());
        }
        Err(e) => panic!("unexpected recover error {e}"),
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: usize,
        bit: u8,
    },
    Truncate {
        len: usize,
    },
    Splice {
        at: usize,
        remove: usize,
        insert: Vec<u8>,
    },
    Overwrite {
        at: usize,
        bytes: Vec<u8>,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        1 => any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        2 => (any::<usize>(), 0usize..64, proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(at, remove, insert)| Mutation::Splice { at, remove, insert }),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..32))
            .prop_map(|(at, bytes)| Mutation::Overwrite { at, bytes }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match m {
        Mutation::Flip { at, bit } => {
            let i = at % bytes.len();
            bytes[i] ^= 1 << bit;
        }
        Mutation::Truncate { len } => bytes.truncate(len % (bytes.len() + 1)),
        Mutation::Splice { at, remove, insert } => {
            let i = at % (bytes.len() + 1);
            let j = (i + remove).min(bytes.len());
            bytes.splice(i..j, insert.iter().copied());
        }
        Mutation::Overwrite { at, bytes: b } => {
            let i = at % bytes.len();
            for (k, x) in b.iter().enumerate() {
                if let Some(slot) = bytes.get_mut(i + k) {
                    *slot = *x;
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = FileHeader::decode(&bytes);
        let _ = decode_record(&bytes);
        let p = tmp_file(&bytes);
        exercise(&p);
        recover_and_check(&p);
    }

    #[test]
    fn valid_header_then_random_records_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..800),
        syncs in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut bytes = FileHeader::new(0, vec![]).encode().unwrap();
        let start = bytes.len();
        bytes.extend_from_slice(&body);
        // plant sync markers to exercise resynchronisation
        for s in syncs {
            if bytes.len() > start + 4 {
                let i = start + s % (bytes.len() - start - 4);
                bytes[i..i + 4].copy_from_slice(&SYNC_MARKER);
            }
        }
        let p = tmp_file(&bytes);
        exercise(&p);
        recover_and_check(&p);
    }

    #[test]
    fn mutated_files_never_panic(
        finished in any::<bool>(),
        muts in proptest::collection::vec(mutation(), 1..4),
    ) {
        let mut bytes = if finished { clean() } else { unfinished() }.to_vec();
        for m in &muts {
            apply(&mut bytes, m);
        }
        for chunk in bytes.chunks(64) {
            let _ = decode_record(chunk);
        }
        let p = tmp_file(&bytes);
        exercise(&p);
        recover_and_check(&p);
    }

    #[test]
    fn one_flipped_bit_in_records_is_localised(at in any::<usize>(), bit in 0u8..8) {
        // Flip one bit anywhere after the file header of an unfinished file: at
        // most one record is lost, to corruption (mid-file) or to the torn tail
        // (last record); every other frame still reads back intact.
        let base = unfinished();
        let (_, start) = FileHeader::decode(base).unwrap();
        let mut bytes = base.to_vec();
        let i = start + at % (bytes.len() - start);
        bytes[i] ^= 1 << bit;
        let good = Reader::open(tmp_file(base)).unwrap();
        let p = tmp_file(&bytes);
        let r = Reader::open(&p).unwrap();
        let v = r.verify();
        prop_assert!(v.corrupt <= 1, "{v:?}");
        prop_assert!(
            v.corrupt == 1 || v.truncated_bytes > 0 || r.frame_count() == good.frame_count(),
            "{v:?}"
        );
        prop_assert!(r.frame_count() + 1 >= good.frame_count());
        for f in r.frames() {
            prop_assert!(f.data().is_ok());
        }
    }
}

#[test]
fn flipped_payload_bit_is_corrupt_and_rest_readable() {
    let base = clean();
    let good = Reader::open(tmp_file(base)).unwrap();
    let victim = good.iter_stream(1).nth(5).unwrap();
    let (victim_off, victim_seq) = (victim.payload_offset() as usize, victim.seq);
    let mut bytes = base.to_vec();
    bytes[victim_off + 3] ^= 0x10;
    let p = tmp_file(&bytes);

    // Clean file: opened from the index, the damaged frame is listed but its
    // data() fails; verify reports one corrupt record, nothing truncated.
    let r = Reader::open(&p).unwrap();
    assert!(r.is_clean());
    assert_eq!(r.frame_count(), good.frame_count());
    let bad: Vec<_> = r.frames().filter(|f| f.data().is_err()).collect();
    assert_eq!(bad.len(), 1);
    assert_eq!((bad[0].stream_id, bad[0].seq), (1, victim_seq));
    assert!(matches!(bad[0].data().unwrap_err(), ReaderError::Corrupt { .. }));
    let v = r.verify();
    assert_eq!(v.corrupt, 1);
    assert_eq!(v.truncated_bytes, 0);
    assert_eq!(v.frames as usize, good.frame_count() - 1);
    assert!(v.clean_close);
    assert_eq!(v.unexplained_missing, 1);
    assert!(!v.is_ok());
    assert!(v.errors.iter().any(|e| e.contains("CRC")), "{:?}", v.errors);

    // Same damage in a file without trailer: the scan skips it by resync.
    let ub = unfinished();
    let ug = Reader::open(tmp_file(ub)).unwrap();
    let victim = ug.iter_stream(1).nth(5).unwrap();
    let mut bytes = ub.to_vec();
    bytes[victim.payload_offset() as usize + 3] ^= 0x10;
    let r = Reader::open(tmp_file(&bytes)).unwrap();
    assert_eq!(r.frame_count(), ug.frame_count() - 1);
    assert!(r.frames().all(|f| f.data().is_ok()));
    assert!(r.seek_seq(1, victim.seq).next().unwrap().seq > victim.seq);
    let v = r.verify();
    assert_eq!((v.corrupt, v.truncated_bytes), (1, 0));
}

#[test]
fn damaged_record_header_resyncs_to_next_record() {
    let ub = unfinished();
    let ug = Reader::open(tmp_file(ub)).unwrap();
    let victim = ug.iter_stream(2).nth(3).unwrap();
    for field in [0usize, 4, 8, 12, 20, 44] {
        let mut bytes = ub.to_vec();
        bytes[victim.offset as usize + field] ^= 0x01;
        let r = Reader::open(tmp_file(&bytes)).unwrap();
        assert_eq!(r.frame_count(), ug.frame_count() - 1, "field {field}");
        let v = r.verify();
        assert_eq!((v.corrupt, v.truncated_bytes), (1, 0), "field {field}");
    }
}

#[test]
fn bogus_lengths_do_not_allocate() {
    // A compressed frame claiming a 4 GiB raw length over a tiny payload, with
    // valid CRCs: data() and verify() refuse it without allocating.
    let mut b = CaptureBuilder::new(Vec::new(), &FileHeader::new(0, vec![])).unwrap();
    let meta = FrameMeta {
        stream_id: 1,
        flags: FLAG_COMPRESSED_ZSTD,
        raw_len: u32::MAX,
        ..FrameMeta::default()
    };
    b.add_frame(&meta, &zstd::bulk::compress(b"tiny", 1).unwrap())
        .unwrap();
    let p = tmp_file(&b.finish(0).unwrap());
    let r = Reader::open(&p).unwrap();
    let f = r.frames().next().unwrap();
    assert!(matches!(f.data().unwrap_err(), ReaderError::Corrupt { .. }));
    let v = r.verify();
    assert_eq!(v.bad_frames, 1);
    // Metadata counts far beyond the payload are rejected up front.
    let mut hdr = FileHeader::new(0, vec![]).encode().unwrap();
    hdr[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(FileHeader::decode(&hdr).is_err());
}
