# streamq — build, test and demo entry points. `make help` lists the targets.
#
# Every target works on a fresh clone: the parts of the repository that do not exist yet
# (ffi/, bindings/python/, tests/c, ...) are skipped with a message, not an error.
# Honours CARGO (the cargo binary) and CARGO_TARGET_DIR (where cargo builds).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO   ?= cargo
PYTHON  ?= python3
PREFIX  ?= /usr/local
DESTDIR ?=

# Where cargo puts its output: CARGO_TARGET_DIR when set, target/ otherwise.
TARGET_DIR      := $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),$(CURDIR)/target)
# loom builds everything with --cfg loom: keep those artefacts apart from the normal ones.
LOOM_TARGET_DIR ?= $(TARGET_DIR)/loom
LOOM_TEST       ?= loom_ring
LOOM_MAX_PREEMPTIONS ?= 2

VENV            ?= $(CURDIR)/.venv
VENV_PY         := $(VENV)/bin/python
# Pinned: cbindgen point releases change the generated header.
CBINDGEN_VERSION ?= 0.29.4

# Release profile for tests, clippy and docs so all three share one build of the
# dependencies (zstd's C library is compiled once, not once per profile).
CARGO_PROFILE ?= --release

.PHONY: help test test-rust test-loom lint docs fmt fmt-check test-c test-python header-check abi-check \
        demo bench bench-quick bench-criterion bench-criterion-quick bench-c bench-python build install clean

help: ## List the targets
	@echo "streamq make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	    awk 'BEGIN {FS = ":.*## "} {printf "  %-13s %s\n", $$1, $$2}'
	@echo "Variables: CARGO=$(CARGO) PREFIX=$(PREFIX) CARGO_TARGET_DIR=$(TARGET_DIR)"

DEMO_FILE ?= $(TARGET_DIR)/demo.sqcap

demo: ## Record 10 s of a synthetic 30 fps x 900 KiB depth camera, verify the file, show it
	$(CARGO) build --release -p streamq-cli
	$(TARGET_DIR)/release/streamq record $(DEMO_FILE) --fps 30 --frame-size 900KiB --duration 10s --rate real
	$(TARGET_DIR)/release/streamq verify $(DEMO_FILE)
	$(TARGET_DIR)/release/streamq info $(DEMO_FILE)

test: fmt-check test-rust test-loom lint docs header-check abi-check test-c test-python ## Every test of every language (what CI runs)
	@echo "make test: all suites passed"

test-rust: ## cargo test --workspace in release (unit, integration, stress, doc tests), then the Rust examples
	$(CARGO) test --workspace $(CARGO_PROFILE)
	$(CARGO) run --quiet $(CARGO_PROFILE) -p streamq --example queue_demo
	$(CARGO) run --quiet $(CARGO_PROFILE) -p streamq --example kinect_capture -- --seconds 1 --compression zstd:1 --out $(TARGET_DIR)/kinect_capture_example.sqcap

test-loom: ## loom model checks of the ring protocol (core/tests/loom_ring.rs)
	@if [ ! -f core/tests/$(LOOM_TEST).rs ]; then \
	    echo "test-loom: core/tests/$(LOOM_TEST).rs does not exist yet, skipping"; \
	else \
	    echo "+ RUSTFLAGS=\"--cfg loom\" LOOM_MAX_PREEMPTIONS=$(LOOM_MAX_PREEMPTIONS) $(CARGO) test -p streamq --release --test $(LOOM_TEST) --target-dir $(LOOM_TARGET_DIR)"; \
	    RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=$(LOOM_MAX_PREEMPTIONS) \
	        $(CARGO) test -p streamq --release --test $(LOOM_TEST) --target-dir $(LOOM_TARGET_DIR); \
	fi

lint: ## clippy on every target with -D warnings
	$(CARGO) clippy --workspace --all-targets $(CARGO_PROFILE) -- -D warnings

docs: ## cargo doc --no-deps with RUSTDOCFLAGS=-D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps $(CARGO_PROFILE)

fmt: ## Format the Rust code (rustfmt.toml)
	$(CARGO) fmt --all

fmt-check: ## Check formatting without changing files (part of `make test`)
	$(CARGO) fmt --all --check

