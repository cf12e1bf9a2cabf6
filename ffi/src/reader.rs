//! `streamq_reader`: reading capture files — open, iterate (file order, time order, one
//! stream), seek, gap records, verify — and `streamq_recover`.
//!
//! The handle owns an `Arc` of the engine's `Reader` and the engine's owning
//! `reader::Cursor` over it, so no borrow outlives a call: a frame's bytes are handed
//! out as a pointer into the memory map (kept alive by the `Arc`) or into the handle's
//! buffer for the last decompressed frame.
//!
//! Contract of the exports here (the `SAFETY` comments refer to it): a reader argument is
//! NULL or a live `streamq_reader*` from `streamq_reader_open*`, not freed; paths are
//! NULL or NUL-terminated; `buf` is NULL or `len` writable bytes nobody else accesses
//! during the call; output structs are NULL or as `sized.rs` describes outputs
//! (`struct_size` set by the caller); other outputs NULL or valid for a write of their
//! type.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ffi::{CString, c_char};
use std::sync::{Arc, Mutex, MutexGuard};

use streamq_core::reader::{Cursor, CursorOrder, Reader, RecordedFrame, RecordedGap, VerifyReport};

use crate::args::{bytes_mut, cstring_lossy, handle, out, string, write};
use crate::panic::{call, call_or};
use crate::result::{Res, err, streamq_result};
use crate::sized::{Output, versioned};
use crate::writer_config::streamq_kv;

/// An open capture (one file or several segments read as one).
///
/// Thread safety: may move between threads; calls from several threads are serialised
/// by an internal lock, but a frame pointer returned by `streamq_reader_next` is only
/// valid until the next call on the reader from any thread, so share it with care.
/// Underneath: a `Box` holding an `Arc` of the engine's memory-mapped `Reader` and an
/// owning cursor over it. The file must not be truncated by another process while it is
/// open (it is memory-mapped). A reader has no close: every call works until
/// `streamq_reader_free`.
pub struct streamq_reader {
    state: Mutex<State>,
}

/// A stream's name, media type and metadata pairs as C strings.
type StreamStrings = (CString, CString, Vec<(CString, CString)>);

struct State {
    reader: Arc<Reader>,
    cursor: Cursor,
    /// The last decompressed frame, pointed to by the last `streamq_reader_next`.
    decoded: Vec<u8>,
    /// Per stream (same order as `Reader::streams`): name, media type, metadata.
    strings: Vec<StreamStrings>,
    /// The last verification and its strings.
    verify: Option<(VerifyReport, Vec<CString>, Vec<CString>)>,
    /// The gap records, gathered at the first gap call (a pass over the record list).
    gaps: Option<Gaps>,
}

impl State {
    /// The gap records, gathered once.
    fn gaps(&mut self) -> &Gaps {
        let r = &self.reader;
        self.gaps.get_or_insert_with(|| {
            let all: Vec<RecordedGap> = r.gaps().collect();
            let mut by_stream: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
            for (i, g) in all.iter().enumerate() {
                by_stream.entry(g.stream_id).or_default().push(i);
            }
            Gaps { all, by_stream }
        })
    }

    /// Gap record `g` as C: its stream's name comes from `strings` (same order as
    /// `Reader::streams`), "" if the stream has no definition.
    fn gap_c(&self, g: &RecordedGap) -> streamq_gap_info {
        let name = self
            .reader
            .streams()
            .iter()
            .position(|s| s.id == g.stream_id)
            .and_then(|i| self.strings.get(i))
            .map_or(c"".as_ptr(), |s| s.0.as_ptr());
        streamq_gap_info {
            struct_size: size_of::<streamq_gap_info>(),
            stream_name: name,
            first_seq: g.first_seq,
            last_seq: g.first_seq.saturating_add(g.count.saturating_sub(1)),
            count: g.count,
            host_ts_ns: g.host_ts_ns,
            offset: g.offset,
            reason: u32::from(g.reason.code()),
            segment: u32::try_from(g.segment).unwrap_or(u32::MAX),
            stream_id: g.stream_id,
        }
    }

