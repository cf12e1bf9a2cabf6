"""Ctrl-C (SIGINT) interrupts a blocking push or pop with KeyboardInterrupt.

The signal is sent from another thread once the main thread is provably inside the
blocking call (the queue's stats show a waiting producer / a waiting consumer)."""

import signal
import threading
import time

import pytest

import streamq


def interrupt_when(condition):
    main = threading.main_thread().ident

    def run():
        deadline = time.monotonic() + 10
        while not condition():
            if time.monotonic() > deadline:
                return
            time.sleep(0.001)
        signal.pthread_kill(main, signal.SIGINT)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def full_queue():
    q = streamq.Queue(capacity=64 * 1024, policy="block")
    while True:
        try:
            q.push(bytes(10_000), timeout=0)
        except streamq.WouldBlockError:
            return q


@pytest.mark.parametrize("kwargs", [{}, {"timestamp": 5}, {"timeout": 60}])
def test_ctrl_c_interrupts_blocking_push(kwargs):
    q = full_queue()
    pushed = q.stats.frames_pushed
    t = interrupt_when(lambda: q.stats.waiting_producers > 0)
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        # 40 kB goes through the GIL-released path, 10 kB through the small-frame path.
        q.push(bytes(40_000 if "timestamp" not in kwargs else 10_000), **kwargs)
    assert time.monotonic() - t0 < 5
    t.join()
    assert q.stats.frames_pushed == pushed  # the frame was not taken
    q.pop()
    assert q.push(b"usable", timeout=0) is not None


def test_ctrl_c_interrupts_blocking_reserve():
    q = full_queue()
    t = interrupt_when(lambda: q.stats.waiting_producers > 0)
    with pytest.raises(KeyboardInterrupt):
        q.reserve(10_000)
    t.join()
    q.pop()
    with q.reserve(10) as buf:  # no reservation left half-open
        buf[:] = bytes(10)


def test_ctrl_c_interrupts_blocking_pop():
    q = streamq.Queue(capacity=1 << 20)
    t = interrupt_when(lambda: q.waiting_consumers > 0)
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        q.pop()
    assert time.monotonic() - t0 < 5
    t.join()
    q.push(b"still works")
    assert bytes(q.pop(timeout=1).data) == b"still works"


def test_ctrl_c_interrupts_blocking_writer_write(capture):
    # Stall the writer thread inside an on_segment callback so the stream's ring fills,
    # then block in write() and interrupt it.
    entered, release = threading.Event(), threading.Event()

    def on_segment(info):
        entered.set()
        release.wait(30)

    frame = bytes(30 * 1024)
    with streamq.Writer(capture, segment_bytes=64 * 1024, on_segment=on_segment) as w:
        s = w.add_stream("s", capacity=256 * 1024)
        while True:  # write until the writer is stalled in the callback and the ring full
            try:
                s.push(frame, timeout=0)
            except streamq.WouldBlockError:
                if entered.is_set():
                    break
                time.sleep(0.001)  # the writer is still draining
        t = interrupt_when(lambda: s.stats.waiting_producers > 0)
        with pytest.raises(KeyboardInterrupt):
            s.push(frame)
        t.join()
        release.set()
        assert s.push(b"after", timeout=10) is not None
    assert w.stats.frames_failed == 0
