//! The capture-file sink: record headers built here, payloads written straight from the
//! ring with one `pwritev` per batch, index checkpoints, preallocation, segments.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::clock::{monotonic_ns, unix_ns};
use crate::format::{
    FLAG_COMPRESSED_ZSTD, FileHeader, FrameMeta, Gap as GapRecord, IndexBuilder, StreamDef,
    encode_frame_header, padding,
};
use crate::writer::error::WriterError;
use crate::writer::io::{FaultInjector, WriteFile};
use crate::writer::report::FinishedSegment;
use crate::writer::sink::{Item, Sink};

/// Settings the file sink needs.
pub(crate) struct FileSinkConfig {
    pub(crate) path: PathBuf,
    pub(crate) metadata: Vec<(String, String)>,
    pub(crate) preallocate: u64,
    pub(crate) index_interval: u64,
    pub(crate) segment_bytes: Option<u64>,
    pub(crate) segment_duration: Option<Duration>,
    pub(crate) faults: Option<std::sync::Arc<dyn FaultInjector>>,
    pub(crate) direct_io: bool,
    pub(crate) max_write: usize,
    pub(crate) writes_in_flight: usize,
}

struct Segment {
    path: PathBuf,
    file: WriteFile,
    offset: u64,
    index: IndexBuilder,
    started: Instant,
    /// Per stream: (first seq, last seq) of frames in this segment.
    ranges: Vec<(u16, u64, u64)>,
}

pub(crate) struct FileSink {
    cfg: FileSinkConfig,
    segmented: bool,
    segment_no: u32,
    current: Segment,
    /// The next segment, opened ahead so rotation is a swap.
    next: Option<Segment>,
    streams: Vec<StreamDef>,
    /// `write` calls so far.
    accepted: u64,
    /// `write` calls not yet confirmed on the file: (number, end offset), in order.
    unconfirmed: std::collections::VecDeque<(u64, u64)>,
    /// A write that failed in flight, not yet reported.
    failed: Option<WriterError>,
}

/// The path of segment `n` of a capture at `base` (`cap.sqcap` → `cap-000003.sqcap`).
pub fn segment_path(base: &Path, n: u32) -> PathBuf {
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match base.extension() {
        Some(ext) => format!("{stem}-{n:06}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{n:06}"),
    };
    base.with_file_name(name)
}

impl FileSink {
    pub(crate) fn create(cfg: FileSinkConfig) -> Result<Self, WriterError> {
        let segmented = cfg.segment_bytes.is_some() || cfg.segment_duration.is_some();
        let first = if segmented {
            segment_path(&cfg.path, 0)
        } else {
            cfg.path.clone()
        };
        let current = open_segment(&cfg, first, &[])?;
        let mut sink = FileSink {
            cfg,
            segmented,
            segment_no: 0,
            current,
            next: None,
            streams: Vec::new(),
            accepted: 0,
            unconfirmed: std::collections::VecDeque::new(),
            failed: None,
        };
        if segmented {
            sink.open_next()?;
        }
        Ok(sink)
    }

    fn open_next(&mut self) -> Result<(), WriterError> {
        let path = segment_path(&self.cfg.path, self.segment_no + 1);
        self.next = Some(open_segment(&self.cfg, path, &self.streams)?);
        Ok(())
    }

    fn write_records(&mut self, bufs: &[&[u8]], op: &'static str) -> Result<u64, WriterError> {
        let seg = &mut self.current;
        let total: u64 = bufs.iter().map(|b| b.len() as u64).sum();
        if self.cfg.preallocate > 0 {
            seg.file.preallocate(seg.offset + total + self.cfg.preallocate);
        }
        match seg.file.write_all_at(bufs, seg.offset) {
            Ok(n) => {
                seg.offset += n;
                Ok(n)
            }
            Err((_, e)) => Err(seg.cut_back(op, &e)),
        }
    }

    fn finish_segment(seg: &mut Segment) -> Result<FinishedSegment, WriterError> {
        let tail = seg.index.finish(seg.offset, monotonic_ns());
        match seg.file.write_all_at(&[&tail], seg.offset) {
            Ok(n) => seg.offset += n,
            Err((_, e)) => return Err(seg.cut_back("write trailer of", &e)),
        }
        if let Err(e) = seg.file.settle() {
            return Err(seg.cut_back("write to", &e));
        }
        // Give back preallocated blocks (and the padding of the last block) past the end.
        seg.file
            .truncate(seg.offset)
            .map_err(|e| WriterError::io("truncate", &seg.path, &e))?;
        seg.file
            .sync_data()
            .map_err(|e| WriterError::io("fsync", &seg.path, &e))?;
        Ok(FinishedSegment {
            path: seg.path.clone(),
            index: 0,
            bytes: seg.offset,
            frame_ranges: seg.ranges.clone(),
        })
    }
}

