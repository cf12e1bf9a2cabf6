# Hand-written stubs of the compiled module streamq._streamq (keep in step with src/*.rs;
# tests/python/test_stubs.py runs mypy's stubtest against the built module).
from __future__ import annotations

import builtins
import os
import pathlib
from typing_extensions import Buffer as _Buffer
from typing import Any, Callable, Iterator, Literal, Optional, Sequence, Union, final

from typing_extensions import Self, disjoint_base

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
    "IOFailure",
    "Interrupt",
    "Interrupted",
    "LatencySummary",
    "Producer",
    "Queue",
    "QueueStats",
    "Reader",
    "RecoverReport",
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
    "__version__",
    "recover",
]
__version__: str

# Option text is read by the engine's parsers (case-insensitive, "_" accepted for "-").
# A policy: "block", "fail-fast" (or "fail"), "drop-newest", "drop-oldest".
_PolicyText = str
# What the `policy` properties return: the canonical form.
_Policy = Literal["block", "fail-fast", "drop-newest", "drop-oldest"]
# A size: bytes as an int, or text such as "900KiB", "256MiB", "1.5MB".
_Size = Union[int, str]
# A duration: seconds as a number, or text such as "20ms", "10s", "2m".
_Duration = Union[int, float, str]
# fsync: "close", "always", "every:64MiB", "every:20ms"; an int (bytes); a float (seconds).
_Fsync = Union[str, int, float]
_SinkName = Literal["capture_file", "directory"]
_StrPath = Union[str, os.PathLike[str]]
# Any C-contiguous object supporting the buffer protocol: bytes, bytearray, memoryview,
# array.array, numpy arrays of any dtype (taken as raw bytes).
_BufferLike = _Buffer

# ---- exceptions (no name shadows a builtin) -----------------------------------------------

class Error(Exception):
    """Base class of every streamq error."""

class ClosedError(Error):
    """The queue, producer, writer or reader is closed."""

class EndOfStream(ClosedError):
    """Every producer closed and the queue is drained (or the consumer closed)."""

class Timeout(Error, builtins.TimeoutError):
    """A blocking call's timeout passed."""

class WouldBlockError(Error):
    """The queue is full and the call may not wait (policy "fail-fast", block=False or timeout=0)."""

class FrameTooLargeError(Error, ValueError):
    """The frame is larger than the queue could ever hold."""

class CorruptFileError(Error):
    """Not a capture file, an unsupported version, or a damaged record."""

class IOFailure(Error, OSError):
    """An operating-system error (errno, strerror, filename)."""

class Interrupted(Error):
    """A wait was cut short by its streamq.Interrupt."""

class WriterError(Error):
    """The writer failed; the one raised by close() carries `.report`."""
    report: Report

class WriterIOError(WriterError, IOFailure):
    """The writer failed on an I/O error (ENOSPC, EIO ...)."""

# ---- records ----------------------------------------------------------------------------

@final
class LatencySummary:
    """Latency percentiles in nanoseconds (all 0 when nothing was recorded)."""
    count: int
    p50: int
    p90: int
    p99: int
    p999: int
    max: int
    mean: int
    def to_dict(self) -> dict[str, Any]: ...

@final
class QueueStats:
    """A snapshot of a queue's counters. frames_pushed == frames_popped +
    frames_dropped + frames_discarded + frames_queued."""
    frames_pushed: int
    frames_popped: int
    frames_dropped: int
    frames_dropped_newest: int
    frames_dropped_oldest: int
    frames_discarded: int
    frames_queued: int
    bytes_pushed: int
    bytes_popped: int
    bytes_dropped: int
    pushes_refused: int
    level_bytes: int
    peak_level_bytes: int
    capacity_bytes: int
    water_mark_transitions: int
    above_high_water: bool
    waiting_producers: int
    blocked_ns: int
    push_latency: LatencySummary
    def to_dict(self) -> dict[str, Any]: ...

@final
class SegmentInfo:
    """A finished segment file."""
    path: str
    index: int
    bytes: int
    frame_ranges: list[tuple[int, int, int]]
    def to_dict(self) -> dict[str, Any]: ...

