#!/usr/bin/env bash
# One peer's network map right after a change at 10,000 peers (issue 12): the topology
# patched from the change log against a full load, in one run (ferryd-bench netmap, see
# Benchmarks/FerrydBenchmark/NetmapBenchmark.swift). Builds ferryd-bench in release unless
# FERRYD_BENCH names a binary; a SQLite store in a temporary folder, removed afterwards.
#
#   scripts/bench-netmap.sh [PEERS [ROUNDS]]     (defaults: 10000 40)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${FERRYD_BENCH:-}" ]; then
  swift build -c release --product ferryd-bench >&2
  FERRYD_BENCH="$(swift build -c release --show-bin-path)/ferryd-bench"
fi
echo "ferryd-bench netmap ${1:-10000} ${2:-40} (tree $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
exec "$FERRYD_BENCH" netmap "${1:-10000}" "${2:-40}"