impl Segment {
    /// After a failed write: waits for writes in flight and cuts the file back to the
    /// last record wholly on it, so it ends on a complete record.
    fn cut_back(&mut self, op: &'static str, e: &std::io::Error) -> WriterError {
        let good = self.file.abandon();
        let _ = self.file.truncate(good);
        self.offset = good;
        WriterError::io(op, &self.path, e)
    }
}

fn open_segment(cfg: &FileSinkConfig, path: PathBuf, streams: &[StreamDef]) -> Result<Segment, WriterError> {
    let open = |direct: bool| {
        use std::os::unix::fs::OpenOptionsExt;
        let mut o = OpenOptions::new();
        // Read access too: O_DIRECT truncation re-reads the last block.
        o.read(true).write(true).create(true).truncate(true);
        if direct {
            o.custom_flags(libc::O_DIRECT);
        }
        o.open(&path)
    };
    let (file, direct): (File, bool) = match cfg.direct_io {
        true => match open(true) {
            Ok(f) => (f, true),
            // File systems without O_DIRECT (tmpfs …) say EINVAL: use the page cache.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => (
                open(false).map_err(|e| WriterError::io("create", &path, &e))?,
                false,
            ),
            Err(e) => return Err(WriterError::io("create", &path, &e)),
        },
        false => (
            open(false).map_err(|e| WriterError::io("create", &path, &e))?,
            false,
        ),
    };
    let header = FileHeader::new(unix_ns(), cfg.metadata.clone())
        .encode()
        .map_err(|e| WriterError::Format(format!("file metadata: {e}")))?;
    let mut seg = Segment {
        path,
        file: if direct {
            WriteFile::new_direct(file, cfg.faults.clone(), cfg.max_write, cfg.writes_in_flight)
        } else {
            WriteFile::new(file, cfg.faults.clone())
        },
        offset: 0,
        index: IndexBuilder::new(cfg.index_interval),
        started: Instant::now(),
        ranges: Vec::new(),
    };
    let mut bufs: Vec<Vec<u8>> = vec![header];
    for def in streams {
        seg.index
            .note_stream_def(def.id, bufs.iter().map(|b| b.len() as u64).sum());
        bufs.push(
            def.encode()
                .map_err(|e| WriterError::Format(format!("stream {}: {e}", def.name)))?,
        );
    }
    let slices: Vec<&[u8]> = bufs.iter().map(|b| b.as_slice()).collect();
    match seg.file.write_all_at(&slices, 0) {
        Ok(n) => seg.offset = n,
        Err((_, e)) => return Err(WriterError::io("write header of", &seg.path, &e)),
    }
    // On the file at once: a capture that exists always starts with a valid header.
    seg.file
        .settle()
        .map_err(|e| WriterError::io("write header of", &seg.path, &e))?;
    Ok(seg)
}

impl Sink for FileSink {
    fn add_stream(&mut self, def: &StreamDef) -> Result<(), WriterError> {
        let rec = def
            .encode()
            .map_err(|e| WriterError::Format(format!("stream {}: {e}", def.name)))?;
        let at = self.current.offset;
        self.write_records(&[&rec], "write stream definition to")?;
        self.current.index.note_stream_def(def.id, at);
        if let Some(next) = &mut self.next {
            // The pre-opened next segment must define this stream too.
            match next.file.write_all_at(&[&rec], next.offset) {
                Ok(n) => {
                    next.index.note_stream_def(def.id, next.offset);
                    next.offset += n;
                }
                Err((_, e)) => return Err(WriterError::io("write stream definition to", &next.path, &e)),
            }
        }
        self.streams.push(def.clone());
        Ok(())
    }

