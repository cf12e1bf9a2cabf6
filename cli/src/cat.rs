//! `streamq cat`: one frame's payload to stdout.

use std::io::Write;
use std::path::PathBuf;

use streamq::DropReason;

use crate::common::{CmdResult, EXIT_OK, Failure, open_capture, select_stream, stdout_error, stream_name};

#[derive(clap::Args, Debug)]
#[command(after_long_help = "\
Writes the frame's bytes (decompressed if it was stored compressed, after checking its
CRC) to stdout, nothing else. Exit status: 0 on success, 1 if the frame is not in the
capture or is damaged, 2 on a usage error or an unreadable / non-capture file.")]
pub struct Args {
    /// Capture file(s): one file, or the segments of one capture in order.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Sequence number of the frame.
    #[arg(long)]
    pub seq: u64,
    /// Stream name or id (default: stream 0).
    #[arg(long)]
    pub stream: Option<String>,
}

pub fn run(args: Args) -> CmdResult {
    let (reader, _) = open_capture(&args.paths)?;
    let id = select_stream(&reader, args.stream.as_deref())?;
    let name = stream_name(&reader, id);
    let frame = reader.seek_seq(id, args.seq).next().filter(|f| f.seq == args.seq);
    let Some(frame) = frame else {
        let gap = reader.gaps().find(|g| {
            g.stream_id == id && (g.first_seq..g.first_seq.saturating_add(g.count)).contains(&args.seq)
        });
        let why = match (gap, reader.stream(id).and_then(|s| s.first_seq.zip(s.last_seq))) {
            (Some(g), _) => format!(
                "it was dropped ({}, gap of {} frame(s))",
                DropReason::to_string(&g.reason),
                g.count
            ),
            (None, Some((a, b))) => format!("the stream has seq {a}..={b}"),
            (None, None) => "the stream has no frames".to_string(),
        };
        return Err(Failure::fail(format!(
            "stream {name} has no frame with seq {}: {why}",
            args.seq
        )));
    };
    let data = frame
        .data()
        .map_err(|e| Failure::fail(format!("stream {name} seq {}: {e}", args.seq)))?;
    let mut out = std::io::stdout().lock();
    out.write_all(&data)
        .and_then(|_| out.flush())
        .map_err(stdout_error)?;
    Ok(EXIT_OK)
}
