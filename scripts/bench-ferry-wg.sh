#!/usr/bin/env bash
# ferry-wg against Debian's wireguard-go, measured in one run: builds ferry-wg in release,
# makes its own network namespaces (two sides joined by a veth pair, tunnel MTU 1420) and
# measures wireguard-go <-> wireguard-go, ferry-wg <-> ferry-wg and ferry-wg <-> wireguard-go
# in alternating rounds: iperf3 TCP both ways, iperf3 UDP both ways, ping RTT (median, p99),
# peak memory (VmHWM) and CPU time of each daemon. Prints per-round figures, medians and
# the ratios ferry-wg / wireguard-go with the issue's bar; exits 1 if the bar is missed.
#
#   sudo scripts/bench-ferry-wg.sh [--rounds N] [--duration S] [--pings N] [--udp-rate 1G]
#                                  [--pairs wg-wg,ferry-ferry,ferry-wg]
#                                  [--markdown FILE] [--json FILE] [--wireguard-go PATH]
#
# FERRY_WG=path skips the build and uses that binary. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "bench-ferry-wg: needs root (network namespaces and TUN devices)" >&2
  exit 1
fi
scripts/install-test-deps.sh
if [ ! -x /usr/bin/wireguard-go ]; then
  echo "bench-ferry-wg: /usr/bin/wireguard-go (Debian's package) is missing" >&2
  exit 1
fi
command="${FERRY_WG:+FERRY_WG=$FERRY_WG }scripts/bench-ferry-wg.sh $*"
if [ -z "${FERRY_WG:-}" ]; then
  swift build -c release --product ferry-wg >&2
  FERRY_WG="$(swift build -c release --show-bin-path)/ferry-wg"
fi
exec /usr/bin/python3 scripts/bench/ferry_wg_bench.py --ferry "$FERRY_WG" --command "$command" "$@"
