//! `streamq.Reader`: a capture file (or a list of segment files), memory-mapped; frames
//! are read in place. Iterators walk the engine's owning [`Cursor`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyList, PyString};

use streamq::reader::{Cursor, CursorOrder, Reader as RsReader};

use crate::errors;
use crate::frame::Frame;
use crate::stats::{GapInfo, RecoverReport, StreamInfo, VerifyReport};

type Names = Arc<HashMap<u16, Py<PyString>>>;

/// Iterates frames of a Reader (see `Reader.__iter__`, `Reader.file_order` and
/// `Reader.seek`).
#[pyclass(frozen, module = "streamq._streamq", name = "FrameIterator")]
pub struct FrameIter {
    cursor: Mutex<Cursor>,
    /// Only this stream's frames (file order of one stream).
    only: Option<u16>,
    names: Names,
}

impl FrameIter {
    fn new(cursor: Cursor, only: Option<u16>, names: &Names) -> Self {
        FrameIter {
            cursor: Mutex::new(cursor),
            only,
            names: Arc::clone(names),
        }
    }
}

#[pymethods]
impl FrameIter {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> Option<Frame> {
        let mut cursor = self.cursor.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            // Where the frame is: the Frame finds its bytes again from there.
            let at = cursor.clone();
            let f = cursor.next_frame()?;
            if self.only.is_some_and(|id| id != f.stream_id) {
                continue;
            }
            let name = self.names.get(&f.stream_id).map(|n| n.clone_ref(py));
            return Some(Frame::mapped(at, &f, name));
        }
    }
}

/// A capture file opened for reading: one path, or the segment files of one capture in
/// order.
///
/// Iterating yields Frames — of one stream in sequence order if `stream` (a name or an
/// id) is given, else of all streams merged in timestamp order. A frame's `data` is a
/// read-only memoryview straight over the memory-mapped file (no copy; compressed frames
/// give bytes). Views stay valid after close(): the mapping lives while any view does.
/// A file that was not closed cleanly (crash, still being written) is read up to its
/// last valid record; `streamq.recover(path)` repairs it for good.
#[pyclass(frozen, module = "streamq._streamq", name = "Reader")]
pub struct Reader {
    inner: RwLock<Option<Arc<RsReader>>>,
    stream: Option<u16>,
    names: Names,
    paths: Vec<PathBuf>,
}

impl Reader {
    fn get(&self, py: Python<'_>) -> PyResult<Arc<RsReader>> {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| errors::closed(py, "reader is closed"))
    }

    fn stream_name(&self, py: Python<'_>, id: u16) -> String {
        self.names
            .get(&id)
            .map(|n| n.bind(py).to_string())
            .unwrap_or_default()
    }
}

fn extract_paths(obj: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    if let Ok(p) = obj.extract::<PathBuf>() {
        return Ok(vec![p]);
    }
    let mut out = Vec::new();
    let iter = obj
        .try_iter()
        .map_err(|_| PyTypeError::new_err("expected a path or a list of paths (str or os.PathLike)"))?;
    for item in iter {
        out.push(
            item?
                .extract::<PathBuf>()
                .map_err(|_| PyTypeError::new_err("every segment path must be a str or os.PathLike"))?,
        );
    }
    if out.is_empty() {
        return Err(PyValueError::new_err("no capture file given"));
    }
    Ok(out)
}

#[pymethods]
impl Reader {
    #[new]
    #[pyo3(signature = (path, stream = None))]
    fn new(py: Python<'_>, path: &Bound<'_, PyAny>, stream: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let paths = extract_paths(path)?;
        let reader = py
            .detach(|| RsReader::open_segments(&paths))
            .map_err(|e| errors::reader(py, &e))?;
        let mut names = HashMap::new();
        for s in reader.streams() {
            let n = s
                .def
                .as_ref()
                .map_or_else(|| format!("stream-{}", s.id), |d| d.name.clone());
            names.insert(s.id, PyString::intern(py, &n).unbind());
        }
        let stream = match stream {
            None => None,
            Some(s) if s.is_instance_of::<PyInt>() => {
                let id: u16 = s.extract()?;
                if reader.stream(id).is_none() {
                    return Err(PyValueError::new_err(format!(
                        "the capture has no stream with id {id}"
                    )));
                }
                Some(id)
            }
            Some(s) => {
                let name: String = s
                    .extract()
                    .map_err(|_| PyTypeError::new_err("stream must be a stream name (str) or id (int)"))?;
                let found = reader
                    .streams()
                    .iter()
                    .find(|i| i.def.as_ref().is_some_and(|d| d.name == name));
                match found {
                    Some(i) => Some(i.id),
                    None => {
                        let mut known: Vec<String> = names.values().map(|n| n.bind(py).to_string()).collect();
                        known.sort();
                        return Err(PyValueError::new_err(format!(
                            "the capture has no stream named {name:?} (streams: {})",
                            known.join(", ")
                        )));
                    }
                }
            }
        };
        Ok(Reader {
            inner: RwLock::new(Some(Arc::new(reader))),
            stream,
            names: Arc::new(names),
            paths,
        })
    }

    /// Frames of the selected stream in sequence order, or of all streams merged by
    /// timestamp.
    fn __iter__(&self, py: Python<'_>) -> PyResult<FrameIter> {
        let r = self.get(py)?;
        let order = match self.stream {
            Some(id) => CursorOrder::Stream(id),
            None => CursorOrder::Time,
        };
        Ok(FrameIter::new(Cursor::new(r, order), None, &self.names))
    }

