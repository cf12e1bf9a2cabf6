//! Forward scan of a mapped file: validates every record, resynchronises after
//! damage and tells a torn tail apart from mid-file corruption.

use crate::format::{
    FOOTER_LEN, RECORD_HEADER_LEN, RecordHeader, RecordKind, SYNC_MARKER, Trailer, decode_footer,
    split_record,
};

/// A damaged region between two valid records (or between the last valid record
/// and the end of the file).
#[derive(Debug, Clone)]
pub(crate) struct Damage {
    /// First damaged byte.
    pub start: usize,
    /// One past the last damaged byte.
    pub end: usize,
    /// Number of bad records (or unparseable stretches) in the region.
    pub records: u64,
    /// Description of the first problem.
    pub what: String,
}

/// What the scanner reports, in file order.
pub(crate) enum ScanEvent<'a> {
    /// A record whose header and CRC are valid.
    Record {
        offset: usize,
        header: RecordHeader,
        payload: &'a [u8],
    },
    /// A damaged region followed by at least one valid record.
    Damage(Damage),
}

/// How a scan ended.
#[derive(Debug, Clone)]
pub(crate) struct ScanEnd {
    /// End of the last valid record (the file length for a cleanly closed file).
    pub valid_end: usize,
    /// Bytes after the last valid record (torn tail).
    pub truncated_bytes: u64,
    /// Description of the first problem in the torn tail.
    pub tail_what: Option<String>,
    /// The decoded trailer when the file ends with a valid TRAILER + footer.
    pub clean_trailer: Option<(usize, Trailer)>,
}

/// The TRAILER of a cleanly closed file: the footer points at a valid TRAILER
/// record (clean-close flag set) that ends exactly where the footer starts.
pub(crate) fn clean_trailer(data: &[u8], data_start: usize) -> Option<(usize, Trailer)> {
    let t = usize::try_from(decode_footer(data)?).ok()?;
    let body_end = data.len().checked_sub(FOOTER_LEN)?;
    if t < data_start || t > body_end {
        return None;
    }
    let (h, payload, total) = split_record(&data[t..body_end]).ok()?;
    if h.kind != RecordKind::Trailer as u8 || total != body_end - t {
        return None;
    }
    let trailer = Trailer::decode_body(payload).ok()?;
    trailer.is_clean_close().then_some((t, trailer))
}

/// Next offset at or after `from` holding a sync marker and a valid record header.
fn find_sync(data: &[u8], mut from: usize) -> Option<usize> {
    while from + RECORD_HEADER_LEN <= data.len() {
        let i = from + data[from..].iter().position(|&b| b == SYNC_MARKER[0])?;
        if data[i..].starts_with(&SYNC_MARKER) && RecordHeader::decode(&data[i..]).is_ok() {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

fn describe(h: &RecordHeader, offset: usize) -> String {
    format!(
        "record at offset {offset} (kind {}, stream {}, seq {})",
        h.kind, h.stream_id, h.seq
    )
}

fn add(pending: &mut Option<Damage>, start: usize, end: usize, what: impl FnOnce() -> String) {
    match pending {
        Some(d) => {
            d.end = end;
            d.records += 1;
        }
        None => {
            *pending = Some(Damage {
                start,
                end,
                records: 1,
                what: what(),
            })
        }
    }
}

/// Scans `data` from `start` (the end of the file header) to the end of the
/// file, calling `f` for each valid record and each damaged region that is
/// followed by a valid record. Damage with no valid record after it is the torn
/// tail, reported in the returned [`ScanEnd`]. Linear time in the file size
/// (plus one header CRC per false sync candidate); never panics.
pub(crate) fn scan<'a>(data: &'a [u8], start: usize, mut f: impl FnMut(ScanEvent<'a>)) -> ScanEnd {
    let mut pos = start;
    let mut valid_end = start.min(data.len());
    let mut pending: Option<Damage> = None;
    let mut clean = None;
    while pos < data.len() {
        let rest = &data[pos..];
        let h = match RecordHeader::decode(rest) {
            Ok(h) => h,
            Err(e) => {
                let next = find_sync(data, pos + 1).unwrap_or(data.len());
                add(&mut pending, pos, next, || {
                    format!("unreadable record header at offset {pos}: {e}")
                });
                pos = next;
                continue;
            }
        };
        let total = h.total_len();
        if total > rest.len() as u64 {
            add(&mut pending, pos, data.len(), || {
                format!("{} runs past the end of the file", describe(&h, pos))
            });
            break;
        }
        let total = total as usize;
        let payload = &rest[RECORD_HEADER_LEN..RECORD_HEADER_LEN + h.payload_len as usize];
        if let Err(e) = h.check_crc(payload) {
            add(&mut pending, pos, pos + total, || {
                format!("{}: {e}", describe(&h, pos))
            });
            pos += total;
            continue;
        }
        if let Some(d) = pending.take() {
            f(ScanEvent::Damage(d));
        }
        f(ScanEvent::Record {
            offset: pos,
            header: h,
            payload,
        });
        valid_end = pos + total;
        pos += total;
        if h.kind == RecordKind::Trailer as u8
            && data.len() - pos == FOOTER_LEN
            && let Some((t, trailer)) = clean_trailer(data, start)
            && t + total == pos
        {
            clean = Some((t, trailer));
            valid_end = data.len();
            pending = None;
            break;
        }
    }
    ScanEnd {
        valid_end,
        truncated_bytes: (data.len() - valid_end) as u64,
        tail_what: pending.map(|d| d.what),
        clean_trailer: clean,
    }
}
