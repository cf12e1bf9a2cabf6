//! The one wrapper every export runs in: panics become `STREAMQ_RESULT_PANIC` (or a fallback
//! value), failures leave their message for `streamq_last_error`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::result::{Res, set_last_error, streamq_result};

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `f` for the export `function`: `Ok` → `STREAMQ_RESULT_OK`; `Err` → its code, message
/// stored; panic → `STREAMQ_RESULT_PANIC`, message stored.
///
/// `AssertUnwindSafe`: the closures capture raw pointers and plain values; the state they
/// reach behind the pointers is either engine state (which stays consistent across a
/// panic: the engine takes its locks poison-tolerantly) or handle state behind a
/// `Mutex`, which later calls recover with `into_inner` after a panic.
pub(crate) fn call(function: &'static str, f: impl FnOnce() -> Res) -> streamq_result {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => streamq_result::Ok,
        Ok(Err(e)) => {
            set_last_error(function, e.code, &e.message);
            e.code
        }
        Err(p) => {
            set_last_error(function, streamq_result::Panic, &panic_message(&*p));
            streamq_result::Panic
        }
    }
}

/// As [`call`] for functions that return a value rather than a result: a panic gives
/// `fallback`.
pub(crate) fn call_or<T>(function: &'static str, fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(p) => {
            set_last_error(function, streamq_result::Panic, &panic_message(&*p));
            fallback
        }
    }
}

/// Panics inside the boundary wrapper and returns what the wrapper made of it
/// (`STREAMQ_RESULT_PANIC`). For tests of the wrapper only: it proves that a Rust panic reaches a
/// C caller as a result code, not as an abort. Prints the panic message on stderr.
#[unsafe(no_mangle)]
pub extern "C" fn streamq_debug_panic() -> streamq_result {
    call("streamq_debug_panic", || panic!("streamq_debug_panic was called"))
}
