//! An `Interrupt` cuts every kind of blocking wait short — push, reserve, pop, batch
//! peek, the water-mark wait — on plain and shared producers alike, without the queue
//! counting a refusal; after `reset` the same waits behave as configured again.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use streamq::{
    Interrupt, OverflowPolicy, PopTimeoutError, PushError, PushOptions, QueueConfig, ReserveError, Wait,
    WaitError,
};

const FRAME: [u8; 1024] = [7; 1024];

/// A Block queue filled to the brim (the next 1 KiB push has to wait). Filling it took
/// exactly one refused `try_push`.
fn full_queue() -> (streamq::Producer, streamq::Consumer) {
    let (mut tx, rx) = streamq::queue(QueueConfig::new(64 << 10).policy(OverflowPolicy::Block)).unwrap();
    while tx.try_push(&FRAME).is_ok() {}
    assert_eq!(rx.stats().pushes_refused, FILL_REFUSALS);
    (tx, rx)
}

const FILL_REFUSALS: u64 = 1;

/// Runs `blocked` on a thread, triggers `interrupt` once that call is registered as a
/// watcher (it is about to sleep, or sleeps), and returns what the call returned.
fn interrupt_while_blocked<T: Send + 'static>(
    interrupt: &Interrupt,
    blocked: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done_tx, done_rx) = mpsc::channel();
    let t = thread::spawn(move || done_tx.send(blocked()).unwrap());
    while interrupt.watchers() == 0 {
        assert!(
            done_rx.try_recv().is_err(),
            "the call returned before it was interrupted"
        );
        thread::yield_now();
    }
    interrupt.trigger();
    let r = done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the interrupted call did not return");
    t.join().unwrap();
    assert_eq!(interrupt.watchers(), 0, "a returned wait stops watching");
    r
}

#[test]
fn a_shared_producer_waiting_for_room_returns_interrupted_without_a_refusal() {
    let (tx, rx) = full_queue();
    let shared = tx.into_shared();
    let interrupt = Interrupt::new();
    let (s, i) = (shared.clone(), interrupt.clone());
    let r = interrupt_while_blocked(&interrupt, move || {
        s.push_with(&FRAME, &PushOptions::new().wait(Wait::Forever).interrupt(&i))
    });
    assert_eq!(r, Err(PushError::Interrupted));
    assert_eq!(
        rx.stats().pushes_refused,
        FILL_REFUSALS,
        "an interrupted wait is not a refusal"
    );
    // Reset: the same wait now times out, and that is a refusal.
    interrupt.reset();
    let opts = PushOptions::new()
        .wait(Wait::Timeout(Duration::from_millis(20)))
        .interrupt(&interrupt);
    assert_eq!(shared.push_with(&FRAME, &opts), Err(PushError::Timeout));
    assert_eq!(rx.stats().pushes_refused, FILL_REFUSALS + 1);
}

#[test]
fn a_producer_waiting_for_room_to_reserve_returns_interrupted() {
    let (mut tx, rx) = full_queue();
    let interrupt = Interrupt::new();
    let i = interrupt.clone();
    let r = interrupt_while_blocked(&interrupt, move || {
        tx.reserve_with(FRAME.len(), &PushOptions::new().wait(Wait::Forever).interrupt(&i))
            .err()
    });
    assert_eq!(r, Some(ReserveError::Interrupted));
    assert_eq!(rx.stats().pushes_refused, FILL_REFUSALS);
}

#[test]
fn a_trigger_before_the_wait_is_seen_and_a_push_that_needs_no_wait_is_unaffected() {
    let (mut tx, _rx) = full_queue();
    let interrupt = Interrupt::new();
    interrupt.trigger();
    let opts = PushOptions::new().wait(Wait::Forever).interrupt(&interrupt);
    assert_eq!(tx.push_with(&FRAME, &opts), Err(PushError::Interrupted));
    assert_eq!(tx.stats().pushes_refused, FILL_REFUSALS);
    let (mut roomy, _rx2) = streamq::queue(QueueConfig::new(64 << 10)).unwrap();
    assert!(roomy.push_with(&FRAME, &opts).unwrap().is_queued());
}

#[test]
fn a_pop_waiting_for_data_returns_interrupted_and_later_frames_still_arrive() {
    let (mut tx, mut rx) = streamq::queue(QueueConfig::new(64 << 10)).unwrap();
    let interrupt = Interrupt::new();
    let i = interrupt.clone();
    let (r, mut rx) = interrupt_while_blocked(&interrupt, move || {
        (rx.pop_with(Wait::Forever, Some(&i)).err(), rx)
    });
    assert_eq!(r, Some(PopTimeoutError::Interrupted));
    interrupt.reset();
    assert!(tx.push(b"after").unwrap().is_queued());
    assert_eq!(
        rx.pop_with(Wait::Forever, Some(&interrupt)).unwrap().data,
        b"after"
    );
    assert_eq!(
        rx.peek_batch_with(
            4,
            usize::MAX,
            Wait::Timeout(Duration::from_millis(10)),
            Some(&interrupt)
        )
        .err(),
        Some(PopTimeoutError::Timeout)
    );
}

#[test]
fn a_batch_peek_waiting_for_data_returns_interrupted() {
    let (_tx, mut rx) = streamq::queue(QueueConfig::new(64 << 10)).unwrap();
    let interrupt = Interrupt::new();
    let i = interrupt.clone();
    let r = interrupt_while_blocked(&interrupt, move || {
        rx.peek_batch_with(8, usize::MAX, Wait::Forever, Some(&i)).err()
    });
    assert_eq!(r, Some(PopTimeoutError::Interrupted));
}

#[test]
fn the_water_mark_wait_returns_interrupted() {
    let (mut tx, _rx) =
        streamq::queue(QueueConfig::new(64 << 10).high_water(8 << 10).low_water(4 << 10)).unwrap();
    for _ in 0..16 {
        assert!(tx.push(&FRAME).unwrap().is_queued());
    }
    assert!(tx.is_above_high_water());
    let shared = tx.into_shared();
    let interrupt = Interrupt::new();
    let (s, i) = (shared.clone(), interrupt.clone());
    let r = interrupt_while_blocked(&interrupt, move || s.wait_below_low(Wait::Forever, Some(&i)));
    assert_eq!(r, Err(WaitError::Interrupted));
    interrupt.reset();
    assert_eq!(
        shared.wait_below_low(Wait::Timeout(Duration::from_millis(10)), Some(&interrupt)),
        Err(WaitError::Timeout)
    );
    assert_eq!(shared.wait_below_low(Wait::Never, None), Err(WaitError::Timeout));
}
