#!/usr/bin/env bash
# C vs Rust push throughput, 900 KiB frames, same machine, same run: the two programs
# alternate ROUNDS times (so drift in machine load hits both), then the medians and the
# ratio are printed. Usage: bench.sh <c-binary> <rust-binary> [frames] [rounds]
set -euo pipefail
c_bin=$1 rust_bin=$2 frames=${3:-${BENCH_FRAMES:-2000}} rounds=${4:-${BENCH_ROUNDS:-7}}
c=() r=()
for i in $(seq "$rounds"); do
    c+=("$("$c_bin" "$frames" | awk '/^MBps/ {print $2}')")
    r+=("$("$rust_bin" "$frames" | awk '/^MBps/ {print $2}')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
cm=$(median "${c[@]}") rm=$(median "${r[@]}")
echo "bench-c: $frames frames of 900 KiB, 64 MiB queue, consumer thread, $rounds alternating rounds"
echo "  C    (libstreamq.a, streamq_producer_push): ${c[*]} MB/s -> median $cm MB/s"
echo "  Rust (streamq::Producer::push):             ${r[*]} MB/s -> median $rm MB/s"
awk -v c="$cm" -v r="$rm" 'BEGIN {printf "  C / Rust = %.3f (%+.1f%%)\n", c / r, (c / r - 1) * 100}'