header-check: ## The committed include/streamq.h matches what cbindgen generates
	@if [ ! -d ffi ]; then \
	    echo "header-check: no ffi/ yet, skipping"; \
	elif [ ! -f include/streamq.h ] || [ ! -f ffi/cbindgen.toml ]; then \
	    echo "header-check: ffi/ exists but include/streamq.h or ffi/cbindgen.toml is missing" >&2; exit 1; \
	else \
	    case "$$(cbindgen --version 2>/dev/null || true)" in \
	        *" $(CBINDGEN_VERSION)") ;; \
	        *) echo "+ $(CARGO) install cbindgen --version $(CBINDGEN_VERSION) --locked"; \
	           $(CARGO) install cbindgen --version $(CBINDGEN_VERSION) --locked ;; \
	    esac; \
	    crate=$$(grep -m1 -E '^name *=' ffi/Cargo.toml | sed 's/.*"\(.*\)".*/\1/'); \
	    tmp=$$(mktemp); trap 'rm -f "$$tmp"' EXIT; \
	    echo "+ cbindgen --config ffi/cbindgen.toml --crate $$crate ffi"; \
	    cbindgen --quiet --config ffi/cbindgen.toml --crate "$$crate" --output "$$tmp" ffi; \
	    if ! diff -u include/streamq.h "$$tmp"; then \
	        echo "header-check: include/streamq.h is stale; regenerate it with cbindgen $(CBINDGEN_VERSION)" >&2; \
	        exit 1; \
	    fi; \
	    echo "header-check: include/streamq.h is up to date"; \
	fi

abi-check: ## libstreamq.so's ABI matches the committed ffi/abi/libstreamq.abi (abidiff; refresh: make -C ffi abi-baseline)
	@if [ ! -d ffi ]; then \
	    echo "abi-check: no ffi/ yet, skipping"; \
	else \
	    $(MAKE) -C ffi abi-check CARGO="$(CARGO)" TARGET_DIR="$(TARGET_DIR)"; \
	fi

test-c: ## C and C++ tests against the header and libstreamq (tests/c)
	@if [ ! -d ffi ]; then \
	    echo "test-c: no ffi/ yet, skipping"; \
	elif [ ! -f tests/c/Makefile ]; then \
	    echo "test-c: ffi/ exists but tests/c/Makefile does not" >&2; exit 1; \
	else \
	    $(MAKE) -C tests/c CARGO="$(CARGO)" TARGET_DIR="$(TARGET_DIR)"; \
	fi

test-python: ## Python package: fresh .venv, pip install ./bindings/python, pytest tests/python
	@if [ ! -d bindings/python ]; then \
	    echo "test-python: no bindings/python yet, skipping"; \
	else \
	    VENV="$(VENV)" PYTHON="$(PYTHON)" CARGO="$(CARGO)" bash bindings/python/run_tests.sh; \
	fi

bench-python: ## Python Writer MB/s vs the Rust writer, 64 B push ns (uses test-python's .venv)
	PATH="$(VENV)/bin:$$PATH" $(VENV_PY) bench/python_bench.py

build: ## Release build of the whole workspace
	$(CARGO) build --workspace --release

# The bench suite: streamq vs its peers (bench/peers/) and the machine's limits
# (dd, memcpy), same run, same disk. Writes bench/results/latest.{json,md} and the PNGs and
# refreshes README.md's headline table. Data files go to BENCH_DIR (default
# bench/results/tmp) and are deleted after each run. Needs node and python3.
BENCH_ARGS ?=

bench: ## Bench suite: streamq vs peers and disk/memcpy limits (about 20 minutes; see bench/run.py)
	CARGO="$(CARGO)" $(PYTHON) bench/run.py --readme $(BENCH_ARGS)

bench-quick: ## Bench suite, short run (under 3 minutes on 2 cores)
	CARGO="$(CARGO)" $(PYTHON) bench/run.py --quick --readme $(BENCH_ARGS)

bench-criterion: ## Criterion micro-benchmarks of the engine (core/benches/, a few minutes)
	$(CARGO) bench -p streamq

bench-criterion-quick: ## Criterion micro-benchmarks in quick mode (one pass, rough figures)
	$(CARGO) bench -p streamq -- --quick

install: ## Install libstreamq (.so, .a), include/streamq.h and streamq.pc under PREFIX
	@if [ ! -d ffi ]; then \
	    echo "install: no ffi/ yet, nothing to install (libstreamq is built by ffi/)"; \
	else \
	    $(MAKE) -C ffi install PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" CARGO="$(CARGO)" TARGET_DIR="$(TARGET_DIR)"; \
	fi

bench-c: ## C vs Rust push throughput, 900 KiB frames, same run (ratio printed)
	$(MAKE) -C tests/c bench-c CARGO="$(CARGO)" TARGET_DIR="$(TARGET_DIR)"
clean: ## Remove build output (target/, the loom build, .venv)
	$(CARGO) clean
	rm -rf "$(LOOM_TARGET_DIR)" "$(VENV)"
