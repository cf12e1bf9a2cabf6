"""Shared plumbing of the Python bench peers: the common CLI, the camera clock, the report.

Every peer takes the same options and prints, as its last stdout line, one JSON object:
{"peer", "frames", "bytes", "seconds", "mb_per_s", "push_us": {"p50", "p99", "p999", "max"},
 "late_frames", "drops"}.
- push latency: time the producer spends handing one frame over (including any wait for
  room), time.perf_counter_ns (monotonic);
- late_frames: frames whose hand-over ended after the next frame was due (--fps > 0 only);
- seconds: from before the first frame to after the output is flushed and fsynced.
--latencies-out FILE writes every push latency as little-endian float64 nanoseconds.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from array import array
from pathlib import Path


def parser(description: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--pool", type=Path, required=True, help="concatenated frames to cycle through")
    ap.add_argument("--frame-size", type=int, required=True, help="bytes per frame")
    ap.add_argument("--frames", type=int, required=True, help="frames to write")
    ap.add_argument("--fps", type=float, default=0.0, help="camera rate; 0 = as fast as possible")
    ap.add_argument("--out", type=Path, required=True, help="output file")
    ap.add_argument("--latencies-out", type=Path, default=None)
    return ap


def load_pool(path: Path, frame_size: int) -> list[bytes]:
    data = path.read_bytes()
    pool = [data[i:i + frame_size] for i in range(0, len(data) - frame_size + 1, frame_size)]
    if not pool:
        raise SystemExit(f"{path}: shorter than one frame")
    return pool


class Clock:
    """Paces frames like a camera (frame n due at start + n / fps) and records push latency."""

    def __init__(self, fps: float, frames: int) -> None:
        self.period_ns = int(1e9 / fps) if fps > 0 else 0
        self.lat = array("d")
        self.late = 0
        self.start = time.perf_counter_ns()

    def wait_due(self, n: int) -> None:
        if self.period_ns:
            delay = self.start + n * self.period_ns - time.perf_counter_ns()
            if delay > 0:
                time.sleep(delay / 1e9)

    def record(self, n: int, t0: int, t1: int) -> None:
        self.lat.append(t1 - t0)
        if self.period_ns and t1 > self.start + (n + 1) * self.period_ns:
            self.late += 1


def pct(sorted_vals: list[float], q: float) -> float:
    if not sorted_vals:
        return 0.0
    rank = math.ceil(q * len(sorted_vals))
    return sorted_vals[min(max(rank, 1), len(sorted_vals)) - 1]


def report(peer: str, clock: Clock, frame_size: int, args: argparse.Namespace, **extra) -> None:
    seconds = (time.perf_counter_ns() - clock.start) / 1e9
    if args.latencies_out is not None:
        with open(args.latencies_out, "wb") as f:
            clock.lat.tofile(f)  # native order: little-endian on the machines we run on
    s = sorted(clock.lat)
    frames = len(s)
    nbytes = frames * frame_size
    us = lambda ns: round(ns / 1e3, 3)  # noqa: E731
    out = {
        "peer": peer, "frames": frames, "bytes": nbytes, "seconds": round(seconds, 3),
        "mb_per_s": round(nbytes / 1e6 / seconds, 3) if seconds > 0 else 0.0,
        "push_us": {"p50": us(pct(s, 0.5)), "p99": us(pct(s, 0.99)), "p999": us(pct(s, 0.999)),
                    "max": us(s[-1] if s else 0)},
        "late_frames": clock.late, "drops": 0,
    }
    out.update(extra)
    print(json.dumps(out), flush=True)
