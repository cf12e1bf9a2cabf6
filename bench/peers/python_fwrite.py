#!/usr/bin/env python3
"""Bench peer: Python `f.write(frame)` in the capture loop.

Setup, and why it is the idiomatic one: the first thing anyone writes. `open(path, "wb")`
with Python's default buffering (io.DEFAULT_BUFFER_SIZE, 8 KiB: a 900 KiB frame is larger
than the buffer and goes straight to write(2), small frames are coalesced), one
`f.write(frame)` per frame on the capture thread, then `flush()` + `os.fsync()` so the run
ends durably like `streamq record` (which fsyncs on close). The write happens on the
producer's thread, so the push latency IS the write(2) into the page cache (and any stall
of it when the kernel throttles dirty pages): this is failure mode F5.
"""

from __future__ import annotations

import os
import time

from peer_common import Clock, load_pool, parser, report


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    pool = load_pool(args.pool, args.frame_size)
    k = len(pool)
    f = open(args.out, "wb")
    clock = Clock(args.fps, args.frames)
    now, write, wait_due, rec = time.perf_counter_ns, f.write, clock.wait_due, clock.record
    for n in range(args.frames):
        frame = pool[n % k]
        wait_due(n)
        t0 = now()
        write(frame)
        rec(n, t0, now())
    f.flush()
    os.fsync(f.fileno())
    f.close()
    report("python_fwrite", clock, args.frame_size, args)


if __name__ == "__main__":
    main()
