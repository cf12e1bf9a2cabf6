#!/usr/bin/env bash
# Builds the streamq Python package into a fresh virtualenv and runs tests/python.
#
#   bash bindings/python/run_tests.sh [pytest args...]
#
# Environment: PYTHON (default python3), VENV (default <repo>/.venv; removed and
# recreated unless KEEP_VENV=1), CARGO (default cargo), CARGO_TARGET_DIR.
# The first build compiles the engine and pyo3 in release mode: a few minutes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python3}
CARGO=${CARGO:-cargo}
VENV=${VENV:-$ROOT/.venv}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
started=$SECONDS

if [ "${KEEP_VENV:-0}" != 1 ]; then
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "+ $PYTHON -m venv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
# maturin's PEP 517 hook runs the `maturin` executable: the venv's bin must be on PATH.
export PATH="$VENV/bin:$PATH"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
py="$VENV/bin/python"
"$py" -m pip install --quiet --upgrade pip
# mypy (pinned: new releases add stubtest checks) checks the hand-written stubs against
# the compiled module (tests/python/test_stubs.py).
echo "+ pip install maturin pytest numpy mypy"
"$py" -m pip install --quiet "maturin>=1.9,<2" pytest numpy "mypy==2.4.1" "typing_extensions>=4.15"
echo "+ pip install ./bindings/python"
"$py" -m pip install --quiet --force-reinstall --no-deps --no-build-isolation ./bindings/python
echo "  built and installed in $((SECONDS - started)) s"

# The round-trip tests compare with the Rust CLI (verify, extract, record, options). If
# it does not build (it is another front end, maybe mid-change), they are skipped, loudly.
if [ -f cli/Cargo.toml ]; then
    echo "+ $CARGO build --release -p streamq-cli"
    if "$CARGO" build --quiet --release -p streamq-cli; then
        export STREAMQ_CLI="$TARGET_DIR/release/streamq"
    else
        echo "run_tests.sh: WARNING: the CLI did not build: the round-trip tests will be SKIPPED" >&2
        export STREAMQ_CLI_UNAVAILABLE=1
    fi
fi

echo "+ pytest tests/python"
# Run from the tests directory so `import streamq` is the installed package.
cd "$ROOT/tests/python"
rc=0
"$py" -m pytest -q -p no:cacheprovider "$@" . || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "run_tests.sh: pytest collected no tests" >&2
    exit 1
fi
echo "run_tests.sh: finished in $((SECONDS - started)) s (exit $rc)"
exit "$rc"
