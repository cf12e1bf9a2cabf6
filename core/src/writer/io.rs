//! The writer's file operations: vectored positional writes that finish what they start,
//! fdatasync, preallocation, truncation — and the hook tests use to inject faults.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use crate::writer::direct_io::DirectWriter;

/// What an injected fault does to one write call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Only the tests' injectors (the `testing` feature) make faults; the rate limit does not.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub enum Fault {
    /// Let the write happen.
    None,
    /// Fail it with this OS error (e.g. `libc::ENOSPC`, `libc::EIO`) without writing.
    Error(i32),
    /// Write only this many bytes of it (O_DIRECT: rounded down to whole blocks), then
    /// report the error `ENOSPC` on the rest (what a filling disk does).
    Short(usize),
}

/// Decides, for each write the writer is about to issue, whether it fails.
pub trait FaultInjector: Send + Sync {
    /// Called before a write of `len` bytes at file offset `offset` — for O_DIRECT
    /// capture files on the I/O threads, where several writes may be in flight at once
    /// (see `WriterConfig::writes_in_flight`).
    fn before_write(&self, offset: u64, len: usize) -> Fault;
    /// Called before each fdatasync; return an errno to fail it.
    fn before_sync(&self) -> Option<i32> {
        None
    }
}

/// Paces the capture file's writes to at most `bytes_per_s` on average (the
/// `max_write_rate` option: leave disk bandwidth to other users of the disk, or see
/// back-pressure and drop policies at work against a slow disk). Each write waits until
/// the writes before it would have finished at that rate.
pub(crate) struct WriteRateLimit {
    bytes_per_s: f64,
    next: std::sync::Mutex<std::time::Instant>,
}

impl WriteRateLimit {
    pub(crate) fn new(bytes_per_s: u64) -> Self {
        WriteRateLimit {
            bytes_per_s: bytes_per_s as f64,
            next: std::sync::Mutex::new(std::time::Instant::now()),
        }
    }
}

impl FaultInjector for WriteRateLimit {
    fn before_write(&self, _offset: u64, len: usize) -> Fault {
        let until = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let start = (*next).max(std::time::Instant::now());
            *next = start + std::time::Duration::from_secs_f64(len as f64 / self.bytes_per_s);
            *next
        };
        // Pacing, not synchronisation: the write may start once its share of time is up.
        std::thread::sleep(until.saturating_duration_since(std::time::Instant::now()));
        Fault::None
    }
}

/// Several hooks before each write: the first that injects a fault wins.
pub(crate) struct WriteHooks(pub(crate) Vec<Arc<dyn FaultInjector>>);

impl FaultInjector for WriteHooks {
    fn before_write(&self, offset: u64, len: usize) -> Fault {
        for h in &self.0 {
            let f = h.before_write(offset, len);
            if f != Fault::None {
                return f;
            }
        }
        Fault::None
    }

    fn before_sync(&self) -> Option<i32> {
        self.0.iter().find_map(|h| h.before_sync())
    }
}

/// A file the writer appends to: O_DIRECT through [`DirectWriter`] (writes in
/// flight on I/O threads), or buffered with vectored positional writes straight from
/// the ring.
pub(crate) struct WriteFile {
    pub(crate) file: Arc<File>,
    pub(crate) faults: Option<Arc<dyn FaultInjector>>,
    allocated_to: u64,
    direct: Option<DirectWriter>,
    /// Buffered mode: the end of the last write that completed.
    good_end: u64,
}

/// The most iovecs one `pwritev` takes (Linux IOV_MAX).
const IOV_MAX: usize = 1024;

impl WriteFile {
    pub(crate) fn new(file: File, faults: Option<Arc<dyn FaultInjector>>) -> Self {
        WriteFile {
            file: Arc::new(file),
            faults,
            allocated_to: 0,
            direct: None,
            good_end: 0,
        }
    }

    /// A file opened with O_DIRECT; appends go through aligned staging buffers of up to
    /// `max_write` bytes, with up to `in_flight` writes on I/O threads (0: inline).
    pub(crate) fn new_direct(
        file: File,
        faults: Option<Arc<dyn FaultInjector>>,
        max_write: usize,
        in_flight: usize,
    ) -> Self {
        let file = Arc::new(file);
        let direct = DirectWriter::new(Arc::clone(&file), faults.clone(), max_write, in_flight);
        WriteFile {
            file,
            faults,
            allocated_to: 0,
            direct: Some(direct),
            good_end: 0,
        }
    }

    /// The end of the last appended record wholly on the file (written and returned).
    pub(crate) fn confirmed_boundary(&mut self) -> u64 {
        match &mut self.direct {
            Some(d) => d.confirmed_boundary(),
            None => self.good_end,
        }
    }

    /// The error of a write that failed after it was accepted (O_DIRECT in flight).
    pub(crate) fn error(&mut self) -> Option<io::Error> {
        self.direct.as_mut().and_then(|d| d.error())
    }

    /// Writes out everything accepted and waits for it.
    pub(crate) fn settle(&mut self) -> io::Result<()> {
        match &mut self.direct {
            Some(d) => d.settle(),
            None => Ok(()),
        }
    }

    /// After a failure: waits for writes in flight and returns the last record boundary
    /// wholly on the file, where the file should be cut.
    pub(crate) fn abandon(&mut self) -> u64 {
        match &mut self.direct {
            Some(d) => d.abandon(),
            None => self.good_end,
        }
    }

    /// Writes all of `bufs` at `offset`, retrying short writes and EINTR. On error,
    /// returns how many bytes did reach the file with the error.
    /// In O_DIRECT mode the bytes are accepted (staged, maybe in flight), and on the
    /// file once [`confirmed_boundary`](Self::confirmed_boundary) passes them; the fault
    /// hook then runs per actual write, on the I/O thread.
    pub(crate) fn write_all_at(&mut self, bufs: &[&[u8]], offset: u64) -> Result<u64, (u64, io::Error)> {
        if let Some(d) = &mut self.direct {
            return d.append(bufs).map_err(|e| (0, e));
        }
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
                    iov.push(libc::iovec {
                        iov_base: b.as_ptr() as *mut libc::c_void,
                        iov_len: take,
                    });
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
                return Err((
                    written as u64,
                    io::Error::new(io::ErrorKind::WriteZero, "write returned 0 bytes"),
                ));
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
            _ => {
                self.good_end = offset + written as u64;
                Ok(written as u64)
            }
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

    /// Writes out what is in flight, then fdatasync.
    pub(crate) fn sync_data(&mut self) -> io::Result<()> {
        self.settle()?;
        if let Some(f) = &self.faults
            && let Some(errno) = f.before_sync()
        {
            return Err(io::Error::from_raw_os_error(errno));
        }
        self.file.sync_data()
    }

    /// Cuts the file to `len` bytes (the end of the last complete record). O_DIRECT:
    /// everything in flight must have returned ([`settle`](Self::settle) or
    /// [`abandon`](Self::abandon)).
    pub(crate) fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.good_end = self.good_end.min(len);
        match &mut self.direct {
            Some(d) => d.reset_to(len),
            None => Ok(()),
        }
    }
}
