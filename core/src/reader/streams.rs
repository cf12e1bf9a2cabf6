//! Per-stream summaries.

use std::collections::BTreeMap;

use super::segments::Loc;
use crate::format::StreamDef;

/// A stream of the capture with its counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StreamInfo {
    /// Stream id.
    pub id: u16,
    /// Its definition (`None` if frames reference an id no segment defines).
    pub def: Option<StreamDef>,
    /// Frames present.
    pub frames: u64,
    /// Uncompressed bytes of those frames.
    pub bytes: u64,
    /// Stored (possibly compressed) bytes of those frames.
    pub stored_bytes: u64,
    /// GAP records.
    pub gap_records: u64,
    /// Frames declared lost by GAP records.
    pub dropped: u64,
    /// Lowest frame sequence number.
    pub first_seq: Option<u64>,
    /// Highest frame sequence number.
    pub last_seq: Option<u64>,
    /// Lowest device timestamp.
    pub first_device_ts_ns: Option<u64>,
    /// Highest device timestamp.
    pub last_device_ts_ns: Option<u64>,
}

fn min_opt(a: Option<u64>, b: u64) -> Option<u64> {
    Some(a.map_or(b, |a| a.min(b)))
}

fn max_opt(a: Option<u64>, b: u64) -> Option<u64> {
    Some(a.map_or(b, |a| a.max(b)))
}

/// Summaries of every defined or referenced stream, sorted by id. The first
/// definition of an id wins (segments share definitions by id).
pub(crate) fn summarize(defs: &[StreamDef], locs: &[Loc]) -> Vec<StreamInfo> {
    let mut m: BTreeMap<u16, StreamInfo> = BTreeMap::new();
    for d in defs {
        let s = m.entry(d.id).or_insert_with(|| StreamInfo {
            id: d.id,
            ..StreamInfo::default()
        });
        if s.def.is_none() {
            s.def = Some(d.clone());
        }
    }
    for l in locs {
        let h = &l.header;
        let s = m.entry(h.stream_id).or_insert_with(|| StreamInfo {
            id: h.stream_id,
            ..StreamInfo::default()
        });
        if let Some(g) = &l.gap {
            s.gap_records += 1;
            s.dropped = s.dropped.saturating_add(g.count);
        } else {
            s.frames += 1;
            s.bytes += u64::from(h.raw_len);
            s.stored_bytes += u64::from(h.payload_len);
            s.first_seq = min_opt(s.first_seq, h.seq);
            s.last_seq = max_opt(s.last_seq, h.seq);
            s.first_device_ts_ns = min_opt(s.first_device_ts_ns, h.device_ts_ns);
            s.last_device_ts_ns = max_opt(s.last_device_ts_ns, h.device_ts_ns);
        }
    }
    m.into_values().collect()
}
