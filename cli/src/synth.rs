//! `streamq synth` (hidden): one frame of the synthetic source to stdout, for tests and
//! for comparing with `streamq cat`.

use std::io::Write;

use streamq::ByteSize;
use streamq_cli::synthetic::{Generator, Kind, StreamSpec};

use crate::common::{CmdResult, EXIT_OK, Failure, stdout_error};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Frame index.
    #[arg(long)]
    pub seq: u64,
    /// Depth frame size, as given to `record` (other streams derive theirs from it).
    #[arg(long, value_name = "BYTES")]
    pub frame_size: ByteSize,
    /// Stream kind: depth, color, ir or imu.
    #[arg(long, default_value = "depth")]
    pub stream: String,
    /// Frames per second (only affects timestamps, not content).
    #[arg(long, default_value_t = 30.0)]
    pub fps: f64,
}

pub fn run(args: Args) -> CmdResult {
    let kind = Kind::parse(&args.stream).map_err(Failure::usage)?;
    let size =
        usize::try_from(args.frame_size.bytes()).map_err(|_| Failure::usage("frame size too large"))?;
    let g = Generator::new(StreamSpec::new(kind, size, args.fps));
    let mut out = std::io::stdout().lock();
    out.write_all(&g.frame(args.seq))
        .and_then(|_| out.flush())
        .map_err(stdout_error)?;
    Ok(EXIT_OK)
}
