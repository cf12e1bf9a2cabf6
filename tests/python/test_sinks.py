"""Writer sinks from Python: the directory sink, a callable sink (frames in order and
bit-exact, gaps under the drop policies, an exception failing the writer cleanly,
calling back into the writer), on_durable, and argument checking."""

import subprocess
import sys
import textwrap
import threading

import pytest

import streamq


def payload(stream, seq):
    """Frame `seq` of stream `stream`: its length and bytes differ per frame."""
    n = 0 if seq == 0 else (seq * 397 + stream * 61) % 5000 + 1
    return bytes((seq * 31 + i * 7 + stream * 101) % 256 for i in range(n))


# ---------------------------------------------------------------- callable sink --


def test_callable_sink_gets_every_frame_in_order_bit_exact():
    events = []
    threads = set()

    def sink(ev):
        threads.add(threading.get_ident())
        events.append(ev)

    with streamq.Writer(sink=sink) as w:
        assert w.sink == "callback" and w.path is None
        depth = w.add_stream("depth", "depth/u16")
        imu = w.add_stream("imu", policy="block", capacity=1 << 16)
        for seq in range(200):
            assert depth.push(payload(0, seq), timestamp=1_000_000 + seq * 33) == seq
            assert imu.push(payload(1, seq)) == seq
            if seq == 100:
                w.flush()
    report = w.close()
    assert report.frames_written == 400 and report.frames_dropped == 0 and report.frames_failed == 0
    assert report.bytes_written == sum(len(payload(s, q)) for s in (0, 1) for q in range(200))

    assert all(isinstance(e, streamq.Frame) for e in events) and len(events) == 400
    for sid, name in ((0, "depth"), (1, "imu")):
        got = [e for e in events if e.stream_id == sid]
        assert [e.seq for e in got] == list(range(200))
        assert all(e.stream == name for e in got)
        # bytes, valid after the call (kept past close)
        assert all(type(e.data) is bytes and e.data == payload(sid, e.seq) for e in got)
        assert all(len(e) == len(e.data) and bytes(e) == e.data for e in got)
        assert all(not e.compressed and e.offset is None and e.segment is None for e in got)
        assert all(e.host_time > 0 for e in got)
    assert [e.timestamp for e in events if e.stream_id == 0] == [1_000_000 + s * 33 for s in range(200)]
    # One thread, the writer's.
    assert len(threads) == 1 and threading.get_ident() not in threads


def test_callable_sink_default_stream_and_zero_copy_reserve():
    events = []
    with streamq.Writer(sink=events.append) as w:
        w.push(b"first")
        s = w.streams[0]
        with s.reserve(4) as buf:
            buf[:] = b"abcd"
    assert [(e.stream, e.seq, e.data) for e in events] == [("frames", 0, b"first"), ("frames", 1, b"abcd")]