    /// Frames in file order (all streams, as written).
    fn file_order(&self, py: Python<'_>) -> PyResult<FrameIter> {
        let r = self.get(py)?;
        Ok(FrameIter::new(
            Cursor::new(r, CursorOrder::File),
            self.stream,
            &self.names,
        ))
    }

    /// An iterator starting at the first frame with sequence number >= `seq` (of the
    /// selected stream, or of the only stream), or with timestamp >= `timestamp` (ns; of
    /// the selected stream, else of all streams merged by time). Found by binary search
    /// over the index, without reading the frames before it.
    #[pyo3(signature = (seq = None, timestamp = None))]
    fn seek(&self, py: Python<'_>, seq: Option<u64>, timestamp: Option<u64>) -> PyResult<FrameIter> {
        let r = self.get(py)?;
        match (seq, timestamp) {
            (Some(_), Some(_)) => Err(PyValueError::new_err("give seq or timestamp, not both")),
            (None, None) => Err(PyValueError::new_err("give seq or timestamp")),
            (Some(seq), None) => {
                let id = match self.stream {
                    Some(id) => id,
                    None if r.streams().len() == 1 => r.streams()[0].id,
                    None => {
                        return Err(PyValueError::new_err(
                            "seeking by sequence number needs a stream: Reader(path, stream=name)",
                        ));
                    }
                };
                let mut c = Cursor::new(r, CursorOrder::Stream(id));
                c.seek_seq(id, seq);
                Ok(FrameIter::new(c, None, &self.names))
            }
            (None, Some(ts)) => {
                let mut c = Cursor::new(r, CursorOrder::Time);
                match self.stream {
                    Some(id) => c.seek_stream_time(id, ts),
                    None => c.seek_time(ts),
                }
                Ok(FrameIter::new(c, None, &self.names))
            }
        }
    }

    /// The capture's streams (StreamInfo: name, media type, metadata, frames, dropped ...).
    #[getter]
    fn streams<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let r = self.get(py)?;
        let out = PyList::empty(py);
        for s in r.streams() {
            out.append(StreamInfo::new(py, s)?)?;
        }
        Ok(out)
    }

    /// The selected stream's name (None: all streams).
    #[getter]
    fn stream(&self, py: Python<'_>) -> Option<String> {
        self.stream.map(|id| self.stream_name(py, id))
    }

    /// Gap records (runs of lost frames) in file order, of the selected stream or all.
    #[getter]
    fn gaps<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let r = self.get(py)?;
        let out = PyList::empty(py);
        for g in r.gaps() {
            if self.stream.is_some_and(|id| id != g.stream_id) {
                continue;
            }
            out.append(Py::new(
                py,
                GapInfo {
                    stream_id: g.stream_id,
                    stream: self.stream_name(py, g.stream_id),
                    first_seq: g.first_seq,
                    count: g.count,
                    reason: g.reason.to_string(),
                    host_time: g.host_ts_ns,
                },
            )?)?;
        }
        Ok(out)
    }

    /// Checks every record's CRC, every compressed frame and sequence continuity (the
    /// whole file is read; the GIL is released meanwhile). Returns a VerifyReport.
    fn verify(&self, py: Python<'_>) -> PyResult<Py<VerifyReport>> {
        let r = self.get(py)?;
        let rep = py.detach(|| r.verify());
        VerifyReport::new(py, &rep)
    }

    /// Whether every segment ends with a valid trailer (closed cleanly).
    #[getter]
    fn is_clean(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.get(py)?.is_clean())
    }

    /// Number of segment files.
    #[getter]
    fn segment_count(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.get(py)?.segment_count())
    }

    /// The files read.
    #[getter]
    fn paths(&self) -> Vec<PathBuf> {
        self.paths.clone()
    }

    /// Frames in the selected stream (or all streams).
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        let r = self.get(py)?;
        Ok(match self.stream {
            Some(id) => r.stream(id).map_or(0, |s| s.frames as usize),
            None => r.frame_count(),
        })
    }

    /// Releases the reader (the mapping goes once no frame view uses it). Idempotent.
    fn close(&self) {
        self.inner.write().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Whether close() has run.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let p = self
            .paths
            .first()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let extra = if self.paths.len() > 1 {
            format!(" (+{} segments)", self.paths.len() - 1)
        } else {
            String::new()
        };
        let stream = self
            .stream
            .map(|id| format!(" stream={:?}", self.stream_name(py, id)))
            .unwrap_or_default();
        format!(
            "<streamq.Reader {p:?}{extra}{stream}{}>",
            if self.closed() { " closed" } else { "" }
        )
    }
}

/// Repairs a capture file left without a valid trailer (crash, power cut): cuts the
/// torn tail after the last valid record and appends a fresh index and trailer.
/// Idempotent; a clean file is left untouched. The file must not be open in a Reader
/// or a Writer meanwhile. Returns a RecoverReport.
#[pyfunction]
pub fn recover(py: Python<'_>, path: PathBuf) -> PyResult<Py<RecoverReport>> {
    let r = py
        .detach(|| streamq::reader::recover(&path))
        .map_err(|e| errors::reader(py, &e))?;
    Py::new(py, RecoverReport::from(&r))
}