    fn check_stream(&self, id: u16) -> Res {
        if self.reader.stream(id).is_none() {
            return err(
                streamq_result::NotFound,
                format!("the capture has no stream {id}"),
            );
        }
        Ok(())
    }
}

/// A capture's gap records in file order, and their positions per stream.
struct Gaps {
    all: Vec<RecordedGap>,
    /// Indices into `all`, per stream id, in file order.
    by_stream: BTreeMap<u16, Vec<usize>>,
}

impl streamq_reader {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A frame read from a capture. An output: set `struct_size` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_reader_frame {
    /// `sizeof(streamq_reader_frame)` as the caller's header declares it, set by the
    /// caller (`STREAMQ_OUTPUT_INIT`); the library writes no more than that.
    pub struct_size: usize,
    /// The frame's bytes (decompressed if stored compressed); NULL with
    /// `STREAMQ_RESULT_BUFFER_TOO_SMALL`.
    pub data: *const u8,
    /// Its length in bytes (with `STREAMQ_RESULT_BUFFER_TOO_SMALL`: the size needed).
    pub len: usize,
    /// Per-stream sequence number.
    pub seq: u64,
    /// Device timestamp, ns.
    pub device_ts_ns: u64,
    /// Host monotonic timestamp, ns.
    pub host_ts_ns: u64,
    /// File offset of the record within its segment.
    pub offset: u64,
    /// Index of the segment file holding it.
    pub segment: u32,
    /// Stream id.
    pub stream_id: u16,
    /// Whether it is stored zstd-compressed.
    pub compressed: bool,
}

fn frame_c(f: &RecordedFrame<'_>, data: *const u8, len: usize) -> streamq_reader_frame {
    streamq_reader_frame {
        struct_size: size_of::<streamq_reader_frame>(),
        data,
        len,
        seq: f.seq,
        device_ts_ns: f.device_ts_ns,
        host_ts_ns: f.host_ts_ns,
        offset: f.offset,
        segment: u32::try_from(f.segment).unwrap_or(u32::MAX),
        stream_id: f.stream_id,
        compressed: f.is_compressed(),
    }
}

/// Facts about an open capture. An output: set `struct_size` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct streamq_reader_info {
    /// `sizeof(streamq_reader_info)` as the caller's header declares it.
    pub struct_size: usize,
    /// Segment files.
    pub segments: u64,
    /// Streams (read each with `streamq_reader_stream`).
    pub streams: u64,
    /// Frames, all streams.
    pub frames: u64,
    /// Whether every segment ends with a valid trailer (closed cleanly).
    pub clean: bool,
}

/// One stream of a capture. An output: set `struct_size` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_stream_info {
    /// `sizeof(streamq_stream_info)` as the caller's header declares it.
    pub struct_size: usize,
    /// Name ("" if the stream has no definition); owned by the reader, valid until
    /// `streamq_reader_free`.
    pub name: *const c_char,
    /// Media type ("" if none); same lifetime.
    pub media_type: *const c_char,
    /// Number of metadata pairs (read with `streamq_reader_stream_metadata`).
    pub metadata_len: usize,
    /// Frames present.
    pub frames: u64,
    /// Uncompressed bytes of those frames.
    pub bytes: u64,
    /// Stored bytes of those frames.
    pub stored_bytes: u64,
    /// Gap records.
    pub gap_records: u64,
    /// Frames declared lost by gap records.
    pub dropped: u64,
    /// Lowest and highest frame sequence (valid if `frames > 0`).
    pub first_seq: u64,
    /// See `first_seq`.
    pub last_seq: u64,
    /// Lowest and highest device timestamp, ns (valid if `frames > 0`).
    pub first_device_ts_ns: u64,
    /// See `first_device_ts_ns`.
    pub last_device_ts_ns: u64,
    /// Stream id.
    pub id: u16,
}

