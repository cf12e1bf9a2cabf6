"""Water marks: state, blocking wait, and the pollable descriptor."""

import select
import threading

import pytest

import streamq

FRAME = bytes(8_000)


def test_transitions_state_and_descriptor():
    q = streamq.Queue(capacity=64 * 1024, high_water=40_000, low_water=10_000)
    fd = q.fileno()
    assert isinstance(fd, int) and fd >= 0
    assert select.select([fd], [], [], 0)[0] == []
    while not q.is_above_high_water:
        q.push(FRAME)
    assert select.select([fd], [], [], 0)[0] == [fd]  # readable after the transition
    q.clear_event()
    assert select.select([fd], [], [], 0)[0] == []
    # Hysteresis: still above until the level falls to the low mark.
    q.pop()
    assert q.is_above_high_water
    while q.is_above_high_water:
        q.pop()
    assert select.select([fd], [], [], 0)[0] == [fd]
    assert q.stats.water_mark_transitions == 2


def test_wait_below_low():
    q = streamq.Queue(capacity=64 * 1024, high_water=40_000, low_water=10_000)
    assert q.wait_below_low(timeout=0) is True  # not above: at once
    while not q.is_above_high_water:
        q.push(FRAME)
    assert q.wait_below_low(timeout=0.05) is False

    def drain():
        while q.stats.waiting_producers == 0:
            pass
        for _ in range(len(q)):
            q.pop()

    t = threading.Thread(target=drain)
    t.start()
    assert q.wait_below_low(timeout=10) is True
    t.join()


def test_wait_below_low_raises_when_closed_while_above():
    q = streamq.Queue(capacity=64 * 1024, high_water=40_000, low_water=10_000)
    while not q.is_above_high_water:
        q.push(FRAME)
    q.close()
    with pytest.raises(streamq.ClosedError):
        q.wait_below_low(timeout=5)


def test_bad_marks():
    with pytest.raises(ValueError):
        streamq.Queue(capacity=4096, high_water=1_000_000)
    with pytest.raises(ValueError):
        streamq.Queue(capacity=1 << 20, high_water=1000, low_water=2000)
