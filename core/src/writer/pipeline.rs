//! The writer's pipeline: frames claimed from the rings, in claim order, on their way to
//! the sink, with zstd compression on a pool of workers in between.
//!
//! The writer thread claims frames in place (or copies them, for DropOldest streams) and
//! appends them to one FIFO, each stream's drop records before the frames that follow
//! them. Frames to compress are grouped into jobs of about [`JOB_BYTES`] and sent to the
//! workers, which take the next job as soon as they are free. While they compress, the
//! writer thread claims more frames (up to the budget) and writes the front of the FIFO
//! as soon as it is done, so a worker never waits for a write or for the other workers
//! to finish a batch, and the file keeps the claim order however the jobs finish.
//!
//! A frame's ring space is released once the write holding it has been accepted by the
//! sink (which then has its own copy, or the bytes are on file): until then a worker or
//! the sink may read it. Raw frames are written straight from the ring.
//!
//! **Budget.** The FIFO holds at most `budget` raw bytes (plus the one frame a claim
//! always takes): that bounds the ring space held, the DropOldest copies, and the
//! compressed output (each frame's output is at most zstd's bound for it). Output
//! buffers are reused; the spares kept are bounded by the budget too.

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, unbounded};

use crate::queue::Claimed;
use crate::signal::Signal;
use crate::writer::error::WriterError;
use crate::writer::sink::{Item, OutFrame};
use crate::{Consumer, FrameInfo, Gap};

/// Raw bytes gathered into one compression job: a 900 KiB frame is a job of its own,
/// while small frames go many at a time (one channel round trip per job, not per frame).
pub(crate) const JOB_BYTES: usize = 256 << 10;
/// Frames below this size are stored raw: zstd's frame header would eat the gain.
const MIN_COMPRESS: usize = 64;

// ---------------------------------------------------------------------------------------
// Workers

/// One compression job: frames (pointers into the ring or into a copy buffer) and the
/// buffer to compress them into.
struct Job {
    id: u64,
    level: i32,
    frames: Vec<(*const u8, usize)>,
    out: Vec<u8>,
}

// SAFETY: the pointers reference frame bytes that the writer thread keeps claimed in the
// ring (or keeps in a copy buffer it owns) and leaves untouched until it has received
// this job's reply: `Pipeline` releases a frame only after it is written, a frame is
// written only once its job has answered, and `Pipeline::abandon`/`Drop` wait for every
// outstanding reply. So the bytes stay valid and unmodified while a worker reads them.
unsafe impl Send for Job {}

/// A worker's answer: per frame, the compressed bytes' range in `out` (`None`: stored
/// raw, because compression did not make it smaller).
struct Reply {
    id: u64,
    out: Vec<u8>,
    spans: Vec<Option<(usize, usize)>>,
    /// The job failed (zstd error or a panic): every frame of it is stored raw.
    failed: bool,
}

struct Workers {
    jobs: Option<Sender<Job>>,
    replies: Receiver<Reply>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    fn start(n: usize, notify: Arc<Signal>) -> std::io::Result<Self> {
        let (job_tx, job_rx) = unbounded::<Job>();
        let (reply_tx, reply_rx) = unbounded::<Reply>();
        let mut threads = Vec::with_capacity(n);
        for i in 0..n {
            let rx = job_rx.clone();
            let tx = reply_tx.clone();
            let notify = Arc::clone(&notify);
            let spawned = std::thread::Builder::new()
                .name(format!("streamq-zstd-{i}"))
                .spawn(move || worker(rx, tx, notify));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    drop(job_tx);
                    for t in threads {
                        let _ = t.join();
                    }
                    return Err(e);
                }
            }
        }
        Ok(Workers {
            jobs: Some(job_tx),
            replies: reply_rx,
            threads,
        })
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.jobs = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn worker(jobs: Receiver<Job>, replies: Sender<Reply>, notify: Arc<Signal>) {
    // One compression context per worker, reused for every frame (zstd's advice: a
    // context allocates its tables once).
    let mut ctx: Option<(i32, zstd::bulk::Compressor<'static>)> = None;
    while let Ok(job) = jobs.recv() {
        let Job {
            id,
            level,
            frames,
            mut out,
        } = job;
        out.clear();
        let mut spans = Vec::with_capacity(frames.len());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> std::io::Result<()> {
            let c = match &mut ctx {
                Some((l, c)) if *l == level => c,
                _ => {
                    ctx = Some((level, zstd::bulk::Compressor::new(level)?));
                    &mut ctx.as_mut().expect("just set").1
                }
            };
            for &(ptr, len) in &frames {
                // SAFETY: see `unsafe impl Send for Job`: the bytes stay valid and
                // unchanged until this job's reply has been received.
                let data = unsafe { std::slice::from_raw_parts(ptr, len) };
                let start = out.len();
                out.reserve(zstd::zstd_safe::compress_bound(len));
                let mut dst = std::io::Cursor::new(&mut out);
                dst.set_position(start as u64);
                let n = c.compress_to_buffer(data, &mut dst)?;
                if n < len {
                    spans.push(Some((start, n)));
                } else {
                    out.truncate(start);
                    spans.push(None);
                }
            }
            Ok(())
        }));
        let failed = !matches!(result, Ok(Ok(())));
        if replies
            .send(Reply {
                id,
                out,
                spans,
                failed,
            })
            .is_err()
        {
            return;
        }
        // The writer thread may sleep on the doorbell waiting for this.
        notify.notify();
    }
}

