//! Zero-copy buffers in both directions.
//!
//! * Input: any C-contiguous object that supports the buffer protocol (bytes, bytearray,
//!   memoryview, array.array, numpy arrays of any dtype) is read in place through its
//!   pointer and byte length — the element type does not matter, a uint16 depth image is
//!   taken as its raw bytes. `bytes` skips the buffer protocol altogether.
//! * Output: [`BufferView`] exports memory the package owns or maps (a frame in a
//!   capture file's memory map, a copied-out frame, a reservation in a queue's ring)
//!   through `__getbuffer__`, so `memoryview(...)` and `numpy.frombuffer(...)` use it
//!   without a copy, and keep its owner alive as long as any view exists.

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyMemoryView, PyString};

/// A raw pointer that may cross into a `py.detach` closure. The memory it points to is
/// kept alive by a Python reference held on the calling thread for the whole call.
#[derive(Clone, Copy)]
pub struct RawSlice {
    ptr: *const u8,
    len: usize,
}

// SAFETY: only the pointer moves; the caller guarantees the memory stays valid (see
// `Input`), and the bytes are only read.
unsafe impl Send for RawSlice {}
// SAFETY: as for Send: shared access only reads the pointer value.
unsafe impl Sync for RawSlice {}

impl RawSlice {
    /// The bytes.
    ///
    /// # Safety
    /// The owner of the memory must still be alive (guaranteed while the `Input` that
    /// produced this lives).
    pub unsafe fn as_slice<'a>(self) -> &'a [u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: per the function contract.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        self.len
    }
}

/// Frame data handed in by Python, read in place.
///
/// A `bytearray`, `memoryview` or numpy array may be modified by another Python thread
/// while the GIL is released for the copy into the ring; the frame then holds whatever
/// bytes were there during the copy. Don't do that.
pub enum Input<'py> {
    /// An immutable `bytes` object.
    Bytes(Bound<'py, PyBytes>),
    /// Any other exporter; the buffer export pins the memory (a bytearray cannot be
    /// resized while it is held).
    Buffer(PyUntypedBuffer),
}

impl<'py> Input<'py> {
    /// Accepts any C-contiguous buffer-protocol object.
    pub fn extract(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Input::Bytes(b.clone()));
        }
        if obj.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "frame data must be a bytes-like object, not str (encode it first)",
            ));
        }
        let buf = PyUntypedBuffer::get(obj).map_err(|_| {
            let ty = obj
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "?".into());
            PyTypeError::new_err(format!(
                "frame data must support the buffer protocol (bytes, bytearray, memoryview, \
                 numpy array ...), not {ty}"
            ))
        })?;
        if !buf.is_c_contiguous() {
            return Err(PyValueError::new_err(
                "frame data must be C-contiguous; this buffer is strided (a slice with a step, \
                 a transposed or Fortran-order array): pass numpy.ascontiguousarray(x) or bytes(x)",
            ));
        }
        Ok(Input::Buffer(buf))
    }

    /// Pointer and length, for use inside `py.detach` while `self` is alive.
    pub fn raw(&self) -> RawSlice {
        match self {
            Input::Bytes(b) => {
                let s = b.as_bytes();
                RawSlice {
                    ptr: s.as_ptr(),
                    len: s.len(),
                }
            }
            Input::Buffer(b) => RawSlice {
                ptr: b.buf_ptr() as *const u8,
                len: b.len_bytes(),
            },
        }
    }
}

