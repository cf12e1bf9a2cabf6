//! The one wrapper every export runs in: panics become `STREAMQ_RESULT_PANIC` (or a
//! fallback value), failures leave their message for `streamq_last_error` — and the
//! library prints nothing.
//!
//! Silence: Rust's default panic hook prints the message (and a backtrace) on stderr,
//! which a library must not do to its host. The first call into the library installs a
//! hook, once, that stays quiet for panics on a thread that is inside a library call or
//! inside one of the library's callbacks on an engine thread ([`quiet`]), and hands
//! every other panic (the host's own Rust code, if any) to the hook that was installed
//! before. The panic's message still reaches `streamq_last_error`.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use crate::result::{Res, set_last_error, streamq_result};

thread_local! {
    /// How many library frames (calls, callbacks) are on this thread's stack.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

static HOOK: Once = Once::new();

fn install_quiet_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let inside = DEPTH.try_with(|d| d.get() > 0).unwrap_or(false);
            if !inside {
                previous(info);
            }
        }));
    });
}

/// Counts this thread as inside the library while it lives.
struct Inside;

impl Inside {
    fn enter() -> Self {
        install_quiet_hook();
        let _ = DEPTH.try_with(|d| d.set(d.get() + 1));
        Inside
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        let _ = DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
    }
}

pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `f` for the export `function`: `Ok` → `STREAMQ_RESULT_OK`; `Err` → its code, message
/// stored; panic → `STREAMQ_RESULT_PANIC`, message stored, nothing printed.
///
/// `AssertUnwindSafe`: the closures capture raw pointers and plain values; the state they
/// reach behind the pointers is either engine state (which stays consistent across a
/// panic: the engine takes its locks poison-tolerantly) or handle state behind a
/// `Mutex`, which later calls recover with `into_inner` after a panic.
pub(crate) fn call(function: &'static str, f: impl FnOnce() -> Res) -> streamq_result {
    let inside = Inside::enter();
    let r = catch_unwind(AssertUnwindSafe(f));
    drop(inside);
    match r {
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
    let inside = Inside::enter();
    let r = catch_unwind(AssertUnwindSafe(f));
    drop(inside);
    match r {
        Ok(v) => v,
        Err(p) => {
            set_last_error(function, streamq_result::Panic, &panic_message(&*p));
            fallback
        }
    }
}

/// Runs library code on an engine thread (the glue around a C callback): quiet like
/// [`call`], and a panic becomes `Err(message)` instead of unwinding into the engine.
pub(crate) fn quiet<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let inside = Inside::enter();
    let r = catch_unwind(AssertUnwindSafe(f));
    drop(inside);
    r.map_err(|p| format!("panic in libstreamq's callback glue: {}", panic_message(&*p)))
}

/// Panics inside the boundary wrapper and returns what the wrapper made of it
/// (`STREAMQ_RESULT_PANIC`, nothing printed). A test hook: built only with the `testing`
/// cargo feature, declared in `tests/c/streamq_testing.h`, never in `include/streamq.h`.
#[cfg(any(test, feature = "testing"))]
#[unsafe(no_mangle)]
pub extern "C" fn streamq_debug_panic() -> streamq_result {
    call("streamq_debug_panic", || panic!("streamq_debug_panic was called"))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    static SEEN: AtomicUsize = AtomicUsize::new(0);

    /// A panic inside a call is silent; one outside reaches the hook installed before.
    #[test]
    fn panics_inside_calls_are_silent_others_reach_the_previous_hook() {
        std::panic::set_hook(Box::new(|_| {
            SEEN.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(streamq_debug_panic(), streamq_result::Panic);
        assert_eq!(
            SEEN.load(Ordering::SeqCst),
            0,
            "the library's panic reached the host hook"
        );
        let mut buf = [0 as std::ffi::c_char; 128];
        // SAFETY: 128 writable bytes.
        let n = unsafe { crate::result::streamq_last_error(buf.as_mut_ptr(), buf.len()) };
        assert!(n > 0);
        assert!(quiet(|| panic!("in a callback")).is_err());
        assert_eq!(SEEN.load(Ordering::SeqCst), 0);
        let t = std::thread::spawn(|| panic!("the host's own panic"));
        assert!(t.join().is_err());
        assert_eq!(
            SEEN.load(Ordering::SeqCst),
            1,
            "the host's panic must reach its hook"
        );
    }
}