// ---------------------------------------------------------------------------------------
// The FIFO

enum State {
    /// In a job a worker has not answered yet.
    Compressing,
    /// Compressed: `out[start..start + len]` of job `job`.
    Packed { job: u64, start: usize, len: usize },
    /// Stored as it is.
    Raw,
}

struct FrameEntry {
    stream: usize,
    id: u16,
    info: FrameInfo,
    data: *const u8,
    len: usize,
    /// In the ring: the position to release up to once written. `None`: a copy.
    ring_end: Option<u64>,
    state: State,
}

enum Entry {
    Gap { id: u16, gap: Gap },
    Frame(FrameEntry),
}

struct JobSlot {
    /// Entry numbers of its frames, in order.
    frames: Vec<u64>,
    out: Option<Vec<u8>>,
    answered: bool,
}

/// What one write of the FIFO's front holds, for the engine's counters.
#[derive(Default)]
pub(crate) struct WriteSummary {
    /// (stream index, frames, raw payload bytes, last seq), in order of appearance.
    pub(crate) per_stream: Vec<(usize, u64, u64, u64)>,
    pub(crate) frames_compressed: u64,
    pub(crate) compressed_raw_bytes: u64,
    pub(crate) compressed_stored_bytes: u64,
    pub(crate) frames_stored_raw: u64,
}

/// The frames between the rings and the sink; see the module documentation.
pub(crate) struct Pipeline {
    level: Option<i32>,
    workers: Option<Workers>,
    budget: usize,
    entries: VecDeque<Entry>,
    /// Number of `entries[0]`; entries are numbered in FIFO order from 0.
    base: u64,
    /// Raw payload bytes of the frames in `entries`.
    bytes: usize,
    /// Jobs by id (`job_base` is the id of `jobs[0]`), freed once all their frames are
    /// written.
    jobs: VecDeque<JobSlot>,
    job_base: u64,
    /// Jobs sent and not answered yet.
    outstanding: usize,
    /// The job being gathered: (frames, entry numbers, raw bytes).
    open: (Vec<(*const u8, usize)>, Vec<u64>, usize),
    /// DropOldest copies: (number of the last entry using it, buffer).
    copies: VecDeque<(u64, Vec<u8>)>,
    /// Reusable output / copy buffers, their capacities summing to at most `budget`.
    spare: Vec<Vec<u8>>,
    spare_bytes: usize,
}

impl Pipeline {
    /// A pipeline holding up to `budget` raw bytes; with `level`, `workers` threads
    /// compress (they ring `notify` after each job).
    pub(crate) fn new(
        level: Option<i32>,
        workers: usize,
        budget: usize,
        notify: Arc<Signal>,
    ) -> std::io::Result<Self> {
        let workers = match level {
            Some(_) => Some(Workers::start(workers.max(1), notify)?),
            None => None,
        };
        Ok(Pipeline {
            level,
            workers,
            budget,
            entries: VecDeque::new(),
            base: 0,
            bytes: 0,
            jobs: VecDeque::new(),
            job_base: 0,
            outstanding: 0,
            open: (Vec::new(), Vec::new(), 0),
            copies: VecDeque::new(),
            spare: Vec::new(),
            spare_bytes: 0,
        })
    }

