#!/usr/bin/env bash
# The NAT matrix as a benchmark (docs/mesh.md): runs scripts/e2e/nat.sh RUNS times (root)
# with this build's binaries and prints, per cell, the time to the first packet and to
# direct (ms from the policy rule that makes the link), min / median / max over the runs.
# Usage: scripts/bench-nat.sh [RUNS] (default 3; build first: swift build).
set -uo pipefail
RUNS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/.build/debug
OUT=$(mktemp)
trap 'rm -f $OUT' EXIT
for i in $(seq "$RUNS"); do
  bash "$ROOT/scripts/e2e/nat.sh" "$BIN/ferryd" "$BIN/ferry" "$BIN/ferry-wg" >"$OUT.run" 2>&1
  rc=$?
  grep '^bench:' "$OUT.run" >>"$OUT"
  [ $rc -eq 0 ] || { echo "run $i failed (exit $rc):"; grep -E '^(FAIL|SKIPPED)' "$OUT.run"; }
  [ $rc -eq 77 ] && { rm -f "$OUT.run"; exit 77; }
done
rm -f "$OUT.run"
stats() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } printf "%s / %s / %s", v[1], v[int((NR + 1) / 2)], v[NR] }'; }
printf '%-26s %-24s %-24s\n' cell "first packet ms" "direct ms"
for cell in cone-x-cone cone-x-public cone-x-public-2 symmetric-x-symmetric symmetric-to-cone; do
  first=$(grep "bench: $cell first_packet_ms=" "$OUT" | sed 's/.*first_packet_ms=\([0-9-]*\).*/\1/' | grep -v '^-$' | stats)
  direct=$(grep "bench: $cell first_packet_ms=" "$OUT" | sed 's/.*direct_ms=\([0-9-]*\).*/\1/' | grep -v '^-$' | stats)
  printf '%-26s %-24s %-24s\n' "$cell" "$first" "$direct"
done
echo "longest TCP stall around the switch (s): $(grep -o 'longest_stall_s=[0-9]*' "$OUT" | cut -d= -f2 | stats)"
echo "(min / median / max over $RUNS runs; - : never, as expected for symmetric x symmetric direct)"
