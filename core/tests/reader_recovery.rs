//! Torn tails, recovery and idempotence.

use std::path::{Path, PathBuf};

use streamq::DropReason;
use streamq::reader::{Reader, ReaderError, recover};
use streamq::testing::format::*;

fn header() -> FileHeader {
    FileHeader::new(42, vec![("sensor".into(), "test".into())])
}

/// A capture with two streams, a gap and INDEX checkpoints. Returns the bytes,
/// the end offset of every record and, per record end, whether it was a frame.
fn capture(n: u64, finish: bool) -> Vec<u8> {
    let mut b = CaptureBuilder::with_checkpoint_bytes(Vec::new(), &header(), 400).unwrap();
    b.add_stream(&StreamDef::new(1, "depth", "depth/u16")).unwrap();
    b.add_stream(&StreamDef::new(2, "imu", "imu/f32x6")).unwrap();
    for seq in 0..n {
        if seq == 4 {
            b.add_gap(&Gap {
                stream_id: 1,
                first_seq: 4,
                count: 1,
                reason: DropReason::Oldest,
                host_ts_ns: 5,
            })
            .unwrap();
        } else {
            let len = 10 + (seq as usize * 7) % 29;
            let p: Vec<u8> = (0..len).map(|i| (i as u64 ^ seq) as u8).collect();
            b.add_frame(&FrameMeta::raw(1, seq, seq * 100, seq * 100 + 1, len), &p)
                .unwrap();
        }
        let p = [seq as u8; 24];
        b.add_frame(&FrameMeta::raw(2, seq, seq * 100 + 50, seq * 100 + 51, 24), &p)
            .unwrap();
    }
    if finish {
        b.finish(999).unwrap()
    } else {
        b.into_inner_unfinished()
    }
}