@final
class StreamReport:
    """Per-stream figures of a writer Report."""
    id: int
    name: str
    frames_written: int
    bytes_written: int
    frames_dropped: int
    frames_dropped_newest: int
    frames_dropped_oldest: int
    frames_failed: int
    durable_seq: Optional[int]
    last_seq: Optional[int]
    queue: QueueStats
    def to_dict(self) -> dict[str, Any]: ...

@final
class Report:
    """What a writer did (Writer.close(), Writer.stats)."""
    frames_written: int
    bytes_written: int
    stored_bytes: int
    frames_dropped: int
    frames_dropped_newest: int
    frames_dropped_oldest: int
    frames_failed: int
    frames_compressed: int
    frames_stored_raw: int
    compression_ratio: float
    writes: int
    syncs: int
    write_latency: LatencySummary
    seconds: float
    mb_per_s: float
    segments: list[SegmentInfo]
    streams: list[StreamReport]
    error: Optional[str]
    def to_dict(self) -> dict[str, Any]: ...

@final
class StreamInfo:
    """A stream of a capture file, with its counts."""
    id: int
    name: str
    media_type: str
    metadata: dict[str, str]
    frames: int
    bytes: int
    stored_bytes: int
    gap_records: int
    dropped: int
    first_seq: Optional[int]
    last_seq: Optional[int]
    first_timestamp: Optional[int]
    last_timestamp: Optional[int]
    def to_dict(self) -> dict[str, Any]: ...

@final
class StreamVerify:
    stream_id: int
    name: str
    frames: int
    bytes: int
    stored_bytes: int
    gaps: int
    dropped: int
    unexplained_missing: int
    first_seq: Optional[int]
    last_seq: Optional[int]
    def to_dict(self) -> dict[str, Any]: ...

@final
class VerifyReport:
    """What Reader.verify() found."""
    ok: bool
    segments: int
    records: int
    frames: int
    bytes: int
    stored_bytes: int
    bad_frames: int
    corrupt: int
    corrupt_bytes: int
    gaps: int
    dropped: int
    unexplained_missing: int
    truncated_bytes: int
    first_seq: Optional[int]
    last_seq: Optional[int]
    per_stream: list[StreamVerify]
    clean_close: bool
    errors: list[str]
    def to_dict(self) -> dict[str, Any]: ...

@final
class RecoverReport:
    """What recover() did."""
    already_clean: bool
    original_len: int
    new_len: int
    truncated_bytes: int
    corrupt_regions: int
    frames: int
    gaps: int
    streams: int
    def to_dict(self) -> dict[str, Any]: ...

@final
class GapInfo:
    """A run of lost frames of one stream (a gap record)."""
    stream_id: int
    stream: str
    first_seq: int
    count: int
    reason: str
    host_time: int
    def to_dict(self) -> dict[str, Any]: ...

# ---- buffers and frames -----------------------------------------------------------------

@final
class Buffer:
    """Bytes exported without a copy (buffer protocol); keeps its memory alive."""
    @property
    def readonly(self) -> bool: ...
    def __len__(self) -> int: ...

@final
class Frame:
    """One frame from a Queue or a Reader, or given to a Writer's callable sink."""
    @property
    def seq(self) -> int: ...
    @property
    def timestamp(self) -> int:
        """Device timestamp in ns (the one given to push/write, else the host time)."""
    @property
    def host_time(self) -> int:
        """Host CLOCK_MONOTONIC time of the push, ns."""
    @property
    def stream(self) -> Optional[str]: ...
    @property
    def stream_id(self) -> Optional[int]: ...
    @property
    def data(self) -> Union[memoryview, bytes]:
        """Read-only memoryview without a copy (bytes for a compressed frame)."""
    @property
    def compressed(self) -> bool: ...
    @property
    def offset(self) -> Optional[int]: ...
    @property
    def segment(self) -> Optional[int]: ...
    def __len__(self) -> int: ...
    def __bytes__(self) -> bytes: ...

