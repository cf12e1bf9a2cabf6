//! O_DIRECT appends with writes kept in flight.
//!
//! O_DIRECT bypasses the page cache (on the machines we measured, buffered writeback
//! sustains a fraction of what the disk takes directly) but wants block-aligned memory,
//! lengths and offsets, so appended records are copied into aligned staging buffers.
//! Copying a batch (and computing its CRCs, done by the caller) costs the writer thread
//! about a fifth of what the disk needs to store it; done in series with a synchronous
//! `pwrite` the disk idles for that fifth. So full buffers go to I/O threads
//! (`in_flight` of them; 0 = write inline) while the writer thread fills the next one.
//!
//! Invariants that keep the file correct:
//! - Jobs cover disjoint whole blocks, in file order. The partial last block of an append
//!   stays in the staging buffer and goes out with the next one; only [`settle`]
//!   writes it early (zero-padded), and `settle` waits for every job, so the later
//!   rewrite of that block cannot overtake the padded copy.
//! - A byte counts as written (`confirmed_end`) only when every job up to it has
//!   returned successfully; callers count records as written from record boundaries
//!   ([`confirmed_boundary`]), never from submissions.
//! - After a failure, later jobs are skipped (not written), the error is sticky, and
//!   [`abandon`] reports the last record boundary that is wholly on file, to cut the
//!   file back to.
//!
//! Until settled, the file may end with up to one block of zeros after its last record
//! (the padded tail); readers see that as a torn tail, and `finish` cuts it off.
//!
//! [`settle`]: DirectWriter::settle
//! [`confirmed_boundary`]: DirectWriter::confirmed_boundary
//! [`abandon`]: DirectWriter::abandon

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::memory::AnonymousMapping;
use crate::writer::io::{Fault, FaultInjector};

/// Block size O_DIRECT writes are aligned to (memory address, length and file offset).
pub(crate) const DIRECT_ALIGN: usize = 4096;

/// Staging buffers hold at most this much: big enough that a write call's overhead is
/// noise (with two in flight the disk always has a 2 MiB request queued), small enough
/// that the writer's memory beyond its rings stays within 32 MiB (the bench suite's memory budget).
const MAX_STAGING: usize = 2 << 20;

/// A zeroed, page-aligned (so block-aligned) buffer mapped from the kernel.
pub(crate) struct AlignedBuf {
    map: AnonymousMapping,
    len: usize,
}

impl AlignedBuf {
    /// Maps `len` bytes (rounded up to whole blocks) of zeroed memory straight from the
    /// kernel, on huge pages where the kernel offers them. Not through the allocator:
    /// after a large free glibc raises its mmap threshold, and buffers of this size then
    /// come from a thread arena that keeps freed memory resident (measured: +50 MiB RSS
    /// over a long recording). Huge pages: the kernel pins one page per 2 MiB for each
    /// O_DIRECT write instead of 512, and copies into the buffer miss the TLB less
    /// (measured on 512 MiB of 900 KiB frames: 1,436–1,718 MB/s against 773–1,367).
    fn new(len: usize) -> Self {
        let len = len.div_ceil(DIRECT_ALIGN) * DIRECT_ALIGN;
        match AnonymousMapping::new(len, true) {
            Ok(map) => AlignedBuf { map, len },
            Err(_) => {
                let layout = std::alloc::Layout::from_size_align(len, DIRECT_ALIGN).expect("valid layout");
                std::alloc::handle_alloc_error(layout)
            }
        }
    }

    fn as_slice(&self) -> &[u8] {
        // SAFETY: the mapping holds at least `len` initialised (zeroed, then written) bytes.
        unsafe { std::slice::from_raw_parts(self.map.base.as_ptr(), self.len) }
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(self.map.base.as_ptr(), self.len) }
    }
}

/// One write for an I/O thread: `buf[..len]` at file offset `offset`.
struct Job {
    id: u64,
    buf: AlignedBuf,
    offset: u64,
    len: usize,
}

