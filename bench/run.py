#!/usr/bin/env python3
"""streamq bench suite: streamq against its peers and the machine's limits, one run.

    python3 bench/run.py [--quick] [--skip-build] [--readme] [--dir DIR] [--only W,...]

`make bench` / `make bench-quick` run this (the latter in under 3 minutes on 2 cores).
It creates bench/.venv (pinned matplotlib, mcap, zstandard) if missing, builds the CLI and
the Rust peer in release, writes the shared frame pool, then runs, on the same disk:

  limits    dd oflag=direct and dd conv=fdatasync (4 MiB blocks); memcpy bandwidth and
            the time of one frame's copy (Rust peer's --memcpy)
  kinect    30 fps x 900 KiB at real rate (60 s, quick 10 s): drops, push latency, CPU %, RSS
  max       900 KiB frames as fast as possible (8 GiB, quick 1 GiB): MB/s, CPU-s per GB
  small     64 B and 4 KiB frames as fast as possible: frames/s
  zstd      synthetic depth frames through zstd: MB/s and ratio (streamq: 1 and 2 workers)
  volume    a 45-minute Kinect session's bytes (73 GB, quick 8 GB) at max rate through
            streamq with rotating segments: zero loss, max RSS <= ring + 32 MiB, flat RSS

Every program is a child process measured with os.wait4 (CPU = ru_utime + ru_stime, max
RSS = ru_maxrss) and sampled for RSS over time. Outputs: bench/results/latest.json,
latest.md, throughput.png, push_latency_cdf.png. Big output files are deleted as soon as
each run ends. Progress goes to stderr.

Output directory for the data files: $BENCH_DIR or --dir (default bench/results/tmp): put
it on the disk you want measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PEERS_DIR = BENCH / "peers"
VENV = BENCH / ".venv"
# Pinned so that reruns compare like with like. mcap needs zstandard (and lz4) for its
# compressed chunks; matplotlib draws the plots.
VENV_PACKAGES = ["mcap==1.6.0", "zstandard==0.25.0", "lz4==4.4.5", "matplotlib==3.11.2"]

FRAME = 921_600  # 900 KiB: a 640 x 720 16-bit depth frame
FPS = 30
POOL_FRAMES = 8
RING_BYTES = 256 << 20  # streamq record's default --capacity
GiB = 1 << 30

QUICK = {
    "kinect_s": 10, "max_bytes": 1 * GiB, "small": {64: 200_000, 4096: 50_000},
    "zstd_frames": 300, "volume_bytes": 8 * 10**9, "dd_bytes": 1 * GiB,
}
FULL = {
    "kinect_s": 60, "max_bytes": 8 * GiB, "small": {64: 2_000_000, 4096: 500_000},
    "zstd_frames": 1500, "volume_bytes": 73 * 10**9, "dd_bytes": 4 * GiB,
}

UNITS = {
    "_mb_s": "MB/s (10^6 bytes per second)",
    "_us / push_us": "microseconds",
    "_bytes": "bytes",
    "_s / seconds": "seconds",
    "cpu_percent": "% of one core (CPU seconds / wall seconds x 100)",
    "cpu_s_per_gb": "CPU seconds (user + system) per 10^9 payload bytes",
    "frames_per_s": "frames per second",
    "ratio": "dimensionless",
    "frames / drops / late_frames": "frames (count)",
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- setup

def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def ensure_venv() -> Path:
    py = VENV / "bin" / "python"
    stamp = VENV / ".bench-packages"
    want = "\n".join(VENV_PACKAGES)
    if py.exists() and stamp.exists() and stamp.read_text() == want:
        return py
    log(f"creating {VENV.relative_to(ROOT)} with {' '.join(VENV_PACKAGES)}")
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", *VENV_PACKAGES], check=True, env=env)
    stamp.write_text(want)
    return py


def build(skip: bool) -> None:
    if skip:
        return
    log("cargo build --release -p streamq-cli -p streamq-bench-peer-crossbeam")
    subprocess.run([os.environ.get("CARGO", "cargo"), "build", "--quiet", "--release", "-p", "streamq-cli",
                    "-p", "streamq-bench-peer-crossbeam"], cwd=ROOT, check=True)


def cli_features(cli: Path) -> dict:
    help_text = subprocess.run([str(cli), "record", "--help"], capture_output=True, text=True).stdout
    flags = ["--frame-pool", "--frames", "--keep-segments", "--compress-workers", "--latencies-out", "--replay"]
    return {f.lstrip("-").replace("-", "_"): bool(re.search(rf"\s{re.escape(f)}[\s=<]", help_text)) for f in flags}


def write_pools(cli: Path, tmp: Path) -> dict[int, Path]:
    """frames.bin = streamq synth frames 0..7 (900 KiB); small pools = their first bytes."""
    frames = [subprocess.run([str(cli), "synth", "--seq", str(k), "--frame-size", "900KiB"],
                             capture_output=True, check=True).stdout for k in range(POOL_FRAMES)]
    assert all(len(f) == FRAME for f in frames)
    pools = {}
    for size in (FRAME, 64, 4096):
        p = tmp / ("frames.bin" if size == FRAME else f"frames-{size}.bin")
        p.write_bytes(b"".join(f[:size] for f in frames))
        pools[size] = p
    return pools


def machine_info() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass

    def ver(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "missing"

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_bytes": mem, "kernel": platform.release(),
            "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
            "rustc": ver(["rustc", "--version"]), "node": ver(["node", "--version"]),
            "python": platform.python_version()}


# --------------------------------------------------------------------------- running

def rss_now(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def run_child(cmd: list[str], label: str, tmp: Path, timeout: float) -> dict:
    """Runs cmd; returns exit code, wall time, CPU seconds, max RSS, RSS samples, last JSON line."""
    out, err = tmp / f"{label}.stdout", tmp / f"{label}.stderr"
    samples: list[tuple[float, int]] = []
    with open(out, "wb") as fo, open(err, "wb") as fe:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, cwd=ROOT)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.5):
                r = rss_now(p.pid)
                if r:
                    samples.append((round(time.monotonic() - t0, 2), r))
                if time.monotonic() - t0 > timeout:
                    p.kill()

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        _, status, ru = os.wait4(p.pid, 0)
        done.set()
        th.join()
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
    lines = out.read_text(errors="replace").strip().splitlines()
    summary = None
    for line in reversed(lines):
        try:
            summary = json.loads(line)
            break
        except ValueError:
            continue
    res = {"exit": p.returncode, "wall_s": round(wall, 3),
           "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
           "max_rss_bytes": ru.ru_maxrss * 1024, "rss_samples": samples, "summary": summary}
    if p.returncode != 0 or summary is None:
        res["error"] = (err.read_text(errors="replace").strip()[-600:]
                        or f"exit {p.returncode}, no JSON on stdout")
    out.unlink(missing_ok=True)
    err.unlink(missing_ok=True)
    return res


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    # Segments of a rotated capture: PATH-000000.sqcap ...
    for p in path.parent.glob(path.stem + "-*" + path.suffix if path.suffix else path.name + "-*"):
        p.unlink(missing_ok=True)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cfg = QUICK if args.quick else FULL
        self.tmp = Path(args.dir or os.environ.get("BENCH_DIR") or RESULTS / "tmp").resolve()
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.py = str(ensure_venv())
        build(args.skip_build)
        self.cli = target_dir() / "release" / "streamq"
        self.rust_peer = target_dir() / "release" / "peer-crossbeam-bufwriter"
        self.features = cli_features(self.cli)
        self.pools = write_pools(self.cli, self.tmp)
        self.notes: list[str] = []
        self.lat_files: dict[str, Path] = {}

    # programs -------------------------------------------------------------
    def peers(self) -> dict[str, list[str]]:
        node, py, pd = "node", self.py, str(PEERS_DIR)
        return {
            "node_writestream": [node, f"{pd}/node_writestream.js"],
            "node_write_queue_single": [node, f"{pd}/node_write_queue.js", "--mode", "single", "--in-flight", "4"],
            "node_write_queue_per_frame": [node, f"{pd}/node_write_queue.js", "--mode", "per-frame", "--in-flight", "4"],
            "python_fwrite": [py, f"{pd}/python_fwrite.py"],
            "python_thread_queue": [py, f"{pd}/python_thread_queue.py"],
            "rust_crossbeam_bufwriter": [str(self.rust_peer)],
            "python_mcap": [py, f"{pd}/python_mcap.py"],
            "python_mcap_zstd": [py, f"{pd}/python_mcap.py", "--zstd"],
        }

    def run_peer(self, name: str, workload: str, frame_size: int, frames: int, fps: float,
                 latencies: bool = False) -> dict:
        out = self.tmp / f"{workload}-{name}.out"
        cmd = self.peers()[name] + ["--pool", str(self.pools[frame_size]), "--frame-size", str(frame_size),
                                    "--frames", str(frames), "--fps", str(fps), "--out", str(out)]
        if latencies:
            lf = self.tmp / f"lat-{workload}-{name}.f64"
            cmd += ["--latencies-out", str(lf)]
            self.lat_files[name] = lf
        # Small frames: some peers manage only ~40 000 frames/s; give them the time.
        timeout = 30 + (frames / fps * 2 if fps else frames * frame_size / 20e6 + frames / 20_000)
        log(f"{workload:7s} {name}: {frames} x {frame_size} B" + (f" @ {fps:g} fps" if fps else " max rate"))
        r = run_child(cmd, f"{workload}-{name}", self.tmp, timeout)
        remove(out)
        return self.normalize(name, r, frame_size, peer=True)

    def run_streamq(self, label: str, workload: str, frame_size: int, frames: int, rate: str,
                    extra: list[str] | None = None, wrap: list[str] | None = None,
                    fps: float = FPS, latencies: bool = False) -> dict:
        out = self.tmp / f"{workload}-{label}.sqcap"
        cmd = [str(self.cli), "record", str(out), "--rate", rate, "--fps", f"{fps:g}",
               "--frame-size", str(frame_size), "--json", "--quiet", "--progress-interval", "10s"]
        if latencies and self.features["latencies_out"]:
            lf = self.tmp / f"lat-{workload}-{label}.txt"  # text: ns per line
            cmd += ["--latencies-out", str(lf)]
            self.lat_files[label] = lf
        if self.features["frames"]:
            cmd += ["--frames", str(frames)]
        else:
            cmd += ["--duration", f"{frames / fps:.6f}s"]
        if self.features["replay"]:
            # The peers' very bytes (frames.bin), loaded before the clock starts.
            cmd += ["--replay", str(self.pools[frame_size])]
        elif self.features["frame_pool"]:
            cmd += ["--frame-pool", str(POOL_FRAMES)]
        cmd += extra or []
        cmd = (wrap or []) + cmd
        timeout = 60 + (frames / fps * 2 if rate == "real" else frames * frame_size / 20e6)
        log(f"{workload:7s} {label}: {frames} x {frame_size} B " + ("real rate" if rate == "real" else "max rate"))
        r = run_child(cmd, f"{workload}-{label}", self.tmp, timeout)
        remove(out)
        return self.normalize(label, r, frame_size, peer=False)

    @staticmethod
    def normalize(name: str, r: dict, frame_size: int, peer: bool) -> dict:
        s = r.get("summary") or {}
        res: dict = {"program": name, "exit": r["exit"], "wall_s": r["wall_s"], "cpu_s": r["cpu_s"],
                     "max_rss_bytes": r["max_rss_bytes"]}
        if "error" in r:
            res["error"] = r["error"]
        if peer:
            frames, nbytes, secs = s.get("frames", 0), s.get("bytes", 0), s.get("seconds", 0.0)
            push = s.get("push_us", {})
            res.update(frames=frames, bytes=nbytes, seconds=secs, late_frames=s.get("late_frames"),
                       drops=s.get("drops", 0), push_us={k: push.get(k) for k in ("p50", "p99", "p999", "max")},
                       push_us_source="every frame")
            stored = s.get("stored_bytes")
            for k in ("queue_frames", "in_flight", "high_water_mark", "files"):
                if k in s:
                    res[k] = s[k]
        else:
            frames, nbytes, secs = s.get("frames_written", 0), s.get("bytes_written", 0), s.get("seconds", 0.0)
            push = s.get("push_latency_us", {})
            res.update(frames=frames, bytes=nbytes, seconds=secs, late_frames=None,
                       drops=(s.get("frames_dropped", 0) + s.get("frames_refused", 0) + s.get("frames_failed", 0)),
                       frames_planned=sum(x.get("frames_planned", 0) for x in s.get("streams", [])) or None,
                       push_us={k: push.get(k) for k in ("p50", "p90", "p99", "p999", "max", "mean")},
                       push_us_source="engine histogram (percentiles only)",
                       peak_queue_bytes=s.get("peak_queue_bytes"), segments=s.get("segments"),
                       writer_error=s.get("error"))
            stored = s.get("stored_bytes")
        res["mb_s"] = round(nbytes / 1e6 / secs, 3) if secs else 0.0
        res["frames_per_s"] = round(frames / secs, 1) if secs else 0.0
        res["cpu_percent"] = round(100 * r["cpu_s"] / r["wall_s"], 1) if r["wall_s"] else None
        res["cpu_s_per_gb"] = round(r["cpu_s"] / (nbytes / 1e9), 3) if nbytes else None
        if stored:
            res["stored_bytes"] = stored
            res["compression_ratio"] = round(nbytes / stored, 3)
        samples = r["rss_samples"]
        res["rss_samples"] = samples[:: max(1, len(samples) // 60)]
        return res

    # workloads ------------------------------------------------------------
    def limits(self) -> dict:
        n = self.cfg["dd_bytes"] // (4 << 20)
        out = self.tmp / "dd.bin"
        res = {}
        # Best of two runs each: the limit is what the disk can do; the runs are kept too.
        for key, flag in (("disk_direct", "oflag=direct"), ("disk_buffered_fdatasync", "conv=fdatasync")):
            cmd = ["dd", "if=/dev/zero", f"of={out}", "bs=4M", f"count={n}", flag]
            runs = []
            for _ in range(2):
                log("limits  " + " ".join(cmd))
                t0 = time.monotonic()
                p = subprocess.run(cmd, capture_output=True, text=True)
                wall = time.monotonic() - t0
                remove(out)
                m = re.search(r"copied, ([\d.]+) s", p.stderr)
                secs = float(m.group(1)) if m else wall
                runs.append(round(n * (4 << 20) / 1e6 / secs, 1))
            res[f"{key}_mb_s"] = max(runs)
            res[f"{key}_runs_mb_s"] = runs
            res[f"{key}_command"] = " ".join(cmd)
        log("limits  memcpy (peer-crossbeam-bufwriter --memcpy)")
        p = subprocess.run([str(self.rust_peer), "--memcpy", "--frame-size", str(FRAME)],
                           capture_output=True, text=True, check=True)
        m = json.loads(p.stdout.strip().splitlines()[-1])
        res["memcpy_mb_s"] = m["memcpy_mb_s"]
        res["frame_memcpy_us"] = m["frame_copy_us"]
        res["frame_memcpy_paced_30fps_us"] = m.get("frame_copy_paced_30fps_us")
        res["frame_memcpy_note"] = ("one 900 KiB frame copied from an 8-frame pool into a 256 MiB "
                                    "buffer at rolling offsets (what a ring push copies)")
        return res

    def kinect(self) -> dict:
        frames = self.cfg["kinect_s"] * FPS
        res = {"streamq": self.run_streamq("streamq", "kinect", FRAME, frames, "real", latencies=True)}
        for name in self.peers():
            res[name] = self.run_peer(name, "kinect", FRAME, frames, FPS, latencies=True)
        return res

    def max_rate(self) -> dict:
        frames = self.cfg["max_bytes"] // FRAME
        res = {"streamq": self.run_streamq("streamq", "max", FRAME, frames, "max")}
        for name in self.peers():
            if name == "python_mcap_zstd":
                continue  # measured in the zstd workload (max rate too)
            res[name] = self.run_peer(name, "max", FRAME, frames, 0)
        return res

    def small(self) -> dict:
        res = {}
        for size, frames in self.cfg["small"].items():
            w = {"streamq": self.run_streamq("streamq", f"small{size}", size, frames, "max",
                                             fps=1_000_000)}
            for name in self.peers():
                if name in ("node_write_queue_per_frame", "python_mcap_zstd"):
                    continue
                w[name] = self.run_peer(name, f"small{size}", size, frames, 0)
            res[str(size)] = w
        return res

    def zstd(self) -> dict:
        frames = self.cfg["zstd_frames"]
        res = {}
        if self.features["compress_workers"]:
            runs = [("streamq_zstd_1_worker", ["--compress-workers", "1"], None),
                    ("streamq_zstd_2_workers", ["--compress-workers", "2"], None)]
        else:
            self.notes.append("streamq record has no --compress-workers yet: the 1-worker zstd run pins the "
                              "whole process to one core (taskset -c 0), which makes the engine start one "
                              "compression worker; the 2-worker run uses the default (one per core).")
            runs = [("streamq_zstd_1_worker", [], ["taskset", "-c", "0"]),
                    ("streamq_zstd_2_workers", [], None)]
        for label, extra, wrap in runs:
            res[label] = self.run_streamq(label, "zstd", FRAME, frames, "max",
                                          extra=["--compress", "zstd:3", "--always-compress"] + extra, wrap=wrap)
        res["python_mcap_zstd"] = self.run_peer("python_mcap_zstd", "zstd", FRAME, frames, 0)
        return res

    def volume(self) -> dict:
        nbytes = self.cfg["volume_bytes"]
        frames = nbytes // FRAME
        if not (self.features["keep_segments"] and self.features["frames"]):
            self.notes.append("volume workload skipped: needs streamq record --keep-segments (and --frames)")
            return {"skipped": "needs --keep-segments", "bytes_planned": nbytes}
        r = self.run_streamq("streamq", "volume", FRAME, frames, "max",
                             extra=["--segment-size", "1GiB", "--keep-segments", "2"])
        r["frames_planned"] = frames
        r["frames_lost"] = frames - r["frames"]
        r["rss_limit_bytes"] = RING_BYTES + (32 << 20)
        rss = [b for _, b in r["rss_samples"]]
        if len(rss) >= 6:
            third = len(rss) // 3
            r["rss_growth_bytes"] = max(rss[-third:]) - max(rss[third:2 * third])
        return r

    # all ------------------------------------------------------------------
    def run(self) -> dict:
        t0 = time.monotonic()
        started = dt.datetime.now(dt.timezone.utc)
        only = set(self.args.only.split(",")) if self.args.only else None
        want = lambda w: only is None or w in only  # noqa: E731
        res: dict = {"machine": machine_info(), "cli_features": self.features}
        res["limits"] = self.limits() if want("limits") else {}
        res["kinect"] = self.kinect() if want("kinect") else {}
        res["max"] = self.max_rate() if want("max") else {}
        res["small"] = self.small() if want("small") else {}
        res["zstd"] = self.zstd() if want("zstd") else {}
        res["volume"] = self.volume() if want("volume") else {}
        res["run_seconds"] = round(time.monotonic() - t0, 1)
        res["started"] = started.isoformat(timespec="seconds")
        for p in self.pools.values():
            p.unlink(missing_ok=True)
        return res


# --------------------------------------------------------------------------- report

def fmt(x, digits: int = 1) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        if math.isnan(x):
            return "–"
        return f"{x:,.{digits}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def build_report(raw: dict, quick: bool, command: str, notes: list[str]) -> dict:
    """The latest.json document: required keys at the top, everything else below."""
    lim, kin, mx, small, z, vol = (raw.get(k, {}) for k in ("limits", "kinect", "max", "small", "zstd", "volume"))
    sq_k = kin.get("streamq", {})
    peers: dict = {}
    peer_names = [n for n in list(kin) + list(mx) if not n.startswith("streamq")]
    for name in dict.fromkeys(peer_names + (["python_mcap_zstd"] if "python_mcap_zstd" in z else [])):
        e: dict = {}
        src = mx.get(name) or (z.get(name) if name == "python_mcap_zstd" else None)
        if src:
            e["max_mb_s"] = src["mb_s"]
            e["max_cpu_s_per_gb"] = src["cpu_s_per_gb"]
            e["max_rss_bytes"] = src["max_rss_bytes"]
            if name == "python_mcap_zstd":
                e["max_workload"] = "zstd"
                e["compression_ratio"] = src.get("compression_ratio")
        if name in kin:
            k = kin[name]
            e["kinect"] = {"drops": k["drops"], "late_frames": k["late_frames"], "push_us": k["push_us"],
                           "cpu_percent": k["cpu_percent"], "max_rss_bytes": k["max_rss_bytes"]}
        for size, w in small.items():
            if name in w:
                e[f"small_{size}b_frames_per_s"] = w[name]["frames_per_s"]
        if "error" in (src or {}) or "error" in kin.get(name, {}):
            e["errors"] = [x["error"] for x in (src, kin.get(name)) if x and "error" in x]
        peers[name] = e

    doc: dict = {
        "schema": 1,
        "date": raw.get("started"),
        "command": command,
        "quick": quick,
        "disk_direct_mb_s": lim.get("disk_direct_mb_s"),
        "disk_buffered_fdatasync_mb_s": lim.get("disk_buffered_fdatasync_mb_s"),
        "memcpy_mb_s": lim.get("memcpy_mb_s"),
        "frame_memcpy_us": lim.get("frame_memcpy_us"),
        "frame_memcpy_paced_30fps_us": lim.get("frame_memcpy_paced_30fps_us"),
        "streamq_max_mb_s": mx.get("streamq", {}).get("mb_s"),
        "streamq_max_cpu_s_per_gb": mx.get("streamq", {}).get("cpu_s_per_gb"),
        "kinect": {"drops": sq_k.get("drops"), "push_us": sq_k.get("push_us"),
                   "cpu_percent": sq_k.get("cpu_percent"), "max_rss_bytes": sq_k.get("max_rss_bytes"),
                   "frames": sq_k.get("frames"), "frames_planned": sq_k.get("frames_planned"),
                   "push_us_source": sq_k.get("push_us_source")},
        "peers": peers,
        "units": UNITS,
        "machine": raw.get("machine"),
        "cli_features": raw.get("cli_features"),
        "run_seconds": raw.get("run_seconds"),
        "notes": notes,
        "workloads": {"limits": lim, "kinect": kin, "max": mx, "small": small, "zstd": z, "volume": vol},
    }
    doc["targets"] = targets(doc)
    return doc


def targets(doc: dict) -> list[dict]:
    t: list[dict] = []
    w = doc["workloads"]

    def add(name: str, met, value, limit, why: str = "") -> None:
        t.append({"target": name, "met": met, "value": value, "limit": limit, "why": why})

    dd, sqm = doc["disk_direct_mb_s"], doc["streamq_max_mb_s"]
    if dd and sqm is not None:
        add("streamq max rate >= 0.9 x dd direct", sqm >= 0.9 * dd, f"{sqm:.0f} MB/s = {sqm / dd:.2f} x dd",
            f"{0.9 * dd:.0f} MB/s")
    best = max(((n, p["max_mb_s"]) for n, p in doc["peers"].items() if p.get("max_mb_s")),
               key=lambda x: x[1], default=None)
    if best and sqm is not None:
        add("streamq max rate ahead of every peer", sqm > best[1],
            f"streamq {sqm:.0f} MB/s vs best peer {best[0]} {best[1]:.0f} MB/s ({sqm / best[1]:.2f} x)", "> 1.00 x")
    k = doc["kinect"]
    if k.get("push_us"):
        add("kinect: 0 drops", k["drops"] == 0 and k.get("frames") == k.get("frames_planned"),
            f"{k['drops']} dropped, {k.get('frames')} of {k.get('frames_planned')} written", "0")
        fm = (doc.get("frame_memcpy_us") or {}).get("p50")
        paced = (doc.get("frame_memcpy_paced_30fps_us") or {})
        pm = paced.get("p50")
        p999 = k["push_us"].get("p999")
        if pm and p999 is not None:
            # The like-for-like baseline: the same copy at the same 30 fps pacing (caches,
            # TLB and clocks as cold as a push finds them), measured in this run.
            add("kinect: push p99.9 <= 2 x one frame memcpy (paced at 30 fps like the pushes)",
                p999 <= 2 * pm,
                f"{p999:.1f} us = {p999 / pm:.2f} x paced memcpy ({pm:.1f} us)", f"{2 * pm:.1f} us",
                f"a bare paced memcpy's own p99.9 is {paced.get('p999', 0):.1f} us; against back-to-back "
                f"copies (warm caches, {fm:.1f} us) p99.9 = {p999 / fm:.2f} x" if fm else "")
        mxl = k["push_us"].get("max")
        if mxl is not None:
            add("kinect: push max <= 1 ms", mxl <= 1000, f"{mxl:.1f} us", "1000 us")
        cpus = {n: r.get("cpu_percent") for n, r in w["kinect"].items()
                 if r.get("cpu_percent") is not None and not n.startswith("streamq")}
        sq_cpu = w["kinect"].get("streamq", {}).get("cpu_percent")
        if sq_cpu is not None and cpus:
            low = min(cpus, key=cpus.get)
            add("kinect: lowest CPU % of all", sq_cpu < cpus[low],
                f"streamq {sq_cpu:.1f} %; lowest peer {low} {cpus[low]:.1f} %", "lowest")
    v = w.get("volume", {})
    if v.get("skipped"):
        add("45-minute volume: 0 lost, flat RSS", None, "skipped", "0 lost", v["skipped"])
    elif v:
        add("45-minute volume: 0 frames lost", v.get("frames_lost") == 0 and v.get("drops") == 0,
            f"{v.get('frames_lost')} lost, {v.get('drops')} dropped", "0")
        add("45-minute volume: max RSS <= ring + 32 MiB", v["max_rss_bytes"] <= v["rss_limit_bytes"],
            f"{v['max_rss_bytes'] / 2**20:.0f} MiB", f"{v['rss_limit_bytes'] / 2**20:.0f} MiB")
        if "rss_growth_bytes" in v:
            add("45-minute volume: flat RSS (last third vs middle third)", v["rss_growth_bytes"] <= 8 << 20,
                f"{v['rss_growth_bytes'] / 2**20:+.1f} MiB", "<= 8 MiB growth")
    return t


def headline_table(doc: dict) -> list[str]:
    w = doc["workloads"]
    rows = ["| program | max rate MB/s | CPU-s/GB | Kinect drops | Kinect late | push p50 µs | p99 µs | p99.9 µs | max µs | Kinect CPU % | Kinect max RSS MiB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    names = list(dict.fromkeys(list(w["kinect"]) + list(w["max"])))
    for n in names:
        m = w["max"].get(n) or (w["zstd"].get(n) if n == "python_mcap_zstd" else None) or {}
        k = w["kinect"].get(n, {})
        p = k.get("push_us") or {}
        label = n + (" (zstd run)" if n == "python_mcap_zstd" and m else "")
        rows.append("| " + " | ".join([
            f"**{label}**" if n == "streamq" else label,
            fmt(m.get("mb_s")), fmt(m.get("cpu_s_per_gb"), 2),
            fmt(k.get("drops")), fmt(k.get("late_frames")) if n != "streamq" else "n/a",
            fmt(p.get("p50")), fmt(p.get("p99")), fmt(p.get("p999")), fmt(p.get("max")),
            fmt(k.get("cpu_percent")), fmt(k["max_rss_bytes"] / 2**20, 0) if k.get("max_rss_bytes") else "–",
        ]) + " |")
    return rows


def write_markdown(doc: dict, path: Path) -> None:
    w, m = doc["workloads"], doc["machine"] or {}
    L: list[str] = []
    L.append(f"# streamq bench suite — {'quick' if doc['quick'] else 'full'} run")
    L.append("")
    L.append(f"- date: {doc['date']}")
    L.append(f"- command: `{doc['command']}` (run time {doc['run_seconds']} s)")
    L.append(f"- machine: {m.get('cpu')}, {m.get('cores')} cores, {fmt((m.get('memory_bytes') or 0) / 2**30, 0)} GiB, "
             f"Linux {m.get('kernel')}; load average at start {m.get('load_avg_1m_at_start')}; "
             f"{m.get('rustc')}, node {m.get('node')}, Python {m.get('python')}")
    L.append(f"- streamq record features detected: " + ", ".join(f"`--{k.replace('_', '-')}` {'yes' if v else 'no'}"
                                                                  for k, v in (doc["cli_features"] or {}).items()))
    L.append("")
    lim = w["limits"]
    L.append("## Limits of this machine")
    L.append("")
    L.append("| limit | value |")
    L.append("|---|---:|")
    L.append(f"| disk, `dd bs=4M oflag=direct` (best of {lim.get('disk_direct_runs_mb_s')}) | {fmt(lim.get('disk_direct_mb_s'))} MB/s |")
    L.append(f"| disk, `dd bs=4M conv=fdatasync`, buffered (best of {lim.get('disk_buffered_fdatasync_runs_mb_s')}) | {fmt(lim.get('disk_buffered_fdatasync_mb_s'))} MB/s |")
    L.append(f"| memcpy, 256 MiB → 256 MiB | {fmt(lim.get('memcpy_mb_s'))} MB/s |")
    fc = lim.get("frame_memcpy_us") or {}
    L.append(f"| one 900 KiB frame copy into a 256 MiB ring, back to back (p50 / p99) | {fmt(fc.get('p50'))} / {fmt(fc.get('p99'))} µs |")
    pc = lim.get("frame_memcpy_paced_30fps_us") or {}
    L.append(f"| the same copy paced at 30 fps, cold caches (p50 / p99.9 / max of {pc.get('copies', 30)}) | {fmt(pc.get('p50'))} / {fmt(pc.get('p999'))} / {fmt(pc.get('max'))} µs |")
    L.append("")
    L.append("## Targets")
    L.append("")
    L.append("| target | met | value | limit | note |")
    L.append("|---|:---:|---|---|---|")
    for t in doc["targets"]:
        met = {True: "yes", False: "**no**", None: "skipped"}[t["met"]]
        L.append(f"| {t['target']} | {met} | {t['value']} | {t['limit']} | {t['why']} |")
    L.append("")
    L.append("## Headline: max rate (900 KiB frames) and Kinect (30 fps × 900 KiB, real rate)")
    L.append("")
    L += headline_table(doc)
    L.append("")
    L.append("`streamq` = the CLI (`streamq record --replay frames.bin`: the same 8 frames, the same bytes, "
             "as the peers).")
    L.append("")
    L.append("Push latency: peers time every hand-over (incl. waits for `drain` / queue room); streamq's "
             "figures are its engine's histogram percentiles (from `streamq record --json`; the CDF plots "
             "every frame as the source timed it, `--latencies-out`). "
             "`late` = frames handed over after the next frame was due (a real camera would have lost or "
             "delayed one). CPU % = (user + system CPU seconds) / wall seconds of the whole process.")
    L.append("")
    if w["small"]:
        L.append("## Small frames, as fast as possible")
        L.append("")
        sizes = list(w["small"])
        L.append("| program | " + " | ".join(f"{s} B frames/s | {s} B CPU-s/GB" for s in sizes) + " |")
        L.append("|---|" + "---:|---:|" * len(sizes))
        names = list(dict.fromkeys(n for s in sizes for n in w["small"][s]))
        for n in names:
            cells = []
            for s in sizes:
                r = w["small"][s].get(n, {})
                cells += [fmt(r.get("frames_per_s"), 0), fmt(r.get("cpu_s_per_gb"), 1)]
            L.append(f"| {n} | " + " | ".join(cells) + " |")
        L.append("")
        L.append("`node_write_queue_per_frame` is not run on small frames (one file per 64 B frame is not "
                 "something anyone does); `python_mcap_zstd` neither (see the zstd table).")
        L.append("")
    if w["zstd"]:
        L.append("## zstd on synthetic depth frames (900 KiB, max rate)")
        L.append("")
        L.append("| program | MB/s (input) | ratio | CPU-s/GB | max RSS MiB |")
        L.append("|---|---:|---:|---:|---:|")
        for n, r in w["zstd"].items():
            L.append(f"| {n} | {fmt(r.get('mb_s'))} | {fmt(r.get('compression_ratio'), 2)} | "
                     f"{fmt(r.get('cpu_s_per_gb'), 2)} | {fmt(r['max_rss_bytes'] / 2**20, 0)} |")
        L.append("")
        L.append("streamq runs zstd level 3 (`--compress zstd:3 --always-compress`: every frame compressed, "
                 "also when the ring is above high water, where it would otherwise store frames raw), the "
                 "level python `mcap` uses (`zstandard.compress` default).")
        L.append("")
    v = w["volume"]
    L.append("## 45-minute Kinect volume at max rate")
    L.append("")
    if v.get("skipped"):
        L.append(f"skipped: {v['skipped']} ({fmt(v['bytes_planned'])} bytes planned).")
    elif v:
        L.append(f"{fmt(v['frames'])} of {fmt(v['frames_planned'])} frames written ({fmt(v['bytes'] / 1e9)} GB) in "
                 f"{fmt(v['seconds'])} s = {fmt(v['mb_s'])} MB/s; dropped {v['drops']}; max RSS "
                 f"{fmt(v['max_rss_bytes'] / 2**20, 0)} MiB (limit {fmt(v['rss_limit_bytes'] / 2**20, 0)} MiB); "
                 f"RSS growth last third vs middle third {fmt(v.get('rss_growth_bytes', 0) / 2**20)} MiB.")
    L.append("")
    errs = [(wl, n, r["error"]) for wl in ("kinect", "max", "zstd") for n, r in w[wl].items()
            if isinstance(r, dict) and "error" in r]
    errs += [(f"small{s}", n, r["error"]) for s, ws in w["small"].items() for n, r in ws.items() if "error" in r]
    if errs:
        L.append("## Errors")
        L.append("")
        for wl, n, e in errs:
            L.append(f"- {wl} / {n}: `{e.splitlines()[-1] if e else e}`")
        L.append("")
    if doc["notes"]:
        L.append("## Notes")
        L.append("")
        for n in doc["notes"]:
            L.append(f"- {n}")
        L.append("")
    L.append("Plots: `throughput.png` (max-rate MB/s, dd lines), `push_latency_cdf.png` (Kinect push latency).")
    L.append("Peers and their setup: `bench/peers/` (each file starts with why it is set up that way).")
    path.write_text("\n".join(L) + "\n")


def plots(doc: dict, lat_files: dict[str, Path], outdir: Path) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    made = []
    w = doc["workloads"]
    names, vals = [], []
    for n, r in w["max"].items():
        names.append(n)
        vals.append(r.get("mb_s") or 0)
    if "python_mcap_zstd" in w["zstd"]:
        names.append("python_mcap_zstd\n(zstd run)")
        vals.append(w["zstd"]["python_mcap_zstd"].get("mb_s") or 0)
    if names:
        fig, ax = plt.subplots(figsize=(10, 5))
        colors = ["tab:orange" if n == "streamq" else "navajowhite" if n.startswith("streamq") else "tab:blue"
                  for n in names]
        ax.bar(range(len(names)), vals, color=colors)
        ax.set_xticks(range(len(names)), names, fontsize=7, rotation=30, ha="right")
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v:.0f}", ha="center", va="bottom", fontsize=7)
        if doc["disk_direct_mb_s"]:
            ax.axhline(doc["disk_direct_mb_s"], color="red", linestyle="-",
                       label=f"dd oflag=direct {doc['disk_direct_mb_s']:.0f} MB/s")
        if doc["disk_buffered_fdatasync_mb_s"]:
            ax.axhline(doc["disk_buffered_fdatasync_mb_s"], color="gray", linestyle="--",
                       label=f"dd conv=fdatasync {doc['disk_buffered_fdatasync_mb_s']:.0f} MB/s")
        ax.set_ylabel("MB/s (900 KiB frames, ends with fsync)")
        ax.set_title(f"Max rate, 900 KiB frames, {'quick' if doc['quick'] else 'full'} run {(doc['date'] or '')[:16]}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(outdir / "throughput.png", dpi=110)
        plt.close(fig)
        made.append("throughput.png")

    if w["kinect"]:
        fig, ax = plt.subplots(figsize=(9, 5))
        for n, f in lat_files.items():
            if not f.exists():
                continue
            if f.suffix == ".txt":  # streamq record --latencies-out: ns, one per line
                a = np.sort(np.loadtxt(f, dtype=np.float64, ndmin=1)) / 1e3
            else:
                a = np.sort(np.fromfile(f, dtype="<f8")) / 1e3
            f.unlink(missing_ok=True)
            if a.size == 0:
                continue
            y = np.arange(1, a.size + 1) / a.size
            sq_line = n == "streamq"
            ax.plot(a, y, label=n, linewidth=2.5 if sq_line else 1, color="black" if sq_line else None)
        sq = w["kinect"].get("streamq", {}).get("push_us") or {}
        pts = [(sq.get(k), q) for k, q in (("p50", .5), ("p90", .9), ("p99", .99), ("p999", .999), ("max", 1.0))
               if sq.get(k) is not None]
        if pts and "streamq" not in lat_files:
            ax.plot([p for p, _ in pts], [q for _, q in pts], "o-", color="black", linewidth=2,
                    label="streamq (percentile points p50/p90/p99/p99.9/max)")
        pm = (doc.get("frame_memcpy_paced_30fps_us") or {}).get("p50")
        if pm:
            ax.axvline(2 * pm, color="red", linestyle=":", label=f"2 × frame memcpy paced at 30 fps ({2 * pm:.0f} µs)")
        fm = (doc.get("frame_memcpy_us") or {}).get("p50")
        if fm:
            ax.axvline(2 * fm, color="grey", linestyle=":", label=f"2 × frame memcpy back to back ({2 * fm:.0f} µs)")
        ax.set_xscale("log")
        ax.set_xlabel("push latency (µs, log)")
        ax.set_ylabel("fraction of frames")
        ax.set_title("Kinect 30 fps × 900 KiB, real rate: push latency CDF")
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(outdir / "push_latency_cdf.png", dpi=110)
        plt.close(fig)
        made.append("push_latency_cdf.png")
    return made


def update_readme(doc: dict) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in text or end not in text:
        log("README.md has no bench markers; not updated")
        return
    lines = [start, "",
             f"`{doc['command']}` on {doc['date'][:10]} ({'quick' if doc['quick'] else 'full'} run, "
             f"{doc['machine']['cores']} cores; disk `dd oflag=direct` {fmt(doc['disk_direct_mb_s'])} MB/s, "
             f"memcpy {fmt(doc['memcpy_mb_s'])} MB/s; full tables in `bench/results/latest.md`):", ""]
    lines += headline_table(doc)
    lines += ["", "Targets: " + "; ".join(
        f"{t['target']}: {({True: 'met', False: 'MISSED', None: 'skipped'})[t['met']]} ({t['value']})"
        for t in doc["targets"]), "", end]
    a, b = text.index(start), text.index(end) + len(end)
    readme.write_text(text[:a] + "\n".join(lines) + text[b:])
    log("README.md headline table updated")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short run (< 3 minutes)")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--dir", default=None, help="where the data files go (default $BENCH_DIR or bench/results/tmp)")
    ap.add_argument("--only", default=None, help="comma-separated subset: limits,kinect,max,small,zstd,volume")
    ap.add_argument("--readme", action="store_true", help="rewrite the headline block of README.md")
    ap.add_argument("--results", default=str(RESULTS), help="where latest.{json,md} and the PNGs go")
    ap.add_argument("--note", action="append", default=[], help="a note for the report (repeatable)")
    args = ap.parse_args()

    if Path(sys.prefix).resolve() != VENV.resolve():
        # Re-run inside the bench venv (matplotlib, mcap); run.py itself needs only the stdlib.
        py = ensure_venv()
        return subprocess.run([str(py), __file__, *sys.argv[1:]]).returncode

    command = "make bench-quick" if args.quick else "make bench"
    if os.environ.get("BENCH_COMMAND"):
        command = os.environ["BENCH_COMMAND"]
    b = Bench(args)
    raw = b.run()
    notes = list(args.note) + b.notes
    if not b.features["frame_pool"]:
        notes.append("streamq record has no --frame-pool yet: it synthesises every frame on its producer "
                     "thread (peers cycle 8 pre-made frames), so its max rate, CPU and CPU-s/GB include frame "
                     "generation.")
    if not b.features["frames"]:
        notes.append("streamq record has no --frames yet: frame counts are given as --duration frames/fps.")
    notes.append("streamq writes with O_DIRECT (compare with dd oflag=direct); every peer writes through the page "
                 "cache (compare with dd conv=fdatasync). Every program fsyncs before its clock stops.")
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    doc = build_report(raw, args.quick, command, notes)
    (out / "latest.json").write_text(json.dumps(doc, indent=1) + "\n")
    write_markdown(doc, out / "latest.md")
    made = plots(doc, b.lat_files, out)
    if args.readme:
        update_readme(doc)
    log(f"wrote {out / 'latest.json'}, latest.md, {', '.join(made)} in {raw['run_seconds']} s")
    for t in doc["targets"]:
        log(f"target {({True: 'met   ', False: 'MISSED', None: 'skip  '})[t['met']]} {t['target']}: {t['value']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