@final
class Reservation:
    """Ring space for one frame, filled in place; committed by a normal exit from
    `with`, aborted by an exception."""
    def __enter__(self) -> memoryview: ...
    def __exit__(self, exc_type: object = None, _exc: object = None, _tb: object = None) -> bool: ...
    def commit(self) -> Optional[int]: ...
    def abort(self) -> None: ...
    @property
    def buffer(self) -> memoryview: ...
    @property
    def seq(self) -> Optional[int]: ...
    @property
    def dropped(self) -> bool: ...
    @property
    def done(self) -> bool: ...
    def __len__(self) -> int: ...

# ---- waiting ------------------------------------------------------------------------------

@final
class Interrupt:
    """A flag that cuts blocking calls short (pass it as `interrupt=`): they raise
    Interrupted once it is triggered, until reset()."""
    def __new__(cls) -> Self: ...
    def trigger(self) -> None: ...
    def reset(self) -> None: ...
    @property
    def triggered(self) -> bool: ...

# ---- producing ----------------------------------------------------------------------------

@disjoint_base
class Producer:
    """The producing side of a queue or of a writer stream (one class for both; Queue
    extends it)."""
    def push(
        self,
        data: _BufferLike,
        *,
        timestamp: Optional[int] = None,
        timeout: Optional[float] = None,
        block: bool = True,
        interrupt: Optional[Interrupt] = None,
    ) -> Optional[int]:
        """Copy one frame in; its seq, or None if the policy dropped it."""
    def try_push(self, data: _BufferLike, *, timestamp: Optional[int] = None) -> Optional[int]: ...
    def write(self, frame: _BufferLike, timestamp: Optional[int] = None, timeout: Optional[float] = None) -> Optional[int]:
        """Deprecated alias of push()."""
    def reserve(
        self,
        size: int,
        *,
        timestamp: Optional[int] = None,
        timeout: Optional[float] = None,
        block: bool = True,
        interrupt: Optional[Interrupt] = None,
    ) -> Reservation: ...
    def try_reserve(self, size: int, *, timestamp: Optional[int] = None) -> Reservation: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def stats(self) -> QueueStats: ...
    def fileno(self) -> int: ...
    def clear_event(self) -> None: ...
    @property
    def is_above_high_water(self) -> bool: ...
    def wait_below_low(self, timeout: Optional[float] = None, *, interrupt: Optional[Interrupt] = None) -> bool: ...
    @property
    def stream_id(self) -> Optional[int]: ...
    @property
    def id(self) -> Optional[int]:
        """Deprecated alias of stream_id."""
    @property
    def name(self) -> Optional[str]: ...
    @property
    def media_type(self) -> Optional[str]: ...
    @property
    def metadata(self) -> dict[str, str]: ...
    @property
    def durable_seq(self) -> Optional[int]: ...
    @property
    def policy(self) -> _Policy: ...
    @property
    def capacity(self) -> int: ...
    @property
    def max_frame_len(self) -> int: ...
    @property
    def options(self) -> dict[str, str]: ...

# ---- queue --------------------------------------------------------------------------------

@disjoint_base
class Queue(Producer):
    """Compiled base of streamq.Queue (see its docstring): a Producer with a consumer
    side; the producing methods are inherited."""
    def __new__(
        cls,
        capacity: Optional[_Size] = None,
        *,
        policy: Optional[_PolicyText] = None,
        high_water: Optional[_Size] = None,
        low_water: Optional[_Size] = None,
        max_frames: Optional[int] = None,
        block_timeout: Optional[_Duration] = None,
        prefault: Optional[bool] = None,
    ) -> Self: ...
    @property
    def producer(self) -> Producer: ...
    def pop(self, timeout: Optional[float] = None, *, interrupt: Optional[Interrupt] = None) -> Frame: ...
    def pop_batch(
        self,
        max_frames: int = 64,
        max_bytes: int = ...,
        timeout: Optional[float] = None,
        *,
        interrupt: Optional[Interrupt] = None,
    ) -> list[Frame]: ...
    def close(self) -> None: ...
    def close_producer(self) -> None: ...
    @property
    def finished(self) -> bool: ...
    @property
    def waiting_consumers(self) -> int: ...
    def __len__(self) -> int: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: object) -> bool: ...

# ---- writer -------------------------------------------------------------------------------

