//! What the writer engine hands a sink, and the interface every sink implements.

use crate::FrameInfo;
use crate::format::StreamDef;
use crate::writer::error::WriterError;
use crate::writer::report::FinishedSegment;

/// A frame ready to store: its ring bytes and, when compressed, the packed bytes.
pub(crate) struct OutFrame<'a> {
    pub(crate) stream: u16,
    pub(crate) info: FrameInfo,
    pub(crate) data: &'a [u8],
    pub(crate) packed: Option<&'a [u8]>,
}

/// One thing to store, in order.
pub(crate) enum Item<'a> {
    Frame(OutFrame<'a>),
    Gap(u16, crate::Gap),
}

/// A destination for frames. All calls come from the writer thread.
pub(crate) trait Sink: Send {
    /// Announces a stream (written before its first frame).
    fn add_stream(&mut self, def: &StreamDef) -> Result<(), WriterError>;
    /// Stores `items` in order; returns bytes stored. A sink with writes in flight may
    /// return once the items are staged: they count as written only when
    /// [`confirmed_writes`](Self::confirmed_writes) says so. On error nothing
    /// unconfirmed may be counted as written, and what was confirmed stays valid.
    fn write(&mut self, items: &[Item<'_>]) -> Result<u64, WriterError>;
    /// How many `write` calls (counted from the first) are wholly stored; `None` when
    /// every accepted write is (synchronous sinks). Also right after a failure: then it
    /// counts what is left on the storage.
    fn confirmed_writes(&mut self) -> Option<u64> {
        None
    }
    /// After `write` returned an error: how many of its leading items were stored
    /// before the failure (a sink that stores item by item, like the callback sink).
    /// Those frames count as written; the rest of the write as failed. Default 0.
    fn items_stored_before_error(&self) -> usize {
        0
    }
    /// The error of a write that failed in flight, once.
    fn take_error(&mut self) -> Option<WriterError> {
        None
    }
    /// Waits until every accepted write is stored (or has failed).
    fn settle(&mut self) -> Result<(), WriterError> {
        Ok(())
    }
    /// Makes everything written so far durable (settling first).
    fn sync(&mut self) -> Result<(), WriterError>;
    /// Whether a segment boundary is due.
    fn rotation_due(&self) -> bool {
        false
    }
    /// Finishes the current segment and starts the next; returns the finished one.
    fn rotate(&mut self) -> Result<Option<FinishedSegment>, WriterError> {
        Ok(None)
    }
    /// Finishes cleanly (trailer, sync); returns the last segment.
    fn finish(&mut self) -> Result<Option<FinishedSegment>, WriterError>;
}
