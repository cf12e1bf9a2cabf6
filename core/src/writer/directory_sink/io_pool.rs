//! A fixed pool of worker threads that write the frames of one batch in parallel, one
//! file per frame (the directory sink), and hand results back by index. (Compression
//! has its own workers: `pipeline.rs`.)
//!
//! Jobs point straight into ring memory: the writer thread keeps the batch claimed (its
//! space cannot be reused) until every job of the batch has answered.

use std::path::PathBuf;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};

/// One unit of work.
pub(crate) enum Task {
    /// Write the bytes to a new file at this path.
    WriteFile(PathBuf),
}

/// The answer to one job.
pub(crate) enum Output {
    /// The file was written.
    Written,
}

struct Job {
    index: usize,
    data: *const u8,
    len: usize,
    task: Task,
    reply: Sender<(usize, Result<Output, std::io::Error>)>,
}

// SAFETY: `data` points into ring memory that the submitting writer thread keeps claimed
// until it has received this job's reply (see `Pool::run`), so the bytes stay valid and
// unmodified while a worker reads them.
unsafe impl Send for Job {}

pub(crate) struct Pool {
    jobs: Option<Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
    reply_tx: Sender<(usize, Result<Output, std::io::Error>)>,
    reply_rx: Receiver<(usize, Result<Output, std::io::Error>)>,
}

impl Pool {
    pub(crate) fn new(workers: usize, name: &str) -> std::io::Result<Self> {
        let (tx, rx) = unbounded::<Job>();
        let mut threads = Vec::with_capacity(workers);
        for i in 0..workers {
            let rx = rx.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("streamq-{name}-{i}"))
                    .spawn(move || worker(rx))?,
            );
        }
        let (reply_tx, reply_rx) = unbounded();
        Ok(Pool {
            jobs: Some(tx),
            threads,
            reply_tx,
            reply_rx,
        })
    }

    /// Runs `task(i)` on `items[i]` for every item in parallel and returns the outputs in
    /// item order. Blocks until all are done, so the borrowed slices outlive the jobs.
    pub(crate) fn run<'a>(
        &self,
        items: impl Iterator<Item = (&'a [u8], Task)>,
    ) -> Vec<Result<Output, std::io::Error>> {
        let jobs = self.jobs.as_ref().expect("pool is running");
        let mut n = 0;
        for (index, (data, task)) in items.enumerate() {
            let job = Job {
                index,
                data: data.as_ptr(),
                len: data.len(),
                task,
                reply: self.reply_tx.clone(),
            };
            if jobs.send(job).is_err() {
                break;
            }
            n += 1;
        }
        let mut out: Vec<Option<Result<Output, std::io::Error>>> = (0..n).map(|_| None).collect();
        for _ in 0..n {
            match self.reply_rx.recv() {
                Ok((i, r)) => out[i] = Some(r),
                Err(_) => break,
            }
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(std::io::Error::other("worker thread died"))))
            .collect()
    }
}

fn worker(rx: Receiver<Job>) {
    while let Ok(job) = rx.recv() {
        // SAFETY: see `unsafe impl Send for Job`: the slice is valid until we reply.
        let data = unsafe { std::slice::from_raw_parts(job.data, job.len) };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &job.task {
            Task::WriteFile(path) => {
                std::fs::write(path, data)?;
                Ok(Output::Written)
            }
        }))
        .unwrap_or_else(|_| Err(std::io::Error::other("worker panicked")));
        let _ = job.reply.send((job.index, result));
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.jobs = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
