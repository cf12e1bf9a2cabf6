//! `libstreamq`: the C ABI of the streamq engine.
//!
//! Every item here is named exactly as it appears in `include/streamq.h`, which cbindgen
//! generates from this crate (see `ffi/cbindgen.toml` and `ffi/README.md`). The modules
//! are declared in the order the header lists their functions: version, results, then
//! the handles.
//!
//! Rules followed by every export (checked by `tests/c`):
//! - each call runs inside [`panic::call`]: a Rust panic becomes `STREAMQ_RESULT_PANIC` (or
//!   NULL / 0 for functions that do not return a result), never an abort of the host, and
//!   the library prints nothing;
//! - every pointer is checked for NULL; `_free(NULL)` is a no-op;
//! - outputs are written only when the call returns `STREAMQ_RESULT_OK` (the few documented
//!   exceptions say so in their docs);
//! - every struct passed by pointer carries its `struct_size` ([`sized`]), so the ABI can
//!   grow;
//! - a failing call leaves a message for [`result::streamq_last_error`] on its thread;
//! - each module states once the contract its `unsafe` code relies on; the `SAFETY`
//!   comments refer to it.
#![allow(non_camel_case_types)]

mod args;
pub mod consumer;
pub mod interrupt;
mod option_text;
pub mod panic;
pub mod producer;
pub mod queue;
pub mod reader;
pub mod report;
pub mod result;
pub mod sink;
mod sized;
pub mod stats;
pub mod stream_config;
pub mod version;
pub mod writer;
pub mod writer_config;
