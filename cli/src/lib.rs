//! Library part of the `streamq` command line: the pieces tests (and other tools) need
//! to share with the binary.
//!
//! * [`units`] formats byte counts for people (option values are parsed by core:
//!   `streamq::ByteSize`, `streamq::parse_duration` …).
//! * [`synthetic`] is the deterministic Kinect-style frame generator behind
//!   `streamq record`: frame `n` of a stream can be regenerated bit-exact at any time,
//!   which is how the crash test checks what survived a `SIGKILL`.
#![deny(missing_docs)]

pub mod synthetic;
pub mod units;
