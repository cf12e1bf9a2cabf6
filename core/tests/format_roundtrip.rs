//! Round trips of every record kind and of whole synthetic captures.

use std::io::Write;

use streamq::DropReason;
use streamq::reader::{Reader, Record};
use streamq::testing::format::*;

fn meta_kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn file_header_roundtrip_and_errors() {
    let h = FileHeader::new(
        1_700_000_000_123_456_789,
        meta_kv(&[("sensor", "Kinect ü"), ("serial", "0042"), ("", "")]),
    );
    let bytes = h.encode().unwrap();
    assert_eq!(bytes.len() % ALIGN, 0);
    assert_eq!(&bytes[..8], &MAGIC);
    let (d, len) = FileHeader::decode(&bytes).unwrap();
    assert_eq!(d, h);
    assert_eq!(len, bytes.len());
    assert_eq!(d.get("serial"), Some("0042"));

    // Every strict prefix is an error, never a panic.
    for n in 0..bytes.len() {
        assert!(FileHeader::decode(&bytes[..n]).is_err(), "prefix {n}");
    }
    let mut bad = bytes.clone();
    bad[0] ^= 1;
    assert_eq!(FileHeader::decode(&bad).unwrap_err(), FormatError::BadMagic);
    let mut newer = bytes.clone();
    newer[8] = 2;
    assert!(matches!(
        FileHeader::decode(&newer).unwrap_err(),
        FormatError::UnsupportedVersion { major: 2, .. }
    ));
    let mut flipped = bytes.clone();
    flipped[40] ^= 0x10;
    assert!(matches!(
        FileHeader::decode(&flipped).unwrap_err(),
        FormatError::HeaderCrcMismatch { .. }
    ));
    // Newer minor versions still decode... but the CRC covers them, so re-encode.
    let mut minor = h.clone();
    minor.minor_version = 7;
    assert_eq!(
        FileHeader::decode(&minor.encode().unwrap())
            .unwrap()
            .0
            .minor_version,
        7
    );
}