/// (end offset, is_frame) of every record, walking with the format decoder.
fn record_ends(bytes: &[u8]) -> (usize, Vec<(usize, bool)>) {
    let (_, mut pos) = FileHeader::decode(bytes).unwrap();
    let start = pos;
    let mut ends = Vec::new();
    while let Ok((rec, n)) = decode_record(&bytes[pos..]) {
        pos += n;
        ends.push((pos, matches!(rec, DecodedRecord::Frame { .. })));
    }
    (start, ends)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn frames_of(r: &Reader) -> Vec<(u16, u64, Vec<u8>)> {
    r.frames()
        .map(|f| (f.stream_id, f.seq, f.data().unwrap().into_owned()))
        .collect()
}

#[test]
fn torn_tail_at_every_offset_of_last_records() {
    let dir = tempfile::tempdir().unwrap();
    let full = capture(12, false);
    let (start, ends) = record_ends(&full);
    assert_eq!(*ends.last().map(|(e, _)| e).unwrap(), full.len());
    let reference = frames_of(&Reader::open(write(dir.path(), "full", &full)).unwrap());
    // cut anywhere within the last three records
    let from = ends[ends.len() - 4].0;
    for cut in from..=full.len() {
        let bytes = &full[..cut];
        let valid_end = ends
            .iter()
            .map(|&(e, _)| e)
            .filter(|&e| e <= cut)
            .max()
            .unwrap_or(start);
        let n_frames = ends.iter().filter(|&&(e, f)| f && e <= cut).count();
        let p = write(dir.path(), "torn", bytes);
        let r = Reader::open(&p).unwrap();
        assert!(!r.is_clean());
        let got = frames_of(&r);
        assert_eq!(got.len(), n_frames, "cut {cut}");
        assert_eq!(&got[..], &reference[..n_frames]);
        let info = r.segment_infos().next().unwrap();
        assert_eq!(info.truncated_bytes as usize, cut - valid_end);
        let v = r.verify();
        assert_eq!(v.corrupt, 0, "cut {cut}: {v:?}");
        assert_eq!(v.truncated_bytes as usize, cut - valid_end, "cut {cut}");
        assert_eq!(v.frames as usize, n_frames);
        assert!(!v.clean_close);
        drop(r);

        let rep = recover(&p).unwrap();
        assert!(!rep.already_clean);
        assert_eq!(rep.truncated_bytes as usize, cut - valid_end);
        assert_eq!(rep.corrupt_regions, 0);
        assert_eq!(rep.frames as usize, n_frames);
        assert_eq!(rep.new_len, std::fs::metadata(&p).unwrap().len());
        let r = Reader::open(&p).unwrap();
        assert!(r.is_clean(), "cut {cut}");
        assert!(r.segment_infos().next().unwrap().indexed);
        assert_eq!(frames_of(&r), &reference[..n_frames]);
        let v = r.verify();
        assert!(v.is_ok(), "cut {cut}: {v:?}");
        drop(r);

        let after = std::fs::read(&p).unwrap();
        let rep2 = recover(&p).unwrap();
        assert!(rep2.already_clean);
        assert_eq!(std::fs::read(&p).unwrap(), after, "recover is idempotent");
    }
}

#[test]
fn clean_file_cut_anywhere_in_its_tail() {
    let dir = tempfile::tempdir().unwrap();
    let full = capture(9, true);
    let p = write(dir.path(), "clean", &full);
    let r = Reader::open(&p).unwrap();
    assert!(r.is_clean());
    let reference = frames_of(&r);
    drop(r);
    assert!(recover(&p).unwrap().already_clean);
    let (_, ends) = record_ends(&full);
    let last_frame_start = ends.iter().rev().filter(|(_, f)| *f).nth(1).unwrap().0;
    for cut in last_frame_start..full.len() {
        let p = write(dir.path(), "cut", &full[..cut]);
        let r = Reader::open(&p).unwrap();
        assert!(!r.is_clean(), "cut {cut}");
        let n = ends.iter().filter(|&&(e, f)| f && e <= cut).count();
        assert_eq!(frames_of(&r), &reference[..n]);
        assert_eq!(r.verify().corrupt, 0);
        drop(r);
        recover(&p).unwrap();
        let r = Reader::open(&p).unwrap();
        assert!(r.is_clean());
        assert_eq!(frames_of(&r), &reference[..n]);
    }
}

#[test]
fn bad_crc_in_last_record_is_a_torn_tail_not_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = capture(6, false);
    let (_, ends) = record_ends(&bytes);
    // make a frame the last record (cut any INDEX checkpoint after it)
    let last = ends.iter().rposition(|e| e.1).unwrap();
    bytes.truncate(ends[last].0);
    let last_len = ends[last].0 - ends[last - 1].0;
    let n = bytes.len();
    bytes[n - 10] ^= 0x04; // inside the last payload (24 bytes, no padding)
    let p = write(dir.path(), "f", &bytes);
    let r = Reader::open(&p).unwrap();
    let v = r.verify();
    assert_eq!(v.corrupt, 0);
    assert_eq!(v.truncated_bytes as usize, last_len);
    let n_frames = ends[..=last].iter().filter(|e| e.1).count();
    assert_eq!(r.frame_count(), n_frames - 1);
}

#[test]
fn garbage_after_last_record_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let base = capture(6, false);
    let reference = frames_of(&Reader::open(write(dir.path(), "b", &base)).unwrap());
    // zero-filled tail (pre-allocated or lost metadata), random tail, half a sync marker
    let mut x = 0x9E37_79B9u32;
    let random: Vec<u8> = (0..999)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    for tail in [vec![0u8; 4096], random, SYNC_MARKER[..3].to_vec()] {
        let mut bytes = base.clone();
        bytes.extend_from_slice(&tail);
        let p = write(dir.path(), "g", &bytes);
        let r = Reader::open(&p).unwrap();
        assert_eq!(frames_of(&r), reference);
        let v = r.verify();
        assert_eq!(v.truncated_bytes as usize, tail.len());
        assert_eq!(v.corrupt, 0);
        drop(r);
        let rep = recover(&p).unwrap();
        assert_eq!(rep.truncated_bytes as usize, tail.len());
        let r = Reader::open(&p).unwrap();
        assert!(r.is_clean());
        assert_eq!(frames_of(&r), reference);
    }
}

