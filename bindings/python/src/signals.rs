//! Ctrl-C for calls that block inside the engine, without polling.
//!
//! CPython runs Python-level signal handlers only on the main thread, between bytecodes.
//! A main thread blocked in an engine call (GIL released) would not see Ctrl-C until the
//! call returned. CPython's C-level handler, though, writes the signal number to the
//! descriptor installed with `signal.set_wakeup_fd`, from whichever thread the signal
//! lands on. So:
//!
//! * a watcher thread owned by this module (started on first use, no GIL, never touches
//!   Python) blocks reading a pipe;
//! * a blocking call made on the main thread opens a [`Session`]: it installs the pipe's
//!   write end as the wakeup descriptor (`set_wakeup_fd(w, warn_on_full_buffer=False)`),
//!   remembering the descriptor it replaced, and registers the call's
//!   [`streamq::Interrupt`];
//! * when a signal byte arrives, the watcher triggers every registered interrupt (the
//!   blocked engine call returns `Interrupted` at once) and forwards the byte to the
//!   replaced descriptor, so asyncio and anyone else watching it miss nothing;
//! * the caller (`wait::block_on`) then takes the GIL, runs `py.check_signals()` (the
//!   handlers run; `KeyboardInterrupt` propagates), and if no handler raised, resets its
//!   interrupt and waits again for the time left;
//! * when the session ends the previous descriptor is put back, and a sentinel byte
//!   through the pipe makes sure every signal byte read before it has been forwarded.
//!
//! Nothing is lost in the gaps: the C handler marks the signal as tripped *before* it
//! writes the byte, and the caller resets its interrupt *before* `check_signals`, which
//! runs *before* each wait. A signal that arrives before the descriptor is installed is
//! seen by that `check_signals`; one that arrives later triggers the interrupt, which
//! the engine checks after registering its sleeper.
//!
//! Sessions nest only when a Python signal handler run by `check_signals` itself makes
//! a blocking call; the inner one then shares the outer one's descriptor. After
//! `os.fork()` the child starts a new watcher (the old thread did not survive the
//! fork).

