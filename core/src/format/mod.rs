//! The capture file format (see `docs/FORMAT.md`). Work in progress.