#[test]
fn recover_keeps_mid_file_damage_and_marks_trailer() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = capture(10, false);
    let (_, ends) = record_ends(&bytes);
    let total_frames = ends.iter().filter(|e| e.1).count();
    // damage the payload of the 5th frame record
    let frame_ends: Vec<usize> = ends.iter().filter(|e| e.1).map(|e| e.0).collect();
    bytes[frame_ends[4] - 9] ^= 0xFF;
    // and tear the tail
    bytes.truncate(bytes.len() - 5);
    let p = write(dir.path(), "d", &bytes);
    let rep = recover(&p).unwrap();
    assert_eq!(rep.corrupt_regions, 1);
    assert!(rep.truncated_bytes > 0);
    assert_eq!(rep.frames as usize, total_frames - 2);

    let r = Reader::open(&p).unwrap();
    assert!(r.is_clean());
    assert_eq!(r.frame_count(), total_frames - 2);
    assert!(r.frames().all(|f| f.data().is_ok()));
    let v = r.verify();
    assert!(v.clean_close);
    assert_eq!(v.corrupt, 1);
    assert_eq!(v.truncated_bytes, 0);
    assert!(v.unexplained_missing >= 1, "the damaged frame is a missing seq");
    drop(r);

    // the trailer says "recovered"
    let all = std::fs::read(&p).unwrap();
    let t = decode_footer(&all).unwrap() as usize;
    let (DecodedRecord::Trailer(tr), _) = decode_record(&all[t..]).unwrap() else {
        panic!("no trailer")
    };
    assert_eq!(tr.flags, TRAILER_CLEAN_CLOSE | TRAILER_RECOVERED);
    assert!(recover(&p).unwrap().already_clean);
}

#[test]
fn interrupted_recovery_completes_on_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = capture(8, false);
    let p = write(dir.path(), "i", &bytes[..bytes.len() - 3]);
    recover(&p).unwrap();
    let done = std::fs::read(&p).unwrap();
    let reference = frames_of(&Reader::open(&p).unwrap());
    // crash at every point while writing the recovery tail
    for cut in bytes.len() - 40..done.len() {
        let q = write(dir.path(), "j", &done[..cut]);
        recover(&q).unwrap();
        let r = Reader::open(&q).unwrap();
        assert!(r.is_clean());
        assert_eq!(frames_of(&r), reference);
    }
}

#[test]
fn recover_edge_files() {
    let dir = tempfile::tempdir().unwrap();
    // header only
    let p = write(dir.path(), "h", &header().encode().unwrap());
    let rep = recover(&p).unwrap();
    assert_eq!(rep.frames, 0);
    let r = Reader::open(&p).unwrap();
    assert!(r.is_clean());
    assert_eq!(r.frame_count(), 0);
    assert!(r.verify().is_ok());
    // empty file, random file, newer major version
    let e = write(dir.path(), "e", b"");
    assert!(matches!(
        recover(&e).unwrap_err(),
        ReaderError::NotACaptureFile { .. }
    ));
    assert!(Reader::open(&e).is_err());
    let x = write(dir.path(), "x", b"hello world, not a capture");
    assert!(matches!(
        recover(&x).unwrap_err(),
        ReaderError::NotACaptureFile { .. }
    ));
    let mut h = header();
    h.version = 2;
    let v2 = write(dir.path(), "v2", &h.encode().unwrap());
    assert!(matches!(
        Reader::open(&v2).unwrap_err(),
        ReaderError::UnsupportedVersion { major: 2, .. }
    ));
    assert!(matches!(
        recover(&v2).unwrap_err(),
        ReaderError::UnsupportedVersion { .. }
    ));
    assert!(matches!(
        recover(dir.path().join("missing")).unwrap_err(),
        ReaderError::Io { .. }
    ));
}
