//! Opening one segment file: map it, decode the header, and build its record
//! table from the TRAILER + INDEX chain (clean file) or from a forward scan.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::ReaderError;
use super::scan::{ScanEvent, clean_trailer, scan};
use crate::format::{
    FileHeader, FormatError, Gap, IndexEntry, IndexRecord, RecordHeader, RecordKind, StreamDef, Trailer,
    split_record,
};

/// Facts about one segment file of an open capture.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SegmentInfo {
    /// The file.
    pub path: PathBuf,
    /// Its file header.
    pub header: FileHeader,
    /// File length in bytes.
    pub file_len: u64,
    /// Whether it ends with a valid TRAILER + footer.
    pub clean_close: bool,
    /// Whether its record table came from the INDEX chain (`false`: from a scan).
    pub indexed: bool,
    /// Bytes after the last valid record (torn tail; 0 when clean). Only known
    /// when the segment was scanned; [`super::Reader::verify`] always scans.
    pub truncated_bytes: u64,
    /// Damaged regions skipped while scanning (0 if not scanned).
    pub damaged_regions: u64,
}

/// One FRAME or GAP record of the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loc {
    /// Segment index.
    pub seg: u32,
    /// File offset of the record header.
    pub offset: u64,
    /// The record header (validated).
    pub header: RecordHeader,
    /// For GAP records: the decoded gap.
    pub gap: Option<Gap>,
}

/// A mapped segment.
pub(crate) struct Segment {
    pub info: SegmentInfo,
    pub map: Mmap,
}

/// A loaded segment with its records.
pub(crate) struct Loaded {
    pub segment: Segment,
    pub locs: Vec<Loc>,
    pub defs: Vec<StreamDef>,
}

/// Maps `path` read-only and decodes its file header.
pub(crate) fn map_file(file: &File, path: &Path) -> Result<(Mmap, FileHeader, usize), ReaderError> {
    let len = file.metadata().map_err(|e| ReaderError::io(path, e))?.len();
    if len == 0 {
        return Err(ReaderError::header(
            path,
            FormatError::Truncated {
                needed: 32,
                available: 0,
            },
        ));
    }
    // SAFETY: the map is read-only and only ever read through bounds-checked
    // slices. Mapping a file is unsafe because another process could modify or
    // truncate it while mapped; streamq writers only append (which never changes
    // mapped bytes) and `recover` drops its map before truncating. Callers must
    // not truncate or rewrite a capture file while a `Reader` has it open.
    let map = unsafe { Mmap::map(file) }.map_err(|e| ReaderError::io(path, e))?;
    let (header, start) = FileHeader::decode(&map).map_err(|e| ReaderError::header(path, e))?;
    Ok((map, header, start))
}

/// Opens segment number `seg` at `path`.
pub(crate) fn open_segment(path: &Path, seg: u32) -> Result<Loaded, ReaderError> {
    let file = File::open(path).map_err(|e| ReaderError::io(path, e))?;
    let (map, header, start) = map_file(&file, path)?;
    let mut info = SegmentInfo {
        path: path.to_path_buf(),
        header,
        file_len: map.len() as u64,
        clean_close: false,
        indexed: false,
        truncated_bytes: 0,
        damaged_regions: 0,
    };
    let (locs, defs) = if let Some((locs, defs)) = load_indexed(&map, start, seg) {
        info.clean_close = true;
        info.indexed = true;
        (locs, defs)
    } else {
        let (locs, defs, damaged, end) = load_scanned(&map, start, seg);
        info.clean_close = end.clean_trailer.is_some();
        info.truncated_bytes = end.truncated_bytes;
        info.damaged_regions = damaged;
        (locs, defs)
    };
    Ok(Loaded {
        segment: Segment { info, map },
        locs,
        defs,
    })
}

