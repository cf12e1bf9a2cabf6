//! `streamq extract`: every frame to its own file.

use std::fs;
use std::path::{Path, PathBuf};

use streamq_cli::units::human_bytes;

use crate::common::{
    CmdResult, EXIT_FAIL, EXIT_OK, Failure, io_msg, open_capture, select_stream, stream_name,
};

#[derive(clap::Args, Debug)]
#[command(after_long_help = "\
Writes each frame's bytes (decompressed) to DIR/<stream>/frame-<seq>.raw, the sequence
number zero-padded to 6 digits (frame-000000.raw, frame-000001.raw …) — the same naming
as the engine's directory sink. Damaged frames are skipped and reported. Exit status: 0
when every frame was extracted, 1 if some were damaged or a write failed, 2 on a usage
error or an unreadable / non-capture file.")]
pub struct Args {
    /// Capture file (or the segments of one capture, in order), then the output directory.
    #[arg(required = true, num_args = 2.., value_names = ["PATH", "DIR"])]
    pub paths: Vec<PathBuf>,
    /// Only this stream (name or id); default: all streams.
    #[arg(long)]
    pub stream: Option<String>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

fn safe_dir_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        format!("_{s}")
    } else {
        s
    }
}

pub fn run(mut args: Args) -> CmdResult {
    let dir = args
        .paths
        .pop()
        .ok_or_else(|| Failure::usage("missing output directory"))?;
    let (reader, _) = open_capture(&args.paths)?;
    let ids: Vec<u16> = match args.stream.as_deref() {
        Some(sel) => vec![select_stream(&reader, Some(sel))?],
        None => reader.streams().iter().map(|s| s.id).collect(),
    };
    let mkdir = |p: &Path| {
        fs::create_dir_all(p)
            .map_err(|e| Failure::fail(format!("cannot create {}: {}", p.display(), io_msg(&e))))
    };
    mkdir(&dir)?;
    let mut damaged = 0u64;
    for id in ids {
        let name = stream_name(&reader, id);
        let sub = dir.join(safe_dir_name(&name));
        mkdir(&sub)?;
        let (mut n, mut bytes) = (0u64, 0u64);
        for f in reader.iter_stream(id) {
            match f.data() {
                Ok(data) => {
                    let p = sub.join(format!("frame-{:06}.raw", f.seq));
                    fs::write(&p, &data).map_err(|e| {
                        Failure::fail(format!("cannot write {}: {}", p.display(), io_msg(&e)))
                    })?;
                    n += 1;
                    bytes += data.len() as u64;
                }
                Err(e) => {
                    damaged += 1;
                    eprintln!("streamq: stream {name} seq {} skipped: {e}", f.seq);
                }
            }
        }
        if !args.quiet {
            println!(
                "{name}: {n} frame(s), {} -> {}",
                human_bytes(bytes),
                sub.display()
            );
        }
    }
    Ok(if damaged > 0 { EXIT_FAIL } else { EXIT_OK })
}
