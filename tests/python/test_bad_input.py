"""Wrongly typed or non-contiguous input gives a clear TypeError / ValueError."""

import array

import numpy as np
import pytest

import streamq


@pytest.fixture
def q():
    return streamq.Queue(capacity=1 << 20)


@pytest.mark.parametrize(
    "data",
    [b"bytes", bytearray(b"bytearray"), memoryview(b"memoryview"), array.array("i", [1, 2, 3]),
     np.arange(12, dtype=np.float64).reshape(3, 4), np.zeros(0, np.uint8), b""],
)
def test_accepted_buffers(q, data, capture):
    q.push(data)
    assert bytes(q.pop().data) == bytes(memoryview(data).cast("B"))


@pytest.mark.parametrize("data", ["text", 42, 3.5, None, [1, 2, 3], object()])
def test_wrong_types(q, data):
    with pytest.raises(TypeError, match="bytes-like|buffer protocol"):
        q.push(data)


@pytest.mark.parametrize(
    "data",
    [np.arange(20, dtype=np.uint16)[::2], np.zeros((4, 4), np.uint8).T[:, :3],
     np.asfortranarray(np.zeros((3, 4), np.uint16)), memoryview(b"abcdef")[::2]],
)
def test_non_contiguous(q, data):
    with pytest.raises(ValueError, match="C-contiguous"):
        q.push(data)


def test_fortran_order_array_is_refused_but_contiguous_copy_works(q):
    a = np.asfortranarray(np.arange(12, dtype=np.uint16).reshape(3, 4))
    with pytest.raises(ValueError):
        q.push(a)
    q.push(np.ascontiguousarray(a))
    assert np.array_equal(np.frombuffer(q.pop().data, np.uint16).reshape(3, 4), a)


def test_bad_arguments(q, capture):
    with pytest.raises(ValueError, match="timeout"):
        q.push(b"x", timeout=-1)
    with pytest.raises(ValueError, match="timeout"):
        q.pop(timeout=float("nan"))
    with pytest.raises(OverflowError):
        q.push(b"x", timestamp=-5)
    with pytest.raises(TypeError):
        q.push(b"x", timestamp="now")
    with pytest.raises(ValueError):
        streamq.Queue(capacity=0)
    with pytest.raises(ValueError, match="compression"):
        streamq.Writer(capture, compression="lz4")
    with pytest.raises(ValueError, match="level"):
        streamq.Writer(capture, compression="zstd:99")
    with pytest.raises(ValueError, match="fsync"):
        streamq.Writer(capture, fsync="sometimes")
    with pytest.raises(TypeError, match="bool"):
        streamq.Writer(capture, fsync=True)
    with pytest.raises(TypeError, match="callable"):
        streamq.Writer(capture, on_error=5)
    with pytest.raises(ValueError, match="policy"):
        streamq.Writer(capture, policy="sometimes")
    with pytest.raises(ValueError, match="writes_in_flight"):
        streamq.Writer(capture, writes_in_flight=65)
    with pytest.raises(OverflowError):
        streamq.Writer(capture, writes_in_flight=-1)
    with streamq.Writer(capture) as w:
        with pytest.raises(TypeError):
            w.push("text")
        with pytest.raises(ValueError, match="C-contiguous"):
            w.push(np.zeros((10, 10), np.uint16)[:, 1])
        w.add_stream("a")
        with pytest.raises(ValueError, match="already"):
            w.add_stream("a")


def test_reader_bad_input(tmp_path):
    missing = tmp_path / "missing.sqcap"
    with pytest.raises(streamq.IOFailure) as e:
        streamq.Reader(missing)
    assert isinstance(e.value, OSError) and e.value.errno == 2 and e.value.filename == str(missing)
    junk = tmp_path / "junk.sqcap"
    junk.write_bytes(b"this is not a capture file" * 10)
    with pytest.raises(streamq.CorruptFileError, match="not a streamq capture"):
        streamq.Reader(junk)
    empty = tmp_path / "empty.sqcap"
    empty.write_bytes(b"")
    with pytest.raises(streamq.CorruptFileError):
        streamq.Reader(empty)
    with pytest.raises(ValueError):
        streamq.Reader([])
    with pytest.raises(TypeError):
        streamq.Reader(42)
