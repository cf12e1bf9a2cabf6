//! The writer's file operations: vectored positional writes that finish what they start,
//! fdatasync, preallocation, truncation — and the hook tests use to inject faults.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// What an injected fault does to one write call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Let the write happen.
    None,
    /// Fail it with this OS error (e.g. `libc::ENOSPC`, `libc::EIO`) without writing.
    Error(i32),
    /// Write only this many bytes of it, then report the error `ENOSPC` on the rest
    /// (what a filling disk does).
    Short(usize),
}

/// Decides, for each write the writer is about to issue, whether it fails.
pub trait FaultInjector: Send + Sync {
    /// Called before a write of `len` bytes at file offset `offset`.
    fn before_write(&self, offset: u64, len: usize) -> Fault;
    /// Called before each fdatasync; return an errno to fail it.
    fn before_sync(&self) -> Option<i32> {
        None
    }
}

/// A file the writer appends to through positional writes.
pub(crate) struct WriteFile {
    pub(crate) file: File,
    pub(crate) faults: Option<std::sync::Arc<dyn FaultInjector>>,
    allocated_to: u64,
    direct: Option<DirectState>,
}

/// Block size O_DIRECT writes are aligned to (memory address, length and file offset).
const DIRECT_ALIGN: usize = 4096;

/// O_DIRECT bypasses the page cache: on the machines we measured, buffered writeback
/// sustains a tenth of what the disk takes directly. O_DIRECT needs block-aligned
/// buffers, lengths and offsets, so appends are copied into an aligned staging block
/// run; the last, partial block is kept ("carry") and written again, completed, by the
/// next append. Until then the file ends with up to one block of zeros after the last
/// record, which readers see as a torn tail; `finish` cuts it off.
struct DirectState {
    buf: AlignedBuf,
    /// File offset of `buf[0]` (block aligned).
    base: u64,
    /// Valid bytes at the start of `buf` (the unwritten-complete tail block).
    carry: usize,
}

/// A zeroed, block-aligned heap buffer.
struct AlignedBuf {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: AlignedBuf uniquely owns its allocation.
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    fn new(len: usize) -> Self {
        let layout = std::alloc::Layout::from_size_align(len, DIRECT_ALIGN).expect("valid layout");
        // SAFETY: non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = std::ptr::NonNull::new(p).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        AlignedBuf { ptr, len }
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: we own `len` initialised (zeroed) bytes.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let layout = std::alloc::Layout::from_size_align(self.len, DIRECT_ALIGN).expect("valid layout");
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), layout) };
    }
}

/// The most iovecs one `pwritev` takes (Linux IOV_MAX).
const IOV_MAX: usize = 1024;

impl WriteFile {
    pub(crate) fn new(file: File, faults: Option<std::sync::Arc<dyn FaultInjector>>) -> Self {
        WriteFile { file, faults, allocated_to: 0, direct: None }
    }

    /// A file opened with O_DIRECT; appends go through an aligned staging buffer of
    /// `max_write` bytes (larger appends are split).
    pub(crate) fn new_direct(file: File, faults: Option<std::sync::Arc<dyn FaultInjector>>, max_write: usize) -> Self {
        let len = max_write.div_ceil(DIRECT_ALIGN) * DIRECT_ALIGN + DIRECT_ALIGN;
        WriteFile {
            file,
            faults,
            allocated_to: 0,
            direct: Some(DirectState { buf: AlignedBuf::new(len), base: 0, carry: 0 }),
        }
    }

    /// Appends `bufs` at `offset` (the current end) through the aligned staging buffer.
    fn direct_append(&mut self, bufs: &[&[u8]], offset: u64) -> Result<u64, (u64, io::Error)> {
        let fd = self.file.as_raw_fd();
        let d = self.direct.as_mut().expect("direct mode");
        debug_assert_eq!(d.base + d.carry as u64, offset, "direct writes are appends");
        let cap = d.buf.len;
        let mut written = 0u64;
        let mut pending: &[u8] = &[];
        let mut rest = bufs.iter();
        loop {
            // Fill the staging buffer after the carried partial block.
            let stage = d.buf.as_mut_slice();
            let mut fill = d.carry;
            while fill < cap {
                if pending.is_empty() {
                    match rest.next() {
                        Some(b) => pending = b,
                        None => break,
                    }
                    continue;
                }
                let n = pending.len().min(cap - fill);
                stage[fill..fill + n].copy_from_slice(&pending[..n]);
                fill += n;
                pending = &pending[n..];
            }
            let new_bytes = fill - d.carry;
            if new_bytes == 0 {
                return Ok(written);
            }
            let aligned = fill.div_ceil(DIRECT_ALIGN) * DIRECT_ALIGN;
            stage[fill..aligned].fill(0);
            let mut done = 0usize;
            while done < aligned {
                // SAFETY: `stage[done..aligned]` is a live, block-aligned slice of our
                // buffer; `base + done` is block aligned; the fd is open for writing.
                let n = unsafe {
                    libc::pwrite(
                        fd,
                        stage[done..].as_ptr() as *const libc::c_void,
                        aligned - done,
                        (d.base + done as u64) as libc::off_t,
                    )
                };
                if n < 0 {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    return Err((written, e));
                }
                if n == 0 || !(n as usize).is_multiple_of(DIRECT_ALIGN) && done + (n as usize) < aligned {
                    return Err((written, io::Error::new(io::ErrorKind::WriteZero, "short direct write")));
                }
                done += n as usize;
            }
            written += new_bytes as u64;
            // Keep the trailing partial block for the next append.
            let full = fill / DIRECT_ALIGN * DIRECT_ALIGN;
            let carry = fill - full;
            stage.copy_within(full..fill, 0);
            d.base += full as u64;
            d.carry = carry;
        }
    }

