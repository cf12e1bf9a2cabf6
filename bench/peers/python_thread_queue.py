#!/usr/bin/env python3
"""Bench peer: Python `threading` + `queue.Queue(maxsize)` with a writer thread.

Setup, and why it is the idiomatic one: the standard answer to "my capture loop stalls on
disk writes" — the capture thread `put()`s each frame on a bounded `queue.Queue` and a
writer thread `get()`s and `f.write()`s it (default buffering), so the producer only waits
when the queue is full. maxsize is in items (queue.Queue counts objects, not bytes): by
default the number of frames that fit streamq's default ring budget (256 MiB), capped at
65536, so both hold about the same bytes in flight; `--queue-frames` overrides it. Frames
are put as they come (bytes objects, no copy: a camera binding hands over a fresh object
per frame). A `None` sentinel ends the writer, which then flushes and fsyncs; the clock
stops after `join()`.
"""

from __future__ import annotations

import os
import queue
import threading
import time

from peer_common import Clock, load_pool, parser, report

RING_BUDGET = 256 << 20


def writer(q: queue.Queue, f, errors: list) -> None:
    try:
        get, write = q.get, f.write
        while (frame := get()) is not None:
            write(frame)
        f.flush()
        os.fsync(f.fileno())
    except BaseException as e:  # reported by the main thread
        errors.append(e)
        while q.get() is not None:  # keep draining so the producer never hangs
            pass


def main() -> None:
    ap = parser(__doc__.splitlines()[0])
    ap.add_argument("--queue-frames", type=int, default=None, help="queue.Queue maxsize")
    args = ap.parse_args()
    pool = load_pool(args.pool, args.frame_size)
    k = len(pool)
    maxsize = args.queue_frames or max(1, min(RING_BUDGET // args.frame_size, 65536))
    q: queue.Queue = queue.Queue(maxsize=maxsize)
    f = open(args.out, "wb")
    errors: list = []
    clock = Clock(args.fps, args.frames)
    t = threading.Thread(target=writer, args=(q, f, errors), name="writer")
    t.start()
    now, put, wait_due, rec = time.perf_counter_ns, q.put, clock.wait_due, clock.record
    for n in range(args.frames):
        frame = pool[n % k]
        wait_due(n)
        t0 = now()
        put(frame)
        rec(n, t0, now())
    q.put(None)
    t.join()
    f.close()
    if errors:
        raise SystemExit(f"writer thread failed: {errors[0]!r}")
    report("python_thread_queue", clock, args.frame_size, args, queue_frames=maxsize)


if __name__ == "__main__":
    main()
