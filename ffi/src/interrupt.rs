//! `streamq_interrupt`: cuts blocking waits short from another thread.
//!
//! Contract of the exports here (the `SAFETY` comments refer to it): a handle argument is
//! NULL or a live `streamq_interrupt*` from `streamq_interrupt_create`, not freed; an
//! output pointer is NULL or valid for a write of its type.

use streamq_core::Interrupt;

use crate::args::{handle, out, write};
use crate::panic::{call, call_or};
use crate::result::streamq_result;

/// A flag that cuts waits short: while it is triggered, every wait given it (a push or
/// reserve through `streamq_push_options.interrupt`, `streamq_producer_wait_below_low`)
/// returns `STREAMQ_RESULT_INTERRUPTED` at once, and those already asleep wake up. It
/// stays triggered until `streamq_interrupt_reset`.
///
/// Typical use: a shutdown path triggers it so that a producer blocked on a full queue
/// returns. `streamq_interrupt_trigger` takes locks: call it from a normal thread, not
/// from a signal handler (a signal handler can write to a pipe that such a thread
/// watches).
///
/// Thread safety: may move between threads and be used by several threads at once (all
/// its calls take `const`). Underneath: a `Box` holding the engine's `Interrupt` (an
/// `Arc`). It has no close; it must outlive every call it was given to (free it only
/// once no wait can be watching it).
pub struct streamq_interrupt {
    pub(crate) i: Interrupt,
}

/// Creates an interrupt, not triggered. `*interrupt_out` is written only on success.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_interrupt_create(
    interrupt_out: *mut *mut streamq_interrupt,
) -> streamq_result {
    call("streamq_interrupt_create", || {
        out(interrupt_out, "interrupt_out")?;
        let h = Box::into_raw(Box::new(streamq_interrupt { i: Interrupt::new() }));
        // SAFETY: checked non-NULL; writable per the module contract.
        unsafe { write(interrupt_out, h) };
        Ok(())
    })
}

/// Frees an interrupt. NULL is a no-op.
///
/// # Safety
/// The module contract; no call may be using or watching it any more.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_interrupt_free(interrupt: *mut streamq_interrupt) {
    call_or("streamq_interrupt_free", (), || {
        if !interrupt.is_null() {
            // SAFETY: from Box::into_raw in streamq_interrupt_create, freed once (contract).
            drop(unsafe { Box::from_raw(interrupt) });
        }
    })
}

/// Raises the flag and wakes every wait watching it.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_interrupt_trigger(interrupt: *const streamq_interrupt) -> streamq_result {
    call("streamq_interrupt_trigger", || {
        // SAFETY: the module contract.
        unsafe { handle(interrupt, "interrupt") }?.i.trigger();
        Ok(())
    })
}

/// Lowers the flag: later waits sleep normally again.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_interrupt_reset(interrupt: *const streamq_interrupt) -> streamq_result {
    call("streamq_interrupt_reset", || {
        // SAFETY: the module contract.
        unsafe { handle(interrupt, "interrupt") }?.i.reset();
        Ok(())
    })
}

/// Whether the flag is raised, into `*triggered_out`.
///
/// # Safety
/// The module contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn streamq_interrupt_is_triggered(
    interrupt: *const streamq_interrupt,
    triggered_out: *mut bool,
) -> streamq_result {
    call("streamq_interrupt_is_triggered", || {
        // SAFETY: the module contract.
        let i = unsafe { handle(interrupt, "interrupt") }?;
        out(triggered_out, "triggered_out")?;
        // SAFETY: checked non-NULL; writable per the module contract.
        unsafe { write(triggered_out, i.i.is_triggered()) };
        Ok(())
    })
}
