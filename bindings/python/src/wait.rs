//! How a call that may wait does it: ONE engine call per wait, with the GIL released,
//! cut short by a [`streamq::Interrupt`] when Ctrl-C arrives (see `signals.rs`), when
//! the caller's `streamq.Interrupt` is triggered, or when another thread needs the
//! consumer (see `queue.rs`). No slices, no polling: the engine's own sleep is the only
//! one, and it is woken only by what it waits for.
//!
//! Each call first tries without waiting ([`Patience::first`]): under the `Block`
//! policy it watches [`PROBE`], an interrupt that is always triggered, so a full queue
//! answers `Interrupted` at once — which the engine counts as nothing (not a refusal).
//! Only a call that really has to wait pays for the Ctrl-C set-up of [`block_on`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use streamq::{Interrupt, Wait};

use crate::errors;
use crate::signals;

/// Always triggered: a wait watching it ends at once with `Interrupted`, which tells a
/// first attempt "this would have to wait" without counting a refusal.
pub static PROBE: LazyLock<Interrupt> = LazyLock::new(|| {
    let i = Interrupt::new();
    i.trigger();
    i
});

/// How long a call may wait, from Python's `timeout` / `block` arguments.
#[derive(Clone, Copy, Debug)]
pub enum Patience {
    /// Not at all (`block=False`, `timeout=0`).
    Never,
    /// Until this instant.
    Until(Instant),
    /// Until the call can complete (or the other side closes).
    Forever,
}

impl Patience {
    /// `timeout` in seconds (None: `configured`, for ever if that is None too); `block`
    /// False means never (the timeout is then ignored, as in `queue.Queue.put`).
    pub fn new(timeout: Option<f64>, block: bool, configured: Option<Duration>) -> PyResult<Self> {
        let now = Instant::now;
        let p = match timeout {
            Some(t) if t.is_nan() || t < 0.0 => {
                return Err(PyValueError::new_err(format!(
                    "timeout must be a non-negative number of seconds or None, not {t}"
                )));
            }
            _ if !block => Patience::Never,
            None => match configured {
                None => Patience::Forever,
                Some(d) => now().checked_add(d).map_or(Patience::Forever, Patience::Until),
            },
            Some(0.0) => Patience::Never,
            Some(t) if t > 1e9 => Patience::Forever,
            Some(t) => now()
                .checked_add(Duration::from_secs_f64(t))
                .map_or(Patience::Forever, Patience::Until),
        };
        Ok(p)
    }

    /// The engine's wait for the time left.
    pub fn wait(self) -> Wait {
        match self {
            Patience::Never => Wait::Never,
            Patience::Until(d) => Wait::Timeout(d.saturating_duration_since(Instant::now())),
            Patience::Forever => Wait::Forever,
        }
    }

    /// The first attempt's wait and interrupt: never waits, and (except under `Never`,
    /// whose refusal is the caller's answer) says "would wait" as `Interrupted`.
    pub fn first(self) -> (Wait, Option<&'static Interrupt>) {
        match self {
            Patience::Never => (Wait::Never, None),
            _ => (Wait::Forever, Some(&*PROBE)),
        }
    }
}

/// What one engine call of a wait gave.
pub enum Attempt<T> {
    /// The call completed (successfully or not).
    Done(T),
    /// Its interrupt was triggered: run the signal handlers, then wait again.
    Interrupted,
}

/// The shared part of a `streamq.Interrupt`: a flag, and the per-call engine interrupts
/// of the calls watching it now.
#[derive(Default)]
pub struct Stop {
    triggered: AtomicBool,
    linked: Mutex<Vec<(u64, Interrupt)>>,
    next: AtomicU64,
}

impl Stop {
    fn trigger(&self) {
        self.triggered.store(true, Ordering::SeqCst);
        let linked = self.linked.lock().unwrap_or_else(|p| p.into_inner());
        for (_, i) in linked.iter() {
            i.trigger();
        }
    }

    fn is_triggered(&self) -> bool {
        self.triggered.load(Ordering::SeqCst)
    }

    /// Makes `trigger` also trigger `i` until the guard drops. Check
    /// [`is_triggered`](Self::is_triggered) after linking: a trigger is then either seen
    /// there or delivered to `i`.
    fn link(&self, i: &Interrupt) -> Link<'_> {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        self.linked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((ticket, i.clone()));
        Link { stop: self, ticket }
    }
}

struct Link<'a> {
    stop: &'a Stop,
    ticket: u64,
}

impl Drop for Link<'_> {
    fn drop(&mut self) {
        let mut v = self.stop.linked.lock().unwrap_or_else(|p| p.into_inner());
        v.retain(|(t, _)| *t != self.ticket);
    }
}

/// A flag that cuts blocking calls short, from any thread: pass it as `interrupt=` to
/// `push`, `reserve`, `pop`, `pop_batch` or `wait_below_low`; once `trigger()` is
/// called, those calls (the ones waiting now and later ones that would wait) raise
/// `streamq.Interrupted` instead of waiting, until `reset()`. A call that can complete
/// without waiting still completes.
///
/// Ctrl-C needs none of this: a blocking call on the main thread is always interrupted
/// by signals whose handlers raise (KeyboardInterrupt).
#[pyclass(frozen, module = "streamq._streamq", name = "Interrupt")]
pub struct PyInterrupt {
    stop: Arc<Stop>,
}

#[pymethods]
impl PyInterrupt {
    #[new]
    fn new() -> Self {
        PyInterrupt {
            stop: Arc::new(Stop::default()),
        }
    }

    /// Raises the flag: every call watching it stops waiting (safe from any thread and
    /// from a signal handler).
    fn trigger(&self) {
        self.stop.trigger();
    }

    /// Lowers the flag: later calls wait normally again.
    fn reset(&self) {
        self.stop.triggered.store(false, Ordering::SeqCst);
    }

    /// Whether the flag is raised.
    #[getter]
    fn triggered(&self) -> bool {
        self.stop.is_triggered()
    }

    fn __repr__(&self) -> String {
        format!(
            "<streamq.Interrupt {}>",
            if self.stop.is_triggered() {
                "triggered"
            } else {
                "not triggered"
            }
        )
    }
}

/// Waits as `patience` says (not `Never`) with `call`, one engine call at a time: `call`
/// runs with the GIL released, watching a fresh engine interrupt that Ctrl-C (on the main
/// thread), `user` and whoever `call` registers it with may trigger. After an interrupt
/// it resets it, raises `streamq.Interrupted` if `user` is triggered, runs the signal
/// handlers (whose exception propagates) and calls again for the time left.
pub fn block_on<T: Send>(
    py: Python<'_>,
    patience: Patience,
    user: Option<&PyInterrupt>,
    call: impl Fn(Wait, &Interrupt) -> Attempt<T> + Sync,
) -> PyResult<T> {
    let own = Interrupt::new();
    let _link = user.map(|u| u.stop.link(&own));
    let _session = signals::open(py, &own)?;
    loop {
        // Reset first, then look at what may have triggered it: a trigger after this
        // line wakes the call below; one before it left a mark that is checked here.
        own.reset();
        if user.is_some_and(|u| u.stop.is_triggered()) {
            return Err(errors::interrupted(py));
        }
        py.check_signals()?;
        let wait = patience.wait();
        match py.detach(|| call(wait, &own)) {
            Attempt::Done(t) => return Ok(t),
            Attempt::Interrupted => continue,
        }
    }
}