#[test]
fn each_record_kind_roundtrips() {
    // STREAM_DEF
    let mut def = StreamDef::new(3, "depth", "depth/u16");
    def.metadata = meta_kv(&[("width", "640"), ("height", "576"), ("units", "mm")]);
    let rec = def.encode().unwrap();
    assert_eq!(rec.len() % ALIGN, 0);
    let (d, n) = decode_record(&rec).unwrap();
    assert_eq!(n, rec.len());
    assert_eq!(d, DecodedRecord::StreamDef(def.clone()));

    // FRAME, every payload length 0..20 (padding) plus one big one
    for len in (0..20).chain([4096 + 3]) {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
        let meta = FrameMeta::raw(3, 99, 1_000, 2_000, len);
        let h = encode_frame_header(&meta, &payload).unwrap();
        let mut buf = h.to_vec();
        buf.extend_from_slice(&payload);
        buf.extend_from_slice(padding(payload.len()));
        assert_eq!(buf.len() as u64, record_len(len));
        assert_eq!(buf.len() % ALIGN, 0);
        assert_eq!(padding_len(len), (8 - len % 8) % 8);
        let (d, n) = decode_record(&buf).unwrap();
        assert_eq!(n, buf.len());
        match d {
            DecodedRecord::Frame { header, payload: p } => {
                assert_eq!(p, &payload[..]);
                assert_eq!(FrameMeta::from_header(&header), meta);
                assert_eq!(header.crc, record_crc(&h, &payload));
            }
            other => panic!("unexpected {other:?}"),
        }
        // Any truncation is an error.
        for cut in 0..buf.len() {
            assert!(decode_record(&buf[..cut]).is_err());
        }
        // A flipped payload bit is a CRC mismatch.
        if len > 0 {
            let mut bad = buf.clone();
            bad[RECORD_HEADER_LEN] ^= 0x80;
            assert!(matches!(
                decode_record(&bad).unwrap_err(),
                FormatError::CrcMismatch { .. }
            ));
        }
    }
    // raw_len must match an uncompressed payload
    let mut meta = FrameMeta::raw(1, 0, 0, 0, 10);
    assert!(encode_frame_header(&meta, &[0u8; 9]).is_err());
    meta.flags = FLAG_COMPRESSED_ZSTD;
    assert!(encode_frame_header(&meta, &[0u8; 9]).is_ok());

    // GAP
    for reason in [
        DropReason::Newest,
        DropReason::Oldest,
        DropReason::WriteError,
        DropReason::Unknown(77),
    ] {
        let g = Gap {
            stream_id: 2,
            first_seq: 10,
            count: 5,
            reason,
            host_ts_ns: 123,
        };
        let rec = g.encode();
        assert_eq!(rec.len(), 64);
        assert_eq!(decode_record(&rec).unwrap(), (DecodedRecord::Gap(g), 64));
        assert_eq!(DropReason::from_code(reason.code()), reason);
    }

    // INDEX
    let idx = IndexRecord {
        prev_index_offset: Some(4096),
        entries: (0..5)
            .map(|i| IndexEntry {
                offset: 64 + i * 100,
                seq: i,
                device_ts_ns: i * 33,
                host_ts_ns: i * 34,
                stream_id: (i % 2) as u16,
                kind: RecordKind::Frame as u8,
            })
            .collect(),
    };
    let rec = idx.encode(3, 9).unwrap();
    let (d, _) = decode_record(&rec).unwrap();
    assert_eq!(d, DecodedRecord::Index(idx));

    // TRAILER + footer
    let tr = Trailer {
        last_index_offset: None,
        flags: TRAILER_CLEAN_CLOSE,
        streams: vec![StreamTotals {
            stream_id: 9,
            def_offset: Some(64),
            frames: 10,
            stored_bytes: 100,
            raw_bytes: 200,
            gap_records: 1,
            dropped: 3,
            first_seq: Some(0),
            last_seq: Some(12),
            first_device_ts_ns: Some(5),
            last_device_ts_ns: None,
        }],
    };
    let rec = tr.encode(77).unwrap();
    let (d, _) = decode_record(&rec).unwrap();
    assert_eq!(d, DecodedRecord::Trailer(tr));
    let f = encode_footer(123_456);
    assert_eq!(f.len(), FOOTER_LEN);
    assert_eq!(decode_footer(&f), Some(123_456));
    assert_eq!(decode_footer(&f[1..]), None);

    // Unknown kinds decode as Unknown (forward compatibility).
    let h = RecordHeader {
        kind: 200,
        raw_len: 3,
        ..RecordHeader::default()
    };
    let mut buf = h.encode(b"abc").unwrap().to_vec();
    buf.extend_from_slice(b"abc");
    buf.extend_from_slice(padding(3));
    assert!(matches!(
        decode_record(&buf).unwrap().0,
        DecodedRecord::Unknown { .. }
    ));
}

#[test]
fn index_builder_checkpoints_and_totals() {
    let mut b = IndexBuilder::new(1000);
    b.note_stream_def(1, 64);
    assert!(!b.should_checkpoint());
    let mut off = 200;
    for seq in 0..10u64 {
        b.note_frame(&FrameMeta::raw(1, seq, seq * 10, seq * 11, 100), 100, off);
        off += record_len(100);
    }
    assert!(b.should_checkpoint()); // 10 * 152 bytes >= 1000
    let rec = b.take_checkpoint_record(off);
    let (DecodedRecord::Index(ir), _) = decode_record(&rec).unwrap() else {
        panic!("not an index")
    };
    assert_eq!(ir.prev_index_offset, None);
    assert_eq!(ir.entries.len(), 10);
    assert_eq!(b.last_index_offset(), Some(off));
    assert!(!b.should_checkpoint());
    let gap = Gap {
        stream_id: 1,
        first_seq: 10,
        count: 4,
        reason: DropReason::Oldest,
        host_ts_ns: 999,
    };
    b.note_gap(&gap, off + rec.len() as u64);
    let t = b.totals();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].frames, 10);
    assert_eq!(t[0].stored_bytes, 1000);
    assert_eq!(t[0].dropped, 4);
    assert_eq!(t[0].first_seq, Some(0));
    assert_eq!(t[0].last_seq, Some(9));
    assert_eq!(t[0].def_offset, Some(64));
    let at = 10_000;
    let tail = b.finish(at, 5);
    let (DecodedRecord::Index(ir2), n) = decode_record(&tail).unwrap() else {
        panic!("not an index")
    };
    assert_eq!(ir2.prev_index_offset, Some(off));
    assert_eq!(ir2.entries.len(), 1);
    let (DecodedRecord::Trailer(tr), m) = decode_record(&tail[n..]).unwrap() else {
        panic!("not a trailer")
    };
    assert!(tr.is_clean_close());
    assert_eq!(tr.last_index_offset, Some(at));
    assert_eq!(n + m + FOOTER_LEN, tail.len());
    assert_eq!(decode_footer(&tail), Some(at + n as u64));
}

