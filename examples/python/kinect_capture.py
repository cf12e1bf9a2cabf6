#!/usr/bin/env python3
"""Kinect-style depth capture from Python: numpy uint16 depth frames at 30 fps into a
capture file, with a live progress line.

    python examples/python/kinect_capture.py --seconds 10 capture.sqcap
    python examples/python/kinect_capture.py --seconds 5 --mode nfov --compression zstd out.sqcap

A synthetic sensor stands in for the camera SDK: each frame is produced into a numpy
array (as an SDK callback would deliver it) and handed to streamq without a copy in
Python; the writer thread stores it. The depth frames go to stream "depth"; an IMU
sample (6 x float32) goes to stream "imu" at 1.6 kHz from a second thread. At the end
the file is verified and read back.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import numpy as np

import streamq

MODES = {
    # name: (width, height) - 640x576 uint16 = 720 KiB, 640x720 = 900 KiB
    "nfov": (640, 576),
    "tall": (640, 720),
}


def synthetic_depth(width: int, height: int, i: int, out: np.ndarray) -> None:
    """Fills `out` with a moving ramp (mm), like a depth camera looking at a slope."""
    ramp = np.arange(width, dtype=np.uint16)
    out[:] = (ramp[None, :] + np.uint16(i * 7)) % 4096 + np.arange(height, dtype=np.uint16)[:, None]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", nargs="?", default="kinect.sqcap", help="output capture file")
    ap.add_argument("--seconds", type=float, default=10.0, help="how long to record (default 10)")
    ap.add_argument("--fps", type=float, default=30.0, help="depth frames per second (default 30)")
    ap.add_argument("--mode", choices=sorted(MODES), default="tall", help="frame size: nfov 720 KiB, tall 900 KiB")
    ap.add_argument("--compression", "--compress", default="none",
                    help='"none", "zstd" (level 1) or "zstd:LEVEL", as for the streamq CLI')
    ap.add_argument("--no-imu", action="store_true", help="record depth only")
    args = ap.parse_args()

    width, height = MODES[args.mode]
    frame = np.empty((height, width), dtype=np.uint16)
    n_frames = int(args.seconds * args.fps)
    period = 1.0 / args.fps
    errors: list[BaseException] = []

    with streamq.Writer(
        args.path,
        compression=args.compression,
        fsync="every:1s",  # durable_seq shows what survives a power cut
        metadata={"sensor": "synthetic-kinect", "mode": args.mode},
        on_error=errors.append,
    ) as w:
        depth = w.add_stream(
            "depth", "depth/u16", metadata={"width": width, "height": height, "units": "mm"}
        )
        imu = None if args.no_imu else w.add_stream("imu", "imu/f32x6", capacity="4MiB")
        stop = threading.Event()

        def imu_thread() -> None:
            assert imu is not None
            sample = np.zeros(6, dtype=np.float32)
            t0 = time.monotonic()
            k = 0
            while not stop.is_set():
                sample[:] = (np.sin(k / 100), np.cos(k / 100), 9.81, 0.0, 0.0, 0.01)
                imu.push(sample)
                k += 1
                delay = t0 + k / 1600 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

        th = threading.Thread(target=imu_thread, daemon=True)
        if imu is not None:
            th.start()

        t0 = time.monotonic()
        last_line = 0.0
        dropped = 0
        try:
            for i in range(n_frames):
                synthetic_depth(width, height, i, frame)
                if depth.push(frame, timestamp=time.monotonic_ns()) is None:
                    dropped += 1
                now = time.monotonic()
                if now - last_line >= 0.25 or i == n_frames - 1:
                    st = depth.stats
                    lat = st.push_latency
                    mb = st.bytes_pushed / 1e6
                    sys.stderr.write(
                        f"\r{i + 1:5d}/{n_frames} frames  {mb:8.1f} MB  {mb / max(now - t0, 1e-9):6.1f} MB/s"
                        f"  ring {st.level_bytes / 2**20:6.1f}/{st.capacity_bytes / 2**20:.0f} MiB"
                        f"  push p50 {lat.p50 / 1e3:6.1f} us p99 {lat.p99 / 1e3:7.1f} us"
                        f"  durable #{w.durable_seqs.get('depth')}  dropped {dropped}   "
                    )
                    sys.stderr.flush()
                    last_line = now
                delay = t0 + (i + 1) * period - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        except KeyboardInterrupt:
            sys.stderr.write("\ninterrupted: closing the capture cleanly\n")
        finally:
            stop.set()
            if imu is not None:
                th.join()
    sys.stderr.write("\n")

    report = w.stats
    print(f"options: {w.options['compression']}, fsync {w.options['fsync']}; "
          f"depth ring {depth.options['capacity']} ({depth.options['policy']})")
    print(f"wrote {args.path}: {report.frames_written} frames, {report.bytes_written / 1e6:.1f} MB "
          f"in {report.seconds:.1f} s ({report.mb_per_s:.1f} MB/s), stored {report.stored_bytes / 1e6:.1f} MB")
    for s in report.streams:
        q = s.queue
        print(f"  {s.name:6s} written {s.frames_written:6d}  dropped {s.frames_dropped}  failed {s.frames_failed}"
              f"  push p50/p99/max {q.push_latency.p50 / 1e3:.1f}/{q.push_latency.p99 / 1e3:.1f}/"
              f"{q.push_latency.max / 1e3:.1f} us  peak ring {q.peak_level_bytes / 2**20:.1f} MiB")
    if errors:
        print(f"writer error: {errors[0]}", file=sys.stderr)
        return 1

    with streamq.Reader(args.path, stream="depth") as r:
        v = r.verify()
        first = next(iter(r))
        image = np.frombuffer(first.data, dtype=np.uint16).reshape(height, width)  # no copy
        print(f"verify: {'ok' if v.ok else 'FAILED'} ({v.frames} frames); first depth frame "
              f"min {image.min()} max {image.max()} mm")
        return 0 if v.ok else 1


if __name__ == "__main__":
    sys.exit(main())