/// A gap record of a capture: `count` consecutive frames of one stream that were lost
/// (dropped by the stream's overflow policy, or not written) and will never appear in
/// the file. Read with `streamq_reader_gap` / `streamq_reader_stream_gap`. An output:
/// set `struct_size` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_gap_info {
    /// `sizeof(streamq_gap_info)` as the caller's header declares it.
    pub struct_size: usize,
    /// Stream name ("" if the stream has no definition); owned by the reader, valid
    /// until `streamq_reader_free`.
    pub stream_name: *const c_char,
    /// Sequence number of the first lost frame.
    pub first_seq: u64,
    /// Sequence number of the last lost frame (`first_seq + count - 1`; `first_seq` for
    /// a record with a `count` of 0, which the writer never produces).
    pub last_seq: u64,
    /// Number of lost frames.
    pub count: u64,
    /// Host CLOCK_MONOTONIC time the loss was recorded, ns (gap records carry no device
    /// timestamp).
    pub host_ts_ns: u64,
    /// File offset of the record within its segment.
    pub offset: u64,
    /// The record's reason code: `STREAMQ_DROP_REASON_NEWEST`, `_OLDEST`, `_WRITE_ERROR`,
    /// or another value (a code this library does not know, passed through unchanged).
    pub reason: u32,
    /// Index of the segment file holding it.
    pub segment: u32,
    /// Stream id.
    pub stream_id: u16,
}

/// What `streamq_reader_verify` found. An output: set `struct_size` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct streamq_verify_report {
    /// `sizeof(streamq_verify_report)` as the caller's header declares it.
    pub struct_size: usize,
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
    /// Frames with a valid CRC whose payload does not decode.
    pub bad_frames: u64,
    /// Damaged records skipped mid-file.
    pub corrupt: u64,
    /// Bytes in those damaged regions.
    pub corrupt_bytes: u64,
    /// Gap records.
    pub gaps: u64,
    /// Frames declared lost by gap records.
    pub dropped: u64,
    /// Sequence numbers missing without a covering gap record.
    pub unexplained_missing: u64,
    /// Bytes after the last valid record (torn tail of a crashed file).
    pub truncated_bytes: u64,
    /// Per-stream results (read with `streamq_reader_verify_stream`).
    pub streams: u64,
    /// Error messages (read with `streamq_reader_verify_error`).
    pub errors: u64,
    /// Whether every segment ends with a valid trailer.
    pub clean_close: bool,
    /// No damage, no torn tail, no undecodable frame, clean close.
    pub ok: bool,
}

/// Verification results of one stream. An output: set `struct_size` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct streamq_verify_stream {
    /// `sizeof(streamq_verify_stream)` as the caller's header declares it.
    pub struct_size: usize,
    /// Stream name ("" if none); valid until the next verify or `streamq_reader_free`.
    pub name: *const c_char,
    /// Valid frames.
    pub frames: u64,
    /// Uncompressed bytes.
    pub bytes: u64,
    /// Gap records.
    pub gaps: u64,
    /// Frames declared lost by gap records.
    pub dropped: u64,
    /// Sequence numbers missing without a gap record.
    pub unexplained_missing: u64,
    /// First and last frame sequence (valid if `frames > 0`).
    pub first_seq: u64,
    /// See `first_seq`.
    pub last_seq: u64,
    /// Stream id.
    pub stream_id: u16,
}

/// What `streamq_recover` did. An output: set `struct_size` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct streamq_recover_report {
    /// `sizeof(streamq_recover_report)` as the caller's header declares it.
    pub struct_size: usize,
    /// File length before.
    pub original_len: u64,
    /// File length after.
    pub new_len: u64,
    /// Torn-tail bytes cut off.
    pub truncated_bytes: u64,
    /// Damaged mid-file regions left in place.
    pub corrupt_regions: u64,
    /// Valid frames indexed.
    pub frames: u64,
    /// Valid gap records indexed.
    pub gaps: u64,
    /// Streams in the new trailer.
    pub streams: u64,
    /// The file was already cleanly closed; nothing changed.
    pub already_clean: bool,
}

versioned!(
    streamq_reader_frame,
    streamq_reader_info,
    streamq_stream_info,
    streamq_gap_info,
    streamq_verify_report,
    streamq_verify_stream,
    streamq_recover_report
);

