#!/usr/bin/env python3
"""Unit tests of bench/run.py's report code (no benchmark is run): python3 bench/test_report.py"""

from __future__ import annotations

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402


def result(mb_s: float, p999: float = 100.0, cpu: float = 5.0, drops: int = 0, frames: int = 300, **kw) -> dict:
    r = {"program": "x", "exit": 0, "wall_s": 10.0, "cpu_s": cpu / 10, "max_rss_bytes": 100 << 20,
         "frames": frames, "bytes": frames * run.FRAME, "seconds": 10.0, "late_frames": 0, "drops": drops,
         "push_us": {"p50": 10.0, "p99": 50.0, "p999": p999, "max": 900.0}, "mb_s": mb_s,
         "frames_per_s": 30.0, "cpu_percent": cpu, "cpu_s_per_gb": 0.5, "rss_samples": []}
    r.update(kw)
    return r


def raw(sq_max: float, peer_max: float, volume: dict | None = None) -> dict:
    return {
        "machine": {"cores": 2, "cpu": "test", "memory_bytes": 1 << 30},
        "cli_features": {"frames": False},
        "limits": {"disk_direct_mb_s": 1000.0, "disk_buffered_fdatasync_mb_s": 300.0, "memcpy_mb_s": 9000.0,
                   "frame_memcpy_us": {"p50": 60.0, "p99": 120.0}},
        "kinect": {"streamq": result(27.6, p999=100.0, cpu=3.0, frames_planned=300),
                   "python_fwrite": result(27.6, p999=400.0, cpu=4.0)},
        "max": {"streamq": result(sq_max), "python_fwrite": result(peer_max)},
        "small": {"64": {"streamq": result(1.0)}},
        "zstd": {"python_mcap_zstd": result(150.0, stored_bytes=1, compression_ratio=4.0)},
        "volume": volume if volume is not None else {"skipped": "needs --keep-segments", "bytes_planned": 8},
        "run_seconds": 1.0, "started": "2026-01-01T00:00:00+00:00",
    }


class ReportTest(unittest.TestCase):
    def test_required_keys(self) -> None:
        doc = run.build_report(raw(950.0, 900.0), True, "make bench-quick", [])
        for k in ("disk_direct_mb_s", "streamq_max_mb_s", "peers", "kinect"):
            self.assertIn(k, doc)
        self.assertEqual(doc["peers"]["python_fwrite"]["max_mb_s"], 900.0)
        self.assertEqual(doc["peers"]["python_mcap_zstd"]["max_mb_s"], 150.0)
        self.assertEqual(set(doc["kinect"]["push_us"]) >= {"p50", "p99", "p999", "max"}, True)
        for k in ("drops", "cpu_percent", "max_rss_bytes"):
            self.assertIn(k, doc["kinect"])

    def test_targets(self) -> None:
        t = {x["target"]: x["met"] for x in run.build_report(raw(950.0, 900.0), True, "c", [])["targets"]}
        self.assertTrue(t["streamq max rate >= 0.9 x dd direct"])
        self.assertTrue(t["streamq max rate ahead of every peer"])
        self.assertTrue(t["kinect: push p99.9 <= 2 x one frame memcpy"])
        self.assertTrue(t["kinect: lowest CPU % of all"])
        self.assertIsNone(t["45-minute volume: 0 lost, flat RSS"])
        t = {x["target"]: x["met"] for x in run.build_report(raw(800.0, 900.0), True, "c", [])["targets"]}
        self.assertFalse(t["streamq max rate >= 0.9 x dd direct"])
        self.assertFalse(t["streamq max rate ahead of every peer"])

    def test_volume_targets(self) -> None:
        v = result(900.0, frames_planned=300, frames_lost=0, rss_limit_bytes=288 << 20, rss_growth_bytes=0)
        t = {x["target"]: x["met"] for x in run.build_report(raw(950.0, 900.0, v), True, "c", [])["targets"]}
        self.assertTrue(t["45-minute volume: 0 frames lost"])
        self.assertTrue(t["45-minute volume: max RSS <= ring + 32 MiB"])

    def test_markdown(self) -> None:
        doc = run.build_report(raw(950.0, 900.0), True, "make bench-quick", ["a note"])
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "latest.md"
            run.write_markdown(doc, p)
            md = p.read_text()
        self.assertIn("| **streamq** |", md)
        self.assertIn("a note", md)
        self.assertIn("skipped: needs --keep-segments", md)


if __name__ == "__main__":
    unittest.main()
