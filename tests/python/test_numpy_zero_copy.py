"""numpy in and out without copies: frames from a Reader are views of the memory-mapped
file, input arrays are read in place."""

import tracemalloc

import numpy as np
import pytest

import streamq

H, W = 576, 640


def depth(i):
    return (np.arange(H * W, dtype=np.uint32).reshape(H, W) * 7 + i).astype(np.uint16)


def address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


@pytest.fixture
def recorded(capture):
    with streamq.Writer(capture) as w:
        for i in range(3):
            w.push(depth(i))
    return capture


def test_reader_frames_are_views_of_the_mapping(recorded):
    frames = list(streamq.Reader(recorded))
    a0 = np.frombuffer(frames[0].data, dtype=np.uint16)
    a0_again = np.frombuffer(frames[0].data, dtype=np.uint16)
    a1 = np.frombuffer(frames[1].data, dtype=np.uint16)
    # Two views of one frame are the same memory: nothing was copied out.
    assert np.shares_memory(a0, a0_again) and address(a0) == address(a0_again)
    # Two frames sit in one mapping at exactly their file offsets apart.
    assert address(a1) - address(a0) == frames[1].offset - frames[0].offset
    assert not a0.flags.writeable and not a0.flags.owndata
    assert np.array_equal(a0.reshape(H, W), depth(0))
    assert np.array_equal(a1.reshape(H, W), depth(1))


def test_views_outlive_the_reader(recorded):
    r = streamq.Reader(recorded)
    arr = np.frombuffer(next(iter(r)).data, dtype=np.uint16)
    r.close()
    del r
    assert np.array_equal(arr.reshape(H, W), depth(0))  # the mapping lives with the view


def test_memoryview_is_read_only(recorded):
    f = next(iter(streamq.Reader(recorded)))
    mv = f.data
    assert isinstance(mv, memoryview) and mv.readonly and mv.nbytes == H * W * 2
    with pytest.raises(TypeError):
        mv[0] = 1


def test_compressed_frames_give_bytes(capture):
    with streamq.Writer(capture, compression="zstd:3") as w:
        w.push(depth(5))
    f = next(iter(streamq.Reader(capture)))
    assert f.compressed and isinstance(f.data, bytes)
    assert np.array_equal(np.frombuffer(f.data, np.uint16).reshape(H, W), depth(5))


def test_queue_pop_data_is_not_copied_again():
    q = streamq.Queue(capacity=4 << 20)
    q.push(depth(1))
    f = q.pop()
    a, b = np.frombuffer(f.data, np.uint16), np.frombuffer(f.data, np.uint16)
    assert np.shares_memory(a, b)
    assert np.array_equal(a.reshape(H, W), depth(1))


def test_push_does_not_copy_the_array_in_python():
    # Behaviour check: pushing a 720 KiB array allocates no Python-visible memory (no
    # bytes(arr) / arr.tobytes() on the way): the ring is filled from the array itself.
    q = streamq.Queue(capacity=16 << 20)
    arr = depth(2)
    q.push(arr)  # warm up
    tracemalloc.start()
    try:
        for _ in range(10):
            q.push(arr)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024, f"push allocated {peak} bytes of Python memory"
    for _ in range(11):
        assert np.array_equal(np.frombuffer(q.pop().data, np.uint16).reshape(H, W), arr)


def test_any_dtype_is_taken_as_raw_bytes():
    q = streamq.Queue(capacity=1 << 20)
    for dtype in (np.uint8, np.int16, np.uint16, np.float32, np.complex128):
        a = np.arange(100).astype(dtype)
        q.push(a)
        assert np.array_equal(np.frombuffer(q.pop().data, dtype), a)