    /// Whether nothing is in the pipeline.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Raw bytes that may still be claimed (a claim always takes its first frame).
    pub(crate) fn room(&self) -> usize {
        self.budget.saturating_sub(self.bytes)
    }

    /// Whether a worker has answered and `collect` would take it.
    pub(crate) fn has_replies(&self) -> bool {
        self.workers.as_ref().is_some_and(|w| !w.replies.is_empty())
    }

    /// Appends frames claimed in place from stream `stream` (its gaps first where they
    /// belong). `compress`: whether they are to be compressed (not while the stream is
    /// behind).
    pub(crate) fn admit_claimed(
        &mut self,
        stream: usize,
        id: u16,
        gaps: Vec<Gap>,
        frames: &[Claimed],
        compress: bool,
    ) {
        let mut gaps = gaps.into_iter().peekable();
        for f in frames {
            while let Some(g) = gaps.next_if(|g| g.first_seq < f.info.seq) {
                self.entries.push_back(Entry::Gap { id, gap: g });
            }
            self.push_frame(stream, id, f.info, f.data, f.len, Some(f.end), compress);
        }
        for g in gaps {
            self.entries.push_back(Entry::Gap { id, gap: g });
        }
        self.submit();
    }

    /// Appends frames copied out of stream `stream`'s ring into `buf` (`ranges` into it).
    pub(crate) fn admit_copies(
        &mut self,
        stream: usize,
        id: u16,
        gaps: Vec<Gap>,
        frames: &[(FrameInfo, std::ops::Range<usize>)],
        buf: Vec<u8>,
        compress: bool,
    ) {
        let mut gaps = gaps.into_iter().peekable();
        for (info, r) in frames {
            while let Some(g) = gaps.next_if(|g| g.first_seq < info.seq) {
                self.entries.push_back(Entry::Gap { id, gap: g });
            }
            // The buffer's heap block does not move when the Vec is moved below.
            let data = buf[r.clone()].as_ptr();
            self.push_frame(stream, id, *info, data, r.len(), None, compress);
        }
        for g in gaps {
            self.entries.push_back(Entry::Gap { id, gap: g });
        }
        let last = self.base + self.entries.len() as u64 - 1;
        self.copies.push_back((last, buf));
        self.submit();
    }

    /// A buffer for copies (a spare one when there is one).
    pub(crate) fn copy_buffer(&mut self) -> Vec<u8> {
        let mut b = self.spare.pop().unwrap_or_default();
        self.spare_bytes -= b.capacity();
        b.clear();
        b
    }

    /// Returns a copy buffer that was not used.
    pub(crate) fn give_back(&mut self, buf: Vec<u8>) {
        self.keep_spare(buf);
    }

    #[allow(clippy::too_many_arguments)]
    fn push_frame(
        &mut self,
        stream: usize,
        id: u16,
        info: FrameInfo,
        data: *const u8,
        len: usize,
        ring_end: Option<u64>,
        compress: bool,
    ) {
        let no = self.base + self.entries.len() as u64;
        let state = match self.level {
            Some(_) if compress && len >= MIN_COMPRESS => {
                self.open.0.push((data, len));
                self.open.1.push(no);
                self.open.2 += len;
                State::Compressing
            }
            _ => State::Raw,
        };
        self.entries.push_back(Entry::Frame(FrameEntry {
            stream,
            id,
            info,
            data,
            len,
            ring_end,
            state,
        }));
        self.bytes += len;
        if self.open.2 >= JOB_BYTES {
            self.submit();
        }
    }