fn open(paths: &[&str], reader_out: *mut *mut streamq_reader) -> Res {
    let r = Arc::new(Reader::open_segments(paths)?);
    let strings = r
        .streams()
        .iter()
        .map(|s| match &s.def {
            Some(d) => (
                cstring_lossy(&d.name),
                cstring_lossy(&d.media_type),
                d.metadata
                    .iter()
                    .map(|(k, v)| (cstring_lossy(k), cstring_lossy(v)))
                    .collect(),
            ),
            None => (CString::default(), CString::default(), Vec::new()),
        })
        .collect();
    let state = State {
        cursor: Cursor::new(Arc::clone(&r), CursorOrder::File),
        reader: r,
        decoded: Vec::new(),
        strings,
        verify: None,
        gaps: None,
    };
    let h = Box::new(streamq_reader {
        state: Mutex::new(state),
    });
    // SAFETY: checked non-NULL by the caller; writable (contract).
    unsafe { write(reader_out, Box::into_raw(h)) };
    Ok(())
}

/// Opens one capture file (memory-mapped, read-only), positioned at its first frame in
/// file order. A file without a valid trailer (crash) is scanned up to its last valid
/// record. Returns `STREAMQ_RESULT_IO`, `STREAMQ_RESULT_CORRUPT` (not a capture file),
/// `STREAMQ_RESULT_UNSUPPORTED` (format version).
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_open(
    path: *const c_char,
    reader_out: *mut *mut streamq_reader,
) -> streamq_result {
    call("streamq_reader_open", || {
        // SAFETY: the module contract.
        let p = unsafe { string(path, "path") }?;
        out(reader_out, "reader_out")?;
        open(&[p], reader_out)
    })
}

/// Opens a capture split into `count` segment files, given in order, read as one.
///
/// # Safety
/// The module contract; `paths` points to `count` NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_open_segments(
    paths: *const *const c_char,
    count: usize,
    reader_out: *mut *mut streamq_reader,
) -> streamq_result {
    call("streamq_reader_open_segments", || {
        out(reader_out, "reader_out")?;
        if count == 0 {
            return err(streamq_result::InvalidArgument, "no segment paths given");
        }
        if paths.is_null() {
            return err(streamq_result::NullPointer, "paths is NULL");
        }
        crate::args::check_len(count.saturating_mul(size_of::<*const c_char>()), "count")?;
        // SAFETY: `count` valid pointers (module contract).
        let ps = unsafe { std::slice::from_raw_parts(paths, count) };
        let ps = ps
            .iter()
            // SAFETY: each a NUL-terminated string (module contract).
            .map(|&p| unsafe { string(p, "paths[i]") })
            .collect::<Res<Vec<&str>>>()?;
        open(&ps, reader_out)
    })
}

/// Frees a reader. NULL is a no-op.
///
/// # Safety
/// The module contract; no other thread may be using the handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_free(reader: *mut streamq_reader) {
    call_or("streamq_reader_free", (), || {
        if !reader.is_null() {
            // SAFETY: created by Box::into_raw in `open`, freed once (contract).
            drop(unsafe { Box::from_raw(reader) });
        }
    })
}

/// Facts about the capture.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_get_info(
    reader: *const streamq_reader,
    info_out: *mut streamq_reader_info,
) -> streamq_result {
    call("streamq_reader_get_info", || {
        // SAFETY: the module contract.
        let h = unsafe { handle(reader, "reader") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(info_out, "info_out") }?;
        let s = h.lock();
        let r = &s.reader;
        o.write(streamq_reader_info {
            struct_size: size_of::<streamq_reader_info>(),
            segments: r.segment_count() as u64,
            streams: r.streams().len() as u64,
            frames: r.frame_count() as u64,
            clean: r.is_clean(),
        });
        Ok(())
    })
}

