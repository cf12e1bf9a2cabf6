//! The directory sink: one file per frame (`frame-000001.raw`), written by a pool of
//! I/O workers so a bounded number of writes is in flight (F5: neither one synchronous
//! write at a time nor unlimited parallel writes thrashing the disk).

mod io_pool;

use std::path::{Path, PathBuf};

use crate::format::StreamDef;
use crate::writer::directory_sink::io_pool::{Pool, Task};
use crate::writer::error::WriterError;
use crate::writer::report::FinishedSegment;
use crate::writer::sink::{Item, Sink};

pub(crate) struct DirSink {
    root: PathBuf,
    pool: Pool,
    /// Per stream id: its directory.
    dirs: Vec<PathBuf>,
    frames: u64,
    bytes: u64,
    gaps_log: Vec<String>,
}

impl DirSink {
    pub(crate) fn create(root: &Path, workers: usize) -> Result<Self, WriterError> {
        std::fs::create_dir_all(root).map_err(|e| WriterError::io("create directory", root, &e))?;
        let pool =
            Pool::new(workers, "io").map_err(|e| WriterError::io("start I/O workers for", root, &e))?;
        Ok(DirSink {
            root: root.to_path_buf(),
            pool,
            dirs: Vec::new(),
            frames: 0,
            bytes: 0,
            gaps_log: Vec::new(),
        })
    }

    fn dir_of(&self, stream: u16) -> &Path {
        self.dirs.get(stream as usize).map_or(&self.root, |p| p.as_path())
    }
}

impl Sink for DirSink {
    fn add_stream(&mut self, def: &StreamDef) -> Result<(), WriterError> {
        // The first stream writes into the root (the plain one-stream layout); later
        // streams get a sub-directory named after them.
        let dir = if def.id == 0 {
            self.root.clone()
        } else {
            self.root.join(sanitize(&def.name))
        };
        std::fs::create_dir_all(&dir).map_err(|e| WriterError::io("create directory", &dir, &e))?;
        while self.dirs.len() <= def.id as usize {
            self.dirs.push(self.root.clone());
        }
        self.dirs[def.id as usize] = dir;
        Ok(())
    }

    fn write(&mut self, items: &[Item<'_>]) -> Result<u64, WriterError> {
        let mut jobs = Vec::new();
        for item in items {
            match item {
                Item::Frame(f) => {
                    let path = self.dir_of(f.stream).join(format!("frame-{:06}.raw", f.info.seq));
                    jobs.push((f.data, path));
                }
                Item::Gap(stream, g) => self
                    .gaps_log
                    .push(format!("{stream} {} {} {:?}", g.first_seq, g.count, g.reason)),
            }
        }
        let results = self
            .pool
            .run(jobs.iter().map(|(d, p)| (*d, Task::WriteFile(p.clone()))));
        let mut stored = 0;
        for (r, (d, p)) in results.into_iter().zip(&jobs) {
            if let Err(e) = r {
                return Err(WriterError::io("write", p, &e));
            }
            stored += d.len() as u64;
        }
        self.frames += jobs.len() as u64;
        self.bytes += stored;
        Ok(stored)
    }

    fn sync(&mut self) -> Result<(), WriterError> {
        // Each file is closed by its worker; syncing the directory makes the new names
        // durable. (Per-file data sync would need the files open; the OS writes back.)
        let d = std::fs::File::open(&self.root).map_err(|e| WriterError::io("open", &self.root, &e))?;
        d.sync_all().map_err(|e| WriterError::io("fsync", &self.root, &e))
    }

    fn finish(&mut self) -> Result<Option<FinishedSegment>, WriterError> {
        if !self.gaps_log.is_empty() {
            let path = self.root.join("gaps.txt");
            let mut text = String::from("# stream first_seq count reason\n");
            for l in &self.gaps_log {
                text.push_str(l);
                text.push('\n');
            }
            std::fs::write(&path, text).map_err(|e| WriterError::io("write", &path, &e))?;
        }
        self.sync()?;
        Ok(Some(FinishedSegment {
            path: self.root.clone(),
            index: 0,
            bytes: self.bytes,
            frame_ranges: Vec::new(),
        }))
    }
}

fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "stream".into() } else { s }
}
