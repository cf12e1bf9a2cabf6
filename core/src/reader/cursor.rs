//! A reading position that owns its reader, for callers that cannot hold a borrow
//! between calls (a C handle, a Python iterator): it keeps an `Arc<Reader>` and an index,
//! and lends each frame until the next call.

use std::sync::Arc;

use super::{Reader, RecordedFrame};

/// Which frames a [`Cursor`] walks, in which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CursorOrder {
    /// Frames of all streams in file order (segment by segment).
    File,
    /// Frames of all streams by device timestamp (ties: host timestamp, file order).
    Time,
    /// Frames of one stream by sequence number.
    Stream(u16),
}

/// A position in a capture that owns its [`Reader`]: `next_frame` lends one frame at a
/// time (zero-copy, valid until the next call on the cursor). Several cursors may walk
/// one reader at once.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("c.sqcap");
/// # let w = streamq::Writer::start(streamq::WriterConfig::capture_file(&path))?;
/// # let mut p = w.add_stream(streamq::StreamConfig::new("depth", "raw").capacity(1 << 20))?;
/// # p.push(b"frame")?;
/// # drop(p);
/// # w.close()?;
/// use std::sync::Arc;
/// use streamq::reader::{Cursor, CursorOrder, Reader};
///
/// let reader = Arc::new(Reader::open(&path)?);
/// let mut cursor = Cursor::new(Arc::clone(&reader), CursorOrder::Stream(0));
/// while let Some(frame) = cursor.next_frame() {
///     assert_eq!(&*frame.data()?, b"frame");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Cursor {
    reader: Arc<Reader>,
    order: CursorOrder,
    /// Next position in the order's list (file order: index into the records).
    pos: usize,
}

impl Cursor {
    /// A cursor at the start of `order`.
    pub fn new(reader: Arc<Reader>, order: CursorOrder) -> Self {
        Cursor {
            reader,
            order,
            pos: 0,
        }
    }

    /// The reader this cursor walks.
    pub fn reader(&self) -> &Arc<Reader> {
        &self.reader
    }

    /// The order this cursor walks in.
    pub fn order(&self) -> CursorOrder {
        self.order
    }

    /// Restarts the cursor at the beginning of `order`.
    pub fn rewind(&mut self, order: CursorOrder) {
        self.order = order;
        self.pos = 0;
    }

    /// Moves to the first frame of `stream_id` with sequence `>= seq` (order becomes
    /// that stream's).
    pub fn seek_seq(&mut self, stream_id: u16, seq: u64) {
        self.order = CursorOrder::Stream(stream_id);
        self.pos = self.reader.seq_position(stream_id, seq);
    }

    /// Moves to the first frame of all streams with device timestamp `>= ts_ns` (order
    /// becomes time order).
    pub fn seek_time(&mut self, ts_ns: u64) {
        self.order = CursorOrder::Time;
        self.pos = self.reader.time_position(ts_ns);
    }

    /// Moves to the first frame of `stream_id` with device timestamp `>= ts_ns`.
    pub fn seek_stream_time(&mut self, stream_id: u16, ts_ns: u64) {
        self.order = CursorOrder::Stream(stream_id);
        self.pos = self.reader.stream_time_position(stream_id, ts_ns);
    }

    /// The next frame in the cursor's order, or `None` at the end.
    pub fn next_frame(&mut self) -> Option<RecordedFrame<'_>> {
        let r = &*self.reader;
        loop {
            let loc = match self.order {
                CursorOrder::File => {
                    let i = self.pos;
                    if i >= r.locs.len() {
                        return None;
                    }
                    if r.locs[i].gap.is_some() {
                        self.pos += 1;
                        continue;
                    }
                    i
                }
                CursorOrder::Time => *r.merged().get(self.pos)?,
                CursorOrder::Stream(id) => *r.stream_locs(id).get(self.pos)?,
            };
            self.pos += 1;
            if let Some(f) = r.frame_at(loc) {
                return Some(f);
            }
        }
    }
}