/// The `index`-th stream (sorted by id; 0 ≤ index < info.streams).
/// `STREAMQ_RESULT_NOT_FOUND` past the end.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_stream(
    reader: *const streamq_reader,
    index: usize,
    info_out: *mut streamq_stream_info,
) -> streamq_result {
    call("streamq_reader_stream", || {
        // SAFETY: the module contract.
        let h = unsafe { handle(reader, "reader") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(info_out, "info_out") }?;
        let st = h.lock();
        let (Some(s), Some(strs)) = (st.reader.streams().get(index), st.strings.get(index)) else {
            return err(streamq_result::NotFound, format!("no stream at index {index}"));
        };
        o.write(streamq_stream_info {
            struct_size: size_of::<streamq_stream_info>(),
            name: strs.0.as_ptr(),
            media_type: strs.1.as_ptr(),
            metadata_len: strs.2.len(),
            frames: s.frames,
            bytes: s.bytes,
            stored_bytes: s.stored_bytes,
            gap_records: s.gap_records,
            dropped: s.dropped,
            first_seq: s.first_seq.unwrap_or(0),
            last_seq: s.last_seq.unwrap_or(0),
            first_device_ts_ns: s.first_device_ts_ns.unwrap_or(0),
            last_device_ts_ns: s.last_device_ts_ns.unwrap_or(0),
            id: s.id,
        });
        Ok(())
    })
}

/// Metadata pair `meta_index` of the `index`-th stream; the strings are owned by the
/// reader (valid until `streamq_reader_free`). `STREAMQ_RESULT_NOT_FOUND` past the end.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_stream_metadata(
    reader: *const streamq_reader,
    index: usize,
    meta_index: usize,
    kv_out: *mut streamq_kv,
) -> streamq_result {
    call("streamq_reader_stream_metadata", || {
        // SAFETY: the module contract.
        let h = unsafe { handle(reader, "reader") }?;
        out(kv_out, "kv_out")?;
        let st = h.lock();
        let Some((k, v)) = st.strings.get(index).and_then(|s| s.2.get(meta_index)) else {
            return err(
                streamq_result::NotFound,
                format!("no metadata pair {meta_index} on stream index {index}"),
            );
        };
        let kv = streamq_kv {
            key: k.as_ptr(),
            value: v.as_ptr(),
        };
        // SAFETY: checked non-NULL; writable (contract).
        unsafe { write(kv_out, kv) };
        Ok(())
    })
}

/// The next frame, in place: `frame_out->data` points into the memory map (or, for a
/// compressed frame, a buffer owned by the reader) and is valid until the next call on
/// this reader or `streamq_reader_free`. Returns `STREAMQ_RESULT_END_OF_STREAM` after the
/// last frame, `STREAMQ_RESULT_CORRUPT` for a damaged frame (skipped: the next call
/// continues after it), `STREAMQ_RESULT_UNSUPPORTED` for an unknown encoding (skipped
/// too).
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_next(
    reader: *mut streamq_reader,
    frame_out: *mut streamq_reader_frame,
) -> streamq_result {
    call("streamq_reader_next", || {
        // SAFETY: the module contract.
        let h = unsafe { handle(reader, "reader") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(frame_out, "frame_out") }?;
        let mut guard = h.lock();
        let s = &mut *guard;
        let Some(f) = s.cursor.next_frame() else {
            return err(streamq_result::EndOfStream, "no more frames");
        };
        // The bytes are in the map, which the reader's `Arc` keeps alive until the handle
        // is freed, or in `decoded`, replaced only by a later call.
        let c = match f.data()? {
            Cow::Borrowed(b) => frame_c(&f, b.as_ptr(), b.len()),
            Cow::Owned(v) => {
                s.decoded = v;
                frame_c(&f, s.decoded.as_ptr(), s.decoded.len())
            }
        };
        o.write(c);
        Ok(())
    })
}

