"""The hand-written stubs (_streamq.pyi) match the compiled module (runs when mypy is
installed: `pip install mypy`)."""

import os
import subprocess
import sys

import pytest


def test_stubtest(tmp_path):
    pytest.importorskip("mypy")
    env = {**os.environ, "MYPY_CACHE_DIR": str(tmp_path / "mypy-cache")}
    p = subprocess.run([sys.executable, "-m", "mypy.stubtest", "streamq._streamq"],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert p.returncode == 0, p.stdout + p.stderr


def test_package_is_typed():
    import importlib.resources

    files = importlib.resources.files("streamq")
    assert (files / "py.typed").is_file() and (files / "_streamq.pyi").is_file()
