//! Full verification: every CRC, every zstd frame, sequence continuity.

use std::collections::BTreeMap;

use super::Reader;
use super::scan::{ScanEvent, scan};
use crate::format::{
    FLAG_COMPRESSED_ZSTD, FLAG_ENCODING_MASK, FileHeader, Gap, RecordKind, StreamDef, decompress_zstd,
};

/// At most this many messages are kept in [`VerifyReport::errors`].
pub const MAX_ERRORS: usize = 1000;

/// Verification results of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StreamVerify {
    /// Stream id.
    pub stream_id: u16,
    /// Stream name from its definition ("" if none).
    pub name: String,
    /// Valid frames.
    pub frames: u64,
    /// Uncompressed bytes of valid frames.
    pub bytes: u64,
    /// Stored bytes of valid frames.
    pub stored_bytes: u64,
    /// GAP records.
    pub gaps: u64,
    /// Frames declared lost by GAP records.
    pub dropped: u64,
    /// Sequence numbers missing without a GAP record covering them (lost to
    /// damage or a writer bug).
    pub unexplained_missing: u64,
    /// First frame sequence seen.
    pub first_seq: Option<u64>,
    /// Last frame sequence seen.
    pub last_seq: Option<u64>,
}

/// What [`Reader::verify`] found. Plain fields, easy to serialise.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Segment files checked.
    pub segments: u64,
    /// Valid records of any kind.
    pub records: u64,
    /// Valid frames.
    pub frames: u64,
    /// Uncompressed bytes of valid frames.
    pub bytes: u64,
    /// Stored bytes of valid frames.
    pub stored_bytes: u64,
    /// Frames with a valid CRC whose payload does not decode (bad zstd frame,
    /// wrong raw length, unknown encoding).
    pub bad_frames: u64,
    /// Bad records skipped by resynchronising (mid-file damage, not the tail).
    pub corrupt: u64,
    /// Bytes in those damaged regions.
    pub corrupt_bytes: u64,
    /// GAP records.
    pub gaps: u64,
    /// Frames declared lost by GAP records.
    pub dropped: u64,
    /// Sequence numbers missing without a covering GAP record.
    pub unexplained_missing: u64,
    /// Bytes after the last valid record (torn tail of a crashed file).
    pub truncated_bytes: u64,
    /// Lowest frame sequence over all streams.
    pub first_seq: Option<u64>,
    /// Highest frame sequence over all streams.
    pub last_seq: Option<u64>,
    /// Per-stream results, sorted by id.
    pub per_stream: Vec<StreamVerify>,
    /// Whether every segment ends with a valid TRAILER + footer.
    pub clean_close: bool,
    /// Human-readable problems (at most [`MAX_ERRORS`], then a summary line).
    pub errors: Vec<String>,
}

impl VerifyReport {
    /// No damage, no torn tail, no undecodable frame, clean close.
    pub fn is_ok(&self) -> bool {
        self.corrupt == 0
            && self.bad_frames == 0
            && self.truncated_bytes == 0
            && self.unexplained_missing == 0
            && self.clean_close
            && self.errors.is_empty()
    }
}

#[derive(Default)]
struct StreamState {
    v: StreamVerify,
    next: Option<u64>,
    missing: Vec<(u64, u64)>,
    covered: Vec<(u64, u64)>,
}

struct Ctx {
    report: VerifyReport,
    omitted: u64,
    streams: BTreeMap<u16, StreamState>,
}

impl Ctx {
    fn error(&mut self, msg: String) {
        if self.report.errors.len() < MAX_ERRORS {
            self.report.errors.push(msg);
        } else {
            self.omitted += 1;
        }
    }

    fn stream(&mut self, id: u16) -> &mut StreamState {
        self.streams.entry(id).or_insert_with(|| StreamState {
            v: StreamVerify {
                stream_id: id,
                ..StreamVerify::default()
            },
            ..StreamState::default()
        })
    }
}

/// Number of values in `missing` ranges not covered by `covered` ranges.
fn uncovered(missing: &[(u64, u64)], covered: &mut [(u64, u64)]) -> u64 {
    covered.sort_unstable();
    let mut total = 0u64;
    for &(a, b) in missing {
        let mut left = a;
        for &(c, d) in covered.iter() {
            if d <= left || c >= b {
                continue;
            }
            if c > left {
                total += c - left;
            }
            left = left.max(d);
            if left >= b {
                break;
            }
        }
        if left < b {
            total += b - left;
        }
    }
    total
}

impl Reader {
    /// Re-reads every segment and checks every record CRC, every zstd frame
    /// (decodes to exactly `raw_len`), sequence continuity against GAP records,
    /// and the trailer totals. Mid-file damage is skipped by resynchronising on
    /// the next valid record and counted in `corrupt`; damage with no valid
    /// record after it is the torn tail, counted in `truncated_bytes`.
    pub fn verify(&self) -> VerifyReport {
        let mut cx = Ctx {
            report: VerifyReport {
                segments: self.segments.len() as u64,
                clean_close: true,
                ..VerifyReport::default()
            },
            omitted: 0,
            streams: BTreeMap::new(),
        };
        for seg in &self.segments {
            verify_segment(&mut cx, &seg.map, &seg.info.header, &seg.info.path);
        }
        finish(cx)
    }
}