@pytest.mark.parametrize("policy", ["drop_newest", "drop_oldest"])
def test_callable_sink_reports_gaps_under_drop_policies(policy):
    """While the sink is held in its first call the small ring fills and the policy
    drops frames; the sink then gets GapInfo events covering exactly the dropped
    sequence numbers, before the frames that follow them."""
    events = []
    entered, release = threading.Event(), threading.Event()

    def sink(ev):
        events.append(ev)
        if not entered.is_set():
            entered.set()
            assert release.wait(60)  # Event.wait releases the GIL

    w = streamq.Writer(sink=sink, capacity=64 << 10, policy=policy)
    stream = w.add_stream("cam")
    frame = bytearray(1000)

    def push(seq):
        frame[:8] = seq.to_bytes(8, "little")
        return stream.push(frame)

    assert push(0) == 0
    assert entered.wait(60)
    seq, refused = 1, 0
    while stream.stats.frames_dropped < 5:
        r = push(seq)
        if r is None:
            refused += 1
        else:
            assert r == seq
        seq += 1
        assert seq < 100_000
    stats = stream.stats
    dropped = stats.frames_dropped
    if policy == "drop_newest":
        assert refused == dropped == stats.frames_dropped_newest
    else:
        assert refused == 0 and dropped == stats.frames_dropped_oldest
    release.set()
    w.flush()
    assert push(seq) == seq
    seq += 1
    report = w.close()
    assert report.frames_written + report.frames_dropped == seq
    assert report.frames_dropped == dropped

    nxt, gap_frames = 0, 0
    for e in events:
        assert e.stream_id == 0 and e.stream == "cam"
        if isinstance(e, streamq.Frame):
            assert e.seq == nxt and len(e.data) == 1000
            assert int.from_bytes(e.data[:8], "little") == e.seq
            nxt += 1
        else:
            assert isinstance(e, streamq.GapInfo)
            assert e.first_seq == nxt and e.count >= 1 and e.host_time > 0
            assert e.reason == ("drop-newest" if policy == "drop_newest" else "drop-oldest")
            nxt += e.count
            gap_frames += e.count
    assert nxt == seq and gap_frames == dropped


def test_exception_in_sink_fails_the_writer():
    calls = {"after": 0, "failed": False}
    errors = []

    def sink(frame):
        if calls["failed"]:
            calls["after"] += 1
        if frame.seq == 3:
            calls["failed"] = True
            raise ValueError("cannot send frame 3")

    w = streamq.Writer(sink=sink, on_error=errors.append)
    for _ in range(10):
        try:
            w.push(b"x" * 100)
        except streamq.WriterError:
            break
    with pytest.raises(streamq.WriterError) as flush_err:
        w.flush()
    assert "ValueError: cannot send frame 3" in str(flush_err.value)
    assert isinstance(flush_err.value.__cause__, ValueError)
    assert str(flush_err.value.__cause__) == "cannot send frame 3"
    with pytest.raises(streamq.WriterError):
        w.push(b"more")
    assert isinstance(w.error, streamq.WriterError)
    with pytest.raises(streamq.WriterError) as close_err:
        w.close()
    rep = close_err.value.report
    assert rep.frames_failed >= 1 and rep.frames_written == 3 and rep.error is not None  # the 3 it took
    assert isinstance(close_err.value.__cause__, ValueError)
    # on_error got the same error, once; the sink was not called after it raised.
    assert len(errors) == 1 and isinstance(errors[0], streamq.WriterError)
    assert isinstance(errors[0].__cause__, ValueError)
    assert calls["failed"] and calls["after"] == 0


def test_sink_calling_back_into_its_writer_fails_it_instead_of_deadlocking():
    holder = {}

    def sink(frame):
        holder["w"].flush()  # would wait for the writer thread, which is this one

    w = streamq.Writer(sink=sink)
    holder["w"] = w
    w.push(b"frame")
    with pytest.raises(streamq.WriterError) as e:
        w.close()
    assert isinstance(e.value.__cause__, RuntimeError)
    assert "callback" in str(e.value.__cause__)


def test_open_callable_sink_writer_is_closed_at_exit():
    script = textwrap.dedent(
        """
        import sys, streamq
        def sink(frame):
            sys.stdout.write(f"frame {frame.seq} {len(frame.data)}\\n")
        w = streamq.Writer(sink=sink)
        for i in range(20):
            w.push(bytes(i))
        # no close: atexit closes it while the sink can still run
        """
    )
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [f"frame {i} {i}" for i in range(20)]


# ------------------------------------------------------------------- directory --