/// The next frame, copied into `buf` (`len` bytes; `frame_out->data` = `buf`). If it does
/// not fit: `STREAMQ_RESULT_BUFFER_TOO_SMALL`, `*frame_out` written with `data` = NULL and
/// `len` = the size needed, and the frame stays next. Otherwise as
/// `streamq_reader_next`.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_next_into(
    reader: *mut streamq_reader,
    buf: *mut u8,
    len: usize,
    frame_out: *mut streamq_reader_frame,
) -> streamq_result {
    call("streamq_reader_next_into", || {
        // SAFETY: the module contract.
        let h = unsafe { handle(reader, "reader") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(frame_out, "frame_out") }?;
        // SAFETY: the module contract.
        let buf = unsafe { bytes_mut(buf, len, "buf") }?;
        let mut guard = h.lock();
        let s = &mut *guard;
        // A cursor is a position: a copy of it is where to come back to.
        let before = s.cursor.clone();
        let Some(f) = s.cursor.next_frame() else {
            return err(streamq_result::EndOfStream, "no more frames");
        };
        let need = f.raw_len as usize;
        if need > buf.len() {
            // Documented: written with STREAMQ_RESULT_BUFFER_TOO_SMALL.
            o.write(frame_c(&f, std::ptr::null(), need));
            let (seq, id) = (f.seq, f.stream_id);
            s.cursor = before;
            return err(
                streamq_result::BufferTooSmall,
                format!(
                    "frame {seq} of stream {id} needs {need} bytes, the buffer has {}",
                    buf.len()
                ),
            );
        }
        let data = f.data()?;
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        o.write(frame_c(&f, buf.as_ptr(), n));
        Ok(())
    })
}

/// Moves the cursor (the frame cursor only: gap calls never move it).
///
/// # Safety
/// The module contract.
unsafe fn reposition(
    function: &'static str,
    reader: *mut streamq_reader,
    stream: Option<u16>,
    f: impl FnOnce(&mut Cursor),
) -> streamq_result {
    call(function, || {
        // SAFETY: the module contract.
        let mut s = unsafe { handle(reader, "reader") }?.lock();
        if let Some(id) = stream {
            s.check_stream(id)?;
        }
        f(&mut s.cursor);
        Ok(())
    })
}

/// Restarts iteration over all frames in file order (the order at open).
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_iter_file(reader: *mut streamq_reader) -> streamq_result {
    // SAFETY: the module contract.
    unsafe {
        reposition("streamq_reader_iter_file", reader, None, |c| {
            c.rewind(CursorOrder::File)
        })
    }
}

/// Restarts iteration over all streams merged by device timestamp (ties: host time,
/// then file order).
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_iter_time(reader: *mut streamq_reader) -> streamq_result {
    // SAFETY: the module contract.
    unsafe {
        reposition("streamq_reader_iter_time", reader, None, |c| {
            c.rewind(CursorOrder::Time)
        })
    }
}

/// Restarts iteration over one stream in sequence order. `STREAMQ_RESULT_NOT_FOUND` for an
/// unknown stream id (the cursor is unchanged).
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_iter_stream(
    reader: *mut streamq_reader,
    stream_id: u16,
) -> streamq_result {
    // SAFETY: the module contract.
    unsafe {
        reposition("streamq_reader_iter_stream", reader, Some(stream_id), |c| {
            c.rewind(CursorOrder::Stream(stream_id))
        })
    }
}

/// Positions on stream `stream_id` at its first frame with sequence >= `seq`; the
/// following `streamq_reader_next` calls read that stream onwards.
/// `STREAMQ_RESULT_NOT_FOUND` for an unknown stream id. Seeking past the end gives
/// `STREAMQ_RESULT_END_OF_STREAM` on next.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_seek_seq(
    reader: *mut streamq_reader,
    stream_id: u16,
    seq: u64,
) -> streamq_result {
    // SAFETY: the module contract.
    unsafe {
        reposition("streamq_reader_seek_seq", reader, Some(stream_id), |c| {
            c.seek_seq(stream_id, seq)
        })
    }
}

/// Positions at the first frame (all streams, time order) with device timestamp >=
/// `device_ts_ns`; the following `streamq_reader_next` calls continue in time order.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_seek_time(
    reader: *mut streamq_reader,
    device_ts_ns: u64,
) -> streamq_result {
    // SAFETY: the module contract.
    unsafe {
        reposition("streamq_reader_seek_time", reader, None, |c| {
            c.seek_time(device_ts_ns)
        })
    }
}

/// Positions on stream `stream_id` at its first frame with device timestamp >=
/// `device_ts_ns`. `STREAMQ_RESULT_NOT_FOUND` for an unknown stream id.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_seek_stream_time(
    reader: *mut streamq_reader,
    stream_id: u16,
    device_ts_ns: u64,
) -> streamq_result {
    // SAFETY: the module contract.
    unsafe {
        reposition("streamq_reader_seek_stream_time", reader, Some(stream_id), |c| {
            c.seek_stream_time(stream_id, device_ts_ns)
        })
    }
}

