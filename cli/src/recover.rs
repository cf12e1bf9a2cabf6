//! `streamq recover`: make a crashed capture a cleanly closed one.

use std::path::PathBuf;

use serde_json::json;
use streamq::reader::{self, ReaderError};

use crate::common::{CmdResult, EXIT_OK, Failure, check_regular_file, expand_paths, io_msg, reader_failure};

#[derive(clap::Args, Debug)]
#[command(after_long_help = "\
Cuts the torn tail after the last valid record and appends an index and a trailer, so
the file opens from its index and verifies cleanly; every complete record is kept.
Damaged regions in the middle of the file are left in place (readers skip them). A file
that is already closed cleanly is not changed. Each segment of a segmented capture is
recovered on its own. Do not run it on a file that is still being written.

Exit status: 0 when every file is (now) cleanly closed, 1 if recovery failed, 2 on a
usage error or an unreadable / non-capture file.")]
pub struct Args {
    /// Capture file(s) or segments to recover.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print one JSON object per file instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> CmdResult {
    for p in expand_paths(&args.paths) {
        check_regular_file(&p)?;
        let r = match reader::recover(&p) {
            Ok(r) => r,
            Err(ReaderError::Io { path, source }) => {
                return Err(Failure::fail(format!(
                    "cannot recover {}: {}",
                    path.display(),
                    io_msg(&source)
                )));
            }
            Err(e) => return Err(reader_failure(e)),
        };
        if args.json {
            let o = json!({
                "event": "recover",
                "path": p.display().to_string(),
                "already_clean": r.already_clean,
                "original_len": r.original_len,
                "new_len": r.new_len,
                "truncated_bytes": r.truncated_bytes,
                "corrupt_regions": r.corrupt_regions,
                "frames": r.frames,
                "gaps": r.gaps,
                "streams": r.streams,
            });
            println!("{o}");
        } else if r.already_clean {
            println!(
                "{}: already closed cleanly ({} stream(s)); nothing changed",
                p.display(),
                r.streams
            );
        } else {
            println!(
                "{}: recovered {} frame(s) and {} gap record(s) in {} stream(s); cut {} byte(s) of torn tail; \
                 {} damaged region(s) left in place; {} -> {} bytes",
                p.display(),
                r.frames,
                r.gaps,
                r.streams,
                r.truncated_bytes,
                r.corrupt_regions,
                r.original_len,
                r.new_len
            );
        }
    }
    Ok(EXIT_OK)
}
