"""A writer error (here: file size limit, EFBIG) reaches the producer on its next call,
the on_error callback and close(), whose report still balances (F7, F10)."""

import subprocess
import sys
import textwrap


SCRIPT = textwrap.dedent(
    """
    import errno, resource, signal, sys, streamq
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # get EFBIG instead of a signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    path = sys.argv[1]
    seen = []
    w = streamq.Writer(path, preallocate=0, on_error=seen.append)
    raised = None
    written = 0
    try:
        for i in range(1000):
            w.push(bytes(10_000))
            written += 1
            if i % 10 == 9:
                w.flush()   # small writes: some succeed before the limit is hit
    except streamq.WriterIOError as e:
        raised = e
    assert raised is not None, "no error reached the producer"
    assert isinstance(raised, OSError) and raised.errno == errno.EFBIG, raised
    assert isinstance(raised, streamq.WriterError) and isinstance(raised, streamq.IOFailure)
    try:
        w.close()
        raise AssertionError("close() did not raise")
    except streamq.WriterError as e:
        rep = e.report
        assert e.errno == errno.EFBIG
    assert rep.error and "File too large" in rep.error
    # Nothing vanished: accepted frames are written or failed, and the caller knows
    # which writes were not accepted (they raised).
    assert rep.frames_written + rep.frames_failed == written, (rep, written)
    assert rep.frames_written > 0 and rep.frames_failed > 0
    assert len(seen) == 1 and isinstance(seen[0], streamq.WriterIOError)
    assert w.error is not None and w.error.errno == errno.EFBIG
    with streamq.Reader(path) as r:      # valid up to its last complete record
        assert len(r) == rep.frames_written
    print("OK")
    """
)


def test_writer_error_reaches_producer_callback_and_close(tmp_path):
    p = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "c.sqcap")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0 and p.stdout.strip().endswith("OK"), p.stdout + p.stderr


def test_writer_cannot_start(tmp_path):
    import pytest

    import streamq

    with pytest.raises(streamq.IOFailure) as e:
        streamq.Writer(tmp_path / "no" / "such" / "dir" / "c.sqcap")
    assert e.value.errno == 2
