"""Use of closed objects raises ClosedError (F3: closing the consumer stops producers)."""

import threading
import time

import pytest

import streamq


def test_consumer_close_wakes_blocked_producer():
    q = streamq.Queue(capacity=64 * 1024)
    while True:
        try:
            q.push(bytes(10_000), timeout=0)
        except streamq.WouldBlockError:
            break
    errors = []

    def produce():
        try:
            q.push(bytes(10_000))
        except streamq.ClosedError as e:
            errors.append(e)

    t = threading.Thread(target=produce)
    t.start()
    while q.stats.waiting_producers == 0:
        time.sleep(0.001)
    q.close()
    t.join(5)
    assert not t.is_alive() and len(errors) == 1
    s = q.stats
    assert s.frames_discarded == s.frames_pushed  # nothing was popped: all discarded, counted
    with pytest.raises(streamq.ClosedError):
        q.push(b"x")
    with pytest.raises(streamq.EndOfStream):
        q.pop()
    q.close()  # idempotent


def test_producer_close():
    q = streamq.Queue(capacity=1 << 20)
    q.push(b"a")
    q.close_producer()
    assert q.closed
    with pytest.raises(streamq.ClosedError, match="closed"):
        q.push(b"b")
    with pytest.raises(streamq.ClosedError):
        q.reserve(1)
    assert bytes(q.pop().data) == b"a"  # what was queued is still delivered
    with pytest.raises(streamq.EndOfStream):
        q.pop(timeout=1)


def test_closed_writer_and_stream(capture):
    w = streamq.Writer(capture)
    s = w.add_stream("s")
    w.push(b"x")
    report = w.close()
    assert report.frames_written == 1
    assert w.closed
    for call in (lambda: w.push(b"y"), lambda: s.push(b"y"), w.flush, lambda: w.add_stream("t")):
        with pytest.raises(streamq.ClosedError):
            call()
    again = w.close()  # idempotent: the same report
    assert again.frames_written == 1
    assert w.stats.frames_written == 1


def test_stream_close(capture):
    with streamq.Writer(capture) as w:
        a = w.add_stream("a")
        b = w.add_stream("b")
        a.push(b"1")
        a.close()
        assert a.closed
        with pytest.raises(streamq.ClosedError):
            a.push(b"2")
        b.push(b"3")  # other streams go on
    assert [s.frames for s in streamq.Reader(capture).streams] == [1, 1]


def test_closed_reader(capture):
    with streamq.Writer(capture) as w:
        w.push(b"abc")
    r = streamq.Reader(capture)
    frames = list(r)
    r.close()
    assert r.closed
    for call in (lambda: iter(r), lambda: r.streams, r.verify, lambda: len(r), lambda: r.seek(seq=0)):
        with pytest.raises(streamq.ClosedError):
            call()
    # Frames taken before close stay readable: they keep the mapping alive.
    assert bytes(frames[0].data) == b"abc"
    r.close()  # idempotent
