"""Overflow policies: block (with timeouts), fail, drop_newest, drop_oldest; the byte
budget is never exceeded and every drop is counted."""

import threading
import time

import pytest

import streamq

FRAME = bytes(10_000)


def fill(q):
    n = 0
    while True:
        try:
            q.push(FRAME, timeout=0)
        except streamq.WouldBlockError:
            return n
        n += 1


def test_block_timeout_and_would_block():
    q = streamq.Queue(capacity=64 * 1024, policy="block")
    n = fill(q)
    assert n > 0
    t0 = time.monotonic()
    with pytest.raises(streamq.Timeout):
        q.push(FRAME, timeout=0.2)
    assert time.monotonic() - t0 >= 0.18
    with pytest.raises(streamq.WouldBlockError):
        q.push(FRAME, timeout=0)
    with pytest.raises(streamq.Timeout):
        q.push(FRAME, timeout=0.05, timestamp=1)
    s = q.stats
    # Only the calls that gave up count (a wait that found room, or was interrupted, is not a refusal).
    assert s.pushes_refused == 3 + 1  # 3 above + the one that ended fill()
    assert s.frames_pushed == n


def test_block_waits_for_room_then_succeeds():
    q = streamq.Queue(capacity=64 * 1024, policy="block")
    n = fill(q)

    def consume_later():
        while q.stats.waiting_producers == 0:
            time.sleep(0.001)
        q.pop()

    t = threading.Thread(target=consume_later)
    t.start()
    assert q.push(FRAME, timeout=10) == n
    t.join()
    assert q.stats.blocked_ns > 0


def test_fail_policy():
    q = streamq.Queue(capacity=64 * 1024, policy="fail")
    n = fill(q)
    with pytest.raises(streamq.WouldBlockError):
        q.push(FRAME)
    with pytest.raises(streamq.WouldBlockError):
        q.push(FRAME, timeout=5)  # never waits
    assert q.stats.frames_pushed == n


def test_drop_newest_returns_none_and_counts():
    q = streamq.Queue(capacity=64 * 1024, policy="drop_newest")
    results = [q.push(FRAME) for _ in range(20)]
    queued = [r for r in results if r is not None]
    assert len(queued) < 20 and results[-1] is None
    assert queued == list(range(len(queued)))
    s = q.stats
    assert s.frames_dropped_newest == 20 - len(queued) == s.frames_dropped
    assert s.bytes_dropped == s.frames_dropped * len(FRAME)
    assert s.frames_pushed == 20  # dropped frames get a sequence number too
    got = [f.seq for f in q.pop_batch(max_frames=100, timeout=0)]
    assert got == queued


def test_drop_oldest_evicts():
    q = streamq.Queue(capacity=64 * 1024, policy="drop_oldest")
    results = [q.push(FRAME) for _ in range(20)]
    assert results == list(range(20))  # every new frame is queued
    s = q.stats
    assert s.frames_dropped_oldest > 0
    got = [f.seq for f in q.pop_batch(max_frames=100, timeout=0)]
    assert got == list(range(20 - len(got), 20))  # the newest survive
    assert s.frames_dropped_oldest == 20 - len(got)


def test_memory_budget_is_never_exceeded():
    # F2: whatever the caller ignores, the ring never grows.
    for policy in ("drop_newest", "drop_oldest", "fail"):
        q = streamq.Queue(capacity=128 * 1024, policy=policy)
        for _ in range(200):
            try:
                q.push(FRAME)
            except streamq.WouldBlockError:
                pass
        s = q.stats
        assert s.peak_level_bytes <= s.capacity_bytes == q.capacity


def test_policy_names():
    for p in ("block", "fail", "drop_newest", "drop_oldest", "drop-oldest", "FAIL_FAST"):
        streamq.Queue(capacity=4096, policy=p)
    with pytest.raises(ValueError, match="unknown overflow policy"):
        streamq.Queue(capacity=4096, policy="leaky")
