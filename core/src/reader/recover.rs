//! Recovery of a crashed file: cut the torn tail, append INDEX + TRAILER + footer.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use super::ReaderError;
use super::scan::{ScanEvent, clean_trailer, scan};
use super::segments::map_file;
use crate::format::{DEFAULT_CHECKPOINT_BYTES, FrameMeta, Gap, IndexBuilder, RecordKind, TRAILER_RECOVERED};

/// What [`recover`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RecoverReport {
    /// The file already ended with a valid TRAILER + footer; nothing was changed.
    pub already_clean: bool,
    /// File length before recovery.
    pub original_len: u64,
    /// File length after recovery.
    pub new_len: u64,
    /// Torn-tail bytes cut off.
    pub truncated_bytes: u64,
    /// Damaged mid-file regions left in place (readers skip them).
    pub corrupt_regions: u64,
    /// Valid frames indexed.
    pub frames: u64,
    /// Valid gap records indexed.
    pub gaps: u64,
    /// Streams in the new trailer.
    pub streams: u64,
}

/// Makes a crashed capture file (no valid trailer) cleanly closed: truncates the
/// torn tail at the end of the last valid record and appends an INDEX, a TRAILER
/// (flags clean-close + recovered) and the footer, built from a forward scan,
/// then fsyncs. Idempotent: a cleanly closed file is left untouched.
///
/// Mid-file damage is kept (readers resynchronise past it). The file must not
/// be open in a [`super::Reader`] or a writer meanwhile. If recovery itself is
/// interrupted, running it again completes it.
pub fn recover(path: impl AsRef<Path>) -> Result<RecoverReport, ReaderError> {
    let path = path.as_ref();
    let io = |e| ReaderError::io(path, e);
    let mut file = OpenOptions::new().read(true).write(true).open(path).map_err(io)?;
    let (map, _header, start) = map_file(&file, path)?;
    let original_len = map.len() as u64;
    if let Some((_, trailer)) = clean_trailer(&map, start) {
        return Ok(RecoverReport {
            already_clean: true,
            original_len,
            new_len: original_len,
            streams: trailer.streams.len() as u64,
            ..RecoverReport::default()
        });
    }
    let mut index = IndexBuilder::new(DEFAULT_CHECKPOINT_BYTES);
    let mut rep = RecoverReport {
        original_len,
        ..RecoverReport::default()
    };
    let end = scan(&map, start, |ev| match ev {
        ScanEvent::Record {
            offset,
            header,
            payload,
        } => match header.record_kind() {
            Some(RecordKind::StreamDef) => index.note_stream_def(header.stream_id, offset as u64),
            Some(RecordKind::Frame) => {
                rep.frames += 1;
                index.note_frame(&FrameMeta::from_header(&header), payload.len(), offset as u64);
            }
            Some(RecordKind::Gap) => {
                if let Ok(g) = Gap::decode_body(&header, payload) {
                    rep.gaps += 1;
                    index.note_gap(&g, offset as u64);
                }
            }
            _ => {}
        },
        ScanEvent::Damage(_) => rep.corrupt_regions += 1,
    });
    drop(map);
    let valid_end = end.valid_end as u64;
    rep.truncated_bytes = end.truncated_bytes;
    rep.streams = index.totals().len() as u64;
    let tail = index.finish_with_flags(valid_end, 0, TRAILER_RECOVERED);
    file.set_len(valid_end).map_err(io)?;
    file.seek(SeekFrom::Start(valid_end)).map_err(io)?;
    file.write_all(&tail).map_err(io)?;
    file.sync_all().map_err(io)?;
    rep.new_len = valid_end + tail.len() as u64;
    Ok(rep)
}
