"""Writer callbacks run on the writer thread with the GIL held; their exceptions are
reported (sys.unraisablehook) and do not stop the writer; calling back into the writer
from a callback raises instead of deadlocking."""

import sys
import threading

import streamq


def test_callback_runs_on_writer_thread_with_python_objects(tmp_path):
    calls = []

    def on_segment(info):
        calls.append((threading.current_thread().name, info.index, dict(info.to_dict())))

    with streamq.Writer(tmp_path / "c.sqcap", segment_bytes=100_000, on_segment=on_segment) as w:
        for _ in range(10):
            w.push(bytes(40_000))
    assert calls and all(c[0] != threading.main_thread().name for c in calls)
    assert [c[1] for c in calls] == list(range(len(calls)))


def test_exception_in_callback_does_not_kill_the_writer(tmp_path, monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(u))

    def on_segment(info):
        raise ValueError("bug in user callback")

    with streamq.Writer(tmp_path / "c.sqcap", segment_bytes=100_000, on_segment=on_segment) as w:
        for _ in range(10):
            w.push(bytes(40_000))
    assert w.stats.frames_written == 10 and w.stats.error is None
    assert reported and isinstance(reported[0].exc_value, ValueError)


def test_calling_the_writer_from_its_callback_raises(tmp_path):
    errors = []
    holder = {}

    def on_segment(info):
        w = holder["w"]
        for call in (w.flush, lambda: w.stats, lambda: w.push(b"x"), w.close):
            try:
                call()
            except RuntimeError as e:
                errors.append(str(e))

    w = streamq.Writer(tmp_path / "c.sqcap", segment_bytes=100_000, on_segment=on_segment)
    holder["w"] = w
    for _ in range(5):
        w.push(bytes(40_000))
    report = w.close()
    assert report.frames_written == 5
    assert errors and all("callback" in e for e in errors)


def test_on_error_gets_the_exception(tmp_path):
    # Covered end to end (with a real I/O error) in test_writer_errors.py; here: the
    # argument must be callable.
    import pytest

    with pytest.raises(TypeError):
        streamq.Writer(tmp_path / "c.sqcap", on_segment="not callable")