/// Builds the table by scanning every record.
fn load_scanned(
    data: &[u8],
    start: usize,
    seg: u32,
) -> (Vec<Loc>, Vec<StreamDef>, u64, super::scan::ScanEnd) {
    let mut locs = Vec::new();
    let mut defs = Vec::new();
    let mut damaged = 0;
    let end = scan(data, start, |ev| match ev {
        ScanEvent::Record {
            offset,
            header,
            payload,
        } => match header.record_kind() {
            Some(RecordKind::Frame) => locs.push(Loc {
                seg,
                offset: offset as u64,
                header,
                gap: None,
            }),
            Some(RecordKind::Gap) => {
                if let Ok(g) = Gap::decode_body(&header, payload) {
                    locs.push(Loc {
                        seg,
                        offset: offset as u64,
                        header,
                        gap: Some(g),
                    });
                }
            }
            Some(RecordKind::StreamDef) => {
                if let Ok(d) = StreamDef::decode_body(&header, payload) {
                    defs.push(d);
                }
            }
            _ => {}
        },
        ScanEvent::Damage(_) => damaged += 1,
    });
    (locs, defs, damaged, end)
}

/// Builds the table of a cleanly closed file from its TRAILER and INDEX chain,
/// checking every indexed record header. `None` if anything does not add up (the
/// caller then scans).
fn load_indexed(data: &[u8], start: usize, seg: u32) -> Option<(Vec<Loc>, Vec<StreamDef>)> {
    let (t, trailer) = clean_trailer(data, start)?;
    let body = &data[..t];
    let defs = load_defs(body, &trailer)?;
    let entries = load_index_chain(body, start, &trailer)?;
    let mut locs = Vec::with_capacity(entries.len());
    let mut prev_end = start;
    for e in entries {
        let o = usize::try_from(e.offset).ok()?;
        if o < prev_end || o >= t {
            return None;
        }
        let h = RecordHeader::decode(&body[o..]).ok()?;
        if h.kind != e.kind || h.stream_id != e.stream_id || h.seq != e.seq {
            return None;
        }
        let end = o.checked_add(usize::try_from(h.total_len()).ok()?)?;
        if end > t {
            return None;
        }
        let gap = match h.record_kind()? {
            RecordKind::Frame => None,
            RecordKind::Gap => {
                let (h, p, _) = split_record(&body[o..]).ok()?;
                Some(Gap::decode_body(&h, p).ok()?)
            }
            _ => return None,
        };
        locs.push(Loc {
            seg,
            offset: e.offset,
            header: h,
            gap,
        });
        prev_end = end;
    }
    totals_match(&locs, &trailer).then_some((locs, defs))
}

fn load_defs(body: &[u8], trailer: &Trailer) -> Option<Vec<StreamDef>> {
    let mut defs = Vec::new();
    for s in &trailer.streams {
        if let Some(o) = s.def_offset {
            let o = usize::try_from(o).ok()?;
            let (h, p, _) = split_record(body.get(o..)?).ok()?;
            let d = StreamDef::decode_body(&h, p).ok()?;
            if d.id != s.stream_id {
                return None;
            }
            defs.push(d);
        }
    }
    Some(defs)
}

/// Walks the INDEX chain back from the trailer; entries in file order.
fn load_index_chain(body: &[u8], start: usize, trailer: &Trailer) -> Option<Vec<IndexEntry>> {
    let mut chunks = Vec::new();
    let mut bound = body.len();
    let mut cur = trailer.last_index_offset;
    while let Some(o) = cur {
        let o = usize::try_from(o).ok()?;
        // Offsets strictly decrease, so the walk terminates.
        if o < start || o >= bound {
            return None;
        }
        let (h, p, _) = split_record(&body[o..]).ok()?;
        let rec = IndexRecord::decode_checked(&h, p).ok()?;
        cur = rec.prev_index_offset;
        bound = o;
        chunks.push(rec.entries);
    }
    chunks.reverse();
    Some(chunks.into_iter().flatten().collect())
}

fn totals_match(locs: &[Loc], trailer: &Trailer) -> bool {
    use std::collections::BTreeMap;
    let mut seen: BTreeMap<u16, (u64, u64)> = BTreeMap::new();
    for l in locs {
        let c = seen.entry(l.header.stream_id).or_default();
        if l.gap.is_some() {
            c.1 += 1;
        } else {
            c.0 += 1;
        }
    }
    let expected: BTreeMap<u16, (u64, u64)> = trailer
        .streams
        .iter()
        .filter(|s| s.frames + s.gap_records > 0)
        .map(|s| (s.stream_id, (s.frames, s.gap_records)))
        .collect();
    seen == expected
}
