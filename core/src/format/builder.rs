//! [`CaptureBuilder`]: a small synchronous capture writer for tests and tools.

use std::io::{self, Write};

use super::{
    DEFAULT_CHECKPOINT_BYTES, FileHeader, FormatError, FrameMeta, Gap, IndexBuilder, StreamDef,
    encode_frame_header, padding,
};

fn invalid(e: FormatError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}

/// Appends records to any [`Write`] in the capture format, synchronously.
///
/// It is the reference for the writer protocol (header, stream defs, frames,
/// gaps, INDEX checkpoints, INDEX + TRAILER + footer on close) and is meant for
/// tests, tools and small captures, not for the high-rate path.
#[derive(Debug)]
pub struct CaptureBuilder<W: Write> {
    out: W,
    offset: u64,
    index: IndexBuilder,
}

impl<W: Write> CaptureBuilder<W> {
    /// Writes the file header; checkpoints every [`DEFAULT_CHECKPOINT_BYTES`].
    pub fn new(out: W, header: &FileHeader) -> io::Result<Self> {
        Self::with_checkpoint_bytes(out, header, DEFAULT_CHECKPOINT_BYTES)
    }

    /// Writes the file header; checkpoints every `checkpoint_bytes` of records.
    pub fn with_checkpoint_bytes(mut out: W, header: &FileHeader, checkpoint_bytes: u64) -> io::Result<Self> {
        let h = header.encode().map_err(invalid)?;
        out.write_all(&h)?;
        Ok(Self {
            out,
            offset: h.len() as u64,
            index: IndexBuilder::new(checkpoint_bytes),
        })
    }

    /// Current file offset (where the next record goes).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn put(&mut self, parts: &[&[u8]]) -> io::Result<u64> {
        let at = self.offset;
        for p in parts {
            self.out.write_all(p)?;
            self.offset += p.len() as u64;
        }
        Ok(at)
    }

    /// Appends a STREAM_DEF; returns its offset.
    pub fn add_stream(&mut self, def: &StreamDef) -> io::Result<u64> {
        let rec = def.encode().map_err(invalid)?;
        let at = self.put(&[&rec])?;
        self.index.note_stream_def(def.id, at);
        Ok(at)
    }

    /// Appends a FRAME (payload stored as given: compress it first and set
    /// [`super::FLAG_COMPRESSED_ZSTD`] for a compressed frame); returns its offset.
    pub fn add_frame(&mut self, meta: &FrameMeta, payload: &[u8]) -> io::Result<u64> {
        let h = encode_frame_header(meta, payload).map_err(invalid)?;
        let at = self.put(&[&h, payload, padding(payload.len())])?;
        self.index.note_frame(meta, payload.len(), at);
        self.maybe_checkpoint()?;
        Ok(at)
    }

    /// Appends a GAP; returns its offset.
    pub fn add_gap(&mut self, gap: &Gap) -> io::Result<u64> {
        let at = self.put(&[&gap.encode()])?;
        self.index.note_gap(gap, at);
        self.maybe_checkpoint()?;
        Ok(at)
    }

    fn maybe_checkpoint(&mut self) -> io::Result<()> {
        if self.index.should_checkpoint() {
            let rec = self.index.take_checkpoint_record(self.offset);
            self.put(&[&rec])?;
        }
        Ok(())
    }

    /// Writes the final INDEX, TRAILER and footer, flushes, and returns the sink.
    pub fn finish(mut self, host_ts_ns: u64) -> io::Result<W> {
        let tail = self.index.finish(self.offset, host_ts_ns);
        self.put(&[&tail])?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// Returns the sink without writing a trailer (what a crash leaves behind).
    pub fn into_inner_unfinished(self) -> W {
        self.out
    }
}