/// An I/O thread's answer.
struct Done {
    id: u64,
    buf: AlignedBuf,
    result: io::Result<()>,
}

/// A submitted job, until it is confirmed.
struct Submitted {
    id: u64,
    /// End of the valid bytes it carries (the padded tail's zeros are not valid).
    valid_end: u64,
    /// `None` while in flight, then whether it succeeded.
    ok: Option<bool>,
}

struct IoThreads {
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for IoThreads {
    fn drop(&mut self) {
        self.jobs = None; // the threads end when the channel closes
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The O_DIRECT append path of one file.
pub(crate) struct DirectWriter {
    file: Arc<File>,
    faults: Option<Arc<dyn FaultInjector>>,
    /// Bytes per staging buffer (a multiple of the block size).
    buf_len: usize,
    /// The buffer being filled: `cur[..fill]` is file data from `base`.
    cur: AlignedBuf,
    fill: usize,
    base: u64,
    spare: Vec<AlignedBuf>,
    buffers: usize,
    in_flight: usize,
    io: Option<IoThreads>,
    /// Set by an I/O thread on failure: later jobs are skipped.
    failed: Arc<AtomicBool>,
    next_id: u64,
    submitted: VecDeque<Submitted>,
    /// End of the valid bytes handed to jobs so far.
    submitted_end: u64,
    confirmed_end: u64,
    /// Ends of appended records not yet confirmed, in order.
    boundaries: VecDeque<u64>,
    confirmed_boundary: u64,
    error: Option<io::Error>,
}

/// A copy of an I/O error (io::Error is not Clone): the OS error or kind and message.
fn copy_error(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

impl DirectWriter {
    /// Appends to `file` (opened with O_DIRECT) from offset 0, staging up to `max_write`
    /// bytes per buffer, with up to `in_flight` writes running on I/O threads.
    pub(crate) fn new(
        file: Arc<File>,
        faults: Option<Arc<dyn FaultInjector>>,
        max_write: usize,
        in_flight: usize,
    ) -> Self {
        let buf_len = max_write.clamp(DIRECT_ALIGN, MAX_STAGING).div_ceil(DIRECT_ALIGN) * DIRECT_ALIGN;
        DirectWriter {
            file,
            faults,
            buf_len,
            cur: AlignedBuf::new(buf_len),
            fill: 0,
            base: 0,
            spare: Vec::new(),
            buffers: 1,
            in_flight,
            io: None,
            failed: Arc::new(AtomicBool::new(false)),
            next_id: 0,
            submitted: VecDeque::new(),
            submitted_end: 0,
            confirmed_end: 0,
            boundaries: VecDeque::new(),
            confirmed_boundary: 0,
            error: None,
        }
    }

    /// The end of the last appended record that is wholly on the file.
    pub(crate) fn confirmed_boundary(&mut self) -> u64 {
        self.reap(false);
        self.confirmed_boundary
    }

    /// The sticky error of a failed write, if any.
    pub(crate) fn error(&mut self) -> Option<io::Error> {
        self.reap(false);
        self.error.as_ref().map(copy_error)
    }

    /// Appends `bufs` (whole records) at the end; returns the bytes accepted. They are
    /// on the file once [`confirmed_end`](Self::confirmed_end) passes them.
    pub(crate) fn append(&mut self, bufs: &[&[u8]]) -> io::Result<u64> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        let mut total = 0u64;
        for b in bufs {
            let mut rest: &[u8] = b;
            while !rest.is_empty() {
                let n = rest.len().min(self.buf_len - self.fill);
                let fill = self.fill;
                self.cur.as_mut_slice()[fill..fill + n].copy_from_slice(&rest[..n]);
                self.fill += n;
                rest = &rest[n..];
                total += n as u64;
                if self.fill == self.buf_len {
                    self.submit_full_blocks()?;
                }
            }
        }
        self.boundaries.push_back(self.base + self.fill as u64);
        // Small appends wait in the buffer for company (settle sends them when the
        // writer goes idle); big ones go now.
        if self.fill >= self.buf_len / 2 {
            self.submit_full_blocks()?;
        }
        Ok(total)
    }

    /// Sends the whole blocks of the current buffer; the partial last block moves to
    /// the start of the next buffer.
    fn submit_full_blocks(&mut self) -> io::Result<()> {
        let full = self.fill / DIRECT_ALIGN * DIRECT_ALIGN;
        if full == 0 {
            return Ok(());
        }
        if self.in_flight == 0 {
            // No I/O threads: write from the current buffer and keep it.
            self.write_here(full, self.base + full as u64);
            return match &self.error {
                Some(e) => Err(copy_error(e)),
                None => Ok(()),
            };
        }
        let mut next = self.take_buffer()?;
        let tail = self.fill - full;
        next.as_mut_slice()[..tail].copy_from_slice(&self.cur.as_slice()[full..self.fill]);
        let buf = std::mem::replace(&mut self.cur, next);
        let offset = self.base;
        self.base += full as u64;
        self.fill = tail;
        self.submit(buf, offset, full, offset + full as u64)
    }

    /// Writes `cur[..len]` (block aligned, zero-padded past `fill`) at `base` on this
    /// thread — nothing may be in flight — then moves the partial last block to the
    /// front of the buffer.
    fn write_here(&mut self, len: usize, valid_end: u64) {
        debug_assert!(!self.jobs_in_flight());
        let id = self.begin_job(valid_end);
        let result = if self.failed.load(Ordering::Acquire) {
            Err(skipped())
        } else {
            write_at(
                &self.file,
                self.faults.as_deref(),
                &self.cur.as_slice()[..len],
                self.base,
            )
        };
        self.finish_job(id, result);
        let full = self.fill / DIRECT_ALIGN * DIRECT_ALIGN;
        let fill = self.fill;
        self.cur.as_mut_slice().copy_within(full..fill, 0);
        self.base += full as u64;
        self.fill = fill - full;
    }

    /// Writes everything appended so far (the partial last block zero-padded) and waits
    /// for every write in flight. Returns the sticky error if any write failed.
    pub(crate) fn settle(&mut self) -> io::Result<()> {
        while self.jobs_in_flight() {
            self.reap(true);
        }
        if self.error.is_none() && self.base + self.fill as u64 > self.submitted_end {
            // Nothing is in flight now, so the padded tail is written right here, from
            // the current buffer: no second buffer, and the thread that opens a file
            // (which writes its header) never waits on a channel of ours. The partial
            // block stays for later appends, which write it again, completed.
            let aligned = self.fill.div_ceil(DIRECT_ALIGN) * DIRECT_ALIGN;
            let fill = self.fill;
            self.cur.as_mut_slice()[fill..aligned].fill(0);
            let valid_end = self.base + fill as u64;
            self.write_here(aligned, valid_end);
        }
        match &self.error {
            Some(e) => Err(copy_error(e)),
            None => Ok(()),
        }
    }

    /// Waits for every write in flight, then returns the last record boundary wholly on
    /// the file (where to cut the file after a failure).
    pub(crate) fn abandon(&mut self) -> u64 {
        while self.jobs_in_flight() {
            self.reap(true);
        }
        self.confirmed_boundary
    }

    /// Restarts appending at `len` (after the file was cut there). Everything in flight
    /// must have returned ([`settle`](Self::settle) or [`abandon`](Self::abandon)).
    pub(crate) fn reset_to(&mut self, len: u64) -> io::Result<()> {
        let base = len / DIRECT_ALIGN as u64 * DIRECT_ALIGN as u64;
        let keep = (len - base) as usize;
        let have = base == self.base && keep <= self.fill;
        if keep > 0 && !have {
            // The next append rewrites the block holding `len`, completed: it needs that
            // block's valid bytes.
            let stage = self.cur.as_mut_slice();
            // SAFETY: reads one aligned block into the aligned staging buffer (at least a
            // block long) at an aligned offset of a file we own.
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
        self.base = base;
        self.fill = keep;
        self.submitted_end = len;
        self.confirmed_end = self.confirmed_end.min(len);
        self.confirmed_boundary = self.confirmed_boundary.min(len);
        self.boundaries.retain(|&b| b <= len);
        Ok(())
    }

    fn jobs_in_flight(&self) -> bool {
        self.io.is_some() && self.submitted.iter().any(|s| s.ok.is_none())
    }

    fn set_error(&mut self, e: io::Error) {
        self.failed.store(true, Ordering::Release);
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// A free staging buffer: a spare, a new one while under the limit, or the next
    /// one an I/O thread gives back.
    fn take_buffer(&mut self) -> io::Result<AlignedBuf> {
        loop {
            if let Some(b) = self.spare.pop() {
                return Ok(b);
            }
            // The one being filled plus one per write in flight.
            if self.buffers < self.in_flight + 1 {
                self.buffers += 1;
                return Ok(AlignedBuf::new(self.buf_len));
            }
            if !self.jobs_in_flight() {
                // Cannot happen: buffers are either spare, current or in flight.
                return Err(io::Error::other("no staging buffer free"));
            }
            self.reap(true);
        }
    }

    /// Numbers a new job ending at `valid_end` and records it as in flight.
    fn begin_job(&mut self, valid_end: u64) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.submitted.push_back(Submitted {
            id,
            valid_end,
            ok: None,
        });
        self.submitted_end = self.submitted_end.max(valid_end);
        id
    }

    /// Hands a job to the I/O threads (started on first use).
    fn submit(&mut self, buf: AlignedBuf, offset: u64, len: usize, valid_end: u64) -> io::Result<()> {
        let id = self.begin_job(valid_end);
        if self.io.is_none() {
            match self.spawn() {
                Ok(io) => self.io = Some(io),
                Err(e) => {
                    self.complete(Done {
                        id,
                        buf,
                        result: Err(e),
                    });
                    return Err(copy_error(self.error.as_ref().expect("set by complete")));
                }
            }
        }
        let io = self.io.as_ref().expect("spawned above");
        let job = Job { id, buf, offset, len };
        if let Some(Err(e)) = io.jobs.as_ref().map(|tx| tx.send(job)) {
            // Only if every I/O thread is gone (they do not exit early).
            let Job { buf, .. } = e.into_inner();
            self.complete(Done {
                id,
                buf,
                result: Err(io::Error::other("the I/O threads stopped")),
            });
        }
        match &self.error {
            Some(e) => Err(copy_error(e)),
            None => Ok(()),
        }
    }

    fn spawn(&self) -> io::Result<IoThreads> {
        let (job_tx, job_rx) = unbounded::<Job>();
        let (done_tx, done_rx) = unbounded::<Done>();
        let mut threads = Vec::with_capacity(self.in_flight);
        for i in 0..self.in_flight {
            let (rx, tx) = (job_rx.clone(), done_tx.clone());
            let (file, faults, failed) = (
                Arc::clone(&self.file),
                self.faults.clone(),
                Arc::clone(&self.failed),
            );
            let t = std::thread::Builder::new()
                .name(format!("streamq-io-{i}"))
                .spawn(move || {
                    for job in rx {
                        let result = if failed.load(Ordering::Acquire) {
                            Err(skipped())
                        } else {
                            write_at(
                                &file,
                                faults.as_deref(),
                                &job.buf.as_slice()[..job.len],
                                job.offset,
                            )
                        };
                        if result.is_err() {
                            failed.store(true, Ordering::Release);
                        }
                        if tx
                            .send(Done {
                                id: job.id,
                                buf: job.buf,
                                result,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            match t {
                Ok(t) => threads.push(t),
                Err(e) => {
                    drop(IoThreads {
                        jobs: Some(job_tx),
                        done: done_rx,
                        threads,
                    });
                    return Err(e);
                }
            }
        }
        Ok(IoThreads {
            jobs: Some(job_tx),
            done: done_rx,
            threads,
        })
    }

    /// Takes the answers of finished jobs (waiting for one if `block`).
    fn reap(&mut self, block: bool) {
        let wait = block && self.jobs_in_flight();
        let Some(io) = &self.io else { return };
        let mut answers = Vec::new();
        let mut gone = false;
        if wait {
            match io.done.recv() {
                Ok(d) => answers.push(d),
                Err(_) => gone = true,
            }
        }
        while let Ok(d) = io.done.try_recv() {
            answers.push(d);
        }
        for d in answers {
            self.complete(d);
        }
        if gone {
            // Every I/O thread is gone (they only stop when the channel closes): what was
            // in flight will never answer.
            for s in self.submitted.iter_mut().filter(|s| s.ok.is_none()) {
                s.ok = Some(false);
            }
            self.set_error(io::Error::other("the I/O threads stopped"));
        }
    }

    fn complete(&mut self, d: Done) {
        self.spare.push(d.buf);
        self.finish_job(d.id, d.result);
    }

    /// Records a job's outcome and confirms what is now wholly on the file.
    fn finish_job(&mut self, id: u64, result: io::Result<()>) {
        let ok = result.is_ok();
        if let Err(e) = result {
            self.set_error(e);
        }
        if let Some(s) = self.submitted.iter_mut().find(|s| s.id == id) {
            s.ok = Some(ok);
        }
        // Confirm in file order, up to the first failed write: past it the file may
        // have holes, so nothing after it is ever confirmed.
        while self.submitted.front().is_some_and(|s| s.ok == Some(true)) {
            let s = self.submitted.pop_front().expect("front exists");
            self.confirmed_end = self.confirmed_end.max(s.valid_end);
        }
        while self.boundaries.front().is_some_and(|&b| b <= self.confirmed_end) {
            self.confirmed_boundary = self.boundaries.pop_front().expect("front exists");
        }
    }
}

impl Drop for DirectWriter {
    fn drop(&mut self) {
        // Join the I/O threads before the buffers they hold are freed with them.
        self.io = None;
    }
}

fn skipped() -> io::Error {
    io::Error::other("write skipped: an earlier write failed")
}

/// Writes block-aligned `data` at the block-aligned `offset` (retrying EINTR and short
/// writes), after the fault hook.
fn write_at(file: &File, faults: Option<&dyn FaultInjector>, data: &[u8], offset: u64) -> io::Result<()> {
    let mut len = data.len();
    let mut fault_err = None;
    if let Some(f) = faults {
        match f.before_write(offset, data.len()) {
            Fault::None => {}
            Fault::Error(errno) => return Err(io::Error::from_raw_os_error(errno)),
            Fault::Short(n) => {
                // What a filling disk does: some whole blocks, then ENOSPC.
                len = n.min(data.len()) / DIRECT_ALIGN * DIRECT_ALIGN;
                fault_err = Some(io::Error::from_raw_os_error(libc::ENOSPC));
            }
        }
    }
    let data = &data[..len];
    let mut done = 0usize;
    while done < len {
        // SAFETY: `data[done..]` is a live slice of a block-aligned buffer; its length
        // and the offset `offset + done` stay block aligned (the kernel writes
        // whole blocks under O_DIRECT); the fd is open for writing.
        let n = unsafe {
            libc::pwrite(
                file.as_raw_fd(),
                data[done..].as_ptr() as *const libc::c_void,
                len - done,
                (offset + done as u64) as libc::off_t,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 || !(n as usize).is_multiple_of(DIRECT_ALIGN) {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short direct write"));
        }
        done += n as usize;
    }
    match fault_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Condvar, Mutex};

    /// Holds every write until opened; counts the writes that reached it.
    #[derive(Default)]
    struct Gate {
        open: Mutex<bool>,
        opened: Condvar,
        arrived: Mutex<usize>,
        arrival: Condvar,
    }

    impl Gate {
        fn open(&self) {
            *self.open.lock().unwrap() = true;
            self.opened.notify_all();
        }
        fn wait_arrivals(&self, n: usize) {
            let mut a = self.arrived.lock().unwrap();
            while *a < n {
                a = self.arrival.wait(a).unwrap();
            }
        }
    }

    impl FaultInjector for Gate {
        fn before_write(&self, _offset: u64, _len: usize) -> Fault {
            *self.arrived.lock().unwrap() += 1;
            self.arrival.notify_all();
            let mut open = self.open.lock().unwrap();
            while !*open {
                open = self.opened.wait(open).unwrap();
            }
            Fault::None
        }
    }

    fn open_direct(dir: &std::path::Path) -> Option<File> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_DIRECT)
            .open(dir.join("d.bin"))
            .ok()
    }

    #[test]
    fn appends_return_while_writes_are_in_flight_and_confirm_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let Some(file) = open_direct(dir.path()) else {
            eprintln!("skipping: no O_DIRECT on the temp dir's file system");
            return;
        };
        let gate = Arc::new(Gate::default());
        let mut w = DirectWriter::new(
            Arc::new(file),
            Some(Arc::clone(&gate) as Arc<dyn FaultInjector>),
            64 << 10,
            2,
        );
        struct OpenOnDrop(Arc<Gate>);
        impl Drop for OpenOnDrop {
            fn drop(&mut self) {
                self.0.open();
            }
        }
        let _opener = OpenOnDrop(Arc::clone(&gate));
        // Two 64 KiB records plus a bit: each fills a staging buffer, which goes to an I/O
        // thread (both wait at the gate), and both appends return at once — the third
        // buffer (one being filled + one per write in flight) holds the rest.
        let recs: Vec<Vec<u8>> = (0..2u8).map(|i| vec![i + 1; (64 << 10) + 100]).collect();
        for r in &recs {
            assert_eq!(w.append(&[r]).unwrap(), r.len() as u64);
        }
        gate.wait_arrivals(2);
        assert_eq!(
            w.confirmed_boundary(),
            0,
            "nothing is confirmed while its write waits"
        );
        gate.open();
        w.settle().unwrap();
        let total: u64 = recs.iter().map(|r| r.len() as u64).sum();
        assert_eq!(w.confirmed_boundary(), total);
        // The file holds the records in order (then the zero padding of the last block).
        let mut got = std::fs::read(dir.path().join("d.bin")).unwrap();
        assert_eq!(
            got.len() as u64,
            total.div_ceil(DIRECT_ALIGN as u64) * DIRECT_ALIGN as u64
        );
        assert!(got[total as usize..].iter().all(|&b| b == 0));
        got.truncate(total as usize);
        assert_eq!(got, recs.concat());
    }

    #[test]
    fn a_settled_tail_is_rewritten_completed_by_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let Some(file) = open_direct(dir.path()) else {
            eprintln!("skipping: no O_DIRECT on the temp dir's file system");
            return;
        };
        for in_flight in [0, 1, 3] {
            let mut w = DirectWriter::new(Arc::new(file.try_clone().unwrap()), None, 16 << 10, in_flight);
            w.reset_to(0).unwrap();
            let mut all = Vec::new();
            for i in 0..40u32 {
                // Odd sizes: records straddle blocks and buffers.
                let r = vec![(i % 251) as u8; 1000 + (i as usize * 977) % 9000];
                w.append(&[&r]).unwrap();
                all.extend_from_slice(&r);
                if i % 3 == 0 {
                    w.settle().unwrap();
                    assert_eq!(w.confirmed_boundary(), all.len() as u64);
                }
            }
            w.settle().unwrap();
            let got = std::fs::read(dir.path().join("d.bin")).unwrap();
            assert_eq!(&got[..all.len()], &all[..], "in_flight {in_flight}");
        }
    }
}
