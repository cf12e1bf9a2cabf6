//! Reading capture files. Work in progress.
