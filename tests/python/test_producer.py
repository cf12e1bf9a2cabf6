"""One producer class for queues and writer streams: the same verbs and keywords, water
marks on every producer, stream ids on writer streams; streamq.Interrupt cuts any wait
short; a blocked consumer steps aside for close() and len()."""

import inspect
import select
import threading
import time

import pytest

import streamq

VERBS = ["push", "try_push", "reserve", "try_reserve", "close", "fileno", "clear_event", "wait_below_low"]


def stalled_writer(**kwargs):
    """A writer whose callable sink holds the writer thread until `release` is set."""
    entered, release = threading.Event(), threading.Event()

    def sink(ev):
        entered.set()
        release.wait(60)

    return streamq.Writer(sink=sink, **kwargs), entered, release


def test_a_queue_is_a_producer_and_the_default_stream_is_one(tmp_path):
    q = streamq.Queue(1 << 20)
    assert isinstance(q, streamq.Producer) and issubclass(streamq.Queue, streamq.Producer)
    # The producing methods are inherited, not written out again on Queue.
    for verb in ["push", "try_push", "reserve", "try_reserve", "fileno", "clear_event", "wait_below_low"]:
        assert getattr(type(q), verb) is getattr(streamq.Producer, verb)
    assert q.push(b"abc") == 0 and q.pop().data == b"abc"
    with streamq.Writer(tmp_path / "c.sqcap") as w:
        d = w.default_stream
        assert type(d) is streamq.Producer and d is w.default_stream
        assert (d.name, d.stream_id) == ("frames", 0)
        assert w.push(b"x") == 0 and d.push(b"y") == 1  # Writer.push is the default stream's
        assert w.push.__self__ is d and w.streams == [d]
        assert not hasattr(w, "no_such_attribute")


def test_queue_and_writer_stream_share_the_producer_class(tmp_path):
    q = streamq.Queue(1 << 20)
    with streamq.Writer(tmp_path / "c.sqcap") as w:
        s = w.add_stream("s")
        assert type(s) is streamq.Producer and type(q.producer) is streamq.Producer
        assert w.streams[0] is s  # the same object add_stream returned
        assert q.producer is q.producer
        assert s.stream_id == 0 and q.producer.stream_id is None
        assert (s.name, s.media_type) == ("s", "application/octet-stream")
        assert (q.producer.name, q.producer.media_type, q.producer.metadata) == (None, None, {})
        # The queue's producing methods are the Producer's, with the same signatures.
        for verb in VERBS:
            assert inspect.signature(getattr(q, verb)) == inspect.signature(getattr(s, verb)) or verb == "close"
            assert inspect.signature(getattr(q, verb)) == inspect.signature(getattr(q.producer, verb)) or verb == "close"
        assert inspect.signature(w.push) == inspect.signature(s.push)
        for p in (q, q.producer, s):
            seqs = [p.push(b"a", timestamp=1, timeout=1), p.try_push(b"b", timestamp=2)]
            with p.reserve(1, timestamp=3) as buf:
                buf[:] = b"c"
            with p.try_reserve(1, timestamp=4) as buf:
                buf[:] = b"d"
            assert seqs[1] == seqs[0] + 1
    # q and q.producer are one queue: one sequence.
    assert [(f.seq, f.timestamp) for f in q.pop_batch(timeout=0)] == [(i, i % 4 + 1) for i in range(8)]
    assert [f.timestamp for f in streamq.Reader(tmp_path / "c.sqcap", stream="s")] == [1, 2, 3, 4]


def test_push_keywords_are_keyword_only():
    q = streamq.Queue(1 << 20)
    with pytest.raises(TypeError):
        q.push(b"x", 5)  # the old Queue.push(data, timeout, timestamp) order is gone
    with pytest.raises(TypeError):
        q.producer.push(b"x", None, 5)


