"""The Python examples and the package README's first example run as shipped."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "python"


@pytest.mark.parametrize(
    "script, args",
    [
        ("kinect_capture.py", ["--seconds", "1", "--compression", "zstd:1"]),
        ("asyncio_capture.py", ["--seconds", "1"]),
    ],
)
def test_example_runs(tmp_path, script, args):
    out = tmp_path / "capture.sqcap"
    r = subprocess.run(
        [sys.executable, str(EXAMPLES / script), str(out), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert out.exists() and out.stat().st_size > 0


def test_readme_example_runs(tmp_path, monkeypatch):
    pytest.importorskip("numpy")
    readme = (ROOT / "bindings" / "python" / "README.md").read_text()
    first = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(first, "README.md", "exec"), {})
    assert (tmp_path / "capture.sqcap").exists()
