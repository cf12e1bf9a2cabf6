//! Shared by the commands: the error type, opening captures (one file, several
//! segments, or the base name of a segmented capture), choosing a stream.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use streamq::format::MAGIC;
use streamq::reader::{Reader, ReaderError};
use streamq::writer::segment_path;

/// Exit code: success / nothing wrong.
pub const EXIT_OK: u8 = 0;
/// Exit code: the command ran and found damage, or failed at run time.
pub const EXIT_FAIL: u8 = 1;
/// Exit code: usage error, unreadable input, or input that is not a streamq capture.
pub const EXIT_USAGE: u8 = 2;

/// A command's failure: one line for stderr and an exit code.
#[derive(Debug)]
pub struct Failure {
    /// Exit code.
    pub code: u8,
    /// The message, without the `streamq: ` prefix.
    pub msg: String,
}

impl Failure {
    pub fn usage(msg: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_USAGE,
            msg: msg.into(),
        }
    }

    pub fn fail(msg: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_FAIL,
            msg: msg.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

/// What each command returns: its exit code, or a failure to report.
pub type CmdResult = Result<u8, Failure>;

/// An I/O error as people read it: `No such file or directory`, without the
/// `(os error 2)` suffix.
pub fn io_msg(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Maps an error writing to stdout: a closed pipe (`streamq cat … | head`) ends the
/// command quietly; anything else is a failure.
pub fn stdout_error(e: io::Error) -> Failure {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Failure {
            code: EXIT_OK,
            msg: String::new(),
        }
    } else {
        Failure::fail(format!("cannot write to stdout: {}", io_msg(&e)))
    }
}

/// Whether `path` starts with the capture magic (so it is a streamq capture, maybe
/// damaged) — `false` for short, empty or foreign files.
fn has_magic(path: &Path) -> bool {
    let mut buf = [0u8; 8];
    match std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut buf)) {
        Ok(()) => buf == MAGIC,
        Err(_) => false,
    }
}

/// Turns the command-line paths into the segment list to open: every path as
/// given, except that a path that does not exist but is the base name of a
/// segmented capture (`cap.sqcap` → `cap-000000.sqcap`, `cap-000001.sqcap` …) expands
/// to its segments.
pub fn expand_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if !p.exists() && segment_path(p, 0).exists() {
            let mut n = 0u32;
            loop {
                let s = segment_path(p, n);
                if !s.exists() {
                    break;
                }
                out.push(s);
                n += 1;
            }
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// A usage failure unless `p` exists and is not a directory.
pub fn check_regular_file(p: &std::path::Path) -> Result<(), Failure> {
    match std::fs::metadata(p) {
        Err(e) => Err(Failure::usage(format!(
            "cannot open {}: {}",
            p.display(),
            io_msg(&e)
        ))),
        Ok(m) if m.is_dir() => Err(Failure::usage(format!(
            "cannot open {}: is a directory",
            p.display()
        ))),
        Ok(_) => Ok(()),
    }
}

/// Checks that every path is a readable regular file (clear messages for the usual
/// mistakes), then opens them as one capture.
pub fn open_capture(paths: &[PathBuf]) -> Result<(Reader, Vec<PathBuf>), Failure> {
    let paths = expand_paths(paths);
    if paths.is_empty() {
        return Err(Failure::usage("no capture file given"));
    }
    for p in &paths {
        check_regular_file(p)?;
        if let Err(e) = std::fs::File::open(p) {
            return Err(Failure::usage(format!(
                "cannot open {}: {}",
                p.display(),
                io_msg(&e)
            )));
        }
    }
    let reader = Reader::open_segments(&paths).map_err(reader_failure)?;
    Ok((reader, paths))
}

/// A reader error as a one-line failure with the exit code convention: 2 when the
/// input cannot be read or is not a streamq capture at all, 1 when it is a damaged one.
pub fn reader_failure(e: ReaderError) -> Failure {
    match e {
        ReaderError::Io { path, source } => {
            Failure::usage(format!("cannot read {}: {}", path.display(), io_msg(&source)))
        }
        ReaderError::NotACaptureFile { path, reason } => {
            if has_magic(&path) {
                Failure::fail(format!(
                    "{}: damaged capture file header: {reason}",
                    path.display()
                ))
            } else if std::fs::metadata(&path).map(|m| m.len() == 0).unwrap_or(false) {
                Failure::usage(format!(
                    "{}: not a streamq capture file (the file is empty)",
                    path.display()
                ))
            } else {
                Failure::usage(format!("{}: not a streamq capture file", path.display()))
            }
        }
        ReaderError::UnsupportedVersion { .. } => Failure::usage(e.to_string()),
        other => Failure::fail(other.to_string()),
    }
}

/// Finds a stream by name or numeric id; with `None`, the only stream, or stream 0.
pub fn select_stream(reader: &Reader, sel: Option<&str>) -> Result<u16, Failure> {
    let streams = reader.streams();
    let names = || {
        streams
            .iter()
            .map(|s| match &s.def {
                Some(d) => format!("{} ({})", s.id, d.name),
                None => s.id.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match sel {
        None => {
            if let Some(s) = streams.iter().find(|s| s.id == 0).or_else(|| streams.first()) {
                Ok(s.id)
            } else {
                Err(Failure::fail("the capture has no streams"))
            }
        }
        Some(sel) => {
            if let Some(s) = streams
                .iter()
                .find(|s| s.def.as_ref().is_some_and(|d| d.name == sel))
            {
                return Ok(s.id);
            }
            if let Ok(id) = sel.parse::<u16>()
                && streams.iter().any(|s| s.id == id)
            {
                return Ok(id);
            }
            Err(Failure::usage(format!(
                "no stream '{sel}' in the capture (streams: {})",
                names()
            )))
        }
    }
}

/// The name of stream `id` (its id as text when undefined).
pub fn stream_name(reader: &Reader, id: u16) -> String {
    reader
        .stream(id)
        .and_then(|s| s.def.as_ref())
        .map(|d| d.name.clone())
        .unwrap_or_else(|| format!("stream{id}"))
}

/// Metadata pairs as a JSON object (first value of a repeated key wins).
pub fn kv_json(kv: &[(String, String)]) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (k, v) in kv {
        m.entry(k.clone())
            .or_insert_with(|| serde_json::Value::String(v.clone()));
    }
    serde_json::Value::Object(m)
}

/// Rounds to 3 decimals for JSON output.
pub fn round3(v: f64) -> f64 {
    if v.is_finite() {
        (v * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}