def test_block_false_and_try_push_never_wait():
    q = full_queue()  # defined below, with the Interrupt tests
    refused = q.stats.pushes_refused
    t0 = time.monotonic()
    with pytest.raises(streamq.WouldBlockError):
        q.push(bytes(10_000), block=False, timeout=10)  # block=False wins, as queue.Queue.put
    with pytest.raises(streamq.WouldBlockError):
        q.producer.try_push(bytes(10_000))
    with pytest.raises(streamq.WouldBlockError):
        q.try_reserve(10_000)
    assert time.monotonic() - t0 < 1
    assert q.stats.pushes_refused == refused + 3  # each a real refusal


def test_configured_block_timeout_is_what_timeout_none_means():
    q = streamq.Queue(64 * 1024, block_timeout="100ms")
    while q.push(bytes(10_000), block=False) is not None:
        if q.is_above_high_water and len(q) > 5:
            break
    with pytest.raises(streamq.WouldBlockError):
        while True:
            q.push(bytes(10_000), block=False)
    t0 = time.monotonic()
    with pytest.raises(streamq.Timeout):
        q.push(bytes(10_000))
    assert 0.08 <= time.monotonic() - t0 < 2
    t0 = time.monotonic()
    with pytest.raises(streamq.Timeout):
        q.push(bytes(10_000), timeout=0.3)  # an explicit timeout still wins
    assert time.monotonic() - t0 >= 0.28


def test_water_marks_on_a_writer_stream():
    w, entered, release = stalled_writer()
    s = w.add_stream("cam", capacity=64 * 1024, high_water=40_000, low_water=10_000)
    fd = s.fileno()
    assert select.select([fd], [], [], 0)[0] == []
    s.push(bytes(1000))  # the writer thread takes it and stalls in the sink
    assert entered.wait(10)
    while not s.is_above_high_water:
        s.push(bytes(8_000))
    assert select.select([fd], [], [], 0)[0] == [fd]
    s.clear_event()
    assert s.wait_below_low(timeout=0.05) is False
    assert s.stats.above_high_water
    done = []

    def wait():
        done.append(s.wait_below_low(timeout=30))

    t = threading.Thread(target=wait)
    t.start()
    while s.stats.waiting_producers == 0:
        time.sleep(0.001)
    release.set()  # the writer drains the ring
    t.join(30)
    assert done == [True] and not s.is_above_high_water
    report = w.close()
    assert report.frames_written == s.stats.frames_pushed and report.frames_dropped == 0


def test_asyncio_wait_writable_on_a_writer_stream():
    import asyncio

    w, entered, release = stalled_writer()
    s = w.add_stream("cam", capacity=64 * 1024, high_water=40_000, low_water=10_000)
    s.push(bytes(1000))
    assert entered.wait(10)
    while not s.is_above_high_water:
        s.push(bytes(8_000))

    async def main():
        asyncio.get_running_loop().call_later(0.05, release.set)
        await streamq.wait_writable(s, timeout=10)

    asyncio.run(main())
    assert not s.is_above_high_water
    w.close()


# ---- Interrupt ---------------------------------------------------------------------------


def full_queue():
    q = streamq.Queue(64 * 1024)
    while True:
        try:
            q.try_push(bytes(10_000))
        except streamq.WouldBlockError:
            return q


CALLS = {
    "pop": (lambda: streamq.Queue(1 << 20), lambda q, i: q.pop(interrupt=i), lambda q: q.waiting_consumers),
    "pop_batch": (
        lambda: streamq.Queue(1 << 20),
        lambda q, i: q.pop_batch(timeout=60, interrupt=i),
        lambda q: q.waiting_consumers,
    ),
    "push": (full_queue, lambda q, i: q.push(bytes(10_000), interrupt=i), lambda q: q.stats.waiting_producers),
    "reserve": (full_queue, lambda q, i: q.reserve(10_000, interrupt=i), lambda q: q.stats.waiting_producers),
    "wait_below_low": (full_queue, lambda q, i: q.wait_below_low(interrupt=i), lambda q: q.stats.waiting_producers),
}