/// What keeps the memory of a [`BufferView`] alive.
pub enum Owner {
    /// A frame copied out of a queue.
    Vec(#[allow(dead_code)] Vec<u8>),
    /// A capture's memory map (the `Reader` is shared by all its frames).
    Reader(#[allow(dead_code)] Arc<streamq::reader::Reader>),
    /// A queue's ring (a reservation being filled in place).
    Ring(#[allow(dead_code)] streamq::SharedProducer),
}

/// A read-only (or, for a reservation, writable) byte buffer exported without copying.
/// `memoryview(b)`, `bytes(b)` and `numpy.frombuffer(b, dtype=...)` all work on it; the
/// memory stays valid while any view of it exists.
#[pyclass(frozen, module = "streamq._streamq", name = "Buffer")]
pub struct BufferView {
    ptr: usize,
    len: usize,
    readonly: bool,
    /// Cleared when a reservation is committed or aborted: later exports are refused.
    valid: AtomicBool,
    exports: AtomicUsize,
    _owner: Owner,
}

static FORMAT_B: &std::ffi::CStr = c"B";

impl BufferView {
    /// A view of the bytes of `v` (moved in, no copy).
    pub fn from_vec(mut v: Vec<u8>) -> Self {
        let (ptr, len) = (v.as_mut_ptr() as usize, v.len());
        BufferView {
            ptr,
            len,
            readonly: true,
            valid: AtomicBool::new(true),
            exports: AtomicUsize::new(0),
            _owner: Owner::Vec(v),
        }
    }

    /// A writable scratch buffer of `v` (a reservation the policy dropped).
    pub fn from_vec_writable(v: Vec<u8>) -> Self {
        let mut b = Self::from_vec(v);
        b.readonly = false;
        b
    }

    /// A view of `len` bytes at `ptr`, valid as long as `owner` lives.
    ///
    /// # Safety
    /// `ptr..ptr+len` must stay valid (and, if `!readonly`, writable without another
    /// live Rust reference) while `owner` is alive.
    pub unsafe fn new(ptr: *const u8, len: usize, readonly: bool, owner: Owner) -> Self {
        BufferView {
            ptr: ptr as usize,
            len,
            readonly,
            valid: AtomicBool::new(true),
            exports: AtomicUsize::new(0),
            _owner: owner,
        }
    }

    /// Refuses further exports (existing ones keep pointing at the memory).
    pub fn invalidate(&self) {
        self.valid.store(false, Ordering::Release);
    }

    /// Buffers exported and not yet released.
    pub fn exports(&self) -> usize {
        self.exports.load(Ordering::Acquire)
    }

    /// A `memoryview` over `this`.
    pub fn memoryview<'py>(this: &Bound<'py, BufferView>) -> PyResult<Bound<'py, PyMemoryView>> {
        PyMemoryView::from(this.as_any())
    }
}

#[pymethods]
impl BufferView {
    /// Fills a `Py_buffer` describing the bytes as a 1-D array of unsigned bytes.
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        if view.is_null() {
            return Err(PyBufferError::new_err("view is null"));
        }
        let this = slf.get();
        if !this.valid.load(Ordering::Acquire) {
            return Err(PyBufferError::new_err(
                "this buffer is no longer valid (its reservation was committed or aborted)",
            ));
        }
        if (flags & ffi::PyBUF_WRITABLE) == ffi::PyBUF_WRITABLE && this.readonly {
            return Err(PyBufferError::new_err("buffer is read-only"));
        }
        this.exports.fetch_add(1, Ordering::AcqRel);
        // SAFETY: `view` is a valid Py_buffer to fill (checked non-null); every pointer
        // stored in it stays valid until __releasebuffer__: the memory through `obj`
        // (which keeps `self`, and so its owner, alive), `shape`/`strides` inside the
        // Py_buffer itself, and `format` is a static string never written to.
        unsafe {
            (*view).obj = slf.clone().into_any().into_ptr();
            (*view).buf = if this.len == 0 {
                // A valid non-null pointer for empty buffers.
                FORMAT_B.as_ptr() as *mut c_void
            } else {
                this.ptr as *mut c_void
            };
            (*view).len = this.len as isize;
            (*view).readonly = c_int::from(this.readonly);
            (*view).itemsize = 1;
            (*view).format = if (flags & ffi::PyBUF_FORMAT) == ffi::PyBUF_FORMAT {
                FORMAT_B.as_ptr() as *mut _
            } else {
                ptr::null_mut()
            };
            (*view).ndim = 1;
            (*view).shape = if (flags & ffi::PyBUF_ND) == ffi::PyBUF_ND {
                &mut (*view).len
            } else {
                ptr::null_mut()
            };
            (*view).strides = if (flags & ffi::PyBUF_STRIDES) == ffi::PyBUF_STRIDES {
                &mut (*view).itemsize
            } else {
                ptr::null_mut()
            };
            (*view).suboffsets = ptr::null_mut();
            (*view).internal = ptr::null_mut();
        }
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {
        self.exports.fetch_sub(1, Ordering::AcqRel);
    }

    fn __len__(&self) -> usize {
        self.len
    }

    /// Whether the buffer may be written (only a reservation's is).
    #[getter]
    fn readonly(&self) -> bool {
        self.readonly
    }

    fn __repr__(&self) -> String {
        format!(
            "<streamq.Buffer {} bytes{}>",
            self.len,
            if self.readonly { "" } else { ", writable" }
        )
    }
}