    fn write(&mut self, items: &[Item<'_>]) -> Result<u64, WriterError> {
        // Encode every header first (the buffers must not move while borrowed below).
        let mut frame_headers: Vec<[u8; crate::format::RECORD_HEADER_LEN]> = Vec::with_capacity(items.len());
        let mut gap_records: Vec<Vec<u8>> = Vec::new();
        let mut metas: Vec<(FrameMeta, usize)> = Vec::with_capacity(items.len());
        let mut gaps: Vec<GapRecord> = Vec::new();
        for item in items {
            match item {
                Item::Frame(f) => {
                    let (payload, flags) = match f.packed {
                        Some(p) => (p, FLAG_COMPRESSED_ZSTD),
                        None => (f.data, 0),
                    };
                    let meta = FrameMeta {
                        stream_id: f.stream,
                        seq: f.info.seq,
                        device_ts_ns: f.info.device_ts_ns,
                        host_ts_ns: f.info.host_ts_ns,
                        flags,
                        raw_len: f.data.len() as u32,
                    };
                    let h = encode_frame_header(&meta, payload)
                        .map_err(|e| WriterError::Format(format!("frame {}: {e}", f.info.seq)))?;
                    frame_headers.push(h);
                    metas.push((meta, payload.len()));
                }
                Item::Gap(stream, g) => {
                    let rec = GapRecord {
                        stream_id: *stream,
                        first_seq: g.first_seq,
                        count: g.count,
                        reason: g.reason,
                        host_ts_ns: g.host_ts_ns,
                    };
                    gap_records.push(rec.encode());
                    gaps.push(rec);
                }
            }
        }
        let mut bufs: Vec<&[u8]> = Vec::with_capacity(items.len() * 3);
        let (mut fi, mut gi) = (0, 0);
        let mut offsets = Vec::with_capacity(items.len());
        let mut at = self.current.offset;
        for item in items {
            offsets.push(at);
            match item {
                Item::Frame(f) => {
                    let payload = f.packed.unwrap_or(f.data);
                    bufs.push(&frame_headers[fi]);
                    bufs.push(payload);
                    bufs.push(padding(payload.len()));
                    at += (frame_headers[fi].len() + payload.len() + padding(payload.len()).len()) as u64;
                    fi += 1;
                }
                Item::Gap(..) => {
                    bufs.push(&gap_records[gi]);
                    at += gap_records[gi].len() as u64;
                    gi += 1;
                }
            }
        }
        let n = self.write_records(&bufs, "write to")?;
        // Index what is now on file.
        let (mut fi, mut gi) = (0, 0);
        for (item, off) in items.iter().zip(offsets) {
            match item {
                Item::Frame(f) => {
                    let (meta, len) = &metas[fi];
                    self.current.index.note_frame(meta, *len, off);
                    match self.current.ranges.iter_mut().find(|r| r.0 == f.stream) {
                        Some(r) => r.2 = f.info.seq,
                        None => self.current.ranges.push((f.stream, f.info.seq, f.info.seq)),
                    }
                    fi += 1;
                }
                Item::Gap(..) => {
                    self.current.index.note_gap(&gaps[gi], off);
                    gi += 1;
                }
            }
        }
        if self.current.index.should_checkpoint() {
            let at = self.current.offset;
            let rec = self.current.index.take_checkpoint_record(at);
            self.write_records(&[&rec], "write index to")?;
        }
        self.unconfirmed.push_back((self.accepted, self.current.offset));
        self.accepted += 1;
        Ok(n)
    }

    fn confirmed_writes(&mut self) -> Option<u64> {
        let seg = &mut self.current;
        if self.failed.is_none()
            && let Some(e) = seg.file.error()
        {
            self.failed = Some(seg.cut_back("write to", &e));
        }
        let good = seg.file.confirmed_boundary();
        while self.unconfirmed.front().is_some_and(|&(_, end)| end <= good) {
            self.unconfirmed.pop_front();
        }
        Some(self.unconfirmed.front().map_or(self.accepted, |&(no, _)| no))
    }

    fn take_error(&mut self) -> Option<WriterError> {
        self.failed.take()
    }

    fn settle(&mut self) -> Result<(), WriterError> {
        let seg = &mut self.current;
        if let Err(e) = seg.file.settle() {
            self.failed = None;
            return Err(seg.cut_back("write to", &e));
        }
        self.unconfirmed.clear();
        Ok(())
    }

    fn sync(&mut self) -> Result<(), WriterError> {
        self.settle()?;
        let seg = &mut self.current;
        seg.file
            .sync_data()
            .map_err(|e| WriterError::io("fsync", &seg.path, &e))
    }

    fn rotation_due(&self) -> bool {
        if !self.segmented {
            return false;
        }
        let has_frames = !self.current.ranges.is_empty();
        has_frames
            && (self.cfg.segment_bytes.is_some_and(|b| self.current.offset >= b)
                || self
                    .cfg
                    .segment_duration
                    .is_some_and(|d| self.current.started.elapsed() >= d))
    }

    fn rotate(&mut self) -> Result<Option<FinishedSegment>, WriterError> {
        let Some(mut next) = self.next.take() else {
            return Ok(None);
        };
        next.started = Instant::now();
        let mut done = std::mem::replace(&mut self.current, next);
        let mut info = Self::finish_segment(&mut done)?;
        // Everything written to the finished segment is on it now.
        self.unconfirmed.clear();
        info.index = self.segment_no;
        self.segment_no += 1;
        self.open_next()?;
        Ok(Some(info))
    }

    fn finish(&mut self) -> Result<Option<FinishedSegment>, WriterError> {
        let mut info = Self::finish_segment(&mut self.current)?;
        self.unconfirmed.clear();
        info.index = self.segment_no;
        if let Some(next) = self.next.take() {
            // Opened ahead but never used: remove it.
            let _ = std::fs::remove_file(&next.path);
        }
        Ok(Some(info))
    }
}
