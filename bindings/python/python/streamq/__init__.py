"""streamq: move bursts of frames from a fast producer to a slower sink without unbounded
memory, without stalling the producer on I/O, and without losing data silently.

* :class:`Queue` - a bounded queue of variable-size frames with a byte budget, an
  overflow policy, water marks (also as a pollable descriptor) and asyncio helpers.
* :class:`Writer` - records frames (from one or several streams) on the engine's writer
  threads: to a capture file (optionally zstd-compressed), a directory with one file per
  frame (``sink="directory"``) or a Python callable (``sink=fn``, given each
  :class:`Frame` and :class:`GapInfo`); ``close()`` reports what was written, dropped
  and failed.
* :class:`Reader` - reads capture files zero-copy (memory-mapped); :func:`recover`
  repairs a crashed one.

Frame data is accepted from any C-contiguous buffer (bytes, bytearray, memoryview,
numpy arrays of any dtype) without an intermediate copy; the GIL is released while
frames are copied into the ring and while a call blocks, and Ctrl-C interrupts a
blocking call.

Example::

    import numpy as np, streamq

    with streamq.Writer("capture.sqcap", compress="zstd") as w:
        depth = w.add_stream("depth", "depth/u16", metadata={"width": 640, "height": 576})
        depth.write(np.zeros((576, 640), np.uint16))
    report = w.stats                      # frames_written, frames_dropped, ...

    for frame in streamq.Reader("capture.sqcap", stream="depth"):
        image = np.frombuffer(frame.data, np.uint16).reshape(576, 640)   # no copy
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import threading
import time
from typing import Any, AsyncIterator, Iterator, Optional, Protocol

from . import _streamq
from ._streamq import (
    Buffer,
    ClosedError,
    CorruptFileError,
    EndOfStream,
    Error,
    Frame,
    FrameIterator,
    FrameTooLargeError,
    GapInfo,
    IOError,
    LatencySummary,
    QueueStats,
    RecoverReport,
    Reader,
    Report,
    Reservation,
    SegmentInfo,
    Stream,
    StreamInfo,
    StreamReport,
    StreamVerify,
    TimeoutError,
    VerifyReport,
    WouldBlockError,
    Writer,
    WriterError,
    WriterIOError,
    recover,
)

__version__: str = _streamq.__version__

__all__ = [
    "Buffer",
    "ClosedError",
    "CorruptFileError",
    "EndOfStream",
    "Error",
    "Frame",
    "FrameIterator",
    "FrameTooLargeError",
    "GapInfo",
    "IOError",
    "LatencySummary",
    "Queue",
    "QueueStats",
    "RecoverReport",
    "Reader",
    "Report",
    "Reservation",
    "SegmentInfo",
    "Stream",
    "StreamInfo",
    "StreamReport",
    "StreamVerify",
    "TimeoutError",
    "VerifyReport",
    "WouldBlockError",
    "Writer",
    "WriterError",
    "WriterIOError",
    "recover",
    "wait_writable",
]

# How long one executor round of an async pop waits before checking for cancellation.
_ASYNC_POP_SLICE = 0.1
# How often wait_writable re-checks a closed queue while the descriptor stays quiet.
_WRITABLE_RECHECK = 0.25


class _WaterMarked(Protocol):
    def fileno(self) -> int: ...
    def clear_event(self) -> None: ...
    @property
    def is_above_high_water(self) -> bool: ...
    @property
    def closed(self) -> bool: ...


async def wait_writable(target: _WaterMarked, timeout: Optional[float] = None) -> None:
    """Wait, without blocking the event loop, until ``target`` (a :class:`Queue` or a
    writer :class:`Stream`) is not above its high water mark.

    Returns at once if it is not. Otherwise watches the water-mark descriptor
    (``target.fileno()``, an eventfd that becomes readable on every transition) with
    ``loop.add_reader`` until the level has fallen to the low mark. Raises
    :class:`TimeoutError` after ``timeout`` seconds and :class:`ClosedError` if the
    queue is closed meanwhile.
    """
    loop = asyncio.get_running_loop()
    fd = target.fileno()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        # Clear first, then look: a transition after the look makes the fd readable.
        target.clear_event()
        if not target.is_above_high_water:
            return
        if target.closed:
            raise ClosedError("queue is closed")
        wait = _WRITABLE_RECHECK
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("queue stayed above its high water mark until the timeout")
            wait = min(wait, left)
        ready = loop.create_future()

        def _on_ready() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, _on_ready)
        try:
            await asyncio.wait_for(ready, wait)
        except asyncio.TimeoutError:
            pass
        finally:
            loop.remove_reader(fd)


class Queue(_streamq.Queue):
    """A bounded queue of variable-size frames with a byte budget.

    ``Queue(capacity=64 MiB, high_water=None, low_water=None, policy="block",
    max_frames=None)``

    * ``capacity`` - ring bytes, frame headers included (rounded up to whole pages);
      memory never grows past it.
    * ``high_water`` / ``low_water`` - water marks in bytes (default 3/4 and 1/4 of the
      capacity), with hysteresis; observable through :attr:`is_above_high_water`,
      :meth:`wait_below_low`, :meth:`fileno` and :meth:`wait_writable`.
    * ``policy`` - what a push does when the frame does not fit: ``"block"`` waits
      (optionally up to ``timeout``), ``"fail"`` raises :class:`WouldBlockError`,
      ``"drop_newest"`` drops the new frame (``push`` returns None),
      ``"drop_oldest"`` evicts the oldest unread frames. Every drop is counted in
      :attr:`stats`.
    * ``max_frames`` - optional cap on the number of queued frames as well.

    Any number of threads may push (``push``, ``reserve``); one consumer pops at a time
    (``pop``, ``pop_batch``, ``for frame in q``, ``async for frame in q``). Frames pushed
    before anyone pops are kept. ``close_producer()`` ends the stream (the consumer
    drains, then sees the end); ``close()`` closes the consumer side (producers get
    :class:`ClosedError`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The Rust constructor (__new__) did the work; this adds the asyncio state.
        self._rescued: collections.deque[Frame] = collections.deque()
        self._rescue_lock = threading.Lock()
        self._executor: Optional[concurrent.futures.ThreadPoolExecutor] = None

    # -- consuming, with frames rescued from cancelled async pops first ------------------

    def pop(self, timeout: Optional[float] = None) -> Frame:
        """Take the oldest frame, waiting up to ``timeout`` seconds (None: until one
        arrives). Raises :class:`TimeoutError` when the timeout passes and
        :class:`EndOfStream` once the producers closed and the queue is drained (or
        after :meth:`close`). Ctrl-C interrupts the wait."""
        if self._rescued:
            with self._rescue_lock:
                if self._rescued:
                    return self._rescued.popleft()
        return super().pop(timeout)

    def pop_batch(
        self, max_frames: int = 64, max_bytes: int = 64 << 20, timeout: Optional[float] = None
    ) -> list[Frame]:
        """Take up to ``max_frames`` frames / ``max_bytes`` payload bytes (the first frame
        whatever its size), waiting up to ``timeout`` for the first. Returns ``[]`` if none
        came in time; raises :class:`EndOfStream` at the end of the stream."""
        if self._rescued:
            with self._rescue_lock:
                out = []
                while self._rescued and len(out) < max_frames:
                    out.append(self._rescued.popleft())
            if out:
                return out
        return super().pop_batch(max_frames, max_bytes, timeout)

    def __iter__(self) -> Iterator[Frame]:
        return self

    def __next__(self) -> Frame:
        try:
            return self.pop()
        except EndOfStream:
            raise StopIteration from None

    # -- asyncio ---------------------------------------------------------------------

    async def wait_writable(self, timeout: Optional[float] = None) -> None:
        """Wait without blocking the event loop until the queue is not above its high
        water mark (see :func:`streamq.wait_writable`)."""
        await wait_writable(self, timeout)

    def _executor_pop(self, token: dict[str, bool]) -> Optional[Frame]:
        # Runs on the executor thread. A frame taken after the waiter was cancelled is
        # put back at the front (rescued), never lost.
        try:
            frame = super().pop(_ASYNC_POP_SLICE)
        except TimeoutError:
            return None
        with self._rescue_lock:
            if token["cancelled"]:
                self._rescued.append(frame)
                return None
            token["delivered"] = True
        return frame

    async def apop(self, timeout: Optional[float] = None) -> Frame:
        """Take the oldest frame without blocking the event loop.

        A frame already queued is taken at once; otherwise the blocking pop runs on a
        helper thread in short slices (the engine has no data-ready descriptor to poll).
        If the awaiting task is cancelled, a frame the helper thread already took is kept
        for the next pop, never lost. Raises :class:`TimeoutError` after ``timeout``
        seconds and :class:`EndOfStream` at the end of the stream.
        """
        try:
            return self.pop(0)
        except TimeoutError:
            pass
        loop = asyncio.get_running_loop()
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="streamq-apop"
            )
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            token = {"cancelled": False, "delivered": False}
            cfut = self._executor.submit(self._executor_pop, token)
            try:
                frame = await asyncio.wrap_future(cfut, loop=loop)
            except asyncio.CancelledError:
                with self._rescue_lock:
                    token["cancelled"] = True
                    delivered = token["delivered"]
                if delivered:
                    # The helper handed the frame to the future just before the cancel.
                    def _keep(f: concurrent.futures.Future[Optional[Frame]]) -> None:
                        if not f.cancelled() and f.exception() is None and f.result() is not None:
                            with self._rescue_lock:
                                self._rescued.appendleft(f.result())  # type: ignore[arg-type]

                    cfut.add_done_callback(_keep)
                raise
            if frame is not None:
                return frame
            if self._rescued:
                return self.pop(0)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("no frame before the timeout")

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self

    async def __anext__(self) -> Frame:
        try:
            return await self.apop()
        except EndOfStream:
            raise StopAsyncIteration from None

    def __exit__(self, *exc: object) -> bool:
        """Close both sides."""
        self.close_producer()
        self.close()
        return False

    def close(self) -> None:
        """Close the consumer side: later pushes raise :class:`ClosedError`, blocked
        producers wake, queued frames are counted as discarded. Idempotent."""
        super().close()
        ex, self._executor = self._executor, None
        if ex is not None:
            ex.shutdown(wait=False)