/// Checks every record: CRCs, zstd frames, sequence continuity. `STREAMQ_RESULT_OK` means the
/// check ran — look at `report_out->ok`. Per-stream results and error messages stay
/// available (`streamq_reader_verify_stream`, `_verify_error`) until the next verify.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_verify(
    reader: *mut streamq_reader,
    report_out: *mut streamq_verify_report,
) -> streamq_result {
    call("streamq_reader_verify", || {
        // SAFETY: the module contract.
        let h = unsafe { handle(reader, "reader") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(report_out, "report_out") }?;
        let mut s = h.lock();
        let v = s.reader.verify();
        let c = streamq_verify_report {
            struct_size: size_of::<streamq_verify_report>(),
            segments: v.segments,
            records: v.records,
            frames: v.frames,
            bytes: v.bytes,
            stored_bytes: v.stored_bytes,
            bad_frames: v.bad_frames,
            corrupt: v.corrupt,
            corrupt_bytes: v.corrupt_bytes,
            gaps: v.gaps,
            dropped: v.dropped,
            unexplained_missing: v.unexplained_missing,
            truncated_bytes: v.truncated_bytes,
            streams: v.per_stream.len() as u64,
            errors: v.errors.len() as u64,
            clean_close: v.clean_close,
            ok: v.is_ok(),
        };
        let names = v.per_stream.iter().map(|p| cstring_lossy(&p.name)).collect();
        let errors = v.errors.iter().map(|e| cstring_lossy(e)).collect();
        s.verify = Some((v, names, errors));
        o.write(c);
        Ok(())
    })
}

/// Per-stream result `index` of the last `streamq_reader_verify`. `STREAMQ_RESULT_NOT_FOUND`
/// before any verify or past the end.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_verify_stream(
    reader: *const streamq_reader,
    index: usize,
    out_stream: *mut streamq_verify_stream,
) -> streamq_result {
    call("streamq_reader_verify_stream", || {
        // SAFETY: the module contract.
        let h = unsafe { handle(reader, "reader") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(out_stream, "out_stream") }?;
        let s = h.lock();
        let Some((v, names, _)) = &s.verify else {
            return err(streamq_result::NotFound, "no verification yet");
        };
        let (Some(p), Some(n)) = (v.per_stream.get(index), names.get(index)) else {
            return err(streamq_result::NotFound, format!("no stream at index {index}"));
        };
        o.write(streamq_verify_stream {
            struct_size: size_of::<streamq_verify_stream>(),
            name: n.as_ptr(),
            frames: p.frames,
            bytes: p.bytes,
            gaps: p.gaps,
            dropped: p.dropped,
            unexplained_missing: p.unexplained_missing,
            first_seq: p.first_seq.unwrap_or(0),
            last_seq: p.last_seq.unwrap_or(0),
            stream_id: p.stream_id,
        });
        Ok(())
    })
}

/// Error message `index` of the last `streamq_reader_verify` (owned by the reader, valid
/// until the next verify or free), or NULL if there is no such message.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_verify_error(
    reader: *const streamq_reader,
    index: usize,
) -> *const c_char {
    call_or("streamq_reader_verify_error", std::ptr::null(), || {
        // SAFETY: the module contract.
        let Ok(h) = (unsafe { handle(reader, "reader") }) else {
            return std::ptr::null();
        };
        let s = h.lock();
        s.verify
            .as_ref()
            .and_then(|(_, _, e)| e.get(index))
            .map_or(std::ptr::null(), |e| e.as_ptr())
    })
}

/// Number of gap records in the capture, all streams (the first gap call on a reader
/// gathers them: one pass over its record list).
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_gap_count(
    reader: *const streamq_reader,
    count_out: *mut usize,
) -> streamq_result {
    call("streamq_reader_gap_count", || {
        // SAFETY: the module contract.
        let h = unsafe { handle(reader, "reader") }?;
        out(count_out, "count_out")?;
        let n = h.lock().gaps().all.len();
        // SAFETY: checked non-NULL; writable (contract).
        unsafe { write(count_out, n) };
        Ok(())
    })
}