@pytest.mark.parametrize("label", list(CALLS))
@pytest.mark.parametrize("where", ["main thread", "other thread"])
def test_interrupt_cuts_a_wait_short(label, where):
    make, call, waiting = CALLS[label]
    q = make()
    refused = q.stats.pushes_refused
    interrupt = streamq.Interrupt()
    result = {}

    def run():
        t0 = time.monotonic()
        try:
            call(q, interrupt)
            result["outcome"] = "returned"
        except streamq.Interrupted:
            result["outcome"] = "interrupted"
        result["elapsed"] = time.monotonic() - t0

    def trigger():
        while not waiting(q):
            time.sleep(0.001)
        result["triggered_at"] = time.monotonic()
        interrupt.trigger()

    if where == "main thread":
        t = threading.Thread(target=trigger)
        t.start()
        run()
        t.join()
    else:
        t = threading.Thread(target=run)
        t.start()
        trigger()
        t.join(10)
    assert result["outcome"] == "interrupted"
    assert interrupt.triggered
    assert q.stats.pushes_refused == refused  # an interrupt is not a refusal
    # Triggered: a call that would wait raises at once; one that can complete does.
    t0 = time.monotonic()
    with pytest.raises(streamq.Interrupted):
        call(q, interrupt)
    assert time.monotonic() - t0 < 1
    interrupt.reset()
    assert not interrupt.triggered


def test_a_triggered_interrupt_does_not_stop_a_call_that_need_not_wait():
    q = streamq.Queue(1 << 20)
    i = streamq.Interrupt()
    i.trigger()
    assert q.push(b"x", interrupt=i) == 0
    assert bytes(q.pop(interrupt=i).data) == b"x"
    with pytest.raises(streamq.Interrupted):
        q.pop(interrupt=i)
    assert "triggered" in repr(i)


def test_one_interrupt_stops_several_waiters():
    queues = [streamq.Queue(1 << 20) for _ in range(3)]
    i = streamq.Interrupt()
    outcomes = []

    def wait(q):
        try:
            q.pop(timeout=60, interrupt=i)
        except streamq.Interrupted:
            outcomes.append("interrupted")

    threads = [threading.Thread(target=wait, args=(q,)) for q in queues]
    for t in threads:
        t.start()
    while sum(q.waiting_consumers for q in queues) < 3:
        time.sleep(0.001)
    i.trigger()
    for t in threads:
        t.join(10)
    assert outcomes == ["interrupted"] * 3


# ---- the consumer lock ------------------------------------------------------------------------


def test_close_and_len_do_not_wait_for_a_blocked_pop():
    q = streamq.Queue(1 << 20)
    outcome = []

    def consume():
        try:
            q.pop(timeout=60)
        except streamq.EndOfStream:
            outcome.append(("end", time.monotonic()))

    t = threading.Thread(target=consume)
    t.start()
    while q.waiting_consumers == 0:
        time.sleep(0.001)
    t0 = time.monotonic()
    for _ in range(20):  # each asks the waiting pop to step aside, which then waits again
        assert len(q) == 0 and not q.finished and "streamq.Queue" in repr(q)
    assert time.monotonic() - t0 < 1
    while q.waiting_consumers == 0:  # back in its wait
        time.sleep(0.001)
    assert t.is_alive()
    t1 = time.monotonic()
    q.close()
    t.join(10)
    assert time.monotonic() - t1 < 1
    assert outcome and outcome[0][0] == "end"


def test_a_pop_that_stepped_aside_still_gets_the_next_frame():
    q = streamq.Queue(1 << 20)
    got = []
    t = threading.Thread(target=lambda: got.append(bytes(q.pop(timeout=60).data)))
    t.start()
    while q.waiting_consumers == 0:
        time.sleep(0.001)
    assert len(q) == 0  # makes the pop step aside
    q.push(b"x")
    t.join(10)
    assert got == [b"x"] and len(q) == 0


def test_close_wakes_a_pop_that_waits_for_ever():
    q = streamq.Queue(1 << 20)
    ended = threading.Event()

    def consume():
        for _ in q:  # iteration: pop() until EndOfStream
            pass
        ended.set()

    t = threading.Thread(target=consume)
    t.start()
    while q.waiting_consumers == 0:
        time.sleep(0.001)
    t0 = time.monotonic()
    q.close()
    assert ended.wait(5) and time.monotonic() - t0 < 1
    t.join()
