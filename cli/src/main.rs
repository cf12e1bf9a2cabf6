//! `streamq`: record a synthetic sensor capture through the engine; inspect, verify,
//! extract and recover capture files.

mod cat;
mod common;
mod extract;
mod info;
mod record;
mod recover;
mod synth;
mod verify;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use common::{CmdResult, EXIT_FAIL, EXIT_USAGE};

#[derive(Parser, Debug)]
#[command(
    name = "streamq",
    version,
    about = "Record, inspect, verify and recover streamq capture files",
    after_help = "Exit status: 0 success, 1 damage found or run-time failure, 2 usage error or \
                  unreadable / non-capture input. See `streamq help <command>` for details."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Record a synthetic Kinect-style sensor (depth, color, IR, IMU) through the engine.
    Record(Box<record::Args>),
    /// Check every record of a capture (CRCs, compression, sequence continuity, trailer).
    Verify(verify::Args),
    /// Show a capture's metadata, streams, counts and segments.
    Info(info::Args),
    /// Write one frame's payload (decompressed) to stdout.
    Cat(cat::Args),
    /// Write every frame to `DIR/<stream>/frame-<seq>.raw`.
    Extract(extract::Args),
    /// Make a crashed capture a cleanly closed one (cut the torn tail, write a trailer).
    Recover(recover::Args),
    /// Write frame N of the synthetic source to stdout (for tests).
    #[command(hide = true)]
    Synth(synth::Args),
}

/// Panics are bugs; if one happens anyway, report it on one line (no backtrace).
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "streamq: internal error (bug): panicked{at}: {msg}"
        );
    }));
}

/// A command line clap refused. A bad option value (its message from the parser that
/// refused it, core's for every engine option, and clap's list of possible values where
/// there is one) is one line, `streamq: invalid value …`, with the usage exit code;
/// everything else (unknown flags, missing arguments, help, version) is clap's own
/// output and exit code.
fn refused(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue) {
        let text = e.render().to_string();
        let msg: Vec<&str> = text
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .map(str::trim)
            .collect();
        let msg = msg.join(" ");
        let msg = msg.strip_prefix("error: ").unwrap_or(&msg);
        let _ = writeln!(std::io::stderr(), "streamq: {msg}");
        return ExitCode::from(EXIT_USAGE);
    }
    e.exit()
}

fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return refused(e),
    };
    if !matches!(cli.command, Command::Record(_)) {
        // Like other Unix tools, stop quietly when the reader of our output goes away
        // (`streamq info x | head -1`). `record` keeps recording instead.
        // SAFETY: restoring the default disposition of SIGPIPE at start-up.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let result: CmdResult = match std::panic::catch_unwind(move || match cli.command {
        Command::Record(a) => record::run(*a),
        Command::Verify(a) => verify::run(a),
        Command::Info(a) => info::run(a),
        Command::Cat(a) => cat::run(a),
        Command::Extract(a) => extract::run(a),
        Command::Recover(a) => recover::run(a),
        Command::Synth(a) => synth::run(a),
    }) {
        Ok(r) => r,
        Err(_) => Ok(EXIT_FAIL),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            if !f.msg.is_empty() {
                let _ = writeln!(std::io::stderr(), "streamq: {}", f.msg);
            }
            ExitCode::from(f.code)
        }
    }
}