    /// Writes all of `bufs` at `offset`, retrying short writes and EINTR. On error,
    /// returns how many bytes did reach the file with the error.
    pub(crate) fn write_all_at(&mut self, bufs: &[&[u8]], offset: u64) -> Result<u64, (u64, io::Error)> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let mut limit = usize::MAX;
        let mut fault_err = None;
        if let Some(f) = &self.faults {
            match f.before_write(offset, total) {
                Fault::None => {}
                Fault::Error(errno) => return Err((0, io::Error::from_raw_os_error(errno))),
                Fault::Short(n) => {
                    limit = n.min(total);
                    fault_err = Some(io::Error::from_raw_os_error(libc::ENOSPC));
                }
            }
        }
        if self.direct.is_some() {
            if limit != usize::MAX {
                // Short-write fault: append only the first `limit` bytes.
                let mut cut = Vec::new();
                let mut left = limit;
                for b in bufs {
                    let n = b.len().min(left);
                    cut.push(&b[..n]);
                    left -= n;
                }
                let n = self.direct_append(&cut, offset)?;
                return Err((n, fault_err.unwrap_or_else(|| io::Error::from_raw_os_error(libc::ENOSPC))));
            }
            return self.direct_append(bufs, offset);
        }
        let mut written: usize = 0;
        let mut iov: Vec<libc::iovec> = Vec::with_capacity(bufs.len().min(IOV_MAX));
        // Index of the first buffer not fully written, and bytes of it already written.
        let (mut idx, mut skip) = (0usize, 0usize);
        while idx < bufs.len() && written < limit {
            iov.clear();
            let mut batch_len = 0usize;
            let mut j = idx;
            let mut first_skip = skip;
            while j < bufs.len() && iov.len() < IOV_MAX && written + batch_len < limit {
                let b = &bufs[j][first_skip..];
                let take = b.len().min(limit - written - batch_len);
                if take > 0 {
                    iov.push(libc::iovec { iov_base: b.as_ptr() as *mut libc::c_void, iov_len: take });
                }
                batch_len += take;
                first_skip = 0;
                j += 1;
            }
            if iov.is_empty() {
                break; // only empty buffers remain
            }
            // SAFETY: every iovec points into a live slice of `bufs` with its length;
            // the fd is open for writing.
            let n = unsafe {
                libc::pwritev(
                    self.file.as_raw_fd(),
                    iov.as_ptr(),
                    iov.len() as libc::c_int,
                    (offset + written as u64) as libc::off_t,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err((written as u64, e));
            }
            if n == 0 {
                return Err((written as u64, io::Error::new(io::ErrorKind::WriteZero, "write returned 0 bytes")));
            }
            let mut n = n as usize;
            written += n;
            // Advance (idx, skip) past n bytes.
            while n > 0 && idx < bufs.len() {
                let rest = bufs[idx].len() - skip;
                if n >= rest {
                    n -= rest;
                    idx += 1;
                    skip = 0;
                } else {
                    skip += n;
                    n = 0;
                }
            }
            while idx < bufs.len() && bufs[idx].len() == skip {
                idx += 1;
                skip = 0;
            }
        }
        match fault_err {
            Some(e) if written < total => Err((written as u64, e)),
            _ => Ok(written as u64),
        }
    }

    /// Reserves disk blocks up to `upto` without changing the file size, so appends do
    /// not allocate metadata on the hot path (and a full disk shows up early).
    pub(crate) fn preallocate(&mut self, upto: u64) {
        if upto <= self.allocated_to {
            return;
        }
        let start = self.allocated_to;
        // SAFETY: valid fd; FALLOC_FL_KEEP_SIZE leaves the visible size unchanged.
        let rc = unsafe {
            libc::fallocate(
                self.file.as_raw_fd(),
                libc::FALLOC_FL_KEEP_SIZE,
                start as libc::off_t,
                (upto - start) as libc::off_t,
            )
        };
        // Unsupported file systems (tmpfs before 3.5, some FUSE) just skip the hint; a
        // real ENOSPC will surface on the write itself.
        let _ = rc;
        self.allocated_to = upto;
    }

    pub(crate) fn sync_data(&mut self) -> io::Result<()> {
        if let Some(f) = &self.faults
            && let Some(errno) = f.before_sync()
        {
            return Err(io::Error::from_raw_os_error(errno));
        }
        self.file.sync_data()
    }

    /// Cuts the file to `len` bytes (the end of the last complete record).
    pub(crate) fn truncate(&mut self, len: u64) -> io::Result<()> {
        if let Some(d) = &mut self.direct {
            // The next append must rewrite the block holding `len`, completed: make sure
            // the staging buffer starts with that block's valid bytes.
            let align = DIRECT_ALIGN as u64;
            let base = len / align * align;
            let keep = (len - base) as usize;
            if keep > 0 && (base != d.base || keep > d.carry) {
                let stage = d.buf.as_mut_slice();
                // SAFETY: reads one aligned block into the aligned staging buffer (which
                // is larger than a block) at an aligned offset.
                let n = unsafe {
                    libc::pread(
                        self.file.as_raw_fd(),
                        stage.as_mut_ptr() as *mut libc::c_void,
                        DIRECT_ALIGN,
                        base as libc::off_t,
                    )
                };
                if n < keep as isize {
                    return Err(io::Error::other("cannot re-read the last block"));
                }
            }
            d.base = base;
            d.carry = keep;
        }
        self.file.set_len(len)
    }
}
