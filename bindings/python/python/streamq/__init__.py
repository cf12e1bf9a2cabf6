"""streamq: move bursts of frames from a fast producer to a slower sink without unbounded
memory, without stalling the producer on I/O, and without losing data silently.

* :class:`Queue` - a bounded queue of variable-size frames with a byte budget, an
  overflow policy, water marks (also as a pollable descriptor) and asyncio helpers.
* :class:`Producer` - the producing side of a queue or of a writer stream (one class
  for both): ``push(data, *, timestamp=None, timeout=None, block=True)``,
  ``try_push``, ``reserve`` / ``try_reserve`` (fill ring space in place), water marks.
  A :class:`Queue` is a Producer (a subclass, with the consumer side added).
* :class:`Writer` - records frames (from one or several streams) on the engine's writer
  threads: to a capture file (optionally zstd-compressed), a directory with one file per
  frame (``sink="directory"``) or a Python callable (``sink=fn``, given each
  :class:`Frame` and :class:`GapInfo`); ``add_stream`` returns a :class:`Producer`,
  ``default_stream`` is the one ``Writer.push`` uses; ``close()`` reports what was
  written, dropped and failed.
* :class:`Reader` - reads capture files zero-copy (memory-mapped); :func:`recover`
  repairs a crashed one.

Frame data is accepted from any C-contiguous buffer (bytes, bytearray, memoryview,
numpy arrays of any dtype) without an intermediate copy; the GIL is released while
frames are copied into the ring and while a call blocks. A blocking call waits in one
engine call: Ctrl-C interrupts it (``KeyboardInterrupt``), and so does a
:class:`Interrupt` passed as ``interrupt=`` (``Interrupted``).

Options use the engine's names and text, identical in Python, C, Rust and the CLI:
``compression="zstd:3"``, ``fsync="every:64MiB"``, ``policy="drop-oldest"``,
``capacity="256MiB"``; ``Writer.options`` / ``Producer.options`` show the effective
configuration.

Example::

    import numpy as np, streamq

    with streamq.Writer("capture.sqcap", compression="zstd") as w:
        depth = w.add_stream("depth", "depth/u16", metadata={"width": 640, "height": 576})
        depth.push(np.zeros((576, 640), np.uint16))
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
import warnings
from typing import Any, AsyncIterator, Iterator, Literal, Optional, Protocol

from . import _streamq
from ._streamq import (
    ClosedError,
    CorruptFileError,
    EndOfStream,
    Error,
    Frame,
    FrameIterator,
    FrameTooLargeError,
    GapInfo,
    Interrupt,
    Interrupted,
    IOFailure,
    LatencySummary,
    Producer,
    QueueStats,
    RecoverReport,
    Reader,
    Report,
    Reservation,
    SegmentInfo,
    StreamInfo,
    StreamReport,
    StreamVerify,
    Timeout,
    VerifyReport,
    WouldBlockError,
    WriterError,
    WriterIOError,
    recover,
)
from ._streamq import Writer as _Writer

__version__: str = _streamq.__version__

__all__ = [
    "ClosedError",
    "CorruptFileError",
    "EndOfStream",
    "Error",
    "Frame",
    "FrameIterator",
    "FrameTooLargeError",
    "GapInfo",
    "IOFailure",
    "Interrupt",
    "Interrupted",
    "LatencySummary",
    "Producer",
    "Queue",
    "QueueStats",
    "RecoverReport",
    "Reader",
    "Report",
    "Reservation",
    "SegmentInfo",
    "StreamInfo",
    "StreamReport",
    "StreamVerify",
    "Timeout",
    "VerifyReport",
    "WouldBlockError",
    "Writer",
    "WriterError",
    "WriterIOError",
    "recover",
    "wait_writable",
]

# Old names, still reachable for one release (with a DeprecationWarning) but not part of
# __all__: `from streamq import *` must not shadow the builtins TimeoutError and IOError.
_DEPRECATED_NAMES = {
    "TimeoutError": ("Timeout", Timeout),
    "IOError": ("IOFailure", IOFailure),
    "Stream": ("Producer", Producer),
}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED_NAMES:
        new, value = _DEPRECATED_NAMES[name]
        warnings.warn(f"streamq.{name} is deprecated: use streamq.{new}", DeprecationWarning, stacklevel=2)
        return value
    raise AttributeError(f"module 'streamq' has no attribute {name!r}")


# How often wait_writable re-checks a closed queue while the descriptor stays quiet (the
# engine's water-mark descriptor signals transitions, not closing).
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
    :class:`Producer`, writer streams included) is not above its high water mark.

    Returns at once if it is not. Otherwise watches the water-mark descriptor
    (``target.fileno()``, an eventfd that becomes readable on every transition) with
    ``loop.add_reader`` until the level has fallen to the low mark. Raises
    :class:`Timeout` after ``timeout`` seconds and :class:`ClosedError` if the
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
                raise Timeout("queue stayed above its high water mark until the timeout")
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

    ``Queue(capacity=64 MiB, *, policy="block", high_water=None, low_water=None,
    max_frames=None, block_timeout=None, prefault=None)``

    * ``capacity`` - ring bytes, frame headers included (rounded up to whole pages);
      memory never grows past it. An int, or text such as ``"256MiB"``.
    * ``policy`` - what a push does when the frame does not fit: ``"block"`` waits
      (up to ``timeout``), ``"fail-fast"`` raises :class:`WouldBlockError`,
      ``"drop-newest"`` drops the new frame (``push`` returns None),
      ``"drop-oldest"`` evicts the oldest unread frames. Every drop is counted in
      :attr:`stats`. (``"fail"`` and ``_`` for ``-`` are accepted.)
    * ``high_water`` / ``low_water`` - water marks in bytes (default 3/4 and 1/4 of the
      capacity), with hysteresis; observable through :attr:`is_above_high_water`,
      :meth:`wait_below_low`, :meth:`fileno` and :meth:`wait_writable`.
    * ``max_frames`` - optional cap on the number of queued frames as well.
    * ``block_timeout`` - what ``push(timeout=None)`` means under "block" (seconds or
      text such as ``"500ms"``; default: wait for ever).

    A queue *is* a :class:`Producer` (the class writer streams have too): ``push``,
    ``try_push``, ``reserve``, ``try_reserve``, the water marks, ``stats`` and
    ``options`` are inherited. :attr:`producer` is a plain Producer on the same side
    (its ``close()`` ends the stream, as :meth:`close_producer` does). Any number of threads may
    push; one consumer pops at a time (``pop``, ``pop_batch``, ``for frame in q``,
    ``async for frame in q``). Frames pushed before anyone pops are kept.
    ``close_producer()`` ends the stream (the consumer drains, then sees the end);
    ``close()`` closes the consumer side (producers get :class:`ClosedError`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The Rust constructor (__new__) did the work; this adds the asyncio state.
        self._rescued: collections.deque[Frame] = collections.deque()
        self._rescue_lock = threading.Lock()
        self._executor: Optional[concurrent.futures.ThreadPoolExecutor] = None

    # -- consuming, with frames rescued from cancelled async pops first ------------------

    def pop(self, timeout: Optional[float] = None, *, interrupt: Optional[Interrupt] = None) -> Frame:
        """Take the oldest frame, waiting up to ``timeout`` seconds (None: until one
        arrives). Raises :class:`Timeout` when the timeout passes, :class:`EndOfStream`
        once the producers closed and the queue is drained (or after :meth:`close`),
        :class:`Interrupted` if ``interrupt`` is triggered. Ctrl-C interrupts the
        wait."""
        if self._rescued:
            with self._rescue_lock:
                if self._rescued:
                    return self._rescued.popleft()
        return super().pop(timeout, interrupt=interrupt)

    def pop_batch(
        self,
        max_frames: int = 64,
        max_bytes: int = 64 << 20,
        timeout: Optional[float] = None,
        *,
        interrupt: Optional[Interrupt] = None,
    ) -> list[Frame]:
        """Take up to ``max_frames`` frames / ``max_bytes`` payload bytes (the first frame
        whatever its size), waiting up to ``timeout`` for the first. Returns ``[]`` if none
        came in time; raises :class:`EndOfStream` at the end of the stream."""
        if self._rescued:
            with self._rescue_lock:
                out: list[Frame] = []
                while self._rescued and len(out) < max_frames:
                    out.append(self._rescued.popleft())
            if out:
                return out
        return super().pop_batch(max_frames, max_bytes, timeout, interrupt=interrupt)

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

    def _executor_pop(
        self, token: dict[str, bool], interrupt: Interrupt, timeout: Optional[float]
    ) -> Optional[Frame]:
        # Runs on the executor thread: one blocking pop, cut short by `interrupt` when the
        # awaiting task is cancelled. A frame taken after the waiter was cancelled is put
        # back at the front (rescued), never lost.
        try:
            frame = self.pop(timeout, interrupt=interrupt)
        except Interrupted:
            return None
        with self._rescue_lock:
            if token["cancelled"]:
                self._rescued.append(frame)
                return None
            token["delivered"] = True
        return frame

    async def apop(self, timeout: Optional[float] = None) -> Frame:
        """Take the oldest frame without blocking the event loop.

        A frame already queued is taken at once; otherwise one blocking pop runs on a
        helper thread (the engine has no data-ready descriptor to poll). If the awaiting
        task is cancelled, the helper's pop is interrupted; a frame it already took is
        kept for the next pop, never lost. Raises :class:`Timeout` after ``timeout``
        seconds and :class:`EndOfStream` at the end of the stream.
        """
        try:
            return self.pop(0)
        except Timeout:
            pass
        loop = asyncio.get_running_loop()
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="streamq-apop"
            )
        token = {"cancelled": False, "delivered": False}
        interrupt = Interrupt()
        cfut = self._executor.submit(self._executor_pop, token, interrupt, timeout)
        try:
            frame = await asyncio.wrap_future(cfut, loop=loop)
        except asyncio.CancelledError:
            with self._rescue_lock:
                token["cancelled"] = True
                delivered = token["delivered"]
            interrupt.trigger()  # the helper stops waiting at once
            if delivered:
                # The helper handed the frame to the future just before the cancel.
                def _keep(f: concurrent.futures.Future[Optional[Frame]]) -> None:
                    if not f.cancelled() and f.exception() is None and f.result() is not None:
                        with self._rescue_lock:
                            self._rescued.appendleft(f.result())  # type: ignore[arg-type]

                cfut.add_done_callback(_keep)
            raise
        if frame is None:  # not cancelled, so not interrupted: cannot happen
            raise Interrupted("the helper's pop was interrupted")
        return frame

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self

    async def __anext__(self) -> Frame:
        try:
            return await self.apop()
        except EndOfStream:
            raise StopAsyncIteration from None

    def __exit__(self, *exc: object) -> Literal[False]:
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


class Writer(_Writer):
    """A capture writer; see ``help(streamq._streamq.Writer)`` for the options.

    Streams are :class:`Producer` objects: ``add_stream(...)`` returns one, and
    :attr:`default_stream` is a stream named ``"frames"`` created on first use. As a
    convenience, ``writer.push(...)`` (and the deprecated ``writer.write(...)``) are the
    default stream's methods: ``w.push(x)`` is ``w.default_stream.push(x)``. They are
    forwarded here, in one place, not written out a second time; for a hot loop, keep
    ``s = w.default_stream`` and call ``s.push``.
    """

    # The default stream's methods a Writer answers for (the API before default_stream).
    _DEFAULT_STREAM_METHODS = frozenset({"push", "write"})

    def __getattr__(self, name: str) -> Any:
        # Only called for names the class does not define.
        if name in Writer._DEFAULT_STREAM_METHODS:
            return getattr(self.default_stream, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
