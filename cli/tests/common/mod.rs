//! Helpers shared by the integration tests: run the `streamq` binary, parse JSON lines.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_streamq");

/// Runs `streamq ARGS…` to completion.
pub fn streamq<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(BIN).args(args).output().expect("run streamq")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The last line of stdout as JSON.
pub fn last_json(o: &Output) -> serde_json::Value {
    let out = stdout(o);
    let line = out
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no output; stderr: {}", stderr(o)));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON {line:?}: {e}"))
}

/// Asserts the command neither panicked nor printed a backtrace.
pub fn assert_no_panic(o: &Output, what: &str) {
    let err = stderr(o);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE") && !err.contains("stack backtrace"),
        "{what}: panic: {err}"
    );
    assert!(
        o.status.code().is_some(),
        "{what}: killed by a signal: {:?}",
        o.status
    );
}

/// Records a short capture with `--json` and returns the summary.
pub fn record(path: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["record".to_string(), path.display().to_string(), "--json".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = streamq(&args);
    assert_no_panic(&o, "record");
    assert_eq!(o.status.code(), Some(0), "record {args:?} failed: {}", stderr(&o));
    let s = last_json(&o);
    assert_eq!(s["event"], "summary");
    s
}