/// What a synthetic capture should read back as.
#[derive(Debug, Clone, PartialEq)]
struct Want {
    stream: u16,
    seq: u64,
    dts: u64,
    hts: u64,
    data: Vec<u8>,
    compressed: bool,
}

const DEPTH: u16 = 1;
const COLOR: u16 = 2;
const IMU: u16 = 7;

fn header() -> FileHeader {
    FileHeader::new(1_700_000_000_000_000_000, meta_kv(&[("device", "test")]))
}

fn defs() -> Vec<StreamDef> {
    let mut depth = StreamDef::new(DEPTH, "depth", "depth/u16");
    depth.metadata = meta_kv(&[("width", "8"), ("height", "6"), ("units", "mm")]);
    vec![
        depth,
        StreamDef::new(COLOR, "color", "color/rgb8"),
        StreamDef::new(IMU, "imu", "imu/f32x6"),
    ]
}

/// Writes `n_depth` depth frames (raw u16), color frames (zstd), IMU frames and
/// a gap in the depth stream into `b`, seq numbers starting at `seq0`.
fn fill<W: Write>(b: &mut CaptureBuilder<W>, seq0: u64, n_depth: u64, want: &mut Vec<Want>) {
    let t0 = seq0 * 33_000_000;
    let mut imu_seq = seq0 * 4;
    for i in 0..n_depth {
        let seq = seq0 + i;
        let dts = t0 + i * 33_000_000;
        if i == 3 {
            // depth seq 3 and 4 dropped: one gap record instead of the frame
            let g = Gap {
                stream_id: DEPTH,
                first_seq: seq,
                count: 2,
                reason: DropReason::Newest,
                host_ts_ns: dts + 1,
            };
            b.add_gap(&g).unwrap();
        } else {
            // depth: 48..52 u16 pixels
            let px: Vec<u8> = (0..(48 + i % 5))
                .flat_map(|p| (p as u16 * 3 + seq as u16).to_le_bytes())
                .collect();
            let seq_d = if i > 3 { seq + 1 } else { seq };
            b.add_frame(&FrameMeta::raw(DEPTH, seq_d, dts, dts + 500, px.len()), &px)
                .unwrap();
            want.push(Want {
                stream: DEPTH,
                seq: seq_d,
                dts,
                hts: dts + 500,
                data: px,
                compressed: false,
            });
        }
        // color: compressible
        let rgb: Vec<u8> = (0..300)
            .map(|p| ((p / 30) as u8).wrapping_add(seq as u8))
            .collect();
        let z = zstd::bulk::compress(&rgb, 3).unwrap();
        let meta = FrameMeta {
            stream_id: COLOR,
            seq,
            device_ts_ns: dts + 1_000_000,
            host_ts_ns: dts + 1_000_500,
            flags: FLAG_COMPRESSED_ZSTD,
            raw_len: rgb.len() as u32,
        };
        b.add_frame(&meta, &z).unwrap();
        want.push(Want {
            stream: COLOR,
            seq,
            dts: dts + 1_000_000,
            hts: dts + 1_000_500,
            data: rgb,
            compressed: true,
        });
        // imu: 4 samples per depth frame, same device ts as depth for the first
        for k in 0..4 {
            let its = dts + k * 8_000_000;
            let sample: Vec<u8> = (0..24).map(|x| x as u8 ^ imu_seq as u8).collect();
            b.add_frame(&FrameMeta::raw(IMU, imu_seq, its, its + 900, 24), &sample)
                .unwrap();
            want.push(Want {
                stream: IMU,
                seq: imu_seq,
                dts: its,
                hts: its + 900,
                data: sample,
                compressed: false,
            });
            imu_seq += 1;
        }
    }
}

fn build(checkpoint: u64, n_depth: u64) -> (Vec<u8>, Vec<Want>) {
    let mut b = CaptureBuilder::with_checkpoint_bytes(Vec::new(), &header(), checkpoint).unwrap();
    for d in defs() {
        b.add_stream(&d).unwrap();
    }
    let mut want = Vec::new();
    fill(&mut b, 0, n_depth, &mut want);
    (b.finish(10).unwrap(), want)
}

