"""Shared fixtures. Nothing is built here: the package must be installed first
(bindings/python/run_tests.sh does that in a fresh venv)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import streamq

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    """A path for a capture file in a fresh temporary directory."""
    return tmp_path / "capture.sqcap"


def _find_cli() -> list[str] | None:
    """The `streamq` command-line tool: $STREAMQ_CLI, else target/release/streamq (built
    by run_tests.sh), else built here with cargo."""
    env = os.environ.get("STREAMQ_CLI")
    if env:
        return [env]
    if os.environ.get("STREAMQ_CLI_UNAVAILABLE"):
        return None  # run_tests.sh could not build it
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    exe = target / "release" / "streamq"
    if not exe.exists() and shutil.which("cargo") and (ROOT / "cli" / "Cargo.toml").exists():
        built = subprocess.run(
            ["cargo", "build", "--quiet", "--release", "-p", "streamq-cli"],
            cwd=ROOT,
        )
        if built.returncode != 0:
            return None
    return [str(exe)] if exe.exists() else None


@pytest.fixture(scope="session")
def cli() -> list[str]:
    """Argv prefix of the Rust `streamq` CLI (skips when it cannot be had)."""
    found = _find_cli()
    if found is None:
        pytest.skip("the streamq CLI is not built and could not be built here")
    return found


def pytest_report_header(config):  # noqa: D103 - pytest hook
    return f"streamq {streamq.__version__} from {Path(streamq.__file__).parent}, python {sys.version.split()[0]}"