    /// Sends the job being gathered, if it has frames.
    fn submit(&mut self) {
        if self.open.0.is_empty() {
            return;
        }
        let (Some(level), Some(w)) = (self.level, &self.workers) else {
            return;
        };
        let frames = std::mem::take(&mut self.open.0);
        let numbers = std::mem::take(&mut self.open.1);
        self.open.2 = 0;
        let id = self.job_base + self.jobs.len() as u64;
        let out = match self.spare.pop() {
            Some(b) => {
                self.spare_bytes -= b.capacity();
                b
            }
            None => Vec::new(),
        };
        self.jobs.push_back(JobSlot {
            frames: numbers,
            out: None,
            answered: false,
        });
        let sent = w.jobs.as_ref().is_some_and(|tx| {
            tx.send(Job {
                id,
                level,
                frames,
                out,
            })
            .is_ok()
        });
        if sent {
            self.outstanding += 1;
        } else {
            // No worker left (cannot happen while the pool lives): store raw.
            self.apply(Reply {
                id,
                out: Vec::new(),
                spans: Vec::new(),
                failed: true,
            });
        }
    }

    fn apply(&mut self, r: Reply) {
        let slot = &mut self.jobs[(r.id - self.job_base) as usize];
        slot.answered = true;
        for (k, no) in slot.frames.iter().enumerate() {
            let span = if r.failed {
                None
            } else {
                r.spans.get(k).copied().flatten()
            };
            if let Some(Entry::Frame(f)) = self.entries.get_mut((no - self.base) as usize) {
                f.state = match span {
                    Some((start, len)) => State::Packed {
                        job: r.id,
                        start,
                        len,
                    },
                    None => State::Raw,
                };
            }
        }
        slot.out = Some(r.out);
    }