@disjoint_base
class Writer:
    """A capture writer (see the package docs)."""
    def __new__(
        cls,
        path: Optional[_StrPath] = None,
        *,
        sink: Union[_SinkName, Callable[[Union[Frame, GapInfo]], object], None] = None,
        compression: Optional[str] = None,
        compress_workers: Optional[int] = None,
        raw_when_behind: Optional[bool] = None,
        io_workers: Optional[int] = None,
        writes_in_flight: Optional[int] = None,
        max_write_bytes: Optional[_Size] = None,
        max_write_rate: Optional[_Size] = None,
        fsync: Optional[_Fsync] = None,
        preallocate: Optional[_Size] = None,
        direct_io: Optional[bool] = None,
        segment_bytes: Optional[_Size] = None,
        segment_duration: Optional[_Duration] = None,
        index_interval: Optional[_Size] = None,
        max_streams: Optional[int] = None,
        linger: Optional[_Duration] = None,
        metadata: Optional[dict[str, Any]] = None,
        capacity: Optional[_Size] = None,
        policy: Optional[_PolicyText] = None,
        on_error: Optional[Callable[[WriterError], object]] = None,
        on_segment: Optional[Callable[[SegmentInfo], object]] = None,
        on_durable: Optional[Callable[[int, int], object]] = None,
        compress: Optional[str] = None,
        workers: Optional[int] = None,
        segment_size: Optional[_Size] = None,
        segment_seconds: Optional[_Duration] = None,
    ) -> Self:
        """`compress`, `workers`, `segment_size` and `segment_seconds` are deprecated
        aliases of compression, compress_workers, segment_bytes and segment_duration."""
    @property
    def default_stream(self) -> Producer:
        """The stream "frames", created on first use; streamq.Writer forwards push() and
        write() to it."""
    def add_stream(
        self,
        name: str,
        media_type: str = "application/octet-stream",
        *,
        capacity: Optional[_Size] = None,
        policy: Optional[_PolicyText] = None,
        high_water: Optional[_Size] = None,
        low_water: Optional[_Size] = None,
        max_frames: Optional[int] = None,
        block_timeout: Optional[_Duration] = None,
        prefault: Optional[bool] = None,
        metadata: Optional[dict[str, Any]] = None,
    ) -> Producer: ...
    @property
    def streams(self) -> list[Producer]: ...
    def flush(self) -> None: ...
    def close(self) -> Report: ...
    @property
    def closed(self) -> bool: ...
    @property
    def stats(self) -> Report: ...
    @property
    def durable_seq(self) -> Optional[int]: ...
    @property
    def durable_seqs(self) -> dict[str, Optional[int]]: ...
    @property
    def error(self) -> Optional[WriterError]: ...
    @property
    def path(self) -> Optional[pathlib.Path]: ...
    @property
    def sink(self) -> Literal["capture_file", "directory", "callback"]: ...
    @property
    def options(self) -> dict[str, str]: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: object) -> bool: ...

# ---- reader -----------------------------------------------------------------------------

@final
class FrameIterator:
    def __iter__(self) -> Iterator[Frame]: ...
    def __next__(self) -> Frame: ...

@final
class Reader:
    """A capture file (or its segment files), memory-mapped; frames read in place."""
    def __new__(cls, path: Union[_StrPath, Sequence[_StrPath]], stream: Union[str, int, None] = None) -> Self: ...
    def __iter__(self) -> FrameIterator: ...
    def file_order(self) -> FrameIterator: ...
    def seek(self, seq: Optional[int] = None, timestamp: Optional[int] = None) -> FrameIterator: ...
    @property
    def streams(self) -> list[StreamInfo]: ...
    @property
    def stream(self) -> Optional[str]: ...
    @property
    def gaps(self) -> list[GapInfo]: ...
    def verify(self) -> VerifyReport: ...
    @property
    def is_clean(self) -> bool: ...
    @property
    def segment_count(self) -> int: ...
    @property
    def paths(self) -> list[pathlib.Path]: ...
    def __len__(self) -> int: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> bool: ...

def recover(path: _StrPath) -> RecoverReport: ...