fn verify_segment(cx: &mut Ctx, data: &[u8], header: &FileHeader, path: &std::path::Path) {
    let name = path.display().to_string();
    let start = match FileHeader::decode(data) {
        Ok((h, len)) if &h == header => len,
        _ => {
            cx.error(format!("{name}: file header changed or damaged since open"));
            cx.report.clean_close = false;
            return;
        }
    };
    let mut seg_counts: BTreeMap<u16, (u64, u64)> = BTreeMap::new();
    let end = scan(data, start, |ev| match ev {
        ScanEvent::Record {
            offset,
            header: h,
            payload,
        } => {
            cx.report.records += 1;
            match h.record_kind() {
                Some(RecordKind::Frame) => {
                    seg_counts.entry(h.stream_id).or_default().0 += 1;
                    let bad = if h.flags & FLAG_ENCODING_MASK & !FLAG_COMPRESSED_ZSTD != 0 {
                        Some(format!("unknown encoding flags {:#04x}", h.flags))
                    } else if h.is_compressed() {
                        decompress_zstd(payload, h.raw_len).err().map(|e| e.to_string())
                    } else if h.raw_len != h.payload_len {
                        Some("raw_len differs from payload_len".to_owned())
                    } else {
                        None
                    };
                    if let Some(what) = bad {
                        cx.report.bad_frames += 1;
                        cx.error(format!(
                            "{name}: frame at offset {offset} (stream {}, seq {}): {what}",
                            h.stream_id, h.seq
                        ));
                    }
                    cx.report.frames += 1;
                    cx.report.bytes += u64::from(h.raw_len);
                    cx.report.stored_bytes += u64::from(h.payload_len);
                    let st = cx.stream(h.stream_id);
                    st.v.frames += 1;
                    st.v.bytes += u64::from(h.raw_len);
                    st.v.stored_bytes += u64::from(h.payload_len);
                    st.v.first_seq.get_or_insert(h.seq);
                    st.v.last_seq = Some(h.seq);
                    let backwards = match st.next {
                        Some(e) if h.seq > e => {
                            st.missing.push((e, h.seq));
                            None
                        }
                        Some(e) if h.seq < e => Some(e),
                        _ => None,
                    };
                    st.next = Some(h.seq.saturating_add(1));
                    if let Some(e) = backwards {
                        cx.error(format!(
                            "{name}: stream {} seq {} at offset {offset} repeats or goes back (expected {e})",
                            h.stream_id, h.seq
                        ));
                    }
                }
                Some(RecordKind::Gap) => match Gap::decode_body(&h, payload) {
                    Ok(g) => {
                        seg_counts.entry(h.stream_id).or_default().1 += 1;
                        cx.report.gaps += 1;
                        cx.report.dropped = cx.report.dropped.saturating_add(g.count);
                        let st = cx.stream(g.stream_id);
                        st.v.gaps += 1;
                        st.v.dropped = st.v.dropped.saturating_add(g.count);
                        st.covered
                            .push((g.first_seq, g.first_seq.saturating_add(g.count)));
                    }
                    Err(e) => cx.error(format!("{name}: gap at offset {offset}: {e}")),
                },
                Some(RecordKind::StreamDef) => match StreamDef::decode_body(&h, payload) {
                    Ok(d) => {
                        let st = cx.stream(d.id);
                        if st.v.name.is_empty() {
                            st.v.name = d.name;
                        }
                    }
                    Err(e) => cx.error(format!("{name}: stream def at offset {offset}: {e}")),
                },
                _ => {}
            }
        }
        ScanEvent::Damage(d) => {
            cx.report.corrupt += d.records;
            cx.report.corrupt_bytes += (d.end - d.start) as u64;
            cx.error(format!(
                "{name}: damaged bytes {}..{} ({} bad record(s)) skipped: {}",
                d.start, d.end, d.records, d.what
            ));
        }
    });
    cx.report.truncated_bytes += end.truncated_bytes;
    if end.truncated_bytes > 0 {
        cx.error(format!(
            "{name}: torn tail of {} bytes at offset {}: {}",
            end.truncated_bytes,
            end.valid_end,
            end.tail_what.as_deref().unwrap_or("incomplete record")
        ));
    }
    match end.clean_trailer {
        None => {
            cx.report.clean_close = false;
            cx.error(format!("{name}: no valid trailer (file was not closed cleanly)"));
        }
        Some((_, trailer)) => {
            for t in &trailer.streams {
                let got = seg_counts.get(&t.stream_id).copied().unwrap_or_default();
                if got != (t.frames, t.gap_records) {
                    cx.error(format!(
                        "{name}: trailer says stream {} has {} frames/{} gaps, found {}/{}",
                        t.stream_id, t.frames, t.gap_records, got.0, got.1
                    ));
                }
            }
        }
    }
}

fn finish(mut cx: Ctx) -> VerifyReport {
    let mut per_stream = Vec::new();
    let mut unexplained = Vec::new();
    for (_, mut st) in std::mem::take(&mut cx.streams) {
        st.v.unexplained_missing = uncovered(&st.missing, &mut st.covered);
        if st.v.unexplained_missing > 0 {
            unexplained.push((st.v.stream_id, st.v.unexplained_missing));
        }
        cx.report.unexplained_missing += st.v.unexplained_missing;
        if let Some(f) = st.v.first_seq {
            cx.report.first_seq = Some(cx.report.first_seq.map_or(f, |x| x.min(f)));
        }
        if let Some(l) = st.v.last_seq {
            cx.report.last_seq = Some(cx.report.last_seq.map_or(l, |x| x.max(l)));
        }
        per_stream.push(st.v);
    }
    for (id, n) in unexplained {
        cx.error(format!(
            "stream {id}: {n} sequence number(s) missing without a gap record"
        ));
    }
    cx.report.per_stream = per_stream;
    if cx.omitted > 0 {
        let n = cx.omitted;
        cx.report.errors.push(format!("... and {n} more problem(s)"));
    }
    cx.report
}
