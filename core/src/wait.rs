//! How long a blocking call may wait, and how another thread cuts a wait short.
//!
//! Every call that can wait for room or for data takes a [`Wait`]: never, up to a timeout,
//! for ever, or as the queue is configured. A wait can also watch an [`Interrupt`]: when
//! another thread triggers it, every wait watching it returns an `Interrupted` error at
//! once. That is what lets a language binding block in one call and still honour Ctrl-C
//! (its signal watcher triggers the interrupt), with no polling in slices.

use std::time::{Duration, Instant};

use crate::sync::{Arc, AtomicBool, Mutex, Ordering, lock};

/// How long a call may wait for room (producers) or data (consumers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wait {
    /// As the queue is configured: under `Block`, up to its
    /// [`block_timeout`](crate::QueueConfig::block_timeout) (for ever if none); consumers
    /// wait for ever.
    #[default]
    Configured,
    /// Never wait: a full queue gives `WouldBlock`, an empty one `Empty`.
    Never,
    /// Wait at most this long.
    Timeout(Duration),
    /// Wait until the call can complete or the other side closes.
    Forever,
}

impl Wait {
    /// The deadline this wait implies, given the queue's configured timeout.
    /// `None` inside `Some` means "for ever"; the outer `None` means "do not wait".
    #[inline]
    pub(crate) fn deadline(self, configured: Option<Duration>) -> Option<Option<Instant>> {
        let until = |d: Duration| Some(Instant::now().checked_add(d));
        match self {
            Wait::Never => None,
            Wait::Forever => Some(None),
            Wait::Timeout(d) => until(d),
            Wait::Configured => match configured {
                None => Some(None),
                Some(d) => until(d),
            },
        }
    }
}

/// Something a waiting thread sleeps on, that [`Interrupt::trigger`] must wake.
pub(crate) trait Wake: Send + Sync {
    /// Wakes every thread sleeping on it (they re-check their condition).
    fn wake(&self);
}

/// What the threads watching an interrupt sleep on: the last ticket given, and each
/// registered sleeper by its ticket.
type Sleepers = (u64, Vec<(u64, std::sync::Arc<dyn Wake>)>);

struct InterruptState {
    triggered: AtomicBool,
    sleepers: Mutex<Sleepers>,
}

/// A flag that cuts blocking calls short. While it is triggered, every wait that watches
/// it (a push, reserve, pop, batch peek or water-mark wait given it)
/// returns an `Interrupted` error at once — those already asleep are woken. Cloning gives
/// another handle to the same flag; it stays triggered until [`reset`](Self::reset).
///
/// Typical use: a binding's signal watcher triggers it when Ctrl-C arrives, the blocked
/// call returns, the binding runs the language's signal handlers, resets the flag and,
/// if no handler raised, waits again.
///
/// ```
/// use std::time::Duration;
/// use streamq::{Interrupt, PushError, PushOptions, QueueConfig, Wait};
///
/// let (mut tx, _rx) = streamq::queue(QueueConfig::new(64 << 10))?;
/// while tx.try_push(&[0u8; 1024]).is_ok() {} // fill the ring
/// let interrupt = Interrupt::new();
/// let other = interrupt.clone();
/// let t = std::thread::spawn(move || other.trigger());
/// let opts = PushOptions::new().wait(Wait::Forever).interrupt(&interrupt);
/// assert_eq!(tx.push_with(&[0u8; 1024], &opts), Err(PushError::Interrupted));
/// t.join().unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Interrupt {
    state: Arc<InterruptState>,
}

impl Default for Interrupt {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Interrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interrupt")
            .field("triggered", &self.is_triggered())
            .finish()
    }
}

impl Interrupt {
    /// A new, untriggered interrupt.
    pub fn new() -> Self {
        Interrupt {
            state: Arc::new(InterruptState {
                triggered: AtomicBool::new(false),
                sleepers: Mutex::new((0, Vec::new())),
            }),
        }
    }

    /// Raises the flag and wakes every wait watching it. Safe from any thread (not from
    /// a signal handler: it takes locks).
    pub fn trigger(&self) {
        self.state.triggered.store(true, Ordering::SeqCst);
        let sleepers: Vec<std::sync::Arc<dyn Wake>> = lock(&self.state.sleepers)
            .1
            .iter()
            .map(|(_, w)| std::sync::Arc::clone(w))
            .collect();
        for w in sleepers {
            w.wake();
        }
    }

    /// Lowers the flag: later waits sleep normally again.
    pub fn reset(&self) {
        self.state.triggered.store(false, Ordering::SeqCst);
    }

    /// Whether the flag is raised.
    pub fn is_triggered(&self) -> bool {
        self.state.triggered.load(Ordering::SeqCst)
    }

    /// How many waits are watching this interrupt now (registered before they sleep):
    /// for diagnostics, and for tests that must trigger only once a call is blocked.
    pub fn watchers(&self) -> usize {
        lock(&self.state.sleepers).1.len()
    }

    /// Registers `sleeper` as woken by [`trigger`](Self::trigger) until the returned guard
    /// drops. Register before the last check of the wait condition (which must include
    /// [`is_triggered`](Self::is_triggered)): a trigger after registration then either is
    /// seen by that check or wakes the sleeper.
    pub(crate) fn watch(&self, sleeper: std::sync::Arc<dyn Wake>) -> Watching<'_> {
        let mut s = lock(&self.state.sleepers);
        s.0 += 1;
        let ticket = s.0;
        s.1.push((ticket, sleeper));
        Watching {
            interrupt: self,
            ticket,
        }
    }
}

/// Keeps a sleeper registered with an [`Interrupt`] (see [`Interrupt::watch`]).
pub(crate) struct Watching<'a> {
    interrupt: &'a Interrupt,
    ticket: u64,
}

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        let mut s = lock(&self.interrupt.state.sleepers);
        if let Some(i) = s.1.iter().position(|(t, _)| *t == self.ticket) {
            s.1.swap_remove(i);
        }
    }
}

/// Options of one push: its device timestamp, how long it may wait, what may interrupt
/// it. Build with [`PushOptions::new`] and the setters; the default is the host clock's
/// timestamp and the queue's configured wait.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct PushOptions<'a> {
    /// The frame's device timestamp in ns (`None`: the host clock's reading).
    pub device_ts_ns: Option<u64>,
    /// How long the push may wait for room under `Block`.
    pub wait: Wait,
    /// An interrupt that cuts the wait short (`PushError::Interrupted`).
    pub interrupt: Option<&'a Interrupt>,
}

impl<'a> PushOptions<'a> {
    /// Host-clock timestamp, the queue's configured wait, no interrupt.
    pub fn new() -> Self {
        Self::default()
    }

    /// The frame's device timestamp (ns).
    pub fn device_ts_ns(mut self, ns: u64) -> Self {
        self.device_ts_ns = Some(ns);
        self
    }

    /// How long the push may wait for room.
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// An interrupt that cuts the wait short.
    pub fn interrupt(mut self, interrupt: &'a Interrupt) -> Self {
        self.interrupt = Some(interrupt);
        self
    }
}
