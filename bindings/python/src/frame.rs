//! `Frame`: one frame popped from a queue or read from a capture file.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use streamq::reader::{Cursor, RecordedFrame};

use crate::buffers::{BufferView, Owner};
use crate::errors;

enum Source {
    /// Copied out of a queue (once, with the GIL released).
    Owned(Py<BufferView>),
    /// In a capture file's memory map: a cursor (it owns the shared reader) standing
    /// just before the frame, so the frame's bytes are found again, and CRC-checked,
    /// when `data` is read.
    Mapped {
        at: Cursor,
        compressed: bool,
        offset: u64,
        segment: usize,
    },
    /// Given to a callback sink: copied out of the ring into a `bytes` object (once,
    /// with the GIL held), so it stays valid after the call.
    Bytes(Py<PyBytes>),
}

/// One frame: its sequence number, timestamps, stream and bytes.
///
/// `data` is a read-only memoryview without a copy: over the frame's bytes in the
/// capture file's memory map (for a Reader; compressed frames are decompressed into a
/// `bytes` object), or over the single copy taken out of the ring (for a Queue). A
/// frame given to a Writer's callback sink holds `bytes` (one copy out of the ring).
/// `numpy.frombuffer(frame.data, dtype=numpy.uint16)` therefore copies nothing. The
/// memory stays valid as long as a view of it exists, even after the Reader is closed.
#[pyclass(frozen, module = "streamq._streamq", name = "Frame")]
pub struct Frame {
    /// Sequence number (per stream; gaps mean drops).
    #[pyo3(get)]
    seq: u64,
    /// Device timestamp in ns (the one given to push/write, else the host time).
    #[pyo3(get)]
    timestamp: u64,
    /// Host CLOCK_MONOTONIC time of the push, in ns.
    #[pyo3(get)]
    host_time: u64,
    /// Stream id (None for a plain queue's frames).
    #[pyo3(get)]
    stream_id: Option<u16>,
    stream: Option<Py<PyString>>,
    size: usize,
    source: Source,
}

impl Frame {
    /// A frame copied out of a queue.
    pub fn owned(py: Python<'_>, info: streamq::FrameInfo, data: Vec<u8>) -> PyResult<Self> {
        let size = data.len();
        Ok(Frame {
            seq: info.seq,
            timestamp: info.device_ts_ns,
            host_time: info.host_ts_ns,
            stream_id: None,
            stream: None,
            size,
            source: Source::Owned(Py::new(py, BufferView::from_vec(data))?),
        })
    }

    /// A frame for a writer's callback sink: `data` is copied into a new `bytes` object.
    pub fn sink(
        py: Python<'_>,
        info: streamq::FrameInfo,
        stream_id: u16,
        stream: Py<PyString>,
        data: &[u8],
    ) -> Self {
        Frame {
            seq: info.seq,
            timestamp: info.device_ts_ns,
            host_time: info.host_ts_ns,
            stream_id: Some(stream_id),
            stream: Some(stream),
            size: data.len(),
            source: Source::Bytes(PyBytes::new(py, data).unbind()),
        }
    }

    /// A frame of a capture file: `frame`, which the cursor `at` yields next.
    pub fn mapped(at: Cursor, frame: &RecordedFrame<'_>, stream: Option<Py<PyString>>) -> Self {
        Frame {
            seq: frame.seq,
            timestamp: frame.device_ts_ns,
            host_time: frame.host_ts_ns,
            stream_id: Some(frame.stream_id),
            stream,
            size: frame.raw_len as usize,
            source: Source::Mapped {
                compressed: frame.is_compressed(),
                offset: frame.offset,
                segment: frame.segment,
                at,
            },
        }
    }
}

#[pymethods]
impl Frame {
    /// The frame's bytes: a read-only memoryview (zero-copy), or `bytes` for a frame
    /// stored compressed. Reading it checks the record's CRC (CorruptFileError if bad).
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.source {
            Source::Owned(v) => Ok(BufferView::memoryview(v.bind(py))?.into_any()),
            Source::Bytes(b) => Ok(b.bind(py).clone().into_any()),
            Source::Mapped { at, .. } => {
                let mut cursor = at.clone();
                let frame = cursor
                    .next_frame()
                    .ok_or_else(|| errors::corrupt(py, "the frame is no longer in the capture"))?;
                let data = frame.data().map_err(|e| errors::reader(py, &e))?;
                match data {
                    std::borrow::Cow::Borrowed(s) => {
                        // SAFETY: `s` lies in the reader's memory map, which lives as long
                        // as the Arc<Reader> held by the view's owner.
                        let v = unsafe {
                            BufferView::new(s.as_ptr(), s.len(), true, Owner::Reader(Arc::clone(at.reader())))
                        };
                        Ok(BufferView::memoryview(&Bound::new(py, v)?)?.into_any())
                    }
                    std::borrow::Cow::Owned(v) => Ok(PyBytes::new(py, &v).into_any()),
                }
            }
        }
    }

    /// Stream name (None for a plain queue's frames).
    #[getter]
    fn stream(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.stream.as_ref().map(|s| s.clone_ref(py))
    }

    /// Whether the frame is stored zstd-compressed in its capture file.
    #[getter]
    fn compressed(&self) -> bool {
        match &self.source {
            Source::Owned(_) | Source::Bytes(_) => false,
            Source::Mapped { compressed, .. } => *compressed,
        }
    }

    /// File offset of the frame's record (capture files), else None.
    #[getter]
    fn offset(&self) -> Option<u64> {
        match &self.source {
            Source::Owned(_) | Source::Bytes(_) => None,
            Source::Mapped { offset, .. } => Some(*offset),
        }
    }

    /// Index of the segment file holding the frame (capture files), else None.
    #[getter]
    fn segment(&self) -> Option<usize> {
        match &self.source {
            Source::Owned(_) | Source::Bytes(_) => None,
            Source::Mapped { segment, .. } => Some(*segment),
        }
    }

    /// Uncompressed size in bytes.
    fn __len__(&self) -> usize {
        self.size
    }

    /// A copy of the bytes.
    fn __bytes__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let d = self.data(py)?;
        if let Ok(b) = d.cast::<PyBytes>() {
            return Ok(b.clone());
        }
        Ok(d.call_method0("tobytes")?.cast_into::<PyBytes>()?)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let stream = match &self.stream {
            Some(s) => format!(" stream={:?}", s.bind(py).to_string()),
            None => String::new(),
        };
        format!(
            "<streamq.Frame seq={}{stream} timestamp={} {} bytes>",
            self.seq, self.timestamp, self.size
        )
    }
}
