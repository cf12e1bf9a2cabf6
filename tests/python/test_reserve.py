"""reserve(n): a writable memoryview over the ring, committed by a `with` block."""

import gc
import threading
import warnings

import numpy as np
import pytest

import streamq


def test_commit_on_normal_exit():
    q = streamq.Queue(capacity=1 << 20)
    r = q.reserve(8, timestamp=77)
    with r as buf:
        assert isinstance(buf, memoryview) and not buf.readonly and len(buf) == 8
        buf[:] = b"abcdefgh"
    assert r.seq == 0 and r.done and not r.dropped
    f = q.pop()
    assert bytes(f.data) == b"abcdefgh" and f.timestamp == 77


def test_abort_on_exception():
    q = streamq.Queue(capacity=1 << 20)
    with pytest.raises(RuntimeError, match="camera"):
        with q.reserve(4) as buf:
            buf[:2] = b"xx"
            raise RuntimeError("camera failed")
    assert q.stats.frames_pushed == 0
    assert q.push(b"next") == 0  # the aborted reservation used no sequence number
    assert bytes(q.pop().data) == b"next"


def test_fill_with_numpy_in_place():
    q = streamq.Queue(capacity=4 << 20)
    image = np.arange(576 * 640, dtype=np.uint16).reshape(576, 640)
    r = q.reserve(image.nbytes)
    with r as buf:
        np.frombuffer(buf, dtype=np.uint16).reshape(576, 640)[:] = image
    gc.collect()
    got = np.frombuffer(q.pop().data, dtype=np.uint16).reshape(576, 640)
    assert np.array_equal(got, image)


def test_explicit_commit_and_abort():
    q = streamq.Queue(capacity=1 << 20)
    r = q.reserve(3)
    r.buffer[:] = b"xyz"
    assert r.commit() == 0
    with pytest.raises(RuntimeError):
        r.commit()
    r2 = q.reserve(3)
    r2.abort()
    assert r2.seq is None and r2.done
    # Dropping an open reservation aborts it too.
    r3 = q.reserve(3)
    del r3
    gc.collect()
    assert q.push(b"ok") == 1


def test_buffer_unusable_after_commit():
    q = streamq.Queue(capacity=1 << 20)
    r = q.reserve(4)
    with r as buf:
        buf[:] = b"1234"
    with pytest.raises(ValueError):  # memoryview released
        buf[0] = 1
    assert bytes(q.pop().data) == b"1234"


def test_live_numpy_view_at_commit_warns():
    q = streamq.Queue(capacity=1 << 20)
    r = q.reserve(4)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with r as buf:
            arr = np.frombuffer(buf, dtype=np.uint8)
            arr[:] = 7
    assert any(issubclass(x.category, ResourceWarning) for x in w)
    del arr
    assert bytes(q.pop().data) == bytes([7] * 4)


def test_dropped_reservation_gives_scratch_buffer():
    q = streamq.Queue(capacity=64 * 1024, policy="drop_newest")
    while q.push(bytes(10_000)) is not None:
        pass
    r = q.reserve(10_000)
    with r as buf:
        buf[:] = bytes(10_000)  # writable, then discarded
    assert r.dropped and r.seq is None
    assert q.stats.frames_dropped_newest == 2


def test_same_thread_push_inside_reservation_is_refused_not_deadlocked():
    q = streamq.Queue(capacity=1 << 20)
    with q.reserve(4) as buf:
        buf[:] = b"abcd"
        with pytest.raises(RuntimeError, match="deadlock"):
            q.push(b"x")
        with pytest.raises(RuntimeError):
            q.stats
        with pytest.raises(RuntimeError):
            q.reserve(1)
    assert q.push(b"x") == 1


def test_other_threads_wait_for_the_reservation():
    q = streamq.Queue(capacity=1 << 20)
    done = threading.Event()
    seqs = []

    def other():
        seqs.append(q.push(b"other"))
        done.set()

    with q.reserve(4) as buf:
        t = threading.Thread(target=other)
        t.start()
        assert not done.wait(0.1)  # blocked on the reservation's lock, GIL released
        buf[:] = b"mine"
    t.join(5)
    assert seqs == [1]
    assert [bytes(f.data) for f in q.pop_batch(timeout=0)] == [b"mine", b"other"]


def test_reserve_blocks_with_timeout_when_full():
    q = streamq.Queue(capacity=64 * 1024)
    while True:
        try:
            q.push(bytes(10_000), timeout=0)
        except streamq.WouldBlockError:
            break
    with pytest.raises(streamq.Timeout):
        q.reserve(10_000, timeout=0.05)
    q.close()
    with pytest.raises(streamq.ClosedError):
        q.reserve(10)
