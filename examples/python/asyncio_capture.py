#!/usr/bin/env python3
"""An asyncio capture pipeline: a producer coroutine receives frames (here: synthetic,
as from a network camera) and pushes them into a streamq.Queue without ever blocking
the event loop - when the queue is above its high water mark it awaits
`q.wait_writable()` (the water-mark eventfd watched with loop.add_reader). A consumer
coroutine takes them with `async for frame in q` and pushes them into a Writer stream (a
streamq.Producer, the same class as the queue's producing side); a third task prints
progress. The loop stays responsive throughout (the ticker shows its lag).

    python examples/python/asyncio_capture.py --seconds 5 out.sqcap
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import numpy as np

import streamq


async def camera(q: streamq.Queue, seconds: float, fps: float, shape: tuple[int, int]) -> int:
    frame = np.zeros(shape, dtype=np.uint16)
    n = int(seconds * fps)
    t0 = time.monotonic()
    waited = 0
    for i in range(n):
        frame[:] = i % 4096
        while True:
            try:
                q.try_push(frame)  # never blocks the loop
                break
            except streamq.WouldBlockError:
                waited += 1
                await q.wait_writable()  # back-pressure without blocking
        await asyncio.sleep(max(0.0, t0 + (i + 1) / fps - time.monotonic()))
    q.close_producer()
    return waited


async def sink(q: streamq.Queue, stream: streamq.Producer) -> int:
    n = 0
    async for frame in q:  # pops on a helper thread when the queue is empty
        stream.push(frame.data, timestamp=frame.timestamp)
        n += 1
    return n


async def ticker(q: streamq.Queue, stop: asyncio.Event) -> float:
    worst = 0.0
    while not stop.is_set():
        t = time.monotonic()
        await asyncio.sleep(0.05)
        worst = max(worst, time.monotonic() - t - 0.05)
        s = q.stats
        sys.stderr.write(f"\rqueued {s.frames_queued:3d} frames  popped {s.frames_popped:5d}  "
                         f"above high water: {str(q.is_above_high_water):5s}  loop lag max {worst * 1e3:5.1f} ms ")
    sys.stderr.write("\n")
    return worst


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", nargs="?", default="asyncio.sqcap")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--fps", type=float, default=30.0)
    args = ap.parse_args()

    shape = (576, 640)
    frame_bytes = shape[0] * shape[1] * 2
    q = streamq.Queue(capacity=16 * frame_bytes, high_water=12 * frame_bytes,
                      low_water=4 * frame_bytes, policy="fail-fast")
    with streamq.Writer(args.path) as w:
        depth = w.add_stream("depth", "depth/u16", metadata={"width": shape[1], "height": shape[0]})
        stop = asyncio.Event()
        tick = asyncio.create_task(ticker(q, stop))
        waited, written = await asyncio.gather(camera(q, args.seconds, args.fps, shape), sink(q, depth))
        stop.set()
        lag = await tick
    report = w.stats
    print(f"{written} frames through the queue ({waited} back-pressure waits), "
          f"{report.frames_written} written to {args.path}, loop lag max {lag * 1e3:.1f} ms")
    return 0 if report.frames_written == written and report.frames_dropped == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