use std::fs::File;
use std::io::{Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{FromRawFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use streamq::Interrupt;

/// Written by a session's end through the pipe: not a signal number (signal 0 is never
/// delivered), it tells the main thread that every byte before it has been forwarded.
const SENTINEL: u8 = 0;
/// How long a session's end waits for the watcher to acknowledge the sentinel (it takes
/// microseconds; the bound only guards against a watcher that is gone).
const ACK_TIMEOUT: Duration = Duration::from_secs(1);

struct State {
    /// Sessions open now (more than one only when nested, see the module docs).
    depth: usize,
    /// The outermost session is swapping descriptors: signal bytes read meanwhile wait
    /// in `pending` until it knows where to forward them.
    installing: bool,
    pending: Vec<u8>,
    /// The wakeup descriptor the outermost session replaced (-1: none).
    prev_fd: RawFd,
    /// Interrupts of the calls blocked in open sessions, by ticket.
    interrupts: Vec<(u64, Interrupt)>,
    next_ticket: u64,
    /// Sentinel bytes read so far.
    sentinels: u64,
}

struct Watcher {
    read_fd: RawFd,
    write_fd: RawFd,
    state: Mutex<State>,
    acked: Condvar,
    /// Copies of `depth` and `prev_fd` readable without the lock (after a fork).
    depth: AtomicUsize,
    prev_fd: AtomicI32,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The watcher of this process. Taken only by the main thread with the GIL held (and
/// by the fork hook, which runs with the GIL), so never held across a fork.
static WATCHER: Mutex<Option<Arc<Watcher>>> = Mutex::new(None);
/// Bumped in a forked child: sessions opened before the fork skip their handshake.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to a descriptor this module does not own (non-blocking: a full pipe
/// drops them, as CPython's own handler does).
fn write_fd(fd: RawFd, bytes: &[u8]) -> std::io::Result<()> {
    // SAFETY: `fd` is an open descriptor (our pipe, or the wakeup descriptor CPython
    // handed us); ManuallyDrop keeps the File from closing it.
    let mut f = ManuallyDrop::new(unsafe { File::from_raw_fd(fd) });
    f.write_all(bytes)
}

/// The watcher thread: reads signal bytes, triggers the registered interrupts, forwards
/// the bytes, acknowledges sentinels.
fn watch(w: Arc<Watcher>, mut pipe: File) {
    let mut buf = [0u8; 256];
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let mut signals = [0u8; 256];
        let mut count = 0;
        let mut sentinel = false;
        for &b in &buf[..n] {
            if b == SENTINEL {
                sentinel = true;
            } else {
                signals[count] = b;
                count += 1;
            }
        }
        let mut st = lock(&w.state);
        if count > 0 {
            for (_, i) in &st.interrupts {
                i.trigger();
            }
            if st.installing {
                st.pending.extend_from_slice(&signals[..count]);
            } else if st.prev_fd >= 0 {
                let _ = write_fd(st.prev_fd, &signals[..count]);
            }
        }
        if sentinel {
            st.sentinels += buf[..n].iter().filter(|&&b| b == SENTINEL).count() as u64;
            drop(st);
            w.acked.notify_all();
        }
    }
}

fn start_watcher(py: Python<'_>) -> PyResult<Arc<Watcher>> {
    let os = py.import("os")?;
    // os.pipe() descriptors are close-on-exec; CPython wants a non-blocking write end.
    let (r, w): (RawFd, RawFd) = os.call_method0("pipe")?.extract()?;
    os.call_method1("set_blocking", (w, false))?;
    let watcher = Arc::new(Watcher {
        read_fd: r,
        write_fd: w,
        state: Mutex::new(State {
            depth: 0,
            installing: false,
            pending: Vec::new(),
            prev_fd: -1,
            interrupts: Vec::new(),
            next_ticket: 0,
            sentinels: 0,
        }),
        acked: Condvar::new(),
        depth: AtomicUsize::new(0),
        prev_fd: AtomicI32::new(-1),
    });
    // SAFETY: `r` is the read end of the pipe just created, owned from here on by the
    // watcher thread (the File closes it if the thread ever ends).
    let pipe = unsafe { File::from_raw_fd(r) };
    let thread_watcher = Arc::clone(&watcher);
    std::thread::Builder::new()
        .name("streamq-signals".into())
        .spawn(move || watch(thread_watcher, pipe))
        .map_err(|e| crate::errors::io(py, &e, None))?;
    Ok(watcher)
}

fn watcher(py: Python<'_>) -> PyResult<Arc<Watcher>> {
    if let Some(w) = lock(&WATCHER).as_ref() {
        return Ok(Arc::clone(w));
    }
    // Made without the lock held: Python code runs meanwhile.
    let new = start_watcher(py)?;
    let mut slot = lock(&WATCHER);
    if let Some(w) = slot.as_ref() {
        // Another session (opened by code that ran meanwhile) started one first: end
        // ours (closing its write end makes its thread read end-of-file and exit).
        // SAFETY: the write end belongs to `new`, which nothing else uses.
        drop(unsafe { File::from_raw_fd(new.write_fd) });
        return Ok(Arc::clone(w));
    }
    *slot = Some(Arc::clone(&new));
    Ok(new)
}

struct PyFns {
    set_wakeup_fd: Py<PyAny>,
    main_thread: Py<PyAny>,
    get_ident: Py<PyAny>,
}

static FNS: PyOnceLock<PyFns> = PyOnceLock::new();

fn fns(py: Python<'_>) -> PyResult<&PyFns> {
    FNS.get_or_try_init(py, || {
        let signal = py.import("signal")?;
        let threading = py.import("threading")?;
        Ok::<_, PyErr>(PyFns {
            set_wakeup_fd: signal.getattr("set_wakeup_fd")?.unbind(),
            main_thread: threading.getattr("main_thread")?.unbind(),
            get_ident: threading.getattr("get_ident")?.unbind(),
        })
    })
}

/// Whether the calling thread is Python's main thread (the one signals are handled on).
pub fn is_main_thread(py: Python<'_>) -> PyResult<bool> {
    let f = fns(py)?;
    let main = f.main_thread.bind(py).call0()?.getattr("ident")?;
    let me = f.get_ident.bind(py).call0()?;
    main.eq(me)
}

/// `signal.set_wakeup_fd(fd, warn_on_full_buffer=warn)`: the descriptor it replaced.
fn set_wakeup_fd(py: Python<'_>, fd: RawFd, warn: bool) -> PyResult<RawFd> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("warn_on_full_buffer", warn)?;
    fns(py)?
        .set_wakeup_fd
        .bind(py)
        .call((fd,), Some(&kwargs))?
        .extract()
}

/// Ctrl-C (any signal with a Python handler) triggers `interrupt` while this lives; see
/// the module docs. Ends (restoring the previous wakeup descriptor) when dropped, with
/// the GIL held.
pub struct Session<'py> {
    py: Python<'py>,
    watcher: Arc<Watcher>,
    ticket: u64,
    generation: u64,
}

/// Opens a session for a call about to block on the main thread; `None` on any other
/// thread (signals are handled on the main thread only, so nothing needs waking there)
/// or where signals are not available (a sub-interpreter).
pub fn open<'py>(py: Python<'py>, interrupt: &Interrupt) -> PyResult<Option<Session<'py>>> {
    if !is_main_thread(py)? {
        return Ok(None);
    }
    let watcher = watcher(py)?;
    let w = &watcher;
    // No lock of ours is held while Python runs (a finalizer run by the garbage
    // collector could make a blocking call and open a nested session).
    let (ticket, install) = {
        let mut st = lock(&w.state);
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        st.interrupts.push((ticket, interrupt.clone()));
        st.depth += 1;
        w.depth.store(st.depth, Ordering::SeqCst);
        let install = st.depth == 1;
        if install {
            st.installing = true;
        }
        (ticket, install)
    };
    if install {
        let r = set_wakeup_fd(py, w.write_fd, false);
        let mut st = lock(&w.state);
        st.installing = false;
        let pending = std::mem::take(&mut st.pending);
        match r {
            Ok(prev) => {
                // Never forward to ourselves (a nested session may see ours as current).
                let prev = if prev == w.write_fd { -1 } else { prev };
                st.prev_fd = prev;
                w.prev_fd.store(prev, Ordering::SeqCst);
                if prev >= 0 && !pending.is_empty() {
                    let _ = write_fd(prev, &pending);
                }
            }
            Err(e) => {
                st.interrupts.retain(|(t, _)| *t != ticket);
                st.depth -= 1;
                w.depth.store(st.depth, Ordering::SeqCst);
                drop(st);
                // Not the main interpreter's main thread: signals are not ours to see.
                return if e.is_instance_of::<PyValueError>(py) {
                    Ok(None)
                } else {
                    Err(e)
                };
            }
        }
    }
    Ok(Some(Session {
        py,
        watcher,
        ticket,
        generation: GENERATION.load(Ordering::SeqCst),
    }))
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let w = &self.watcher;
        if self.generation != GENERATION.load(Ordering::SeqCst) {
            // Forked since the session opened (a signal handler called os.fork()): the
            // fork hook already put the previous descriptor back and closed the pipe;
            // the old state's lock may have been held by the vanished watcher thread.
            if let Ok(mut st) = w.state.try_lock() {
                st.interrupts.retain(|(t, _)| *t != self.ticket);
                st.depth = st.depth.saturating_sub(1);
            }
            return;
        }
        let prev = {
            let mut st = lock(&w.state);
            st.interrupts.retain(|(t, _)| *t != self.ticket);
            st.depth -= 1;
            w.depth.store(st.depth, Ordering::SeqCst);
            if st.depth > 0 {
                return;
            }
            st.prev_fd
        };
        // Put the previous descriptor back (with CPython's default warn_on_full_buffer:
        // the one it was installed with cannot be read back) — unless code run by a
        // signal handler replaced ours meanwhile: then theirs stays.
        if let Ok(current) = set_wakeup_fd(self.py, prev, true)
            && current != w.write_fd
        {
            let _ = set_wakeup_fd(self.py, current, true);
        }
        // Bytes still in the pipe were meant for `prev`: wait until the watcher has
        // read (and forwarded) everything written before this sentinel.
        self.py.detach(|| {
            let mut st = lock(&w.state);
            let target = st.sentinels + 1;
            if write_fd(w.write_fd, &[SENTINEL]).is_ok() {
                while st.sentinels < target {
                    let (g, t) = w
                        .acked
                        .wait_timeout(st, ACK_TIMEOUT)
                        .unwrap_or_else(|p| p.into_inner());
                    st = g;
                    if t.timed_out() {
                        break;
                    }
                }
            }
            if st.depth == 0 {
                st.prev_fd = -1;
                w.prev_fd.store(-1, Ordering::SeqCst);
            }
        });
    }
}

/// `os.register_at_fork(after_in_child=...)`: the watcher thread did not survive the
/// fork. Puts back the wakeup descriptor a session of the parent had replaced, closes
/// the old pipe and lets the next session start a new watcher.
pub fn after_fork_in_child(py: Python<'_>) {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    let old = lock(&WATCHER).take();
    let Some(w) = old else { return };
    if w.depth.load(Ordering::SeqCst) > 0 {
        let _ = set_wakeup_fd(py, w.prev_fd.load(Ordering::SeqCst), true);
    }
    for fd in [w.read_fd, w.write_fd] {
        // SAFETY: both ends belong to the old watcher, whose thread does not exist in
        // this process; nothing else uses them.
        drop(unsafe { File::from_raw_fd(fd) });
    }
    // Its state lock may have been held by the vanished thread: never touch it again.
    std::mem::forget(w);
}
