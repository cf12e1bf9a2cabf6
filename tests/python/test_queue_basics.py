"""Queue: push/pop, sequence numbers, timestamps, batches, iteration, end of stream."""

import time

import pytest

import streamq


def test_push_pop_roundtrip_in_order():
    q = streamq.Queue(capacity=1 << 20)
    payloads = [bytes([i]) * (i + 1) for i in range(50)]
    seqs = [q.push(p) for p in payloads]
    assert seqs == list(range(50))
    assert len(q) == 50
    for i, p in enumerate(payloads):
        f = q.pop()
        assert f.seq == i
        assert bytes(f.data) == p
        assert len(f) == len(p)
        assert f.stream is None and f.stream_id is None
    assert len(q) == 0


def test_frames_pushed_before_any_consumer_are_kept():
    # F1: a queue starts paused; the consumer attaching late loses nothing.
    q = streamq.Queue(capacity=1 << 20)
    for i in range(100):
        q.push(i.to_bytes(4, "little"))
    time.sleep(0.01)
    got = [int.from_bytes(q.pop().data, "little") for _ in range(100)]
    assert got == list(range(100))


def test_timestamps():
    q = streamq.Queue(capacity=1 << 20)
    before = time.monotonic_ns()
    q.push(b"a")
    q.push(b"b", timestamp=123_456)
    after = time.monotonic_ns()
    a, b = q.pop(), q.pop()
    # Without a device timestamp the host time is used (CLOCK_MONOTONIC, as time.monotonic_ns).
    # The engine reads it through the TSC, re-anchored on clock_gettime every millisecond:
    # measured up to ~130 ns off time.monotonic_ns() on our VMs, hence the 1 us slack.
    slack = 1_000
    assert before - slack <= a.timestamp <= after + slack
    assert a.timestamp == a.host_time
    assert b.timestamp == 123_456
    assert before - slack <= b.host_time <= after + slack


def test_pop_timeout_and_nonblocking():
    q = streamq.Queue(capacity=1 << 20)
    t0 = time.monotonic()
    with pytest.raises(streamq.Timeout):
        q.pop(timeout=0.2)
    assert 0.15 <= time.monotonic() - t0 < 2.0
    with pytest.raises(TimeoutError):  # the builtin too
        q.pop(timeout=0)


def test_pop_batch_limits():
    q = streamq.Queue(capacity=1 << 20)
    for i in range(10):
        q.push(bytes(100))
    batch = q.pop_batch(max_frames=4)
    assert [f.seq for f in batch] == [0, 1, 2, 3]
    batch = q.pop_batch(max_frames=100, max_bytes=250)
    assert [f.seq for f in batch] == [4, 5]
    # The first frame is taken whatever its size.
    batch = q.pop_batch(max_frames=100, max_bytes=1)
    assert [f.seq for f in batch] == [6]
    assert [f.seq for f in q.pop_batch()] == [7, 8, 9]
    assert q.pop_batch(timeout=0) == []
    t0 = time.monotonic()
    assert q.pop_batch(timeout=0.1) == []
    assert time.monotonic() - t0 >= 0.08
    with pytest.raises(ValueError):
        q.pop_batch(max_frames=0)


def test_iteration_until_end_of_stream():
    q = streamq.Queue(capacity=1 << 20)
    for i in range(5):
        q.push(bytes([i]))
    q.close_producer()
    assert [bytes(f.data) for f in q] == [bytes([i]) for i in range(5)]
    assert q.finished
    with pytest.raises(streamq.EndOfStream):
        q.pop()
    with pytest.raises(streamq.ClosedError):  # EndOfStream is a ClosedError
        q.pop_batch()


def test_end_of_stream_wakes_a_waiting_consumer():
    import threading

    q = streamq.Queue(capacity=1 << 20)
    out = []

    def consume():
        out.extend(bytes(f.data) for f in q)

    t = threading.Thread(target=consume)
    t.start()
    q.push(b"x")
    q.push(b"y")
    q.close_producer()
    t.join(5)
    assert not t.is_alive()
    assert out == [b"x", b"y"]


def test_stats_balance_and_latency():
    q = streamq.Queue(capacity=1 << 20)
    for _ in range(20):
        q.push(bytes(1000))
    for _ in range(5):
        q.pop()
    s = q.stats
    assert s.frames_pushed == 20
    assert s.frames_popped == 5
    assert s.frames_queued == 15
    assert s.frames_pushed == s.frames_popped + s.frames_dropped + s.frames_discarded + s.frames_queued
    assert s.bytes_pushed == 20_000 and s.bytes_popped == 5_000
    assert s.level_bytes > 15_000 and s.peak_level_bytes >= s.level_bytes
    assert s.capacity_bytes == q.capacity >= 1 << 20
    assert s.push_latency.count == 20
    assert 0 < s.push_latency.p50 <= s.push_latency.p99 <= s.push_latency.max
    d = s.to_dict()
    assert d["frames_pushed"] == 20 and d["push_latency"]["count"] == 20
    assert "QueueStats(" in repr(s)


def test_frame_too_large_and_max_frames():
    q = streamq.Queue(capacity=64 * 1024)
    with pytest.raises(streamq.FrameTooLargeError):
        q.push(bytes(q.max_frame_len + 1))
    with pytest.raises(ValueError):  # also a ValueError
        q.push(bytes(10 << 20))
    assert q.push(bytes(q.max_frame_len)) == 0

    q = streamq.Queue(capacity=1 << 20, max_frames=3, policy="fail")
    for _ in range(3):
        q.push(b"x")
    with pytest.raises(streamq.WouldBlockError):
        q.push(b"x")


def test_properties_and_repr():
    q = streamq.Queue(capacity=100_000, policy="drop_oldest")
    assert q.policy == "drop-oldest"
    assert q.capacity >= 100_000 and q.capacity % 4096 == 0
    assert not q.closed and not q.is_above_high_water
    assert "streamq.Queue" in repr(q)


def test_context_manager_closes_both_sides():
    with streamq.Queue(capacity=1 << 20) as q:
        q.push(b"a")
    assert q.closed
    with pytest.raises(streamq.ClosedError):
        q.push(b"b")


def test_many_producer_threads():
    import threading

    q = streamq.Queue(capacity=256 * 1024)  # small: producers block and wait
    n_threads, per_thread = 4, 500

    def produce(k):
        for i in range(per_thread):
            q.push(k.to_bytes(1, "little") + i.to_bytes(4, "little") + bytes(300))

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    last = {}
    seqs = []
    for _ in range(n_threads * per_thread):
        f = q.pop(timeout=10)
        d = bytes(f.data)
        k, i = d[0], int.from_bytes(d[1:5], "little")
        assert last.get(k, -1) == i - 1  # per-producer order kept
        last[k] = i
        seqs.append(f.seq)
    for t in threads:
        t.join()
    assert seqs == list(range(n_threads * per_thread))