/// Gap record `index` of the capture, all streams in file order (segment by segment;
/// 0 ≤ index < `streamq_reader_gap_count`). `STREAMQ_RESULT_NOT_FOUND` past the end.
/// Does not move the frame cursor.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_gap(
    reader: *const streamq_reader,
    index: usize,
    gap_out: *mut streamq_gap_info,
) -> streamq_result {
    call("streamq_reader_gap", || {
        // SAFETY: the module contract.
        let h = unsafe { handle(reader, "reader") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(gap_out, "gap_out") }?;
        let mut s = h.lock();
        let gaps = s.gaps();
        let Some(g) = gaps.all.get(index).copied() else {
            let n = gaps.all.len();
            return err(
                streamq_result::NotFound,
                format!("no gap record at index {index} (the capture has {n})"),
            );
        };
        o.write(s.gap_c(&g));
        Ok(())
    })
}

/// Number of gap records of stream `stream_id` (0 for a stream that lost nothing).
/// `STREAMQ_RESULT_NOT_FOUND` for an unknown stream id.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_stream_gap_count(
    reader: *const streamq_reader,
    stream_id: u16,
    count_out: *mut usize,
) -> streamq_result {
    call("streamq_reader_stream_gap_count", || {
        // SAFETY: the module contract.
        let h = unsafe { handle(reader, "reader") }?;
        out(count_out, "count_out")?;
        let mut s = h.lock();
        s.check_stream(stream_id)?;
        let n = s.gaps().by_stream.get(&stream_id).map_or(0, Vec::len);
        // SAFETY: checked non-NULL; writable (contract).
        unsafe { write(count_out, n) };
        Ok(())
    })
}

/// Gap record `index` of stream `stream_id`, in file order (0 ≤ index <
/// `streamq_reader_stream_gap_count`; the streamq writer records a stream's gaps in
/// sequence order). `STREAMQ_RESULT_NOT_FOUND` for an unknown stream id or past the end.
/// Does not move the frame cursor.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_reader_stream_gap(
    reader: *const streamq_reader,
    stream_id: u16,
    index: usize,
    gap_out: *mut streamq_gap_info,
) -> streamq_result {
    call("streamq_reader_stream_gap", || {
        // SAFETY: the module contract.
        let h = unsafe { handle(reader, "reader") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::new(gap_out, "gap_out") }?;
        let mut s = h.lock();
        s.check_stream(stream_id)?;
        let gaps = s.gaps();
        let ids = gaps.by_stream.get(&stream_id).map_or(&[][..], Vec::as_slice);
        let Some(g) = ids.get(index).and_then(|&i| gaps.all.get(i)).copied() else {
            let n = ids.len();
            return err(
                streamq_result::NotFound,
                format!("no gap record at index {index} of stream {stream_id} (it has {n})"),
            );
        };
        o.write(s.gap_c(&g));
        Ok(())
    })
}

/// Makes a crashed capture file (no valid trailer) cleanly closed: cuts the torn tail
/// and appends an index and trailer. Idempotent. The file must not be open in a reader
/// or writer meanwhile. `*report_out` may be NULL.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_recover(
    path: *const c_char,
    report_out: *mut streamq_recover_report,
) -> streamq_result {
    call("streamq_recover", || {
        // SAFETY: the module contract.
        let p = unsafe { string(path, "path") }?;
        // SAFETY: the module contract.
        let o = unsafe { Output::optional(report_out, "report_out") }?;
        let r = streamq_core::reader::recover(p)?;
        let c = streamq_recover_report {
            struct_size: size_of::<streamq_recover_report>(),
            original_len: r.original_len,
            new_len: r.new_len,
            truncated_bytes: r.truncated_bytes,
            corrupt_regions: r.corrupt_regions,
            frames: r.frames,
            gaps: r.gaps,
            streams: r.streams,
            already_clean: r.already_clean,
        };
        if let Some(o) = o {
            o.write(c);
        }
        Ok(())
    })
}