def test_directory_sink_writes_one_file_per_frame(tmp_path):
    out = tmp_path / "frames"
    with streamq.Writer(out, sink="directory", io_workers=2) as w:
        assert w.sink == "directory" and w.path == out
        for seq in range(30):
            assert w.push(payload(0, seq)) == seq
        imu = w.add_stream("imu")
        for seq in range(5):
            imu.push(payload(1, seq))
    assert w.stats.frames_written == 35
    files = sorted(p.name for p in out.iterdir() if p.is_file())
    assert files == [f"frame-{seq:06d}.raw" for seq in range(30)]
    for seq in range(30):
        assert (out / f"frame-{seq:06d}.raw").read_bytes() == payload(0, seq)
    # Streams after the first: a sub-directory named after them.
    assert sorted(p.name for p in (out / "imu").iterdir()) == [f"frame-{s:06d}.raw" for s in range(5)]
    assert all((out / "imu" / f"frame-{s:06d}.raw").read_bytes() == payload(1, s) for s in range(5))


# ------------------------------------------------------------------ on_durable --


def test_on_durable_capture_file_increasing_seqs(capture):
    marks = []
    with streamq.Writer(capture, fsync="always", on_durable=lambda sid, seq: marks.append((sid, seq))) as w:
        for i in range(30):
            w.push(b"d" * 1000)
            if i % 10 == 9:
                w.flush()
        assert w.durable_seq == 29
    seqs = [seq for sid, seq in marks]
    assert marks and all(sid == 0 for sid, _ in marks)
    assert seqs == sorted(set(seqs)) and seqs[-1] == 29  # strictly increasing, up to the last


def test_on_durable_callable_sink_per_stream():
    marks = []
    with streamq.Writer(sink=lambda ev: None, fsync="always", on_durable=lambda *a: marks.append(a)) as w:
        a, b = w.add_stream("a"), w.add_stream("b")
        for i in range(20):
            a.push(b"1")
            if i % 2:
                b.push(b"2")
        w.flush()
    for sid, last in ((0, 19), (1, 9)):
        seqs = [seq for s, seq in marks if s == sid]
        assert seqs and seqs == sorted(set(seqs)) and seqs[-1] == last


# ------------------------------------------------------------------- arguments --


def test_sink_arguments_are_checked(tmp_path):
    fn = lambda ev: None  # noqa: E731
    with pytest.raises(TypeError):
        streamq.Writer(sink=42)
    with pytest.raises(TypeError):
        streamq.Writer(sink=b"directory")
    with pytest.raises(ValueError):
        streamq.Writer(tmp_path / "x", sink="tape")
    with pytest.raises(TypeError):
        streamq.Writer()  # a capture file needs a path
    with pytest.raises(TypeError):
        streamq.Writer(sink="directory")
    with pytest.raises(TypeError):
        streamq.Writer(tmp_path / "x.sqcap", on_durable=5)
    with pytest.raises(TypeError):
        streamq.Writer(sink=fn, on_durable="not callable")
    with pytest.raises(ValueError, match="no path"):
        streamq.Writer(tmp_path / "x", sink=fn)
    for kwargs in (
        {"compression": "zstd"},
        {"segment_bytes": 1 << 20},
        {"segment_duration": 1.0},
        {"preallocate": 1 << 20},
        {"writes_in_flight": 1},
        {"compress_workers": 2},
        {"metadata": {"k": "v"}},
        {"io_workers": 2},
    ):
        with pytest.raises(ValueError, match="applies to the"):
            streamq.Writer(sink=fn, **kwargs)
    with pytest.raises(ValueError, match="io_workers"):
        streamq.Writer(tmp_path / "x.sqcap", io_workers=2)
    with pytest.raises(ValueError, match="compress"):
        streamq.Writer(tmp_path / "d", sink="directory", compression="zstd")
    with pytest.raises(ValueError):
        streamq.Writer(tmp_path / "d", sink="directory", io_workers=0)
    # None and "capture_file" are the default sink.
    with streamq.Writer(tmp_path / "a.sqcap", sink=None) as w:
        assert w.sink == "capture_file" and w.path == tmp_path / "a.sqcap"
    with streamq.Writer(tmp_path / "b.sqcap", sink="capture_file") as w:
        assert "capture_file" in repr(w)
