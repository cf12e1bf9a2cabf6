//! The owning reader cursor walks the same frames, in the same orders, as the borrowing
//! iterators, and seeks like them — so bindings need no lifetime tricks.

use std::sync::Arc;

use streamq::reader::{Cursor, CursorOrder, Reader};
use streamq::{PushOptions, StreamConfig, Writer, WriterConfig};

fn keys<'a>(it: impl Iterator<Item = streamq::reader::RecordedFrame<'a>>) -> Vec<(u16, u64)> {
    it.map(|f| (f.stream_id, f.seq)).collect()
}

fn drain(c: &mut Cursor) -> Vec<(u16, u64)> {
    let mut v = Vec::new();
    while let Some(f) = c.next_frame() {
        v.push((f.stream_id, f.seq));
    }
    v
}

#[test]
fn a_cursor_matches_the_iterators_in_every_order_and_after_seeks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqcap");
    let w = Writer::start(WriterConfig::capture_file(&path)).unwrap();
    let mut a = w
        .add_stream(StreamConfig::new("a", "raw").capacity(1 << 20))
        .unwrap();
    let mut b = w
        .add_stream(StreamConfig::new("b", "raw").capacity(1 << 20))
        .unwrap();
    for i in 0..50u64 {
        // Interleaved device timestamps: b's frames fall between a's.
        assert!(
            a.push_with(&[1u8; 10], &PushOptions::new().device_ts_ns(i * 10))
                .unwrap()
                .is_queued()
        );
        assert!(
            b.push_with(&[2u8; 20], &PushOptions::new().device_ts_ns(i * 10 + 5))
                .unwrap()
                .is_queued()
        );
    }
    drop((a, b));
    w.close().unwrap();

    let reader = Arc::new(Reader::open(&path).unwrap());
    let mut c = Cursor::new(Arc::clone(&reader), CursorOrder::File);
    assert_eq!(drain(&mut c), keys(reader.frames()));
    c.rewind(CursorOrder::Time);
    assert_eq!(drain(&mut c), keys(reader.iter_merged()));
    c.rewind(CursorOrder::Stream(1));
    assert_eq!(drain(&mut c), keys(reader.iter_stream(1)));
    assert_eq!(c.next_frame().map(|f| f.seq), None, "the end stays the end");

    c.seek_seq(0, 17);
    assert_eq!(drain(&mut c), keys(reader.seek_seq(0, 17)));
    c.seek_time(255);
    assert_eq!(drain(&mut c), keys(reader.seek_time(255)));
    c.seek_stream_time(1, 255);
    assert_eq!(drain(&mut c), keys(reader.seek_stream_time(1, 255)));
    c.rewind(CursorOrder::Stream(9));
    assert!(c.next_frame().is_none(), "an unknown stream has no frames");

    // The cursor keeps the reader alive on its own, and frames read back intact.
    let mut c = Cursor::new(reader, CursorOrder::Stream(0));
    let f = c.next_frame().unwrap();
    assert_eq!(&*f.data().unwrap(), &[1u8; 10]);
}
