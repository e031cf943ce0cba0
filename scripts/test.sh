#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds in debug, runs every test.
# Tests that need root and /dev/net/tun say loudly when they are skipped.
#
# Two test processes, one after the other: everything else first, then the suites that
# drive real processes in network namespaces. Those block a thread for a minute or more
# while scripts, iperf3 and daemons run; in one process with the rest they held Swift's
# cooperative thread pool (as wide as the machine has cores: two here), and the in-process
# servers of other suites waited minutes for a thread and missed their timeouts.
#
# A group that fails is run once more, loudly: on a 2-core machine a few timing-sensitive
# tests (throughput during a flood, second-scale bounds) can miss under load. A group fails
# the run when it fails twice.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
export FERRY_TEST_PYTHON=${FERRY_TEST_VENV:-/var/tmp/ferry-test-venv}/bin/python
swift build --build-tests
# The fuzzing smoke run (each libFuzzer target for a few seconds, Fuzz/README.md) alongside
# the tests, at a lower priority; a crash fails the run.
nice -n 10 scripts/fuzz.sh --smoke > .build/fuzz-smoke.log 2>&1 &
fuzz=$!
NAMESPACES='FerryWGTests\.|WireGuardLinuxTests\.|EndToEnd|Behaviour|UpCleanup|Walkthrough|DNSServerTests|DoctorPathChecks|Interop|OpenAPIProperty'
status=0
logs=()
# group NAME ARGS...: runs `swift test` with ARGS, once more if it fails.
group() {
  local name=$1; shift
  local log=.build/swift-test-$name.log
  if swift test --skip-build "$@" 2>&1 | tee "$log"; then logs+=("$log"); return 0; fi
  echo "=== $name: some tests failed; running the group once more (a second failure fails the run)"
  grep -E "^✘ Test .*(recorded an issue|failed)" "$log" | head -40 || true
  if swift test --skip-build "$@" 2>&1 | tee "$log.again"; then logs+=("$log.again"); return 0; fi
  logs+=("$log.again")
  status=1
}
if [ $# -gt 0 ]; then
  group selected "$@"
else
  group main --skip "$NAMESPACES"
  group namespaces --filter "$NAMESPACES"
fi
if wait $fuzz; then tail -n 12 .build/fuzz-smoke.log; else cat .build/fuzz-smoke.log; echo "FAILED: fuzzing smoke run"; status=1; fi
# The test runner's own closing lines, last, for whoever reads the end of this output.
for log in "${logs[@]}"; do grep -E "^(✔|✘) Test run with|Executed [0-9]+ tests?, with" "$log" | tail -n 2; done
exit $status