    /// Takes the workers' answers that are in, without waiting; true if there were any.
    pub(crate) fn collect(&mut self) -> Result<bool, WriterError> {
        let mut any = false;
        while self.outstanding > 0 {
            let r = match &self.workers {
                Some(w) => w.replies.try_recv(),
                None => break,
            };
            match r {
                Ok(r) => {
                    self.outstanding -= 1;
                    self.apply(r);
                    any = true;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Err(workers_gone()),
            }
        }
        Ok(any)
    }

    /// Waits for the next answer of a worker, until `deadline`; true if one came.
    pub(crate) fn wait_reply(&mut self, deadline: Option<Instant>) -> Result<bool, WriterError> {
        if self.outstanding == 0 {
            return Ok(false);
        }
        let Some(w) = &self.workers else { return Ok(false) };
        let r = match deadline {
            Some(d) => w.replies.recv_deadline(d),
            None => w.replies.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match r {
            Ok(r) => {
                self.outstanding -= 1;
                self.apply(r);
                Ok(true)
            }
            Err(RecvTimeoutError::Timeout) => Ok(false),
            Err(RecvTimeoutError::Disconnected) => Err(workers_gone()),
        }
    }

    /// How many entries at the front are done (gaps, raw or compressed frames), up to
    /// about `max_bytes` stored bytes (at least one entry when the front is done).
    pub(crate) fn ready(&self, max_bytes: usize) -> usize {
        let mut n = 0;
        let mut bytes = 0usize;
        for e in &self.entries {
            let stored = match e {
                Entry::Gap { .. } => 0,
                Entry::Frame(f) => match f.state {
                    State::Compressing => break,
                    State::Packed { len, .. } => len,
                    State::Raw => f.len,
                },
            };
            if n > 0 && bytes + stored > max_bytes {
                break;
            }
            bytes += stored;
            n += 1;
        }
        n
    }

    /// The first `n` entries (all done) as sink items.
    pub(crate) fn items(&self, n: usize) -> Vec<Item<'_>> {
        self.entries
            .iter()
            .take(n)
            .map(|e| match e {
                Entry::Gap { id, gap } => Item::Gap(*id, *gap),
                Entry::Frame(f) => {
                    // SAFETY: the frame is claimed in the ring (or in a copy buffer this
                    // pipeline owns) until it leaves the FIFO in `written`, and nobody
                    // writes it meanwhile; the slice does not outlive `&self`.
                    let data = unsafe { std::slice::from_raw_parts(f.data, f.len) };
                    let packed = match f.state {
                        State::Packed { job, start, len } => self.jobs[(job - self.job_base) as usize]
                            .out
                            .as_deref()
                            .map(|o| &o[start..start + len]),
                        _ => None,
                    };
                    Item::Frame(OutFrame {
                        stream: f.id,
                        info: f.info,
                        data,
                        packed,
                    })
                }
            })
            .collect()
    }

    /// The counters of the first `n` entries.
    pub(crate) fn summary(&self, n: usize) -> WriteSummary {
        let mut s = WriteSummary::default();
        for e in self.entries.iter().take(n) {
            let Entry::Frame(f) = e else { continue };
            match f.state {
                State::Packed { len, .. } => {
                    s.frames_compressed += 1;
                    s.compressed_raw_bytes += f.len as u64;
                    s.compressed_stored_bytes += len as u64;
                }
                _ if self.level.is_some() => s.frames_stored_raw += 1,
                _ => {}
            }
            match s.per_stream.iter_mut().find(|p| p.0 == f.stream) {
                Some(p) => {
                    p.1 += 1;
                    p.2 += f.len as u64;
                    p.3 = f.info.seq;
                }
                None => s.per_stream.push((f.stream, 1, f.len as u64, f.info.seq)),
            }
        }
        s
    }

    /// Removes the first `n` entries (written, or failed): releases their ring space
    /// and recycles the buffers nothing refers to any more.
    pub(crate) fn remove(&mut self, n: usize, consumers: &mut [Consumer]) {
        // Per stream: (release up to, frames, bytes).
        let mut release: Vec<(usize, u64, u64, u64)> = Vec::new();
        for _ in 0..n {
            let Some(e) = self.entries.pop_front() else { break };
            self.base += 1;
            let Entry::Frame(f) = e else { continue };
            debug_assert!(!matches!(f.state, State::Compressing));
            self.bytes -= f.len;
            if let Some(end) = f.ring_end {
                match release.iter_mut().find(|r| r.0 == f.stream) {
                    Some(r) => {
                        r.1 = end;
                        r.2 += 1;
                        r.3 += f.len as u64;
                    }
                    None => release.push((f.stream, end, 1, f.len as u64)),
                }
            }
        }
        for (stream, end, frames, bytes) in release {
            consumers[stream].release_claimed(end, frames, bytes);
        }
        while self.copies.front().is_some_and(|(last, _)| *last < self.base) {
            let (_, b) = self.copies.pop_front().expect("front exists");
            self.keep_spare(b);
        }
        while self
            .jobs
            .front()
            .is_some_and(|j| j.answered && j.frames.last().is_none_or(|l| *l < self.base))
        {
            let j = self.jobs.pop_front().expect("front exists");
            self.job_base += 1;
            if let Some(b) = j.out {
                self.keep_spare(b);
            }
        }
    }

    fn keep_spare(&mut self, b: Vec<u8>) {
        if b.capacity() > 0 && self.spare_bytes + b.capacity() <= self.budget {
            self.spare_bytes += b.capacity();
            self.spare.push(b);
        }
    }

    /// After a failure: waits until no worker reads a frame any more, then removes
    /// everything. Returns the frames removed per stream (index, count): they failed.
    pub(crate) fn abandon(&mut self, consumers: &mut [Consumer]) -> Vec<(usize, u64)> {
        self.drain_workers();
        let mut failed: Vec<(usize, u64)> = Vec::new();
        for e in &mut self.entries {
            if let Entry::Frame(f) = e {
                // Nothing reads it any more; `remove` wants no frame mid-compression.
                if let State::Compressing = f.state {
                    f.state = State::Raw;
                }
                match failed.iter_mut().find(|x| x.0 == f.stream) {
                    Some(x) => x.1 += 1,
                    None => failed.push((f.stream, 1)),
                }
            }
        }
        let n = self.entries.len();
        self.remove(n, consumers);
        failed
    }

    /// Waits for the answer of every job sent (they read frame memory).
    fn drain_workers(&mut self) {
        self.submit();
        while self.outstanding > 0 {
            let Some(w) = &self.workers else { break };
            match w.replies.recv() {
                Ok(r) => {
                    self.outstanding -= 1;
                    self.apply(r);
                }
                // Every worker is gone: nothing reads frame memory any more.
                Err(_) => break,
            }
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        // Frame memory (ring or copies) may go away after this: no worker may still
        // read it.
        self.drain_workers();
    }
}

fn workers_gone() -> WriterError {
    WriterError::Panicked("compression workers stopped".into())
}
