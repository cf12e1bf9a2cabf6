//! Water marks with hysteresis, observed through the callback, the blocking wait and the
//! pollable eventfd.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamq::Wait;

use streamq::{QueueConfig, WaitError, WaterMarkEvent, queue};

fn poll_readable(fd: i32, timeout_ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    n == 1 && p.revents & libc::POLLIN != 0
}

#[test]
fn hysteresis_callback_sees_each_transition_once() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = Arc::clone(&events);
    let cfg = QueueConfig::new(16 * 1024)
        .high_water(8 * 1032)
        .low_water(2 * 1032)
        .on_water_mark(move |e| ev.lock().unwrap().push(e));
    let (mut tx, mut rx) = queue(cfg).unwrap();
    for _ in 0..10 {
        tx.push(&[0u8; 1000]).unwrap().seq();
    }
    // Level 10 frames: crossed high once.
    assert!(rx.is_above_high_water());
    // Popping down to 3 frames stays above (hysteresis)...
    for _ in 0..7 {
        rx.pop().unwrap();
    }
    assert!(rx.is_above_high_water(), "3 frames > low mark: still above");
    // ...and at 2 frames it falls below.
    rx.pop().unwrap();
    assert!(!rx.is_above_high_water());
    // Rising to 7 frames does not cross high again.
    for _ in 0..5 {
        tx.push(&[0u8; 1000]).unwrap().seq();
    }
    assert!(!rx.is_above_high_water());
    let got = events.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(matches!(got[0], WaterMarkEvent::AboveHigh { level } if level >= 8 * 1032));
    assert!(matches!(got[1], WaterMarkEvent::BelowLow { level } if level <= 2 * 1032));
    assert_eq!(rx.stats().water_mark_transitions, 2);
}

#[test]
fn wait_below_low_blocks_until_the_consumer_drains() {
    let cfg = QueueConfig::new(16 * 1024).high_water(4 * 1032).low_water(1032);
    let (mut tx, mut rx) = queue(cfg).unwrap();
    for _ in 0..6 {
        tx.push(&[0u8; 1000]).unwrap().seq();
    }
    assert!(tx.is_above_high_water());
    assert_eq!(
        tx.wait_below_low(Wait::Timeout(Duration::from_millis(10)), None),
        Err(WaitError::Timeout)
    );
    let t = std::thread::spawn(move || {
        let r = tx.wait_below_low(Wait::Forever, None);
        (r, tx.is_above_high_water())
    });
    for _ in 0..5 {
        rx.pop().unwrap();
    }
    assert_eq!(t.join().unwrap(), (Ok(()), false));
}

#[test]
fn wait_below_low_returns_closed_when_the_consumer_goes() {
    let cfg = QueueConfig::new(16 * 1024).high_water(1032).low_water(0);
    let (mut tx, rx) = queue(cfg).unwrap();
    tx.push(&[0u8; 1000]).unwrap().seq();
    let t = std::thread::spawn(move || tx.wait_below_low(Wait::Forever, None));
    drop(rx);
    assert_eq!(t.join().unwrap(), Err(WaitError::Closed));
}

#[test]
fn eventfd_polls_readable_on_each_transition() {
    let cfg = QueueConfig::new(16 * 1024).high_water(2 * 1032).low_water(0);
    let (mut tx, mut rx) = queue(cfg).unwrap();
    let fd = tx.water_mark_fd().expect("eventfd on Linux");
    assert_eq!(Some(fd), rx.water_mark_fd());
    assert!(!poll_readable(fd, 0), "no transition yet");
    tx.push(&[0u8; 1000]).unwrap().seq();
    tx.push(&[0u8; 1000]).unwrap().seq();
    assert!(poll_readable(fd, 1000), "crossing high makes the fd readable");
    assert!(tx.is_above_high_water());
    tx.clear_water_mark_event();
    assert!(!poll_readable(fd, 0), "cleared");
    rx.pop().unwrap();
    assert!(!poll_readable(fd, 0), "still above: level 1 frame > low 0");
    rx.pop().unwrap();
    assert!(poll_readable(fd, 1000), "falling to low makes it readable again");
    assert!(!tx.is_above_high_water());
}

#[test]
fn a_panicking_callback_does_not_break_the_queue() {
    let cfg = QueueConfig::new(8192)
        .high_water(1032)
        .low_water(0)
        .on_water_mark(|_| panic!("user bug"));
    let (mut tx, mut rx) = queue(cfg).unwrap();
    tx.push(&[0u8; 1000]).unwrap().seq();
    assert!(tx.is_above_high_water());
    assert_eq!(rx.pop().unwrap().data.len(), 1000);
    assert!(!rx.is_above_high_water());
}
