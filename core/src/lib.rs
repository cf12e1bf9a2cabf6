//! streamq: bounded frame queue and capture writer.
#![deny(missing_docs)]

pub mod format;
pub mod reader;
