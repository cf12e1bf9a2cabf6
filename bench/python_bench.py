#!/usr/bin/env python3
"""Python binding benchmarks, each against a baseline measured in the same run.

1. Capture throughput: Python writing 900 KiB numpy uint16 frames (640 x 720) to a
   streamq.Writer as fast as it can, vs the Rust writer doing exactly the same
   (bench/programs/src/bin/writer_baseline.rs: eight pre-generated frames cycled,
   one stream, 256 MiB ring, block policy, no compression, fsync on close, same
   directory, same frame count). MB/s = payload bytes / seconds from the writer's start
   to its close, as the writer report defines it. Rounds alternate Rust and Python.
   Target: Python >= 0.8 x Rust. For reference the CLI (`streamq record --rate max
   --frame-size 900KiB --json`, which also generates every frame) is run too.
2. Per-call cost of pushing a 64-byte frame into a streamq.Queue, vs queue.Queue.put and
   collections.deque.append (all as bound methods in the same loop shape).

    python bench/python_bench.py [--frames 300] [--rounds 3] [--dir DIR] [--json]

Needs the package installed (bindings/python/run_tests.sh or pip install
./bindings/python) and the CLI built (cargo build --release -p streamq-cli; built here
if missing).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import streamq

ROOT = Path(__file__).resolve().parents[1]
FPS = 30


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def cli_path() -> Path:
    exe = Path(os.environ.get("STREAMQ_CLI", ""))
    if exe.is_file():
        return exe
    exe = target_dir() / "release" / "streamq"
    if not exe.exists():
        subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "streamq-cli"], cwd=ROOT, check=True)
    return exe


def baseline_path() -> Path:
    # Always rebuilt (a no-op when up to date) so it matches the engine being measured.
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "streamq-bench-programs",
                    "--bin", "writer_baseline"], cwd=ROOT, check=True)
    return target_dir() / "release" / "writer_baseline"


def rust_baseline_round(exe: Path, path: Path, frames: int) -> dict:
    out = subprocess.run([str(exe), str(path), str(frames)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def cli_round(exe: Path, path: Path, frames: int) -> dict:
    duration = frames / FPS
    out = subprocess.run(
        [str(exe), "record", str(path), "--rate", "max", "--frame-size", "900KiB",
         "--duration", f"{duration}s", "--streams", "depth", "--json", "--quiet"],
        check=True, capture_output=True, text=True,
    ).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    return {"mb_per_s": summary["mb_per_s"], "frames": summary["frames_written"],
            "seconds": summary["seconds"], "bytes": summary["bytes_written"]}


def python_round(path: Path, frames: int, pool: list[np.ndarray]) -> dict:
    with streamq.Writer(path) as w:
        depth = w.add_stream("depth", "depth/u16", metadata={"width": 640, "height": 720})
        for i in range(frames):
            depth.push(pool[i % len(pool)], timestamp=time.monotonic_ns())
    r = w.stats
    assert r.frames_written == frames and r.frames_dropped == 0 and r.frames_failed == 0
    return {"mb_per_s": r.mb_per_s, "frames": r.frames_written, "seconds": r.seconds,
            "bytes": r.bytes_written, "push_p50_us": r.streams[0].queue.push_latency.p50 / 1e3,
            "push_p99_us": r.streams[0].queue.push_latency.p99 / 1e3}


def throughput(frames: int, rounds: int, directory: Path) -> dict:
    cli, base = cli_path(), baseline_path()
    rng = np.random.default_rng(0)
    pool = [rng.integers(0, 4096, (720, 640), dtype=np.uint16) for _ in range(8)]  # 900 KiB each
    runs: dict[str, list[dict]] = {"rust": [], "python": [], "cli": []}
    for k in range(rounds):
        for kind in ("rust", "python", "cli"):
            path = directory / f"bench-{kind}-{k}.sqcap"
            if kind == "rust":
                res = rust_baseline_round(base, path, frames)
            elif kind == "python":
                res = python_round(path, frames, pool)
            else:
                res = cli_round(cli, path, frames)
            runs[kind].append(res)
            path.unlink(missing_ok=True)
    rust, py, clis = runs["rust"], runs["python"], runs["cli"]
    r = statistics.median(x["mb_per_s"] for x in rust)
    p = statistics.median(x["mb_per_s"] for x in py)
    c = statistics.median(x["mb_per_s"] for x in clis)
    return {"frames": frames, "frame_bytes": 921600, "rounds": rounds,
            "rust_mb_per_s": [round(x["mb_per_s"], 1) for x in rust],
            "python_mb_per_s": [round(x["mb_per_s"], 1) for x in py],
            "cli_mb_per_s": [round(x["mb_per_s"], 1) for x in clis],
            "rust_median": round(r, 1), "python_median": round(p, 1), "cli_median": round(c, 1),
            "ratio": round(p / r, 3),
            "rust_push_p50_us": round(statistics.median(x["push_p50_us"] for x in rust), 1),
            "python_push_p50_us": round(statistics.median(x["push_p50_us"] for x in py), 1),
            "python_push_p99_us": round(statistics.median(x["push_p99_us"] for x in py), 1)}


def per_call(n: int = 1_000_000, repeat: int = 5) -> dict:
    data = bytes(64)

    def loop(fn) -> float:
        t0 = time.perf_counter_ns()
        for _ in range(n):
            fn(data)
        return (time.perf_counter_ns() - t0) / n

    def best(make) -> float:
        out = []
        for _ in range(repeat):
            fn, cleanup = make()
            out.append(loop(fn))
            cleanup()
        return min(out)

    def sq():
        q = streamq.Queue(capacity=256 << 20, policy="block")  # room for all n frames
        return q.push, q.close

    def pyq():
        q: queue.Queue = queue.Queue()
        return q.put, lambda: None

    def dq():
        d: collections.deque = collections.deque()
        return d.append, d.clear

    def empty():
        return (lambda _b: None), (lambda: None)

    res = {"n": n, "streamq_push_ns": best(sq), "queue_put_ns": best(pyq),
           "deque_append_ns": best(dq), "python_call_overhead_ns": best(empty)}
    return {k: (round(v, 1) if isinstance(v, float) else v) for k, v in res.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=300, help="900 KiB frames per round (default 300 = 276 MB)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None, help="where to write the captures (default: a temp dir)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="streamq-bench-", dir=args.dir))
    try:
        tp = throughput(args.frames, args.rounds, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    pc = per_call()
    if args.json:
        print(json.dumps({"throughput": tp, "per_call": pc}))
        return 0
    print(f"capture throughput, {tp['frames']} x 900 KiB frames, {tp['rounds']} rounds (median):")
    print(f"  Rust Writer         {tp['rust_median']:8.1f} MB/s   rounds {tp['rust_mb_per_s']}"
          f"   push p50 {tp['rust_push_p50_us']} us")
    print(f"  Python Writer       {tp['python_median']:8.1f} MB/s   rounds {tp['python_mb_per_s']}"
          f"   push p50 {tp['python_push_p50_us']} us, p99 {tp['python_push_p99_us']} us")
    print(f"  ratio Python/Rust   {tp['ratio']:8.3f}   (target >= 0.8)")
    print(f"  (CLI record, generating each frame: {tp['cli_median']} MB/s, rounds {tp['cli_mb_per_s']})")
    print(f"per call, 64-byte item, best of 5 x {pc['n']:,}:")
    print(f"  streamq.Queue.push       {pc['streamq_push_ns']:7.1f} ns")
    print(f"  queue.Queue.put          {pc['queue_put_ns']:7.1f} ns")
    print(f"  collections.deque.append {pc['deque_append_ns']:7.1f} ns")
    print(f"  (empty Python call       {pc['python_call_overhead_ns']:7.1f} ns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