fn write_temp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn got(r: &Reader) -> Vec<Want> {
    r.frames()
        .map(|f| Want {
            stream: f.stream_id,
            seq: f.seq,
            dts: f.device_ts_ns,
            hts: f.host_ts_ns,
            data: f.data().unwrap().into_owned(),
            compressed: f.is_compressed(),
        })
        .collect()
}

#[test]
fn synthetic_capture_reads_back_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    for checkpoint in [1, 700, 1 << 20] {
        let (bytes, want) = build(checkpoint, 12);
        let path = write_temp(&dir, "cap.sq", &bytes);
        let r = Reader::open(&path).unwrap();
        assert!(r.is_clean());
        let seg = r.segment_infos().next().unwrap();
        assert!(seg.indexed, "checkpoint {checkpoint}: opened from the index");
        assert_eq!(seg.header, header());
        assert_eq!(got(&r), want);
        assert_eq!(r.frame_count(), want.len());

        // zero-copy, 8-aligned payloads for raw frames; compressed raw payloads
        for f in r.frames() {
            assert_eq!(f.payload_offset() % 8, 0);
            assert_eq!(f.raw_payload().as_ptr() as usize % 8, 0);
            assert!(f.crc_ok());
            match f.data().unwrap() {
                std::borrow::Cow::Borrowed(b) => {
                    assert!(!f.is_compressed());
                    assert_eq!(b.as_ptr(), f.raw_payload().as_ptr());
                }
                std::borrow::Cow::Owned(o) => {
                    assert!(f.is_compressed());
                    assert_eq!(o.len(), f.raw_len as usize);
                    assert_ne!(f.raw_payload(), &o[..]);
                }
            }
        }

        // streams
        let s = r.streams();
        assert_eq!(s.iter().map(|s| s.id).collect::<Vec<_>>(), [DEPTH, COLOR, IMU]);
        let depth = r.stream(DEPTH).unwrap();
        assert_eq!(depth.def.as_ref().unwrap().get("units"), Some("mm"));
        assert_eq!(depth.def.as_ref().unwrap().media_type, "depth/u16");
        assert_eq!(depth.frames, 11);
        assert_eq!(depth.dropped, 2);
        assert_eq!(depth.gap_records, 1);
        assert_eq!(depth.first_seq, Some(0));
        assert_eq!(depth.last_seq, Some(12));
        let color = r.stream(COLOR).unwrap();
        assert_eq!(color.bytes, 12 * 300);
        assert!(color.stored_bytes < color.bytes);

        // gaps are visible
        let gaps: Vec<_> = r.gaps().collect();
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].first_seq, 3);
        assert_eq!(gaps[0].count, 2);
        assert_eq!(gaps[0].reason, DropReason::Newest);
        assert!(r.records().any(|x| matches!(x, Record::Gap(_))));

        // one stream
        let imu: Vec<u64> = r.iter_stream(IMU).map(|f| f.seq).collect();
        assert_eq!(imu, (0..48).collect::<Vec<_>>());

        // merged order: device ts, then host ts, then file order
        let merged: Vec<(u64, u64)> = r.iter_merged().map(|f| (f.device_ts_ns, f.host_ts_ns)).collect();
        assert_eq!(merged.len(), want.len());
        assert!(merged.windows(2).all(|w| w[0] <= w[1]));
        // depth (hts +500) and imu (hts +900) share device ts: depth first
        let first_two: Vec<u16> = r.iter_merged().take(2).map(|f| f.stream_id).collect();
        assert_eq!(first_two, [DEPTH, IMU]);

        // seek by seq (exact and inside the gap)
        assert_eq!(r.seek_seq(DEPTH, 7).next().unwrap().seq, 7);
        assert_eq!(r.seek_seq(DEPTH, 3).next().unwrap().seq, 5);
        assert_eq!(r.seek_seq(DEPTH, 3).count(), 8);
        assert!(r.seek_seq(DEPTH, 13).next().is_none());
        assert!(r.seek_seq(99, 0).next().is_none());
        // seek by time
        let t = 5 * 33_000_000 + 1;
        let f = r.seek_time(t).next().unwrap();
        assert!(f.device_ts_ns >= t);
        assert_eq!(r.seek_time(t).count(), merged.iter().filter(|m| m.0 >= t).count());
        assert_eq!(r.seek_time(0).count(), want.len());
        assert_eq!(r.seek_time(u64::MAX).count(), 0);
        let f = r.seek_stream_time(COLOR, t).next().unwrap();
        assert_eq!((f.stream_id, f.seq), (COLOR, 5));

        let v = r.verify();
        assert!(v.is_ok(), "{v:?}");
        assert_eq!(v.frames as usize, want.len());
        assert_eq!(v.gaps, 1);
        assert_eq!(v.dropped, 2);
        assert_eq!(v.unexplained_missing, 0);
        assert_eq!(v.per_stream.len(), 3);
    }
}

#[test]
fn unfinished_capture_scans_to_same_content() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = CaptureBuilder::with_checkpoint_bytes(Vec::new(), &header(), 2000).unwrap();
    for d in defs() {
        b.add_stream(&d).unwrap();
    }
    let mut want = Vec::new();
    fill(&mut b, 0, 9, &mut want);
    let bytes = b.into_inner_unfinished();
    let path = write_temp(&dir, "crash.sq", &bytes);
    let r = Reader::open(&path).unwrap();
    assert!(!r.is_clean());
    assert!(!r.segment_infos().next().unwrap().indexed);
    assert_eq!(got(&r), want);
    assert_eq!(r.seek_seq(DEPTH, 6).next().unwrap().seq, 6);
    let v = r.verify();
    assert!(!v.clean_close);
    assert_eq!(v.truncated_bytes, 0);
    assert_eq!(v.corrupt, 0);
    assert_eq!(v.frames as usize, want.len());
}

#[test]
fn segments_read_as_one_capture() {
    let dir = tempfile::tempdir().unwrap();
    let mut want = Vec::new();
    // segment 0: defines all streams
    let mut b = CaptureBuilder::new(Vec::new(), &header()).unwrap();
    for d in defs() {
        b.add_stream(&d).unwrap();
    }
    fill(&mut b, 0, 6, &mut want);
    let s0 = write_temp(&dir, "seg0.sq", &b.finish(1).unwrap());
    // segment 1: repeats only the depth definition; color/imu shared by id
    let mut b = CaptureBuilder::new(Vec::new(), &header()).unwrap();
    b.add_stream(&defs()[0]).unwrap();
    fill(&mut b, 7, 6, &mut want);
    let s1 = write_temp(&dir, "seg1.sq", &b.finish(2).unwrap());
    // segment 2: crashed (no trailer)
    let mut b = CaptureBuilder::new(Vec::new(), &header()).unwrap();
    fill(&mut b, 14, 4, &mut want);
    let s2 = write_temp(&dir, "seg2.sq", &b.into_inner_unfinished());

    let r = Reader::open_segments(&[&s0, &s1, &s2]).unwrap();
    assert_eq!(r.segment_count(), 3);
    assert!(!r.is_clean());
    assert_eq!(got(&r), want);
    assert_eq!(r.streams().len(), 3);
    assert_eq!(r.stream(COLOR).unwrap().def.as_ref().unwrap().name, "color");
    assert_eq!(r.stream(DEPTH).unwrap().gap_records, 3);
    let f = r.seek_seq(COLOR, 15).next().unwrap();
    assert_eq!((f.segment, f.seq), (2, 15));
    let f = r.seek_seq(COLOR, 13).next().unwrap();
    assert_eq!((f.segment, f.seq), (2, 14));
    let f = r.seek_time(8 * 33_000_000).next().unwrap();
    assert_eq!(f.segment, 1);
    let v = r.verify();
    assert_eq!(v.segments, 3);
    assert!(!v.clean_close);
    assert_eq!(v.frames as usize, want.len());
    // depth seq: seg0 0..=6 minus gap [3,5); seg1 starts at 7 -> continuous
    assert_eq!(v.corrupt, 0);
    // The helper leaves imu seqs 24..28 and 52..56 out between segments
    // without gap records: verify reports them.
    let imu = v.per_stream.iter().find(|s| s.stream_id == IMU).unwrap();
    assert_eq!(imu.unexplained_missing, 8);
    assert_eq!(imu.frames, 16 * 4);
    assert!(matches!(
        Reader::open_segments::<&str>(&[]).unwrap_err(),
        streamq::reader::ReaderError::NoSegments
    ));
}

#[test]
fn reader_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Reader>();
    check::<FormatError>();
    check::<streamq::reader::ReaderError>();
}
